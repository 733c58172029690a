"""The agency reads a masked copy: the reporter's own identity is always masked, other personal
data as the Front confirmed on the review form (checked = masked), plus phrases it added."""

import io
import re

from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.extensions import db
from tests.functional.test_backoffice import (
    POLICE,
    agency_case_url,
    agency_do,
    case_url,
    classify,
    report_id,
    reporter_reply,
    transfer,
    triage_do,
)
from tests.functional.test_public_flow import PNG
from tests.helpers import file_report, open_case

IDENTITY = {"name": "Trần Thị Bích Ngọc", "phone": "0987 654 321",
            "email": "ngoc.tran@example.vn", "address": "Tổ 7, phường Phan Đình Phùng",
            "id_number": "019198001234"}
TEXT = ("Tôi là Trần Thị Bích Ngọc, điện thoại 0987 654 321, nhà ở số 12 ngõ 34 đường Lê Lợi. "
        "Ông Hoàng Văn Thụ, cán bộ địa chính xã, nhận hối lộ 50 triệu đồng tại quán Hoa Sen; "
        "có anh Hùng chứng kiến.")
ACCUSED = "Hoàng Văn Thụ"
WITNESS = "Hùng"
HOUSE = "số 12 ngõ 34 đường Lê Lợi"


def checkboxes(page: str) -> dict[str, tuple[str, bool]]:
    """The review form's proposed masks: label text → (value, checked)."""
    boxes = {}
    for match in re.finditer(r'<label class="mask-choice"><input type="checkbox" name="mask" '
                             r'value="([^"]+)"( checked)?[^>]*> ([^<]+) <span', page):
        boxes[match.group(3)] = (match.group(1), bool(match.group(2)))
    return boxes


def named_case(app, client, staff):
    code = file_report(client, identity_choice="named", text=TEXT, **IDENTITY)
    rid = report_id(app, code)
    triage = staff("triage")
    classify(triage, rid)
    return code, rid, triage


def test_the_front_reviews_the_masks_and_the_agency_reads_only_the_masked_copy(
        app, client, staff):
    code, rid, triage = named_case(app, client, staff)

    # The review form: the reporter's own name and phone are masked without a choice; the
    # accused, the witness and the house number are proposals, checked by default.
    page = triage.get(case_url(rid)).get_data(as_text=True)
    boxes = checkboxes(page)
    assert {ACCUSED, WITNESS, HOUSE} <= set(boxes)
    assert all(checked for _value, checked in boxes.values())
    assert IDENTITY["name"] not in boxes and IDENTITY["phone"] not in boxes
    assert "Chưa xem lại: mọi chỗ được gợi ý đều sẽ bị che." in page

    # The Front lets the accused's name through (it is what the agency must act on) and adds a
    # phrase of its own.
    keep_masked = [value for label, (value, _c) in boxes.items() if label != ACCUSED]
    page = triage_do(triage, rid, "redaction", mask=keep_masked, phrases="quán Hoa Sen\n")
    assert "Đã cập nhật hồ sơ." in page and "Đã xem lại lúc" in page
    boxes = checkboxes(page)
    assert boxes[ACCUSED][1] is False and boxes[WITNESS][1] is True
    assert "quán Hoa Sen" in page  # the phrase is kept in the form
    preview = page[page.index('class="agency-preview"'):]
    preview = preview[:preview.index("</details>")]
    assert ACCUSED in preview and IDENTITY["name"] not in preview and "Hoa Sen" not in preview

    transfer(triage, app, rid, POLICE)
    police = staff("agency", POLICE)
    page = police.get(agency_case_url(rid)).get_data(as_text=True)
    assert ACCUSED in page and "nhận hối lộ 50 triệu đồng" in page
    for hidden in (IDENTITY["name"], "Bích Ngọc", IDENTITY["phone"], "0987654321", HOUSE,
                   "anh Hùng", "Hoa Sen"):
        assert hidden not in page, hidden
    assert page.count("[đã che]") >= 5
    # The inbox's excerpt is the masked text too.
    inbox = police.get("/staff/agency/").get_data(as_text=True)
    assert "Bích Ngọc" not in inbox and "[đã che]" in inbox

    # A later message: the writer's own identity, contact details and the Front's phrase are
    # masked; another person's name (a witness the agency asked for) is not.
    agency_do(police, rid, "message", body="Ai chứng kiến? Anh Tuấn ở quán có biết không?")
    reporter = app.test_client()
    open_case(reporter, code)
    reporter_reply(reporter, "Tôi là Trần Thị Bích Ngọc, gọi 0987654321. Quán Hoa Sen mở đến "
                             "22 giờ; anh Tuấn cũng thấy.")
    page = police.get(agency_case_url(rid)).get_data(as_text=True)
    assert "anh Tuấn cũng thấy" in page
    assert "Anh Tuấn ở quán có biết không?" in page  # its own message, as written
    for hidden in ("Bích Ngọc", "0987654321", "Hoa Sen"):
        assert hidden not in page, hidden

    # The Front still reads everything; the audit trail has counts, not what was masked.
    page = triage.get(case_url(rid)).get_data(as_text=True)
    assert "Quán Hoa Sen mở đến 22 giờ" in page
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "review_redaction"))
        assert entry.detail["phrases"] == 1 and entry.detail["unmasked"] == 1
        assert "Hoa Sen" not in repr(entry.detail)


def test_an_unreviewed_case_reaches_the_agency_with_every_proposal_masked(app, client, staff):
    _code, rid, triage = named_case(app, client, staff)
    transfer(triage, app, rid, POLICE)
    page = staff("agency", POLICE).get(agency_case_url(rid)).get_data(as_text=True)
    assert "nhận hối lộ 50 triệu đồng" in page
    for hidden in (IDENTITY["name"], ACCUSED, HOUSE, "anh Hùng"):
        assert hidden not in page


def test_only_triage_can_change_the_masks(app, client, staff):
    _code, rid, _triage = named_case(app, client, staff)
    supervisor = staff("supervisor")
    page = supervisor.get(case_url(rid)).get_data(as_text=True)
    assert 'name="mask"' in page and "disabled" in page  # read-only view of the proposals
    assert f'action="{case_url(rid)}/redaction"' not in page


def test_agencies_get_neutral_file_names(app, client, staff):
    code = file_report(client, identity_choice="named", name="Lý Thị Hạnh",
                       attachments=[(io.BytesIO(PNG), "CCCD-Ly-Thi-Hanh.png")])
    rid = report_id(app, code)
    triage = staff("triage")
    classify(triage, rid)
    transfer(triage, app, rid, POLICE)
    police = staff("agency", POLICE)
    page = police.get(agency_case_url(rid)).get_data(as_text=True)
    assert "Ly-Thi-Hanh" not in page and "Tệp 1" in page
    file_id = re.search(r'href="/staff/files/(\d+)"', page).group(1)
    response = police.get(f"/staff/files/{file_id}")
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=tep-dinh-kem-{file_id}.png")
    assert response.get_data().startswith(b"\x89PNG")
    # The Front keeps the reporter's file name.
    assert "CCCD-Ly-Thi-Hanh.png" in triage.get(f"/staff/files/{file_id}").headers[
        "Content-Disposition"]
