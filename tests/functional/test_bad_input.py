"""Bad input on the filing form and the JSON API: each gets a clear Vietnamese message, and
nothing at all is stored (no rows, no files)."""

import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from portal.timeutil import today_vn
from tests.functional.test_public_flow import PNG
from tests.helpers import csrf_token, file_report, open_case, table_has_no_rows

FORM_URL = "/gui-tin?province=19"
GOOD_TEXT = ("Cán bộ địa chính xã nhận hối lộ 50 triệu đồng để cấp sổ đỏ sai quy định cho một "
             "hộ dân ở thôn Đồng Bẩm.")
STORED_TABLES = ("reports", "reporter_identities", "attachments", "report_events", "messages",
                 "audit_entries")
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
MB = 1024 * 1024
TYPES = "JPEG, PNG, PDF, DOCX, ODT, MP3, M4A, MP4"


def nothing_stored(app) -> bool:
    uploads = Path(app.config["UPLOAD_FOLDER"])
    files = list(uploads.iterdir()) if uploads.exists() else []
    return table_has_no_rows(app, *STORED_TABLES) and files == []


def form_data(client, **fields) -> dict:
    data = {
        "csrf_token": csrf_token(client, FORM_URL),
        "reporter_role": "citizen",
        "report_type": "",
        "province_code": "19",
        "ward_code": "",
        "identity_choice": "anonymous",
        "contact_preference": "none",
        "text": GOOD_TEXT,
    }
    data.update(fields)
    return data


def submit(client, **fields):
    return client.post(FORM_URL, data=form_data(client, **fields),
                       content_type="multipart/form-data")


def field_errors(page: str) -> list[str]:
    """Messages shown next to the fields."""
    return re.findall(r'<p class="error"[^>]*>([^<]+)</p>', page)


def assert_refused(app, response, message: str, *, keeps_text: str | None = GOOD_TEXT) -> str:
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in field_errors(page), field_errors(page)
    assert "Tin chưa được gửi. Vui lòng sửa các mục được đánh dấu bên dưới." in page
    assert 'aria-invalid="true"' in page
    if keeps_text:
        assert keeps_text in page  # what the reporter typed is not lost
    assert nothing_stored(app)
    return page


# --- the web form ---------------------------------------------------------------------------

FUTURE = (today_vn() + timedelta(days=2)).isoformat()
NAMED = {"identity_choice": "named", "name": "Nguyễn Văn An"}


@pytest.mark.parametrize("fields, message", [
    ({"text": ""}, "Vui lòng nhập nội dung."),
    ({"text": "   \r\n  "}, "Vui lòng nhập nội dung."),
    ({"text": "Nhận hối lộ"}, "Nội dung quá ngắn: cần ít nhất 20 ký tự."),
    ({"ward_code": "99999"}, "Xã, phường không có trong danh mục."),
    ({"ward_code": "4"}, "Xã, phường này không thuộc tỉnh, thành phố đã chọn."),  # Ba Đình
    ({"occurred_on": FUTURE}, "Ngày xảy ra không thể ở tương lai."),
    ({"occurred_on": "31/02/2025"}, "Ngày không hợp lệ (định dạng năm-tháng-ngày)."),
    ({**NAMED, "phone": "12345"}, "Số điện thoại không hợp lệ (ví dụ 0912345678)."),
    ({**NAMED, "phone": "0912 345 678 99 00"}, "Số điện thoại không hợp lệ (ví dụ 0912345678)."),
    ({**NAMED, "email": "an@khong-co-ten-mien"}, "Địa chỉ thư điện tử không hợp lệ."),
    ({**NAMED, "id_number": "0191234"}, "Số định danh cá nhân/CCCD gồm 12 chữ số (CMND cũ: 9)."),
    ({**NAMED, "contact_preference": "phone"}, "Bạn chọn liên hệ qua điện thoại: vui lòng ghi số."),
    ({"identity_choice": "named", "phone": "0912345678"},
     "Nếu gửi có danh tính, vui lòng ghi họ và tên."),
    ({"identity_choice": "named"}, "Nếu gửi có danh tính, vui lòng ghi họ và tên."),
], ids=["empty", "blank", "short", "unknown-ward", "ward-of-other-province", "future-date",
        "bad-date", "phone", "phone-too-long", "email", "id-number", "contact-without-phone",
        "named-without-name", "named-with-nothing"])
def test_form_refuses_bad_fields_with_a_message_and_stores_nothing(app, client, fields,
                                                                   message):
    keeps = GOOD_TEXT if "text" not in fields else None
    assert_refused(app, submit(client, **fields), message, keeps_text=keeps)


def test_form_refuses_text_over_the_limit(app, client):
    limit = app.config["REPORT_TEXT_MAX_CHARS"]
    at_limit = "x" + ("Cán bộ nhận hối lộ. " * (limit // 20 + 1))[: limit - 2] + "x"
    assert len(at_limit) == limit
    assert_refused(app, submit(client, text=at_limit + "y"),
                   f"Nội dung quá dài: tối đa {limit} ký tự (hiện có {limit + 1}).",
                   keeps_text=None)
    file_report(client, text=at_limit)  # exactly at the limit is fine


@pytest.mark.parametrize("name, content", [
    ("anh-chup.jpg", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"),
    ("bien-nhan.jpg", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
     + b"This program cannot be run in DOS mode."),
    ("ghi-chu.txt", "Tôi có ghi chép lại buổi gặp.".encode()),
], ids=["html-as-jpg", "exe-as-jpg", "plain-text"])
def test_form_refuses_files_that_are_not_an_accepted_type(app, client, name, content):
    response = submit(client, attachments=[(io.BytesIO(PNG), "that.png"),
                                           (io.BytesIO(content), name)])
    assert_refused(app, response, f"Tệp “{name}” không thuộc loại được nhận ({TYPES}).")


def test_form_refuses_more_than_five_files(app, client):
    files = [(io.BytesIO(PNG), f"anh-{i}.png") for i in range(6)]
    assert_refused(app, submit(client, attachments=files), "Chỉ được gửi tối đa 5 tệp.")


def test_form_refuses_a_file_over_the_size_limit(app, client):
    size = app.config["ATTACHMENT_MAX_BYTES"] + 1
    big = JPEG_HEAD + b"\x00" * (size - len(JPEG_HEAD))
    response = submit(client, attachments=[(io.BytesIO(big), "video-lon.jpg")])
    assert_refused(app, response, "Tệp “video-lon.jpg” quá lớn: mỗi tệp tối đa 10 MB.")


def test_form_refuses_files_over_the_total_limit(app, client):
    size = app.config["ATTACHMENT_MAX_TOTAL_BYTES"] // 3 + 200_000  # each under 10 MB
    assert size < app.config["ATTACHMENT_MAX_BYTES"]
    files = [(io.BytesIO(JPEG_HEAD + b"\x00" * size), f"anh-{i}.jpg") for i in range(3)]
    assert_refused(app, submit(client, attachments=files),
                   "Tổng dung lượng các tệp vượt quá 25 MB.")


def test_request_over_the_size_limit_gets_a_413_page(app, client):
    size = app.config["MAX_CONTENT_LENGTH"] + MB
    response = submit(client, attachments=[(io.BytesIO(JPEG_HEAD + b"\x00" * size), "a.jpg")])
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "Dữ liệu quá lớn" in page
    assert ("Tệp hoặc nội dung gửi lên quá lớn (tối đa 10 MB mỗi tệp, 25 MB tất cả). Chưa có "
            "thông tin nào được lưu.") in page
    assert nothing_stored(app)


def multipart(fields: dict[str, bytes], boundary: str = "tinbao-boundary-0042") -> tuple:
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value + b"\r\n"
        for name, value in fields.items()
    ) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_form_refuses_text_that_is_not_valid_utf8(app, client):
    fields = {k: str(v).encode() for k, v in form_data(client).items()}
    fields["text"] = ("Cán bộ xã nhận hối lộ ".encode() + b"\xff\xfe\xc3("
                      + " để cấp sổ đỏ sai quy định cho dân.".encode())
    body, content_type = multipart(fields)
    response = client.post(FORM_URL, data=body, content_type=content_type)
    assert_refused(app, response,
                   "Nội dung có ký tự không đọc được. Vui lòng gõ lại hoặc dán lại.",
                   keeps_text="Cán bộ xã nhận hối lộ")


def test_form_without_csrf_token_is_refused_with_the_expired_message(app, client):
    data = form_data(client)
    del data["csrf_token"]
    response = client.post(FORM_URL, data=data, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Phiên làm việc đã hết hạn" in page
    assert "Biểu mẫu đã hết hạn hoặc thiếu mã bảo vệ." in page and "hết hạn" in page
    assert nothing_stored(app)
    response = client.post(FORM_URL, data={**data, "csrf_token": "forged"},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and nothing_stored(app)


def test_identity_typed_but_anonymous_chosen_is_not_stored(app, client):
    # Not an error: the reporter chose anonymous, so the name they had typed is dropped.
    file_report(client, identity_choice="anonymous", name="Nguyễn Văn An", phone="0912345678")
    assert table_has_no_rows(app, "reporter_identities")


def test_reply_with_bad_input_stores_nothing(app, client):
    code = file_report(client)
    open_case(client, code)
    before = Path(app.config["UPLOAD_FOLDER"])
    before_files = set(before.iterdir()) if before.exists() else set()

    def reply(**data):
        return client.post("/ho-so", data={"csrf_token": csrf_token(client, "/ho-so"), **data},
                           content_type="multipart/form-data")

    for data, message in [
        ({"text": ""}, "Vui lòng nhập nội dung."),
        ({"text": "x" * (app.config["MESSAGE_MAX_CHARS"] + 1)},
         f"Nội dung quá dài: tối đa {app.config['MESSAGE_MAX_CHARS']} ký tự"),
        ({"text": "Ảnh đây", "attachments": [(io.BytesIO(b"<html></html>"), "a.jpg")]},
         f"Tệp “a.jpg” không thuộc loại được nhận ({TYPES})."),
    ]:
        response = reply(**data)
        assert response.status_code == 422
        assert any(message in e for e in field_errors(response.get_data(as_text=True)))
    assert table_has_no_rows(app, "messages", "attachments")
    assert (set(before.iterdir()) if before.exists() else set()) == before_files


# --- the JSON API ---------------------------------------------------------------------------

API = "/api/v1/reports"


def api_post(client, payload):
    return client.post(API, json=payload)


@pytest.mark.parametrize("payload, field, message", [
    ({"text": ""}, "text", "Vui lòng nhập nội dung."),
    ({}, "text", "Vui lòng nhập nội dung."),
    ({"text": 12345}, "text", "Giá trị không hợp lệ."),
    ({"text": "Nhận hối lộ"}, "text", "Nội dung quá ngắn: cần ít nhất 20 ký tự."),
    ({"text": GOOD_TEXT + "\ufffd"}, "text",
     "Nội dung có ký tự không đọc được. Vui lòng gõ lại hoặc dán lại."),
    ({"text": GOOD_TEXT, "report_type": "gossip"}, "report_type", "Loại đơn không hợp lệ."),
    ({"text": GOOD_TEXT, "reporter_role": "police"}, "reporter_role", "Vui lòng chọn bạn là ai."),
    ({"text": GOOD_TEXT, "province_code": 999}, "province_code",
     "Tỉnh, thành phố không có trong danh mục."),
    ({"text": GOOD_TEXT, "province_code": True}, "province_code",
     "Tỉnh, thành phố không có trong danh mục."),
    ({"text": GOOD_TEXT, "ward_code": 99999}, "ward_code", "Xã, phường không có trong danh mục."),
    ({"text": GOOD_TEXT, "province_code": 19, "ward_code": 4}, "ward_code",
     "Xã, phường này không thuộc tỉnh, thành phố đã chọn."),
    ({"text": GOOD_TEXT, "occurred_on": FUTURE}, "occurred_on",
     "Ngày xảy ra không thể ở tương lai."),
    ({"text": GOOD_TEXT, "identity": {"name": "An", "phone": "12345"}}, "identity.phone",
     "Số điện thoại không hợp lệ (ví dụ 0912345678)."),
    ({"text": GOOD_TEXT, "identity": {"name": "An", "email": "an@"}}, "identity.email",
     "Địa chỉ thư điện tử không hợp lệ."),
    ({"text": GOOD_TEXT, "identity": {"name": "An", "id_number": "12345"}}, "identity.id_number",
     "Số định danh cá nhân/CCCD gồm 12 chữ số (CMND cũ: 9)."),
    ({"text": GOOD_TEXT, "identity": {"phone": "0912345678"}}, "identity.name",
     "Nếu gửi có danh tính, vui lòng ghi họ và tên."),
    ({"text": GOOD_TEXT, "identity": "Nguyễn Văn An"}, "identity",
     "Thông tin cá nhân không hợp lệ."),
], ids=["empty", "missing", "not-a-string", "short", "replacement-char", "type", "role",
        "province", "province-bool", "unknown-ward", "ward-of-other-province", "future-date",
        "phone", "email", "id-number", "identity-without-name", "identity-not-an-object"])
def test_api_refuses_bad_fields_with_422_naming_the_field(app, client, payload, field, message):
    response = api_post(client, payload)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation_failed"
    assert body["fields"][field] == message
    assert nothing_stored(app)


def test_api_refuses_text_over_the_limit(app, client):
    limit = app.config["REPORT_TEXT_MAX_CHARS"]
    response = api_post(client, {"text": "a" * (limit + 1)})
    assert response.status_code == 422
    assert response.get_json()["fields"] == {
        "text": f"Nội dung quá dài: tối đa {limit} ký tự (hiện có {limit + 1})."}
    assert nothing_stored(app)


@pytest.mark.parametrize("body, content_type", [
    (b'{"text": "C\xe1n b\xf4 nh\xe2n h\xf4i l\xf4 50 tri\xea\xf9u \xf0\xf4ng"}',
     "application/json"),  # Windows-1258 bytes, not UTF-8
    (b'{"text": "Can bo nhan hoi lo 50 trieu dong de cap so do"', "application/json"),
    (b'["Can bo nhan hoi lo 50 trieu dong de cap so do"]', "application/json"),
    (b'', "application/json"),
    (b'{"text": "Can bo nhan hoi lo 50 trieu dong de cap so do"}', "text/plain"),
], ids=["not-utf8", "truncated", "not-an-object", "empty", "not-json-content-type"])
def test_api_refuses_a_body_that_is_not_a_utf8_json_object(app, client, body, content_type):
    response = client.post(API, data=body, content_type=content_type)
    assert response.status_code == 400
    payload = response.get_json()
    assert payload["error"] == "invalid_json"
    assert payload["message"] == "Nội dung gửi lên phải là JSON (UTF-8)."
    assert nothing_stored(app)


def test_api_request_over_the_size_limit_gets_413_json(app, client):
    text = "a" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(API, data=json.dumps({"text": text}), content_type="application/json")
    assert response.status_code == 413
    body = response.get_json()
    assert body["error"] == "too_large" and body["fields"] == {}
    assert "quá lớn" in body["message"]
    assert nothing_stored(app)


def test_api_message_with_bad_input_stores_nothing(app, client):
    code = client.post(API, json={"text": GOOD_TEXT}).get_json()["receipt_code"]
    auth = {"Authorization": f"Receipt {code}"}
    url = "/api/v1/reports/messages"
    response = client.post(url, json={"text": "  "}, headers=auth)
    assert response.status_code == 422
    assert response.get_json()["fields"] == {"text": "Vui lòng nhập nội dung."}
    response = client.post(url, data=b'{"text": "\xff"}', content_type="application/json",
                           headers=auth)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_json"
    response = client.post(url, json={"text": "x" * (app.config["MESSAGE_MAX_CHARS"] + 1)},
                           headers=auth)
    assert response.status_code == 422 and "text" in response.get_json()["fields"]
    assert table_has_no_rows(app, "messages")
