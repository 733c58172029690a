"""Claims ("Nhận xử lý") and the locking of staff actions (portal/reports/handling.py).

A report at the Front is handled by at most one officer; a claim ends when the report leaves
the Front; every action reads the report again under a lock, so an action decided on a stale
page is refused instead of done twice.
"""

import threading

import pytest
from sqlalchemy import select, text, update

from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.attachments import LocalFileStorage
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.reports import handling, intake, status
from portal.reports.models import Report
from portal.timeutil import utcnow
from tests.helpers import act_as

TEXT = ("Trưởng thôn thu tiền làm đường của các hộ dân nhưng không công khai chi tiêu, "
        "nhiều hộ đã hỏi mà không được trả lời.")


@pytest.fixture
def officers(make_user):
    make_user("lan", "triage")
    make_user("binh", "triage")
    make_user("truong-ban", "supervisor")
    return "lan", "binh", "truong-ban"


def new_reports(app, count: int, *, crime: set[int] = frozenset()) -> list[int]:
    """File ``count`` reports oldest first; those whose index is in ``crime`` are confirmed
    to show signs of a crime."""
    ids = []
    with app.app_context():
        storage = LocalFileStorage(app.config["UPLOAD_FOLDER"])
        for _index in range(count):
            submission = intake.validate({"text": TEXT, "province_code": 19}, [], app.config)
            report, _code = intake.file_report(submission, secret_key=app.config["SECRET_KEY"],
                                               storage=storage)
            ids.append(report.id)
        if crime:
            db.session.execute(update(Report).where(Report.id.in_([ids[i] for i in crime]))
                               .values(crime_confirmed=True))
            db.session.commit()
        db.session.remove()
    return ids


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def row(app, report_id: int) -> Report:
    with app.app_context():
        report = db.session.get(Report, report_id)
        db.session.expunge(report)
        return report


def audit_actions(app) -> list[str]:
    with app.app_context():
        return db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.in_(["claim", "release", "reassign"])).order_by(AuditEntry.seq)).all()


def classify(app, report_id, username="lan"):
    act_as(app, report_id, username, handling.classify, report_type="denunciation",
           sector="land", subject="official", flags=[], crime=None)


def agency_id(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Agency.id).where(Agency.code == code))


def transfer(app, report_id, username, code):
    def run(user, report):
        handling.transfer(user, report, db.session.get(Agency, agency_id(app, code)),
                          "Thuộc thẩm quyền.", override_reason="Theo địa bàn.")
    act_as(app, report_id, username, run)


# --- the status machine ends claims ---------------------------------------------------------

@pytest.mark.parametrize("action", sorted(status.ACTIONS))
def test_a_claim_ends_exactly_when_the_report_leaves_the_front(ctx, action):
    for start in status.ACTIONS[action].sources:
        report = Report(status=start, text="x", receipt_code_hash="h", claimed_by_user_id=7,
                        claimed_at=utcnow())
        status.apply(report, action)
        if report.status in status.WITH_FRONT:
            assert report.claimed_by_user_id == 7
        else:
            assert report.claimed_by_user_id is None and report.claimed_at is None


# --- claim, release, reassign ---------------------------------------------------------------

def test_claiming_starts_the_review_and_a_second_officer_is_told_who_has_it(app, officers):
    (report_id,) = new_reports(app, 1)
    assert act_as(app, report_id, "lan", handling.claim) is True
    report = row(app, report_id)
    assert report.claimed_by_user_id == user_id(app, "lan") and report.claimed_at is not None
    assert report.status == status.IN_REVIEW

    # Claiming again changes nothing and writes nothing.
    assert act_as(app, report_id, "lan", handling.claim) is False
    with pytest.raises(handling.ActionError) as refused:
        act_as(app, report_id, "binh", handling.claim)
    assert refused.value.message.startswith("Hồ sơ này đã có người nhận xử lý: lan, lúc ")
    assert row(app, report_id).claimed_by_user_id == user_id(app, "lan")
    assert audit_actions(app) == ["claim"]


def test_only_reports_at_the_front_can_be_claimed(app, officers):
    (report_id,) = new_reports(app, 1)
    classify(app, report_id)
    transfer(app, report_id, "lan", "tn-inspectorate")
    with pytest.raises(handling.ActionError) as refused:
        act_as(app, report_id, "binh", handling.claim)
    assert refused.value.message == "Chỉ nhận xử lý được hồ sơ đang ở Mặt trận."


@pytest.mark.parametrize("decision", ["classify", "transfer", "mark_spam", "merge_duplicate"])
def test_another_officer_cannot_decide_on_a_claimed_report(app, officers, decision):
    report_id, other_id = new_reports(app, 2)
    classify(app, report_id)
    act_as(app, report_id, "lan", handling.claim)
    calls = {
        "classify": lambda user, report: handling.classify(
            user, report, report_type="petition", sector="land", subject="", flags=[]),
        "transfer": lambda user, report: handling.transfer(
            user, report, db.session.get(Agency, agency_id(app, "tn-inspectorate")), "Lý do",
            override_reason="Khác"),
        "mark_spam": lambda user, report: handling.mark_spam(user, report, "Tin rác"),
        "merge_duplicate": lambda user, report: handling.merge_duplicate(user, report, other_id),
    }
    with pytest.raises(handling.ActionError) as refused:
        act_as(app, report_id, "binh", calls[decision])
    assert refused.value.message.startswith("Hồ sơ này đang do lan xử lý (nhận lúc ")
    report = row(app, report_id)
    assert report.status == status.IN_REVIEW and report.report_type == "denunciation"
    # Notes stay open to every officer.
    act_as(app, report_id, "binh", handling.add_note, "Đã gọi điện xác minh.")
    # The claimer decides.
    act_as(app, report_id, "lan", calls[decision])


def test_release_by_the_claimer_or_a_supervisor_only(app, officers):
    (report_id,) = new_reports(app, 1)
    act_as(app, report_id, "lan", handling.claim)
    with pytest.raises(handling.ActionError):
        act_as(app, report_id, "binh", handling.release)
    act_as(app, report_id, "lan", handling.release)
    assert row(app, report_id).claimed_by_user_id is None
    with pytest.raises(handling.ActionError) as refused:
        act_as(app, report_id, "lan", handling.release)
    assert refused.value.message == "Hồ sơ này chưa có ai nhận xử lý."

    act_as(app, report_id, "binh", handling.claim)
    act_as(app, report_id, "truong-ban", handling.release)
    assert row(app, report_id).claimed_by_user_id is None
    assert audit_actions(app) == ["claim", "release", "claim", "release"]


def test_reassign_is_for_supervisors_and_to_active_triage_officers(app, officers, make_user):
    (report_id,) = new_reports(app, 1)
    make_user("tn-police-officer", "agency", "tn-police")
    act_as(app, report_id, "lan", handling.claim)

    def to(username):
        return lambda user, report: handling.reassign(
            user, report, db.session.scalar(select(User).where(User.username == username)))

    with pytest.raises(handling.ActionError):
        act_as(app, report_id, "binh", to("binh"))
    with pytest.raises(handling.ActionError):
        act_as(app, report_id, "truong-ban", to("tn-police-officer"))
    act_as(app, report_id, "truong-ban", to("binh"))
    assert row(app, report_id).claimed_by_user_id == user_id(app, "binh")


# --- take next ------------------------------------------------------------------------------

def test_take_next_goes_by_crime_signs_then_age_and_skips_claimed_reports(app, officers):
    ids = new_reports(app, 4, crime={2, 3})
    act_as(app, ids[2], "binh", handling.claim)

    def take(username):
        with app.app_context():
            user = db.session.scalar(select(User).where(User.username == username))
            report = handling.take_next(user)
            taken = report.id if report else None
            db.session.remove()
            return taken

    assert [take("lan") for _ in range(4)] == [ids[3], ids[0], ids[1], None]
    with app.app_context():
        claimed = dict(db.session.execute(select(Report.id, Report.claimed_by_user_id)).all())
    lan, binh = user_id(app, "lan"), user_id(app, "binh")
    assert claimed == {ids[0]: lan, ids[1]: lan, ids[2]: binh, ids[3]: lan}


def test_take_next_passes_over_a_row_locked_elsewhere_without_waiting(app, officers):
    """PostgreSQL: ``FOR NO KEY UPDATE SKIP LOCKED`` — a report another transaction holds is
    skipped, not waited for."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite lets one writer through at a time")
    first, second = new_reports(app, 2)
    with app.app_context():
        holder = db.engine.connect()
        holder.begin()
        holder.execute(text("SELECT id FROM reports WHERE id = :id FOR UPDATE"), {"id": first})
        try:
            result = {}
            worker = threading.Thread(target=lambda: result.update(
                taken=_take_next_in_new_context(app, "lan")))
            worker.start()
            worker.join(timeout=10)
            assert not worker.is_alive(), "take_next waited for the locked row"
        finally:
            holder.rollback()
            holder.close()
    assert result["taken"] == second
    assert row(app, first).claimed_by_user_id is None


def _take_next_in_new_context(app, username):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        report = handling.take_next(user)
        taken = report.id if report else None
        db.session.remove()
        return taken


# --- an action decided on a stale page ------------------------------------------------------

def test_an_action_rechecks_the_report_after_locking_it(app, officers):
    """Binh's page (his session's copy of the report) still says "in review" when Lan's
    transfer commits; his transfer is then refused and the report keeps one agency."""
    (report_id,) = new_reports(app, 1)
    classify(app, report_id)
    with app.app_context():
        stale = db.session.get(Report, report_id)
        binh = db.session.scalar(select(User).where(User.username == "binh"))
        assert stale.status == status.IN_REVIEW
        with app.app_context():  # another request, another session
            transfer(app, report_id, "lan", "tn-inspectorate")
        with pytest.raises(handling.ActionError) as refused:
            handling.transfer(binh, stale, db.session.get(Agency, agency_id(app, "tn-police")),
                              "Thuộc thẩm quyền.", override_reason="Theo địa bàn.")
        db.session.rollback()
        db.session.remove()
    assert refused.value.message == (
        "Không thể chuyển đến cơ quan khi hồ sơ đang ở trạng thái “Đã chuyển đến cơ quan có "
        "thẩm quyền”.")
    report = row(app, report_id)
    assert report.current_agency_id == agency_id(app, "tn-inspectorate")


def test_an_agency_cannot_act_on_a_transfer_withdrawn_meanwhile(app, officers, make_user):
    (report_id,) = new_reports(app, 1)
    make_user("cong-an", "agency", "tn-police")
    classify(app, report_id)
    transfer(app, report_id, "lan", "tn-police")
    with app.app_context():
        stale = db.session.get(Report, report_id)
        officer = db.session.scalar(select(User).where(User.username == "cong-an"))
        with app.app_context():
            act_as(app, report_id, "lan", handling.withdraw_transfer, "Chuyển nhầm cơ quan.")
        with pytest.raises(handling.ActionError) as refused:
            handling.accept(officer, stale)
        db.session.rollback()
        db.session.remove()
    assert refused.value.message == "Hồ sơ này không còn ở cơ quan của bạn."
    assert row(app, report_id).status == status.IN_REVIEW
