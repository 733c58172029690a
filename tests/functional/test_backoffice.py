"""The back office end to end: the Front triages a report, one agency handles it, the reporter
follows it with the receipt code. Everything goes through the pages and forms, CSRF on."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from portal import geo
from portal.agencies.models import Agency
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.reports import reporter
from portal.reports.models import Report, ReportEvent
from tests.helpers import csrf_token, file_report, open_case, post_form

IDENTITY = {
    "name": "Trần Thị Bích Ngọc",
    "phone": "0987 654 321",
    "email": "ngoc.tran@example.vn",
    "address": "Tổ 7, phường Phan Đình Phùng",
    "id_number": "019198001234",
}
STORED_PHONE = "0987654321"
POLICE = "tn-police"
POLICE_NAME = "Công an tỉnh Thái Nguyên (Cơ quan Cảnh sát điều tra)"
PROCURACY = "tn-procuracy"
PROCURACY_NAME = "Viện kiểm sát nhân dân tỉnh Thái Nguyên"
TRIAGE_USER = "le.van.phanloai"
POLICE_USER = "pham.thi.congan"

NOTE = "Ghi chú nội bộ: người gửi có thể là hàng xóm của cán bộ địa chính."
REASON = "Có dấu hiệu tội nhận hối lộ (Điều 354 BLHS); chuyển theo Điều 145 BLTTHS."
QUESTION = "Đề nghị cho biết thời điểm giao tiền và người chứng kiến."
ANSWER = "Giao tiền tối 12/3 tại quán nước đầu thôn, có anh Hùng chứng kiến."
RESULT = "Đã khởi tố vụ án nhận hối lộ; bị can bị tạm đình chỉ công tác."


@pytest.fixture(autouse=True)
def _no_machine_suggestions(app, monkeypatch):
    """These tests are about what staff do. The machine's suggestions would put crime signs
    first in the queue and stand in for unconfirmed sectors in its filter; that is tested in
    test_classification_flow.py."""
    monkeypatch.setitem(app.config, "CLASSIFIER_ENABLED", False)


# --- small helpers --------------------------------------------------------------------------

def case_url(report_id: int) -> str:
    return f"/staff/triage/cases/{report_id}"


def agency_case_url(report_id: int) -> str:
    return f"/staff/agency/cases/{report_id}"


def report_id(app, code: str) -> int:
    with app.app_context():
        return reporter.find_by_code(code, app.config["SECRET_KEY"]).id


def agency_id(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Agency.id).where(Agency.code == code))


def snapshot(app, rid: int) -> dict:
    """What the database holds about a case (to check that a refused action changed nothing)."""
    with app.app_context():
        report = db.session.get(Report, rid)
        return {
            "status": report.status,
            "agency": report.current_agency.code if report.current_agency else None,
            "report_type": report.report_type,
            "sector": report.sector,
            "subject": report.subject,
            "flags": list(report.flags),
            "result_text": report.result_text,
            "outcome_code": report.outcome_code,
            "duplicate_of_id": report.duplicate_of_id,
            "events": [e.kind for e in report.events],
            "notes": len(report.notes),
            "messages": len(report.messages),
            "changes_audited": db.session.scalar(
                select(func.count()).select_from(AuditEntry)
                .where(AuditEntry.report_id == rid, AuditEntry.action != "view_case")
            ),
        }


def alerts(page: str) -> list[str]:
    """Error notices shown on a page."""
    return re.findall(r'role="alert">([^<]+)<', page)


def triage_do(client, rid: int, action: str, **data) -> str:
    """Submit one of the forms on the Front's case page; returns the page shown afterwards."""
    response = post_form(client, f"{case_url(rid)}/{action}", data, token_from=case_url(rid),
                         follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == case_url(rid)
    return response.get_data(as_text=True)


def agency_do(client, rid: int, action: str, **data) -> str:
    """Submit one of the forms on the agency's case page; returns the page shown afterwards."""
    response = post_form(client, f"{agency_case_url(rid)}/{action}", data,
                         token_from=agency_case_url(rid), follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def classify(client, rid: int, report_type="crime_report", sector="land", subject="official",
             flags=("corruption",)) -> str:
    # "crime": "" is the select left at "not decided", as a browser sends it.
    return triage_do(client, rid, "classify", report_type=report_type, sector=sector,
                     subject=subject, flags=list(flags), crime="")


def transfer(client, app, rid: int, agency_code: str, reason: str = REASON,
             override_reason: str = "") -> str:
    """Transfer through the case page's form. Choosing another agency than the routing rules
    suggest needs ``override_reason`` (tests/functional/test_routing.py)."""
    return triage_do(client, rid, "transfer", agency_id=str(agency_id(app, agency_code)),
                     body=reason, override_reason=override_reason)


def queue_ids(client, **filters) -> list[int]:
    """Case ids listed in the triage queue, in the order shown."""
    response = client.get("/staff/triage/", query_string=filters)
    assert response.status_code == 200
    return [int(i) for i in re.findall(r'href="/staff/triage/cases/(\d+)"',
                                       response.get_data(as_text=True))]


def inbox_ids(client) -> list[int]:
    response = client.get("/staff/agency/")
    assert response.status_code == 200
    return [int(i) for i in re.findall(r'href="/staff/agency/cases/(\d+)"',
                                       response.get_data(as_text=True))]


def status_now(page: str) -> str:
    """The reporter's 'current status' line."""
    return re.search(r'class="status-now"[^>]*>([^<]+)<', page).group(1)


def reporter_reply(client, body: str) -> None:
    token = csrf_token(client, "/ho-so")
    response = client.post("/ho-so", data={"csrf_token": token, "text": body},
                           content_type="multipart/form-data")
    assert response.status_code == 302


def transferred_case(app, client, staff):
    """A named report, classified and transferred to the provincial police."""
    code = file_report(client, identity_choice="named", contact_preference="phone", **IDENTITY)
    rid = report_id(app, code)
    triage = staff("triage", username=TRIAGE_USER)
    classify(triage, rid)
    transfer(triage, app, rid, POLICE)
    assert snapshot(app, rid)["status"] == "transferred"
    return code, rid, triage


# --- the whole flow -------------------------------------------------------------------------

def test_a_named_report_goes_from_filing_through_triage_and_agency_to_a_result(
        app, client, staff):
    code = file_report(client, identity_choice="named", contact_preference="phone", **IDENTITY)
    rid = report_id(app, code)
    triage = staff("triage", username=TRIAGE_USER)

    # The queue lists it; the case page shows the text and that there is an identity, with the
    # reporter's choices, but not the identity itself: only the custodian opens it
    # (tests/functional/test_disclosure.py).
    assert queue_ids(triage) == [rid]
    page = triage.get(case_url(rid)).get_data(as_text=True)
    assert "nhận hối lộ 50 triệu đồng để cấp sổ đỏ" in page
    assert 'data-identity="named"' in page and "Liên hệ: Qua điện thoại" in page
    for value in (IDENTITY["name"], STORED_PHONE, IDENTITY["email"], IDENTITY["id_number"],
                  IDENTITY["address"]):
        assert value not in page

    # Transfer before classification is refused, with the reason shown.
    page = transfer(triage, app, rid, POLICE)
    assert "Cần phân loại (loại đơn, lĩnh vực) trước khi chuyển." in alerts(page)
    assert snapshot(app, rid)["status"] == "received"

    page = classify(triage, rid, flags=("corruption", "repeat"))
    assert "Đã cập nhật hồ sơ." in page
    state = snapshot(app, rid)
    assert (state["status"], state["report_type"], state["sector"], state["subject"]) == (
        "in_review", "crime_report", "land", "official")
    assert state["flags"] == ["corruption", "repeat"]
    assert "Đang kiểm tra, phân loại" in page and "Tham nhũng" in page and "Đất đai" in page

    page = triage_do(triage, rid, "note", body=NOTE)
    assert NOTE in page

    # Transfer without a reason is refused; nothing moves.
    page = transfer(triage, app, rid, POLICE, reason="")
    assert "Vui lòng ghi lý do, căn cứ chuyển." in alerts(page)
    assert snapshot(app, rid)["status"] == "in_review"
    assert snapshot(app, rid)["agency"] is None

    page = transfer(triage, app, rid, POLICE)
    assert f"Đã chuyển đến cơ quan có thẩm quyền — {POLICE_NAME}" in page
    assert REASON in page  # the Front sees its own reason
    assert snapshot(app, rid)["agency"] == POLICE

    # The agency sees it in its inbox, without the reporter's identity, notes or reason.
    police = staff("agency", POLICE, username=POLICE_USER)
    assert inbox_ids(police) == [rid]
    page = police.get(agency_case_url(rid)).get_data(as_text=True)
    assert "nhận hối lộ 50 triệu đồng để cấp sổ đỏ" in page
    for secret in (IDENTITY["name"], STORED_PHONE, IDENTITY["phone"], IDENTITY["email"],
                   IDENTITY["id_number"], IDENTITY["address"], NOTE, REASON):
        assert secret not in page

    page = agency_do(police, rid, "accept")
    assert snapshot(app, rid)["status"] == "accepted"
    assert "Cơ quan có thẩm quyền đã thụ lý" in page

    agency_do(police, rid, "message", body=QUESTION)

    # The reporter sees who accepted and the question, never a staff member's name.
    reporter_client = app.test_client()
    page = open_case(reporter_client, code).get_data(as_text=True)
    assert "đã thụ lý" in status_now(page) and POLICE_NAME in status_now(page)
    assert QUESTION in page
    assert f"{POLICE_NAME} đã thụ lý (nhận giải quyết)." in page
    for hidden in (TRIAGE_USER, POLICE_USER, NOTE, REASON):
        assert hidden not in page

    reporter_reply(reporter_client, ANSWER)
    assert ANSWER in police.get(agency_case_url(rid)).get_data(as_text=True)

    # A result that does not fit a crime report is refused; a fitting one is recorded.
    page = agency_do(police, rid, "resolve", outcome_code="founded", body=RESULT)
    assert "Kết quả này không phù hợp với loại đơn." in alerts(page)
    assert snapshot(app, rid)["status"] == "accepted"
    assert snapshot(app, rid)["result_text"] is None

    agency_do(police, rid, "resolve", outcome_code="prosecuted", body=RESULT)
    state = snapshot(app, rid)
    assert (state["status"], state["outcome_code"], state["result_text"]) == (
        "resolved", "prosecuted", RESULT)

    page = reporter_client.get("/ho-so").get_data(as_text=True)
    assert "Đã có kết quả giải quyết" in status_now(page)
    assert "Khởi tố vụ án" in page and RESULT in page
    for hidden in (TRIAGE_USER, POLICE_USER, NOTE, REASON):
        assert hidden not in page


# --- the queue ------------------------------------------------------------------------------

def test_queue_is_oldest_first_filters_and_searches_without_caring_about_diacritics(
        app, client, staff):
    ward_code = geo.wards_of(19)[0][0]
    accented = report_id(app, file_report(client, ward_code=str(ward_code),
                                          report_type="denunciation"))
    plain = report_id(app, file_report(
        client, text="Can bo xa nhan hoi lo 10 trieu dong de lam giay to nhanh cho dan."))
    hanoi = report_id(app, file_report(
        client, province="1", ward_code="4", report_type="petition",
        text="Đường ngõ bị sụt lún sau khi thi công cống, đề nghị sửa chữa sớm."))
    # The Hà Nội report was received earliest: oldest first is by time received, not by number.
    with app.app_context():
        db.session.execute(update(Report).where(Report.id == hanoi)
                           .values(created_at=datetime.now(UTC) - timedelta(days=3)))
        db.session.commit()

    triage = staff("triage")
    classify(triage, accented, report_type="denunciation", sector="land")

    assert queue_ids(triage) == [hanoi, accented, plain]
    assert "3 hồ sơ" in triage.get("/staff/triage/").get_data(as_text=True)
    assert queue_ids(triage, report_type="denunciation") == [accented]
    assert queue_ids(triage, report_type="petition") == [hanoi]
    assert queue_ids(triage, sector="land") == [accented]
    assert queue_ids(triage, sector="health") == []
    assert queue_ids(triage, province_code=19) == [accented, plain]
    assert queue_ids(triage, province_code=1) == [hanoi]
    assert queue_ids(triage, province_code=19, ward_code=ward_code) == [accented]
    page = triage.get("/staff/triage/", query_string={"province_code": 19}).get_data(as_text=True)
    assert f'<option value="{ward_code}"' in page  # the ward filter offers the province's wards
    assert queue_ids(triage, status="in_review") == [accented]
    assert queue_ids(triage, status="received") == [hanoi, plain]
    # Accent-insensitive both ways, and every word must match.
    assert queue_ids(triage, q="hoi lo") == [accented, plain]
    assert queue_ids(triage, q="hối lộ") == [accented, plain]
    assert queue_ids(triage, q="HỐI  LỘ sổ đỏ") == [accented]
    assert queue_ids(triage, q="sut lun") == [hanoi]
    assert queue_ids(triage, q="hối lộ", province_code=1) == []
    assert queue_ids(triage, q="100%") == []


# --- returning, withdrawing, one agency at a time -------------------------------------------

def test_agency_returns_a_case_it_is_not_competent_for_and_it_goes_back_to_triage(
        app, client, staff):
    code, rid, triage = transferred_case(app, client, staff)
    police = staff("agency", POLICE)

    page = agency_do(police, rid, "return", body="")
    assert "Vui lòng ghi lý do trả lại." in alerts(page)
    assert snapshot(app, rid)["status"] == "transferred"

    response = post_form(police, f"{agency_case_url(rid)}/return",
                         {"body": "Người bị tố cáo là cán bộ tư pháp: thuộc Viện kiểm sát."},
                         token_from=agency_case_url(rid))
    assert response.status_code == 302 and response.headers["Location"] == "/staff/agency/"
    state = snapshot(app, rid)
    assert (state["status"], state["agency"]) == ("returned", None)
    assert inbox_ids(police) == []
    assert police.get(agency_case_url(rid)).status_code == 404

    # Back in the Front's default queue, marked as returned.
    assert queue_ids(triage) == [rid]
    assert queue_ids(triage, status="returned") == [rid]
    assert "Đang xem xét chuyển lại" in triage.get("/staff/triage/").get_data(as_text=True)

    page = open_case(app.test_client(), code).get_data(as_text=True)
    assert (f"{POLICE_NAME} trả lại vì không thuộc thẩm quyền; Mặt trận đang xem xét chuyển "
            "đúng nơi.") in page
    assert "Cán bộ tư pháp" not in page and "Viện kiểm sát" not in page  # the reason stays inside

    # Re-transferred: only the new agency holds it; the old one cannot even open it.
    transfer(triage, app, rid, PROCURACY, reason="Thẩm quyền của Viện kiểm sát (Điều 163 BLTTHS).",
             override_reason="Công an tỉnh trả lại: người bị tố giác là cán bộ tư pháp.")
    procuracy = staff("agency", PROCURACY)
    assert inbox_ids(procuracy) == [rid]
    assert procuracy.get(agency_case_url(rid)).status_code == 200
    assert inbox_ids(police) == []
    assert police.get(agency_case_url(rid)).status_code == 404
    assert snapshot(app, rid)["agency"] == PROCURACY
    page = open_case(app.test_client(), code).get_data(as_text=True)
    assert PROCURACY_NAME in status_now(page)


def test_a_transfer_can_be_withdrawn_before_the_agency_accepts(app, client, staff):
    code, rid, triage = transferred_case(app, client, staff)
    police = staff("agency", POLICE)

    page = triage_do(triage, rid, "withdraw", body="")
    assert "Vui lòng ghi lý do rút lại." in alerts(page)
    assert snapshot(app, rid)["agency"] == POLICE

    triage_do(triage, rid, "withdraw", body="Chọn nhầm cơ quan.")
    state = snapshot(app, rid)
    assert (state["status"], state["agency"]) == ("in_review", None)
    assert inbox_ids(police) == []
    assert police.get(agency_case_url(rid)).status_code == 404
    assert queue_ids(triage) == [rid]
    page = open_case(app.test_client(), code).get_data(as_text=True)
    assert "Mặt trận rút lại việc chuyển để xem xét lại." in page
    assert "Chọn nhầm cơ quan." not in page

    # Once accepted, the transfer can no longer be withdrawn.
    transfer(triage, app, rid, POLICE)
    agency_do(police, rid, "accept")
    before = snapshot(app, rid)
    page = triage_do(triage, rid, "withdraw", body="Muốn rút lại.")
    assert ("Không thể rút lại việc chuyển khi hồ sơ đang ở trạng thái “Cơ quan có thẩm quyền "
            "đã thụ lý”.") in alerts(page)
    assert snapshot(app, rid) == before


def test_a_report_is_never_with_two_agencies(app, client, staff):
    _code, rid, triage = transferred_case(app, client, staff)
    before = snapshot(app, rid)
    page = transfer(triage, app, rid, PROCURACY)
    assert ("Không thể chuyển đến cơ quan khi hồ sơ đang ở trạng thái “Đã chuyển đến cơ quan "
            "có thẩm quyền”.") in alerts(page)
    assert snapshot(app, rid) == before
    assert inbox_ids(staff("agency", PROCURACY)) == []
    assert inbox_ids(staff("agency", POLICE)) == [rid]


# --- spam, duplicates, notes ----------------------------------------------------------------

def test_spam_is_hidden_from_the_queue_but_kept_and_can_be_restored(app, client, staff):
    code = file_report(client, text="Quảng cáo vay tiền nhanh lãi suất thấp, gọi ngay số này.")
    keep = report_id(app, file_report(client))
    rid = report_id(app, code)
    triage = staff("triage")

    page = triage_do(triage, rid, "spam", body="")
    assert "Vui lòng ghi lý do đánh dấu tin rác." in alerts(page)
    triage_do(triage, rid, "spam", body="Quảng cáo, không phải tin báo.")
    assert snapshot(app, rid)["status"] == "spam"
    assert queue_ids(triage) == [keep]
    assert queue_ids(triage, status="spam") == [rid]
    assert rid in queue_ids(triage, status="all")
    page = triage.get(case_url(rid)).get_data(as_text=True)
    assert "Quảng cáo vay tiền nhanh" in page and "Đã đóng" in page
    # The reporter is not told their report was judged spam.
    page = open_case(app.test_client(), code).get_data(as_text=True)
    assert status_now(page) == "Đã tiếp nhận" and "rác" not in page

    triage_do(triage, rid, "restore")
    assert snapshot(app, rid)["status"] == "in_review"
    assert queue_ids(triage) == [rid, keep]
    assert queue_ids(triage, status="spam") == []


def test_merging_a_duplicate_closes_it_and_tells_its_reporter(app, client, staff):
    original = report_id(app, file_report(client))
    code = file_report(client, text="Cán bộ địa chính xã Đồng Bẩm đòi 50 triệu mới cấp sổ đỏ.")
    rid = report_id(app, code)
    triage = staff("triage")

    page = triage_do(triage, rid, "merge", target_id=str(rid))
    assert "Không tìm thấy hồ sơ gốc để gộp." in alerts(page)
    page = triage_do(triage, rid, "merge", target_id="999999")
    assert "Không tìm thấy hồ sơ gốc để gộp." in alerts(page)
    assert snapshot(app, rid)["status"] == "received"

    # The officer types the number after the dash of the original's case number.
    with app.app_context():
        number = db.session.get(Report, original).case_number.split("-")[1]
    page = triage_do(triage, rid, "merge", target_id=number)
    assert "Đã gộp vào hồ sơ" in page and f'href="{case_url(original)}"' in page
    state = snapshot(app, rid)
    assert (state["status"], state["duplicate_of_id"]) == ("duplicate", original)
    assert queue_ids(triage) == [original]
    assert queue_ids(triage, status="duplicate") == [rid]

    page = open_case(app.test_client(), code).get_data(as_text=True)
    assert "Tin của bạn được giải quyết cùng một tin khác có cùng nội dung." in page
    assert status_now(page) == "Được giải quyết cùng tin khác"


def test_internal_notes_are_seen_only_by_the_front(app, client, staff):
    code, rid, triage = transferred_case(app, client, staff)
    page = triage_do(triage, rid, "note", body="")
    assert "Ghi chú trống." in alerts(page)
    page = triage_do(triage, rid, "note", body=NOTE)
    assert NOTE in page
    assert snapshot(app, rid)["notes"] == 1
    assert NOTE in staff("supervisor").get(case_url(rid)).get_data(as_text=True)
    assert NOTE not in staff("agency", POLICE).get(agency_case_url(rid)).get_data(as_text=True)
    assert NOTE not in open_case(app.test_client(), code).get_data(as_text=True)


# --- audit trail ----------------------------------------------------------------------------

def test_every_change_and_every_case_view_is_audited_with_the_user_and_no_address(
        app, client, staff):
    address = "203.0.113.77"
    client.environ_base["REMOTE_ADDR"] = address
    code = file_report(client, identity_choice="named", **IDENTITY)
    rid = report_id(app, code)
    triage = staff("triage", username="audit.triage")
    police = staff("agency", POLICE, username="audit.police")
    procuracy = staff("agency", PROCURACY, username="audit.procuracy")
    for c in (triage, police, procuracy):
        c.environ_base["REMOTE_ADDR"] = address

    classify(triage, rid)
    triage_do(triage, rid, "note", body=NOTE)
    triage_do(triage, rid, "message", body="Bạn có giữ biên nhận chuyển tiền không?")
    transfer(triage, app, rid, POLICE)
    triage_do(triage, rid, "withdraw", body="Xem lại thẩm quyền.")
    transfer(triage, app, rid, POLICE)
    agency_do(police, rid, "return", body="Không thuộc thẩm quyền.")
    transfer(triage, app, rid, PROCURACY, override_reason="Công an tỉnh trả lại.")
    agency_do(procuracy, rid, "accept")
    agency_do(procuracy, rid, "message", body=QUESTION)
    agency_do(procuracy, rid, "resolve", outcome_code="not_prosecuted", body=RESULT)
    other = report_id(app, file_report(client))
    triage_do(triage, other, "spam", body="Tin rác.")
    triage_do(triage, other, "restore")
    triage_do(triage, other, "merge", target_id=str(rid))

    with app.app_context():
        users = dict(db.session.execute(text("SELECT username, id FROM users")).all())
        events = db.session.scalars(
            select(ReportEvent).where(ReportEvent.actor_user_id.is_not(None))).all()
        entries = db.session.scalars(select(AuditEntry)).all()
    audited = [(e.report_id, e.user_id, e.action) for e in entries]
    expected_action = {"start_review": "classify", "info_requested": "message_reporter"}
    assert len(events) == 13
    for event in events:
        wanted = (event.report_id, event.actor_user_id,
                  expected_action.get(event.kind, event.kind))
        assert wanted in audited, wanted
    assert (rid, users["audit.triage"], "add_note") in audited

    # Each opening of a case page is one "view_case" entry naming the user.
    def views(user_id):
        return sum(1 for e in entries if e.action == "view_case" and e.user_id == user_id
                   and e.report_id == rid)

    before = views(users["audit.procuracy"])
    procuracy.get(agency_case_url(rid))
    procuracy.get(agency_case_url(rid))
    triage.get(case_url(rid))
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry)).all()
    assert views(users["audit.procuracy"]) == before + 2
    assert all(e.user_id is not None for e in entries if e.action == "view_case")

    # No client address anywhere: neither a column for it nor a value in any table.
    with app.app_context():
        columns = [c.name for c in AuditEntry.__table__.columns]
        dump = []
        for table in db.metadata.sorted_tables:
            dump += [repr(tuple(row)) for row in db.session.execute(table.select()).all()]
    assert not [c for c in columns if "ip" in c.split("_") or "addr" in c]
    assert not [row for row in dump if address in row or "127.0.0.1" in row]


# --- illegal transitions --------------------------------------------------------------------

def test_illegal_transitions_are_refused_with_a_clear_message_and_change_nothing(
        app, client, staff):
    _code, rid, triage = transferred_case(app, client, staff)
    police = staff("agency", POLICE)

    # Resolve before accepting.
    before = snapshot(app, rid)
    page = agency_do(police, rid, "resolve", outcome_code="prosecuted", body=RESULT)
    assert ("Không thể ghi nhận kết quả khi hồ sơ đang ở trạng thái “Đã chuyển đến cơ quan có "
            "thẩm quyền”.") in alerts(page)
    assert snapshot(app, rid) == before

    # Accept twice.
    agency_do(police, rid, "accept")
    before = snapshot(app, rid)
    assert before["events"].count("accept") == 1
    page = agency_do(police, rid, "accept")
    assert ("Không thể thụ lý khi hồ sơ đang ở trạng thái “Cơ quan có thẩm quyền đã thụ lý”."
            in alerts(page))
    assert snapshot(app, rid) == before

    # The Front cannot reclassify, mark as spam or restore a case the agency holds.
    page = classify(triage, rid, report_type="denunciation", sector="personnel")
    assert "Chỉ phân loại được hồ sơ đang ở Mặt trận." in alerts(page)
    page = triage_do(triage, rid, "spam", body="Nhầm.")
    assert ("Không thể đánh dấu tin rác khi hồ sơ đang ở trạng thái “Cơ quan có thẩm quyền đã "
            "thụ lý”.") in alerts(page)
    page = triage_do(triage, rid, "restore")
    assert "Không thể khôi phục khi hồ sơ đang ở trạng thái" in alerts(page)[0]
    assert snapshot(app, rid) == before

    # Once resolved, nothing more can be resolved or returned.
    agency_do(police, rid, "resolve", outcome_code="prosecuted", body=RESULT)
    before = snapshot(app, rid)
    page = agency_do(police, rid, "resolve", outcome_code="withdrawn", body="Khác.")
    assert ("Không thể ghi nhận kết quả khi hồ sơ đang ở trạng thái “Đã có kết quả giải "
            "quyết”.") in alerts(page)
    page = agency_do(police, rid, "return", body="Trả lại.")
    assert ("Không thể trả lại vì không đúng thẩm quyền khi hồ sơ đang ở trạng thái “Đã có "
            "kết quả giải quyết”.") in alerts(page)
    assert snapshot(app, rid) == before
