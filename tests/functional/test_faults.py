"""Faults while a person files a report: the database down, Redis down, the disk full.

Each time the reporter gets a clear answer, never a receipt code for a report that was not
kept, and nothing is left half-stored (no rows, no files, not even a partial one)
(docs/production.md "Faults").
"""

import errno
import io
import logging
import os
import re
import socket
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, func, select
from sqlalchemy import exc as sql_errors

from portal import create_app
from portal.extensions import db, limiter
from portal.reports.models import Attachment, Report
from tests.functional.test_api import check, openapi, response_schema  # noqa: F401 (fixture)
from tests.functional.test_bad_input import FORM_URL, GOOD_TEXT, STORED_TABLES, form_data
from tests.functional.test_public_flow import PNG
from tests.helpers import StubClassifier, csrf_token, file_report, open_case, table_has_no_rows

BUSY = "Hệ thống đang bận"
DISK = "Máy chủ không lưu được tệp"
RECEIPT_CODE = re.compile(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3}")
WHAT_HAPPENED = "Ông Trần Văn Bình, cán bộ thuế phường, đòi 20 triệu đồng để bỏ qua sai phạm."
CLIENT_ADDRESS = "198.51.100.23"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stored_files(app) -> list[str]:
    """Every file in the upload folder, hidden temporary ones included."""
    uploads = Path(app.config["UPLOAD_FOLDER"])
    return sorted(p.name for p in uploads.iterdir()) if uploads.exists() else []


def nothing_stored(app) -> bool:
    return table_has_no_rows(app, *STORED_TABLES) and stored_files(app) == []


def post_filing(client, **fields):
    data = form_data(client, text=WHAT_HAPPENED, identity_choice="named",
                     name="Nguyễn Thị Hoa", phone="0912345678", contact_preference="phone",
                     attachments=[(io.BytesIO(PNG), "biên lai.png")], **fields)
    return client.post(FORM_URL, data=data, content_type="multipart/form-data")


def assert_no_receipt(client, page: str) -> None:
    assert not RECEIPT_CODE.search(page)
    assert "data-receipt-code" not in page
    # …and none waits on the receipt page either.
    assert "data-receipt-code" not in client.get("/bien-nhan").get_data(as_text=True)


def assert_form_kept_what_was_typed(page: str) -> None:
    textarea = re.search(r'<textarea[^>]*name="text"[^>]*>([^<]*)</textarea>', page)
    assert textarea and WHAT_HAPPENED in textarea.group(1)
    assert 'value="Nguyễn Thị Hoa"' in page
    # Files cannot be handed back: the reporter is told to choose them again.
    assert "vui lòng chọn lại tệp" in page


def take_database_down(app, monkeypatch):
    """Point the application at a database that cannot be reached: a PostgreSQL port nothing
    listens on (PostgreSQL suite), or a SQLite file in a folder that does not exist."""
    with app.app_context():
        engines = db.engines
        live = engines[None]
        if live.dialect.name == "postgresql":
            url = live.url.set(port=closed_port())
            dead = create_engine(url, connect_args={"connect_timeout": 2})
        else:
            dead = create_engine(f"sqlite:///{app.instance_path}/missing-folder/down.sqlite3")
        db.session.remove()
        monkeypatch.setitem(engines, None, dead)
    return dead


@pytest.fixture
def database_down(app, monkeypatch):
    dead = take_database_down(app, monkeypatch)
    yield
    dead.dispose()


@pytest.fixture
def failing_commit(app):
    """The database refuses the COMMIT itself, after every row was written in the
    transaction (as when the server goes away mid-request)."""
    with app.app_context():
        engine = db.engine

    def refuse(conn):
        raise sql_errors.OperationalError(
            "COMMIT", {}, Exception("server closed the connection unexpectedly"))

    event.listen(engine, "commit", refuse)
    yield
    event.remove(engine, "commit", refuse)


def test_database_down_the_reporter_is_asked_to_try_again_with_their_text_kept(
        app, client, database_down):
    response = post_filing(client)
    page = response.get_data(as_text=True)

    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert BUSY in page and "chưa có mã tra cứu" in page
    assert_no_receipt(client, page)
    assert_form_kept_what_was_typed(page)
    assert stored_files(app) == []


def test_database_down_the_api_answers_503_without_a_receipt_code(client, database_down,
                                                                   openapi):  # noqa: F811
    response = client.post("/api/v1/reports", json={"text": WHAT_HAPPENED})

    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    body = response.get_json()
    assert body["error"] == "unavailable" and BUSY in body["message"]
    assert "receipt_code" not in body
    # As documented for API clients (portal/api/openapi.json).
    check(body, response_schema(openapi, "/api/v1/reports", "post", 503), openapi)


def test_database_down_on_a_staff_page_says_try_again(app, staff, monkeypatch):
    triage = staff("triage")  # logged in while the database was up
    dead = take_database_down(app, monkeypatch)
    response = triage.get("/staff/triage/")
    dead.dispose()
    assert response.status_code == 503
    assert BUSY in response.get_data(as_text=True)


def test_commit_refused_after_the_files_were_written_leaves_neither_rows_nor_files(
        app, client, failing_commit):
    response = post_filing(client)
    page = response.get_data(as_text=True)

    assert response.status_code == 503
    assert BUSY in page
    assert_no_receipt(client, page)
    assert_form_kept_what_was_typed(page)
    assert nothing_stored(app)


def test_after_the_database_is_back_the_same_filing_goes_through(app, client, monkeypatch):
    with app.app_context():
        engine = db.engine
    refusals = []

    def refuse_once(conn):
        if not refusals:
            refusals.append(1)
            raise sql_errors.OperationalError("COMMIT", {}, Exception("connection lost"))

    event.listen(engine, "commit", refuse_once)
    try:
        assert post_filing(client).status_code == 503
        again = post_filing(client)
    finally:
        event.remove(engine, "commit", refuse_once)
    assert again.status_code == 302
    assert RECEIPT_CODE.search(client.get("/bien-nhan").get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Report)) == 1
        (attachment,) = db.session.scalars(select(Attachment)).all()
        assert stored_files(app) == [attachment.stored_name]


@pytest.fixture
def disk_full(monkeypatch):
    """The disk fills up while attachments are written: the second file's data is written
    to its temporary file, then syncing it to disk fails with ENOSPC."""
    calls = []
    real_fsync = os.fsync

    def fsync(fd):
        calls.append(fd)
        if len(calls) >= 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr("portal.attachments.os.fsync", fsync)
    return calls


def test_disk_full_on_upload_a_clear_error_and_nothing_half_stored(app, client, disk_full):
    data = form_data(client, text=WHAT_HAPPENED, identity_choice="named", name="Nguyễn Thị Hoa",
                     attachments=[(io.BytesIO(PNG), "một.png"), (io.BytesIO(PNG), "hai.png")])
    response = client.post(FORM_URL, data=data, content_type="multipart/form-data")
    page = response.get_data(as_text=True)

    assert len(disk_full) == 2  # the first file was written, the second failed
    assert response.status_code == 507
    assert DISK in page and "chưa có mã tra cứu" in page
    assert_no_receipt(client, page)
    assert_form_kept_what_was_typed(page)
    # Neither the first, complete file nor the second one's partial temporary file is left.
    assert nothing_stored(app)


def test_disk_full_a_reply_with_a_file_is_refused_and_not_stored(app, client, monkeypatch):
    code = file_report(client)
    open_case(client, code)
    token = csrf_token(client, "/ho-so")

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("portal.attachments.os.fsync", no_space)
    response = client.post("/ho-so", data={
        "csrf_token": token, "text": "Bổ sung ảnh chụp.",
        "attachments": [(io.BytesIO(PNG), "thêm.png")]}, content_type="multipart/form-data")

    assert response.status_code == 507
    assert DISK in response.get_data(as_text=True)
    assert stored_files(app) == []
    with app.app_context():
        (report,) = db.session.scalars(select(Report)).all()
        assert report.messages == [] and report.attachments == []


def test_disk_full_the_api_still_takes_reports_which_carry_no_files(app, client, disk_full):
    response = client.post("/api/v1/reports", json={"text": GOOD_TEXT})
    assert response.status_code == 201
    assert RECEIPT_CODE.fullmatch(response.get_json()["receipt_code"])
    assert stored_files(app) == []


@pytest.fixture
def redis_down_app(app, tmp_path):
    """A second portal whose Redis (rate-limit counters and client keys) is at a closed port,
    with a small filing limit. The limiter is one object shared by every app in this process:
    its state is put back afterwards."""
    saved = dict(limiter.__dict__)
    saved["_storage_options"] = dict(limiter._storage_options)
    dead_redis = f"redis://127.0.0.1:{closed_port()}/6"
    portal = create_app({
        "TESTING": True,
        "INSTANCE_PATH": app.instance_path,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
        "REDIS_URL": dead_redis,
        "RATELIMIT_STORAGE_URI": dead_redis,
        "FILING_RATE_LIMIT": "3 per hour",
        "JOBS_MODE": "inline",
        "CLASSIFIER_FACTORY": lambda app: StubClassifier(),
    })
    yield portal
    with portal.app_context():
        db.session.remove()
        db.engine.dispose()
    limiter.__dict__.clear()
    limiter.__dict__.update(saved)


def test_redis_down_filing_works_and_rate_limits_still_hold_per_process(
        app, redis_down_app, caplog):
    client = redis_down_app.test_client()
    client.environ_base["REMOTE_ADDR"] = CLIENT_ADDRESS
    caplog.set_level(logging.INFO)

    codes = []
    for _ in range(3):
        response = client.post(FORM_URL, data=form_data(client), content_type="multipart/form-data")
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        codes.append(RECEIPT_CODE.search(client.get("/bien-nhan").get_data(as_text=True)))
    assert all(codes)
    # Degraded, not disabled: the fourth filing within the hour is refused as usual.
    fourth = client.post(FORM_URL, data=form_data(client), content_type="multipart/form-data")
    assert fourth.status_code == 429
    with redis_down_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Report)) == 3

    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("falling back to in-memory" in message for message in warnings), warnings
    # The warnings say what failed, nothing about who was filing.
    for record in caplog.records:
        message = record.getMessage()
        assert CLIENT_ADDRESS not in message and "Nguyễn" not in message
        assert GOOD_TEXT[:30] not in message


def test_redis_down_the_api_files_too(redis_down_app):
    client = redis_down_app.test_client()
    response = client.post("/api/v1/reports", json={"text": GOOD_TEXT})
    assert response.status_code == 201
    assert RECEIPT_CODE.fullmatch(response.get_json()["receipt_code"])
