"""`flask retention purge`: N days after a case closes, the reporter's identity and the files
are deleted; the case, its history and the audit trail stay."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.reports import handling, reporter
from portal.reports.models import Report, ReportEvent
from portal.timeutil import utcnow
from tests.functional.test_public_flow import PNG
from tests.helpers import file_report, login

IDENTITY = {"name": "Đỗ Văn Lưu Trữ", "phone": "0911222333", "email": "luutru@example.vn"}


@pytest.fixture
def officers(make_user):
    make_user("retention.triage", "triage")
    make_user("retention.police", "agency", "tn-police")


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def filed(app, client, *, named=True) -> int:
    """A report filed through the form, with a photo and (by default) the reporter's name."""
    fields = {"identity_choice": "named", **IDENTITY} if named else {}
    code = file_report(client, attachments=[(io.BytesIO(PNG), "anh.png")], **fields)
    with app.app_context():
        return reporter.find_by_code(code, app.config["SECRET_KEY"]).id


def backdate(app, report_id: int, days: int, *, kinds=None) -> None:
    """Move a report's history events (or only those of ``kinds``) ``days`` into the past."""
    with app.app_context():
        query = update(ReportEvent).where(ReportEvent.report_id == report_id)
        if kinds:
            query = query.where(ReportEvent.kind.in_(kinds))
        db.session.execute(query.values(created_at=utcnow() - timedelta(days=days)))
        db.session.commit()


def do(app, report_id: int, steps) -> None:
    with app.app_context():
        report = db.session.get(Report, report_id)
        steps(report)
        db.session.remove()


def spam(report):
    handling.mark_spam(user("retention.triage"), report, "Quảng cáo.")


def resolve(report):
    triage, police = user("retention.triage"), user("retention.police")
    handling.classify(triage, report, report_type="crime_report", sector="land",
                      subject="official", flags=["corruption"], crime=True)
    agency = db.session.scalar(select(Agency).where(Agency.code == "tn-police"))
    handling.transfer(triage, report, agency, "Dấu hiệu tội phạm.")
    handling.accept(police, report)
    handling.resolve(police, report, result_text="Đã khởi tố.", outcome_code="prosecuted")


def state(app, report_id: int) -> dict:
    with app.app_context():
        report = db.session.get(Report, report_id)
        uploads = Path(app.config["UPLOAD_FOLDER"])
        return {
            "status": report.status,
            "identity": report.identity is not None,
            "attachments": len(report.attachments),
            "files": sum((uploads / a.stored_name).exists() for a in report.attachments),
            "events": [e.kind for e in report.events],
            "text": report.text,
            "purges": db.session.scalars(select(AuditEntry).where(
                AuditEntry.report_id == report_id,
                AuditEntry.action == "retention_purge")).all(),
        }


def uploaded_files(app) -> set[str]:
    uploads = Path(app.config["UPLOAD_FOLDER"])
    return {p.name for p in uploads.iterdir() if p.is_file()} if uploads.exists() else set()


def test_purge_deletes_identity_and_files_of_cases_closed_more_than_n_days_ago(
        app, client, runner, officers):
    resolved_long_ago = filed(app, client)
    do(app, resolved_long_ago, resolve)
    backdate(app, resolved_long_ago, 400)
    spam_long_ago = filed(app, client)
    do(app, spam_long_ago, spam)
    backdate(app, spam_long_ago, 400)
    resolved_lately = filed(app, client)
    do(app, resolved_lately, resolve)
    backdate(app, resolved_lately, 10)
    still_open = filed(app, client)  # filed long ago, never closed
    backdate(app, still_open, 400)
    # Marked spam long ago, restored, and marked spam again lately: it closed lately.
    reclosed = filed(app, client)
    do(app, reclosed, spam)
    backdate(app, reclosed, 400)
    do(app, reclosed, lambda r: handling.restore(user("retention.triage"), r))
    do(app, reclosed, spam)
    before = {rid: state(app, rid) for rid in (resolved_long_ago, spam_long_ago, resolved_lately,
                                               still_open, reclosed)}
    files_before = uploaded_files(app)
    assert len(files_before) == 5

    result = runner.invoke(args=["retention", "purge", "--days", "365"])
    assert result.exit_code == 0, result.output
    assert "Đã xóa: 2 hồ sơ, 2 danh tính, 2 tệp" in result.output

    for rid in (resolved_long_ago, spam_long_ago):
        after = state(app, rid)
        assert (after["identity"], after["attachments"]) == (False, 0)
        # The case record and its history stay.
        assert after["status"] == before[rid]["status"]
        assert after["events"] == before[rid]["events"]
        assert after["text"] == before[rid]["text"]
        (purge,) = after["purges"]
        assert purge.user_id is None
        assert (purge.detail["days"], purge.detail["identity"], purge.detail["attachments"]) == (
            365, True, 1)
    for rid in (resolved_lately, still_open, reclosed):
        after = state(app, rid)
        assert (after["identity"], after["attachments"], after["files"]) == (True, 1, 1), rid
        assert after["purges"] == []
    assert len(uploaded_files(app)) == 3 and uploaded_files(app) < files_before
    # The purged cases still open for staff, without the identity and the files.
    staff_client = app.test_client()
    assert login(staff_client, "retention.triage").status_code == 302
    for rid in (resolved_long_ago, spam_long_ago):
        page = staff_client.get(f"/staff/triage/cases/{rid}").get_data(as_text=True)
        assert before[rid]["text"][:40] in page and IDENTITY["name"] not in page
        assert "anh.png" not in page

    # The audit trail is intact, and a second run finds nothing more to do.
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    again = runner.invoke(args=["retention", "purge", "--days", "365"])
    assert "Đã xóa: 0 hồ sơ, 0 danh tính, 0 tệp" in again.output
    assert len(state(app, spam_long_ago)["purges"]) == 1


def test_dry_run_lists_what_would_go_and_deletes_nothing(app, client, runner, officers):
    rid = filed(app, client)
    do(app, rid, spam)
    backdate(app, rid, 40)
    anonymous = filed(app, client, named=False)
    do(app, anonymous, spam)
    backdate(app, anonymous, 40)

    result = runner.invoke(args=["retention", "purge", "--days", "30", "--dry-run"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        number = db.session.get(Report, rid).case_number
    assert f"{number} (#{rid})" in result.output
    assert "danh tính: có, 1 tệp" in result.output and "danh tính: không, 1 tệp" in result.output
    assert "Chạy thử, chưa xóa gì: 2 hồ sơ, 1 danh tính, 2 tệp" in result.output
    assert state(app, rid)["identity"] and state(app, rid)["files"] == 1
    assert state(app, rid)["purges"] == []

    # Not yet old enough for a longer period.
    longer = runner.invoke(args=["retention", "purge", "--days", "60", "--dry-run"])
    assert "Chạy thử, chưa xóa gì: 0 hồ sơ" in longer.output


def test_a_duplicate_waits_for_the_case_it_was_merged_into(app, client, runner, officers):
    original = filed(app, client)
    duplicate = filed(app, client)
    do(app, duplicate, lambda r: handling.merge_duplicate(user("retention.triage"), r, original))
    backdate(app, duplicate, 400)

    # Merged long ago, but the case it joined is still being handled: nothing goes.
    assert "Đã xóa: 0 hồ sơ" in runner.invoke(args=["retention", "purge"]).output
    assert state(app, duplicate)["identity"]

    do(app, original, spam)
    backdate(app, original, 400, kinds=["mark_spam"])
    result = runner.invoke(args=["retention", "purge"])  # default: TINBAO_RETENTION_DAYS, 365
    assert "Đã xóa: 2 hồ sơ, 2 danh tính, 2 tệp" in result.output
    assert not state(app, duplicate)["identity"] and not state(app, original)["identity"]


def test_the_default_period_comes_from_the_configuration(app, client, runner, officers,
                                                         monkeypatch):
    rid = filed(app, client)
    do(app, rid, spam)
    backdate(app, rid, 8)
    assert "Đã xóa: 0 hồ sơ" in runner.invoke(args=["retention", "purge"]).output
    monkeypatch.setitem(app.config, "RETENTION_DAYS", 7)
    assert "Đã xóa: 1 hồ sơ" in runner.invoke(args=["retention", "purge"]).output
