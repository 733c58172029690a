"""Shared fixtures: one migrated database per test session, emptied and re-seeded per test.

The database comes from ``TINBAO_TEST_DATABASE_URL`` (default: a temporary SQLite file), so
the same suite runs on SQLite and on PostgreSQL (`make test` runs both).
"""

import os
import tempfile
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from portal import create_app
from portal.accounts.services import create_user
from portal.agencies.seed import load_directory
from portal.extensions import db, limiter
from tests.helpers import PASSWORD, TOTP_SECRETS, StubClassifier, enrol_totp, login

TEST_DB_URL = os.environ.get("TINBAO_TEST_DATABASE_URL")


def _drop_everything() -> None:
    """Start from an empty schema (PostgreSQL's `test` database outlives a test run, and may
    hold tables, functions or triggers of an older revision)."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
            return
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing():
    """Argon2 at its lowest cost in tests (production keeps argon2-cffi's defaults)."""
    from argon2 import PasswordHasher

    from portal.accounts import services

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    saved = services._hasher, services._DUMMY_HASH
    services._hasher, services._DUMMY_HASH = cheap, cheap.hash("dummy")
    yield
    services._hasher, services._DUMMY_HASH = saved


@pytest.fixture(scope="session")
def app():
    workdir = Path(tempfile.mkdtemp(prefix="tinbao-test-"))
    url = TEST_DB_URL or f"sqlite:///{workdir / 'test.sqlite3'}"
    app = create_app({
        "TESTING": True,
        "INSTANCE_PATH": str(workdir),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": url,
        "UPLOAD_FOLDER": str(workdir / "uploads"),
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOOKUP_RATE_LIMIT": "1000 per minute",
        "FILING_RATE_LIMIT": "1000 per minute",
        # Jobs run inline so a test sees the classification right after filing.
        "JOBS_MODE": "inline",
        "CLASSIFIER_FACTORY": lambda app: StubClassifier(),
    })
    with app.app_context():
        _drop_everything()
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"), revision="heads")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (our own table names)


@pytest.fixture(autouse=True)
def _fresh_database(app):
    """Each test starts with only the seeded agency directory and no files."""
    with app.app_context():
        _empty_tables()
        load_directory()
        db.session.remove()
    limiter.reset()
    uploads = Path(app.config["UPLOAD_FOLDER"])
    if uploads.exists():
        for path in uploads.iterdir():
            path.unlink()
    yield
    with app.app_context():
        db.session.remove()


@pytest.fixture
def ctx(app):
    """An application context for calling services directly."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Create a staff user; returns its username."""

    def _make(username: str, role: str, agency_code: str | None = None) -> str:
        from sqlalchemy import select

        from portal.agencies.models import Agency

        with app.app_context():
            agency = None
            if agency_code:
                agency = db.session.scalar(select(Agency).where(Agency.code == agency_code))
            user = create_user(username, PASSWORD, role, agency=agency)
            TOTP_SECRETS.pop(user.username, None)
            if user.two_factor_required:  # custodian, supervisor, admin: enrolled, as they must be
                db.session.flush()
                enrol_totp(user)
            db.session.commit()
            db.session.remove()
        return username

    return _make


@pytest.fixture
def staff(app, make_user):
    """Logged-in test clients for each role: staff('triage'), staff('agency', 'tn-police')."""

    def _client(role: str, agency_code: str | None = None, username: str | None = None):
        username = username or f"{role}-{agency_code or 'x'}"
        make_user(username, role, agency_code)
        client = app.test_client()
        response = login(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return _client

class FixedClock:
    """A clock that stays where a test puts it (``app.config["CLOCK"]``, read by the deadlines
    service): ``clock.set(2026, 9, 7, 9)`` is 07/09/2026 09:00 in Vietnam."""

    def __init__(self):
        self.now = None
        self.set(2026, 9, 7, 9)

    def set(self, year, month, day, hour=9, minute=0):
        from datetime import UTC, datetime

        from portal.timeutil import VN_TZ

        self.now = datetime(year, month, day, hour, minute, tzinfo=VN_TZ).astimezone(UTC)
        return self.now

    def __call__(self):
        return self.now


@pytest.fixture
def clock(app, monkeypatch):
    """Fix "now" for deadlines (portal/deadlines/services.py)."""
    fixed = FixedClock()
    monkeypatch.setitem(app.config, "CLOCK", fixed)
    return fixed
