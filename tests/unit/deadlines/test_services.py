"""Every row of routing.md's "Deadlines" table: which event starts it, its unit, its due time
and legal basis, what ends it, and the extensions the law allows — driven through the real
staff actions (portal/reports/handling.py) with a fixed clock."""

from datetime import date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.audit.models import AuditEntry
from portal.deadlines import rules, services
from portal.deadlines.calendar import DAY_OFF, end_of_day
from portal.deadlines.models import Deadline
from portal.extensions import db
from portal.reports import handling, reporter
from portal.timeutil import VN_TZ
from tests.helpers import act_as, file_report


def vn(year, month, day, hour=9, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def due(year, month, day) -> datetime:
    """A deadline counted in days ends at the end of its last day (Vietnam time)."""
    return end_of_day(date(year, month, day))


@pytest.fixture
def case(app, client, make_user, clock, monkeypatch):
    """File reports and act on them as the Front and the police, at the clock's time."""
    monkeypatch.setitem(app.config, "CLASSIFIER_ENABLED", False)
    make_user("front", "triage")
    make_user("police-officer", "agency", "tn-police")

    def file(report_type, **fields) -> int:
        code = file_report(client, report_type=report_type, **fields)
        with app.app_context():
            return reporter.find_by_code(code, app.config["SECRET_KEY"]).id

    def act(rid, action, *args, username="front", **kwargs):
        return act_as(app, rid, username, action, *args, **kwargs)

    def police():
        return db.session.scalar(select(Agency).where(Agency.code == "tn-police"))

    def classify(rid, report_type, *, crime=None, flags=()):
        act(rid, handling.classify, report_type=report_type, sector="land", subject="official",
            flags=list(flags), crime=crime)

    def transfer(rid):
        # (The routing rules may suggest another body: these tests are about time limits.)
        act(rid, lambda user, report: handling.transfer(
            user, report, police(), "Đúng thẩm quyền.", override_reason="Thử thời hạn."))

    def agency(rid, action, *args, **kwargs):
        return act(rid, action, *args, username="police-officer", **kwargs)

    def deadlines(rid) -> dict:
        """``{stage: [rows, oldest first]}`` as plain data."""
        with app.app_context():
            rows = db.session.scalars(select(Deadline).where(Deadline.report_id == rid)
                                      .order_by(Deadline.id)).all()
            found = {}
            for d in rows:
                found.setdefault(d.stage, []).append(SimpleNamespace(
                    id=d.id, report_type=d.report_type, party=d.party, started_at=d.started_at,
                    due_at=d.due_at, length=d.length, unit=d.unit, basis=d.basis,
                    closed_at=d.closed_at, closed_by=d.closed_by,
                    extensions=[e.ground for e in d.extensions]))
            db.session.remove()
            return found

    def extend(rid, stage, ground, reason="Phải xác minh thêm nhiều tài liệu.", **kwargs):
        deadline_id = [d for d in deadlines(rid)[stage] if d.closed_at is None][-1].id
        return agency(rid, services.extend, deadline_id, ground, reason, **kwargs)

    return SimpleNamespace(file=file, act=act, classify=classify, transfer=transfer,
                           agency=agency, deadlines=deadlines, extend=extend, clock=clock)


def only_open(rows):
    found = [d for d in rows if d.closed_at is None]
    assert len(found) == 1, rows
    return found[0]


# --- the rules file ------------------------------------------------------------------------------

def test_the_rules_file_has_every_row_of_the_table_with_a_legal_basis():
    loaded = rules.load()
    assert {(s.report_type, s.stage) for s in loaded.stages} == {
        ("crime_report", "forward"), ("crime_report", "notify_receipt"),
        ("crime_report", "resolve"), ("denunciation", "forward"), ("denunciation", "accept"),
        ("denunciation", "resolve"), ("denunciation", "report_back"), ("complaint", "accept"),
        ("complaint", "resolve"), ("complaint", "report_back"), ("petition", "reply"),
    }
    for stage in loaded.stages:
        for version in stage.versions:
            assert version.basis and version.period.length > 0
            for ground in version.grounds:
                assert ground.basis and ground.code in rules.GROUND_LABELS


def test_a_malformed_rules_document_is_refused_when_loaded():
    good = {"version": "x", "counting_basis": "y", "stages": [{
        "report_type": "petition", "stage": "reply", "party": "front", "start": ["filed"],
        "open_while": ["received"],
        "versions": [{"from": date(2014, 7, 1), "length": 10, "unit": "working_days",
                      "basis": "Luật Tiếp công dân 2013, Điều 28"}]}]}
    assert rules.parse(good).stage("petition", "reply").versions[0].period.length == 10
    for breakage in ({"unit": "weeks"}, {"party": "nobody"}, {"report_type": "gossip"},
                     {"open_while": ["nowhere"]}):
        bad = {**good, "stages": [{**good["stages"][0], **breakage}]}
        if "unit" in breakage:
            bad["stages"][0]["versions"] = [{**good["stages"][0]["versions"][0], **breakage}]
        with pytest.raises(rules.RulesError):
            rules.parse(bad)


def test_months_end_on_the_same_day_or_the_months_last_day():
    assert rules.add_months(date(2026, 4, 10), 2) == date(2026, 6, 10)
    assert rules.add_months(date(2026, 12, 31), 2) == date(2027, 2, 28)
    assert rules.add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


# --- crime reports -------------------------------------------------------------------------------

def test_crime_report_the_front_forwards_within_one_working_day_or_24_hours_if_urgent(case):
    case.clock.set(2026, 2, 13, 10)  # Friday before Tết 2026
    rid = case.file("crime_report")
    forward = only_open(case.deadlines(rid)["forward"])
    assert (forward.party, forward.report_type) == ("front", "crime_report")
    assert forward.started_at == vn(2026, 2, 13, 10)
    assert (forward.length, forward.unit) == (1, "working_days")
    assert forward.due_at == due(2026, 2, 23)  # weekend, then Tết 16–20/02
    assert "Điều 145" in forward.basis

    case.clock.set(2026, 2, 13, 11)
    case.classify(rid, "crime_report", flags=["urgent"])
    forward = only_open(case.deadlines(rid)["forward"])
    assert forward.started_at == vn(2026, 2, 13, 10)  # still from filing
    assert (forward.length, forward.unit) == (24, "hours")
    assert forward.due_at == vn(2026, 2, 14, 10)
    assert "24 giờ" in forward.basis


def test_crime_report_receipt_notice_and_resolution_start_at_the_transfer(case):
    case.clock.set(2026, 4, 21, 15)
    rid = case.file("crime_report")
    case.classify(rid, "crime_report")
    case.clock.set(2026, 4, 22, 9)
    case.transfer(rid)
    found = case.deadlines(rid)
    assert found["forward"][0].closed_by == "transfer"
    assert found["forward"][0].closed_at == vn(2026, 4, 22, 9)
    notify, resolve = only_open(found["notify_receipt"]), only_open(found["resolve"])
    assert notify.party == resolve.party == "agency"
    assert notify.started_at == resolve.started_at == vn(2026, 4, 22, 9)
    # 3 working days: Thu 23, Fri 24, (weekend, Giỗ Tổ observed Mon 27/04) Tue 28/04.
    assert (notify.length, notify.unit, notify.due_at) == (3, "working_days", due(2026, 4, 28))
    assert "Điều 14" in notify.basis
    # 20 calendar days from receipt (BLTTHS 147(1)).
    assert (resolve.length, resolve.unit, resolve.due_at) == (20, "days", due(2026, 5, 12))
    assert "Điều 147" in resolve.basis

    case.clock.set(2026, 4, 23, 10)
    case.agency(rid, handling.accept)
    found = case.deadlines(rid)
    assert found["notify_receipt"][0].closed_by == "accept"
    assert only_open(found["resolve"]).due_at == due(2026, 5, 12)  # the same stage goes on

    case.clock.set(2026, 5, 5, 10)
    case.agency(rid, handling.resolve, result_text="Không khởi tố.", outcome_code="not_prosecuted")
    found = case.deadlines(rid)
    assert found["resolve"][0].closed_by == "resolve"
    assert set(found) == {"forward", "notify_receipt", "resolve"}  # no report-back row


def test_a_period_ending_on_a_holiday_ends_on_the_next_working_day(case):
    case.clock.set(2026, 4, 9, 9)
    rid = case.file("crime_report")
    case.classify(rid, "crime_report")
    case.clock.set(2026, 4, 10, 9)
    case.transfer(rid)
    # 10/04 + 20 days = 30/04 (holiday), 01/05 holiday, then a weekend: Monday 04/05/2026.
    assert only_open(case.deadlines(rid)["resolve"]).due_at == due(2026, 5, 4)


def test_crime_report_extensions_complex_to_two_months_then_procuracy_once(case):
    case.clock.set(2026, 4, 9, 9)
    rid = case.file("crime_report")
    case.classify(rid, "crime_report")
    case.clock.set(2026, 4, 10, 9)
    case.transfer(rid)
    case.clock.set(2026, 4, 20, 9)

    with pytest.raises(handling.ActionError, match="sau khi đã gia hạn"):
        case.extend(rid, "resolve", "procuracy")
    with pytest.raises(handling.ActionError, match="không cho phép gia hạn"):
        case.extend(rid, "notify_receipt", "complex")
    with pytest.raises(handling.ActionError, match="lý do"):
        case.extend(rid, "resolve", "complex", reason="   ")
    assert case.deadlines(rid)["resolve"][0].extensions == []

    case.extend(rid, "resolve", "complex")
    assert only_open(case.deadlines(rid)["resolve"]).due_at == due(2026, 6, 10)  # 2 months
    case.extend(rid, "resolve", "procuracy", reason="VKS tỉnh quyết định gia hạn.")
    resolve = only_open(case.deadlines(rid)["resolve"])
    assert resolve.due_at == due(2026, 8, 10)  # + 2 months
    assert resolve.extensions == ["complex", "procuracy"]
    for ground in ("procuracy", "complex"):
        with pytest.raises(handling.ActionError, match="Không thể gia hạn"):
            case.extend(rid, "resolve", ground)
    assert only_open(case.deadlines(rid)["resolve"]).due_at == due(2026, 8, 10)


def test_returned_crime_report_restarts_the_fronts_time_limit(case):
    case.clock.set(2026, 9, 7, 9)
    rid = case.file("crime_report")
    case.classify(rid, "crime_report")
    case.transfer(rid)
    case.clock.set(2026, 9, 8, 14)
    case.agency(rid, handling.return_not_competent, "Không thuộc địa bàn.")
    found = case.deadlines(rid)
    assert [d.closed_by for d in found["notify_receipt"] + found["resolve"]] == ["return"] * 2
    first, again = found["forward"]
    assert first.closed_by == "transfer"
    assert again.closed_at is None and again.started_at == vn(2026, 9, 8, 14)
    assert again.due_at == due(2026, 9, 9)


# --- denunciations -------------------------------------------------------------------------------

def test_denunciation_front_transfers_within_five_working_days(case):
    case.clock.set(2026, 8, 28, 9)  # Friday before 31/08–02/09
    rid = case.file("denunciation")
    forward = only_open(case.deadlines(rid)["forward"])
    assert (forward.report_type, forward.length, forward.unit) == ("denunciation", 5,
                                                                     "working_days")
    assert forward.due_at == due(2026, 9, 9)
    assert "Luật Tố cáo 2018, Điều 24" in forward.basis


def test_denunciation_acceptance_and_resolution(case):
    case.clock.set(2026, 9, 2, 9)
    rid = case.file("denunciation")
    case.classify(rid, "denunciation", crime=False)
    case.clock.set(2026, 9, 3, 9)
    case.transfer(rid)
    accept = only_open(case.deadlines(rid)["accept"])
    assert accept.started_at == vn(2026, 9, 3, 9)
    assert (accept.length, accept.unit, accept.due_at) == (7, "working_days", due(2026, 9, 14))
    assert "Điều 29" in accept.basis
    case.extend(rid, "accept", "several_places")
    assert only_open(case.deadlines(rid)["accept"]).due_at == due(2026, 9, 17)  # 10 w. days
    with pytest.raises(handling.ActionError):
        case.extend(rid, "accept", "several_places")

    case.clock.set(2026, 9, 14, 9)
    case.agency(rid, handling.accept)
    found = case.deadlines(rid)
    assert found["accept"][0].closed_by == "accept"
    resolve = only_open(found["resolve"])
    assert resolve.started_at == vn(2026, 9, 14, 9)
    assert (resolve.length, resolve.unit, resolve.due_at) == (30, "days", due(2026, 10, 14))
    assert "Điều 30" in resolve.basis

    case.extend(rid, "resolve", "complex")
    assert only_open(case.deadlines(rid)["resolve"]).due_at == due(2026, 11, 13)
    with pytest.raises(handling.ActionError, match="chỉ được gia hạn 1 lần"):
        case.extend(rid, "resolve", "complex")
    case.extend(rid, "resolve", "very_complex")
    # 13/12/2026 is a Sunday: the 90th day ends on Monday.
    assert only_open(case.deadlines(rid)["resolve"]).due_at == due(2026, 12, 14)
    with pytest.raises(handling.ActionError, match="tối đa"):
        case.extend(rid, "resolve", "very_complex")

    case.clock.set(2026, 12, 1, 9)
    case.agency(rid, handling.resolve, result_text="Tố cáo đúng một phần.",
                outcome_code="partly_founded")
    found = case.deadlines(rid)
    assert found["resolve"][0].closed_by == "resolve"
    back = found["report_back"][0]
    # Recording the result here is the report to the Front: kept, already met.
    assert back.started_at == back.closed_at == vn(2026, 12, 1, 9)
    assert (back.length, back.unit, back.due_at) == (20, "days", due(2026, 12, 21))


def test_very_complex_denunciation_is_extended_twice_to_at_most_90_days(case):
    case.clock.set(2026, 9, 2, 9)
    rid = case.file("denunciation")
    case.classify(rid, "denunciation", crime=False)
    case.transfer(rid)
    case.clock.set(2026, 9, 14, 9)
    case.agency(rid, handling.accept)
    case.extend(rid, "resolve", "very_complex")
    case.extend(rid, "resolve", "very_complex")
    assert only_open(case.deadlines(rid)["resolve"]).due_at == due(2026, 12, 14)
    with pytest.raises(handling.ActionError):
        case.extend(rid, "resolve", "complex")


def test_confirmed_signs_of_a_crime_follow_the_crime_report_rules(case):
    case.clock.set(2026, 9, 7, 9)
    rid = case.file("petition")
    assert only_open(case.deadlines(rid)["reply"]).report_type == "petition"
    case.clock.set(2026, 9, 7, 11)
    case.classify(rid, "denunciation", crime=True)
    found = case.deadlines(rid)
    assert found["reply"][0].closed_by == "classify"
    forward = only_open(found["forward"])
    assert forward.report_type == "crime_report"
    assert forward.started_at == vn(2026, 9, 7, 9)  # the Front has had it since filing
    assert forward.due_at == due(2026, 9, 8)


# --- complaints ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("transfer_at", "length", "unit", "due_on"), [
    # Luật Khiếu nại 2011, Art. 27: 10 days.
    (vn(2026, 6, 26, 9), 10, "days", date(2026, 7, 6)),
    (vn(2026, 6, 30, 23), 10, "days", date(2026, 7, 10)),
    # From 01/07/2026 (Luật 136/2025/QH15): 7 working days; the local date decides (00:30 in
    # Vietnam is still 30/06 in UTC).
    (vn(2026, 7, 1, 0, 30), 7, "working_days", date(2026, 7, 10)),
    (vn(2026, 7, 3, 9), 7, "working_days", date(2026, 7, 14)),
])
def test_complaint_acceptance_follows_the_law_in_force_on_the_start_date(
        case, transfer_at, length, unit, due_on):
    case.clock.set(2026, 6, 20, 9)
    rid = case.file("complaint")
    assert "forward" not in case.deadlines(rid)  # the table sets the Front no time for it
    case.classify(rid, "complaint", crime=False)
    case.clock.now = transfer_at
    case.transfer(rid)
    accept = only_open(case.deadlines(rid)["accept"])
    assert accept.started_at == transfer_at
    assert (accept.length, accept.unit, accept.due_at) == (length, unit, end_of_day(due_on))
    assert ("136/2025" in accept.basis) == (unit == "working_days")


def test_complaint_resolution_and_its_longer_limits(case):
    case.clock.set(2026, 7, 1, 9)
    rid = case.file("complaint")
    case.classify(rid, "complaint", crime=False)
    case.transfer(rid)
    case.clock.set(2026, 7, 3, 9)
    case.agency(rid, handling.accept)
    resolve = only_open(case.deadlines(rid)["resolve"])
    # 30 days: Sunday 02/08/2026, so Monday 03/08.
    assert (resolve.length, resolve.unit, resolve.due_at) == (30, "days", due(2026, 8, 3))
    assert "Điều 28" in resolve.basis
    case.extend(rid, "resolve", "complex")
    assert only_open(case.deadlines(rid)["resolve"]).due_at == due(2026, 8, 17)  # 45 days
    with pytest.raises(handling.ActionError, match="không làm thời hạn dài thêm"):
        case.extend(rid, "resolve", "remote")
    case.extend(rid, "resolve", "remote_complex")
    # 60 days: 01/09/2026, a holiday like 02/09: Thursday 03/09.
    assert only_open(case.deadlines(rid)["resolve"]).due_at == due(2026, 9, 3)
    with pytest.raises(handling.ActionError, match="tối đa"):
        case.extend(rid, "resolve", "second_time_remote_complex")

    case.clock.set(2026, 8, 20, 9)
    case.agency(rid, handling.resolve, result_text="Khiếu nại đúng.", outcome_code="upheld")
    back = case.deadlines(rid)["report_back"][0]
    assert back.closed_at == back.started_at == vn(2026, 8, 20, 9)
    assert (back.length, back.unit, back.due_at) == (7, "days", due(2026, 8, 27))


# --- petitions -----------------------------------------------------------------------------------

def test_petition_the_front_replies_within_ten_working_days(case):
    case.clock.set(2026, 4, 23, 9)
    rid = case.file("petition")
    reply = only_open(case.deadlines(rid)["reply"])
    assert (reply.party, reply.length, reply.unit) == ("front", 10, "working_days")
    assert reply.due_at == due(2026, 5, 12)  # across Giỗ Tổ (27/04), 30/04 and 01/05
    assert "Luật Tiếp công dân 2013, Điều 28" in reply.basis
    case.classify(rid, "petition", crime=False)
    case.clock.set(2026, 4, 24, 9)
    case.transfer(rid)
    found = case.deadlines(rid)
    assert found["reply"][0].closed_by == "transfer"
    assert set(found) == {"reply"}  # the table gives the agency no time limit for petitions


def test_spam_ends_the_fronts_stage_and_restoring_starts_it_again(case):
    case.clock.set(2026, 9, 7, 9)
    rid = case.file("petition")
    case.act(rid, handling.mark_spam, "Quảng cáo.")
    assert case.deadlines(rid)["reply"][0].closed_by == "mark_spam"
    case.clock.set(2026, 9, 10, 9)
    case.act(rid, handling.restore)
    again = only_open(case.deadlines(rid)["reply"])
    assert again.started_at == vn(2026, 9, 10, 9)


# --- the calendar moves open deadlines ------------------------------------------------------

def test_an_admin_day_off_moves_open_working_day_deadlines_and_is_audited(app, case, make_user):
    case.clock.set(2026, 9, 7, 9)
    rid = case.file("denunciation")
    assert only_open(case.deadlines(rid)["forward"]).due_at == due(2026, 9, 14)
    make_user("root", "admin")
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "root"))
        adjustment = services.add_adjustment(admin, date(2026, 9, 10), DAY_OFF, "Thông báo X")
        adjustment_id = adjustment.id
        db.session.remove()
    assert only_open(case.deadlines(rid)["forward"]).due_at == due(2026, 9, 15)
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "root"))
        with pytest.raises(handling.ActionError):
            services.add_adjustment(admin, date(2026, 9, 10), DAY_OFF, "")
        db.session.rollback()
        services.remove_adjustment(admin, adjustment_id)
        actions = db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.user_id == admin.id)).all()
        db.session.remove()
    assert actions == ["add_calendar_adjustment", "remove_calendar_adjustment"]
    assert only_open(case.deadlines(rid)["forward"]).due_at == due(2026, 9, 14)
