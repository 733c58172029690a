"""A reporter files, keeps the receipt code, follows the case and replies."""

import io
import re

from sqlalchemy import select

from portal.extensions import db
from portal.protection.envelope import open_identity
from portal.reports.models import Attachment, Report
from tests.helpers import csrf_token, file_report, open_case

# A real 1x1 red PNG: attachments are decoded and re-encoded to remove metadata
# (portal/scrub.py), so a damaged picture would be refused.
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
       b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
       b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")


def test_landing_page_explains_who_receives_rights_anonymity_and_false_reports(client):
    page = client.get("/").get_data(as_text=True)
    assert "Mặt trận Tổ quốc" in page
    assert "Điều tiếp theo" in page or "điều gì xảy ra tiếp theo" in page
    assert "Ẩn danh" in page and "Có danh tính" in page
    # Anonymous crime tips are handled; anonymous denunciations become information only.
    assert "Thông tư 28/2020" in page and "Điều 25" in page
    assert "Điều 156" in page  # knowingly false reports are punishable
    assert "Điều 166" in page  # retaliation is a crime
    assert "<script" not in page


def test_filing_form_lists_real_wards_after_choosing_a_province(client):
    first = client.get("/gui-tin").get_data(as_text=True)
    assert first.count("<option") == 35  # 34 provinces + "không rõ"
    page = client.get("/gui-tin?province=19").get_data(as_text=True)
    assert "Phường Phan Đình Phùng" in page
    ward_select = page[page.index('id="ward_code"'):]
    ward_select = ward_select[: ward_select.index("</select>")]
    assert ward_select.count("<option") == 93  # 92 wards of Thái Nguyên + "không rõ"
    for label in ("Việc gì đã xảy ra?", "Họ và tên", "Số điện thoại", "Tệp đính kèm"):
        assert label in page


def test_receipt_code_is_shown_once_and_only_its_hash_is_stored(client, app):
    code = file_report(client)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){3}", code)
    again = client.get("/bien-nhan").get_data(as_text=True)
    assert code not in again and "chỉ hiện một lần" in again
    with app.app_context():
        report = db.session.scalar(select(Report))
        assert report.status == "received"
        assert code not in report.receipt_code_hash
        assert code.replace("-", "") not in report.receipt_code_hash
        assert len(report.receipt_code_hash) == 64


def test_status_page_shows_status_history_and_takes_a_reply_with_a_file(client, app):
    code = file_report(client)
    page = open_case(client, code.lower().replace("-", " ")).get_data(as_text=True)
    assert "Đã tiếp nhận" in page
    assert "Đã tiếp nhận tin của bạn." in page
    token = csrf_token(client, "/ho-so")
    response = client.post(
        "/ho-so",
        data={"csrf_token": token, "text": "Tôi bổ sung ảnh chụp biên nhận tiền.",
              "attachments": [(io.BytesIO(PNG), "anh.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = client.get("/ho-so").get_data(as_text=True)
    assert "Tôi bổ sung ảnh chụp biên nhận tiền." in page
    assert "1 tệp đính kèm" in page
    with app.app_context():
        attachment = db.session.scalar(select(Attachment))
        assert attachment.content_type == "image/png" and attachment.message_id is not None


def test_wrong_codes_get_one_generic_answer(client):
    file_report(client)
    answers = set()
    for wrong in ("AAAAA-BBBBB-CCCCC-DDDDD", "not a code", "", "12345"):
        fresh = client.application.test_client()
        token = csrf_token(fresh, "/tra-cuu")
        response = fresh.post("/tra-cuu", data={"csrf_token": token, "code": wrong})
        assert response.status_code == 404
        answers.add(re.search(r'role="alert">([^<]+)<', response.get_data(as_text=True)).group(1))
    assert len(answers) == 1


def test_status_lookup_is_rate_limited(client, app):
    app.config["LOOKUP_RATE_LIMIT"] = "3 per minute"
    try:
        token = csrf_token(client, "/tra-cuu")
        responses = [client.post("/tra-cuu", data={"csrf_token": token, "code": "X"})
                     for _ in range(4)]
    finally:
        app.config["LOOKUP_RATE_LIMIT"] = "1000 per minute"
    assert [r.status_code for r in responses] == [404, 404, 404, 429]
    assert "quá nhiều lần" in responses[3].get_data(as_text=True)


def test_leaving_the_case_forgets_it_in_this_browser(client):
    code = file_report(client)
    open_case(client, code)
    token = csrf_token(client, "/ho-so")
    client.post("/ho-so/thoat", data={"csrf_token": token})
    assert client.get("/ho-so").status_code == 302


def test_named_filing_keeps_identity_and_choices(client, app):
    file_report(client, identity_choice="named", name="Nguyễn Văn An", phone="0912 345 678",
                email="", address="Phường Phan Đình Phùng", id_number="019123456789",
                contact_preference="phone", disclosure_consent="y")
    with app.app_context():
        report = db.session.scalar(select(Report))
        assert report.anonymous is False
        # Stored encrypted: only the custodian's key opens it.
        identity = open_identity(report.identity)
        assert identity["name"] == "Nguyễn Văn An"
        assert identity["phone"] == "0912345678"
        assert report.identity.contact_preference == "phone"
        assert report.identity.disclosure_consent is True


def test_public_pages_work_in_english(client):
    page = client.get("/?lang=en").get_data(as_text=True)
    assert 'lang="en"' in page
    assert "Send a report" in page or "report" in page.lower()
    # The choice sticks for the rest of the visit.
    assert 'lang="en"' in client.get("/tra-cuu").get_data(as_text=True)
