"""Legal deadlines in the back office and on the reporter's page, through the pages and forms
(CSRF on) with a fixed clock: highlighted and filterable queues, the case page's due dates,
extensions within the law's limits, the reporter told of an extension, the admin calendar."""

import re

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.deadlines.models import CalendarAdjustment, Deadline
from portal.extensions import db
from tests.functional.test_backoffice import (
    agency_case_url,
    agency_do,
    alerts,
    case_url,
    classify,
    report_id,
    transfer,
)
from tests.helpers import file_report, open_case, post_form

POLICE = "tn-police"
CALENDAR = "/staff/admin/calendar"
PRIVATE_DETAIL = "Ông Trần Văn Hậu ở xóm Đồng Bẩm nhận 50 triệu đồng để làm sổ đỏ sai quy định."


@pytest.fixture(autouse=True)
def _no_machine_suggestions(app, monkeypatch):
    monkeypatch.setitem(app.config, "CLASSIFIER_ENABLED", False)


def row_of(page: str, rid: int, endpoint: str = "triage") -> str:
    """The queue row that links to case ``rid``."""
    link = f'href="/staff/{endpoint}/cases/{rid}"'
    for row in re.findall(r"<tr[^>]*>.*?</tr>", page, flags=re.S):
        if link in row:
            return row
    raise AssertionError(f"case {rid} not listed")


def listed(page: str, endpoint: str = "triage") -> set[int]:
    return {int(n) for n in re.findall(rf'href="/staff/{endpoint}/cases/(\d+)"', page)}


def file_as(app, client, report_type: str, **fields) -> int:
    return report_id(app, file_report(client, report_type=report_type, **fields))


def send_to_police(app, triage, rid, report_type):
    classify(triage, rid, report_type=report_type, flags=())
    transfer(triage, app, rid, POLICE, override_reason="Thử thời hạn.")


def test_triage_queue_highlights_overdue_and_due_soon_in_words_and_filters_them(
        app, client, staff, clock):
    clock.set(2026, 9, 7, 9)  # Monday
    crime = file_as(app, client, "crime_report")  # Front forwards within 1 working day
    petition = file_as(app, client, "petition")  # Front replies within 10 working days
    denunciation = file_as(app, client, "denunciation")  # Front transfers within 5 w. days
    unknown = file_as(app, client, "")  # type not known yet: no time limit yet
    triage = staff("triage")

    clock.set(2026, 9, 11, 10)  # Friday
    page = triage.get("/staff/triage/").get_data(as_text=True)
    row = row_of(page, crime)
    assert 'class="row-overdue"' in row and "Quá hạn 3 ngày" in row  # due Tue 08/09
    assert "08/09/2026 23:59" in row
    row = row_of(page, denunciation)
    assert 'class="row-due-soon"' in row and "Còn 1 ngày làm việc" in row  # due Mon 14/09
    row = row_of(page, petition)
    assert "row-" not in row.split(">")[0] and "Hạn 21/09/2026" in row
    assert 'data-deadline="none"' in row_of(page, unknown)

    overdue = triage.get("/staff/triage/?deadline=overdue").get_data(as_text=True)
    assert listed(overdue) == {crime}
    soon = triage.get("/staff/triage/?deadline=due_soon").get_data(as_text=True)
    assert listed(soon) == {denunciation}
    assert listed(triage.get("/staff/triage/?deadline=whatever").get_data(as_text=True)) == {
        crime, petition, denunciation, unknown}
    assert '<label for="f-deadline">Thời hạn</label>' in page

    english = triage.get("/staff/triage/?lang=en").get_data(as_text=True)
    assert "Overdue by 3 days" in english and "1 working day left" in english


def test_agency_inbox_and_supervision_show_the_agencys_deadlines(app, client, staff, clock):
    clock.set(2026, 9, 11, 10)
    rid = file_as(app, client, "denunciation")
    other = file_as(app, client, "denunciation")
    triage = staff("triage")
    send_to_police(app, triage, rid, "denunciation")  # accept within 7 working days: 22/09
    send_to_police(app, triage, other, "denunciation")
    police = staff("agency", POLICE)
    supervisor = staff("supervisor")

    clock.set(2026, 9, 21, 10)
    page = police.get("/staff/agency/").get_data(as_text=True)
    row = row_of(page, rid, "agency")
    assert 'class="row-due-soon"' in row and "Còn 1 ngày làm việc" in row
    assert "Thụ lý hoặc không thụ lý" in row and "22/09/2026 23:59" in row

    agency_do(police, other, "accept")  # the other one moves on to its 30-day resolution
    clock.set(2026, 9, 24, 10)
    page = police.get("/staff/agency/").get_data(as_text=True)
    assert "Quá hạn 2 ngày" in row_of(page, rid, "agency")
    assert "row-overdue" not in row_of(page, other, "agency")
    assert listed(police.get("/staff/agency/?deadline=overdue").get_data(as_text=True),
                  "agency") == {rid}

    overview = supervisor.get("/staff/supervision/").get_data(as_text=True)
    assert "Quá hạn: 1 hồ sơ." in overview
    assert "Quá hạn 2 ngày" in row_of(overview, rid)
    assert "Công an tỉnh Thái Nguyên" in row_of(overview, rid)
    everywhere = supervisor.get("/staff/triage/?status=all&deadline=overdue")
    assert listed(everywhere.get_data(as_text=True)) == {rid}


def test_case_pages_show_each_stage_with_its_due_time_and_basis(app, client, staff, clock):
    clock.set(2026, 9, 3, 9)
    rid = file_as(app, client, "denunciation")
    triage = staff("triage")
    page = triage.get(case_url(rid)).get_data(as_text=True)
    assert "Thời hạn theo luật" in page
    assert "Mặt trận chuyển đến cơ quan có thẩm quyền" in page
    assert "10/09/2026 23:59" in page and "Luật Tố cáo 2018, Điều 24(1)" in page
    send_to_police(app, triage, rid, "denunciation")
    police = staff("agency", POLICE)
    page = police.get(agency_case_url(rid)).get_data(as_text=True)
    assert re.search(r'data-stage="accept" data-deadline="[a-z_]+"', page)
    assert "14/09/2026 23:59" in page and "Luật Tố cáo 2018, Điều 29(1)" in page
    assert "03/09/2026 09:00" in page  # started at the transfer
    # The Front's stage, closed by the transfer, stays on the record.
    assert "Đã xong, đúng hạn" in page


def test_agency_extends_within_the_law_and_the_reporter_is_told_the_new_date(
        app, client, staff, clock):
    clock.set(2026, 9, 2, 9)
    code = file_report(client, report_type="denunciation", text=PRIVATE_DETAIL,
                       identity_choice="named", name="Nguyễn Thị Mai", phone="0912345678")
    rid = report_id(app, code)
    triage = staff("triage")
    send_to_police(app, triage, rid, "denunciation")
    police = staff("agency", POLICE)
    clock.set(2026, 9, 14, 9)
    agency_do(police, rid, "accept")  # resolve within 30 days: 14/10/2026
    with app.app_context():
        deadline_id = db.session.scalar(select(Deadline.id).where(
            Deadline.report_id == rid, Deadline.stage == "resolve"))
    page = police.get(agency_case_url(rid)).get_data(as_text=True)
    assert f'name="deadline_id" value="{deadline_id}"' in page
    assert '<label for="reason-' in page and "Vụ việc phức tạp" in page

    def extend(ground, reason):
        return agency_do(police, rid, "extend-deadline", deadline_id=str(deadline_id),
                         ground=ground, reason=reason)

    assert "Vui lòng ghi lý do gia hạn." in alerts(extend("complex", "  "))
    reason = "Cần trưng cầu giám định chữ ký trên hồ sơ cấp giấy chứng nhận."
    page = extend("complex", reason)
    assert not alerts(page) and "Đã cập nhật hồ sơ." in page
    assert "13/11/2026 23:59" in page and reason in page
    refused = alerts(extend("complex", "Lần nữa."))
    assert refused and "chỉ được gia hạn 1 lần" in refused[0]
    with app.app_context():
        assert db.session.get(Deadline, deadline_id).extensions[0].ground == "complex"
        assert len(db.session.get(Deadline, deadline_id).extensions) == 1
        audited = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "extend_deadline")).all()
        assert [(e.report_id, e.detail["ground"]) for e in audited] == [(rid, "complex")]

    status_page = open_case(app.test_client(), code).get_data(as_text=True)
    assert ("Công an tỉnh Thái Nguyên (Cơ quan Cảnh sát điều tra) đã gia hạn thời hạn giải "
            "quyết đến hết ngày 13/11/2026") in status_page
    assert reason not in status_page and "police-officer" not in status_page
    api = app.test_client().get("/api/v1/reports/status",
                                headers={"Authorization": f"Receipt {code}"})
    assert api.status_code == 200  # the API gives the same history
    assert "13/11/2026" in api.get_data(as_text=True)
    assert reason not in api.get_data(as_text=True)


def test_triage_may_extend_and_others_only_read(app, client, staff, clock):
    clock.set(2026, 9, 2, 9)
    rid = file_as(app, client, "denunciation")
    triage = staff("triage")
    send_to_police(app, triage, rid, "denunciation")
    page = triage.get(case_url(rid)).get_data(as_text=True)
    assert f'action="{case_url(rid)}/extend-deadline"' in page  # accept: several places
    with app.app_context():
        deadline_id = db.session.scalar(select(Deadline.id).where(
            Deadline.report_id == rid, Deadline.stage == "accept"))
    response = post_form(triage, f"{case_url(rid)}/extend-deadline",
                         {"deadline_id": str(deadline_id), "ground": "several_places",
                          "reason": "Xác minh ở hai xã."},
                         token_from=case_url(rid), follow_redirects=True)
    assert "16/09/2026 23:59" in response.get_data(as_text=True)  # 10 working days
    supervisor = staff("supervisor")
    assert "extend-deadline" not in supervisor.get(case_url(rid)).get_data(as_text=True)


def test_admin_adds_and_removes_calendar_days_audited(app, client, staff, clock):
    clock.set(2026, 9, 7, 9)
    rid = file_as(app, client, "denunciation")  # the Front: 5 working days, to 14/09
    admin = staff("admin")
    page = admin.get(CALENDAR).get_data(as_text=True)
    assert '<label for="day">Ngày (dd/mm/yyyy)</label>' in page
    assert '<label for="kind">Loại điều chỉnh</label>' in page
    assert "02/09/2026" in page  # the year's holidays from the package
    assert "02/09/2027" in admin.get("/staff/admin/calendar?year=2027").get_data(as_text=True)

    bad = post_form(admin, CALENDAR, {"day": "2026-13-45", "kind": "day_off"},
                    token_from=CALENDAR).get_data(as_text=True)
    assert "Ngày phải có dạng dd/mm/yyyy" in bad
    response = post_form(admin, CALENDAR,
                         {"day": "10/09/2026", "kind": "day_off", "note": "Thông báo nghỉ bù"},
                         token_from=CALENDAR, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert 'data-adjustment="2026-09-10"' in page and "Thông báo nghỉ bù" in page
    assert "10/09/2026" in page and "Thứ Năm" in page
    with app.app_context():
        due = db.session.scalar(select(Deadline.due_at).where(Deadline.report_id == rid))
        adjustment_id = db.session.scalar(select(CalendarAdjustment.id))
    assert due.strftime("%Y-%m-%d") == "2026-09-15"  # one working day later (UTC 16:59:59)

    post_form(admin, "/staff/admin/calendar/remove", {"adjustment_id": str(adjustment_id)},
              token_from=CALENDAR)
    with app.app_context():
        assert db.session.scalar(select(CalendarAdjustment.id)) is None
        actions = db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("%calendar%")).order_by(AuditEntry.seq)).all()
    assert actions == ["add_calendar_adjustment", "remove_calendar_adjustment"]
    assert staff("triage").get(CALENDAR).status_code == 403
