"""A filing is written with plain INSERTs (portal/reports/rows.py), not the session's flush.

What a user of the returned report would notice: every row is there with its links and
defaults, the returned report reads its columns without a query, and a later change to it is
saved like any other.
"""

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from portal.attachments import IncomingFile, LocalFileStorage
from portal.deadlines.models import Deadline
from portal.extensions import db
from portal.protection.envelope import open_identity
from portal.reports import intake, status
from portal.reports.models import Attachment, Report, ReporterIdentity, ReportEvent

TEXT = "Cán bộ xã Tân Lập nhận tiền của dân để làm nhanh hồ sơ đất, mỗi hộ năm triệu đồng."


def file(app, data: dict, files=()):
    submission = intake.validate(data, list(files), app.config,
                                 require_identity="identity" in data)
    return intake.file_report(submission, secret_key=app.config["SECRET_KEY"],
                              storage=LocalFileStorage(app.config["UPLOAD_FOLDER"]))


@contextmanager
def statements_sent():
    """The SQL statements sent to the database inside the block."""
    statements = []

    def record(conn, cursor, statement, *rest):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_named_typed_filing_with_a_file_stores_every_row_with_its_links(app):
    photo = IncomingFile("ảnh chụp.jpg", b"\xff\xd8 not really a photo", "image/jpeg")
    with app.app_context():
        report, _code = file(app, {
            "text": TEXT, "province_code": 19, "report_type": "denunciation",
            "identity": {"name": "Nguyễn Thị Hoa", "phone": "0912345678",
                         "contact_preference": "phone"}}, [photo])
        report_id = report.id
        db.session.remove()

        stored = db.session.get(Report, report_id)
        assert stored.text == TEXT
        assert stored.channel == "web" and stored.language == "vi"  # column defaults
        assert stored.flags == [] and stored.anonymous is False
        assert stored.created_at is not None and stored.updated_at >= stored.created_at
        assert open_identity(stored.identity)["name"] == "Nguyễn Thị Hoa"
        assert [e.kind for e in stored.events] == ["filed"]
        [attachment] = stored.attachments
        assert attachment.original_name == "ảnh chụp.jpg"
        [deadline] = stored.deadlines
        # The deadline points at the history event that started it.
        assert deadline.start_event_id == stored.events[0].id
        assert deadline.started_at == stored.events[0].created_at
        for model in (ReporterIdentity, ReportEvent, Attachment, Deadline):
            assert db.session.scalar(select(model.report_id).where(
                model.report_id == report_id)) == report_id


def test_the_returned_report_reads_without_a_query_and_saves_later_changes(app):
    with app.app_context():
        report, _code = file(app, {"text": TEXT, "province_code": 19,
                                   "report_type": "complaint"})
        with statements_sent() as statements:
            assert report.status == status.RECEIVED and report.created_at is not None
            assert report.province_code == 19 and report.text == TEXT
        assert statements == []
        # An ordinary change afterwards is an UPDATE of the stored row.
        report.province_code = 1
        db.session.commit()
        report_id = report.id
        db.session.remove()
        assert db.session.get(Report, report_id).province_code == 1
        assert db.session.scalar(select(db.func.count()).select_from(Report)) == 1


def test_a_failed_filing_leaves_no_row(app, monkeypatch):
    from portal.supervision import facts

    def broken(*args):
        raise RuntimeError("the facts could not be written")

    monkeypatch.setattr(facts, "follow_new_report", broken)
    with app.app_context():
        with pytest.raises(RuntimeError):
            file(app, {"text": TEXT, "province_code": 19})
        db.session.remove()
        for model in (Report, ReportEvent):
            assert db.session.scalar(select(db.func.count()).select_from(model)) == 0
