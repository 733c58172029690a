"""Fixtures for the jobs tests: a stored report without a job, a runner that only records,
test-only task kinds."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import delete, func, select

from portal.classification import services as classification
from portal.classification.models import Classification
from portal.extensions import db
from portal.jobs import current_job, run_job, tasks
from portal.jobs.models import Job
from portal.timeutil import VN_TZ
from tests.helpers import StubClassifier, file_report

# Report text a failing task puts in its exception: it must never reach the table or the log.
REPORT_WORDS = "Nguyễn Văn Tố, 0912345678, nhận hối lộ"
# What the test tasks did, attempt by attempt: [(kind, attempt), …].
CALLS: list[tuple[str, int]] = []
# How many first attempts of "test.classify" fail (after writing their classification).
FAIL = {"until": 0}


@tasks.task("test.classify", max_attempts=3)
def _classify(report_id: int) -> None:
    job = current_job()
    CALLS.append(("test.classify", job.attempt))
    classification.classify_report(report_id, StubClassifier(), commit=False)
    if job.attempt <= FAIL["until"]:
        raise RuntimeError(REPORT_WORDS)


@tasks.task("test.noop")
def _noop() -> None:
    CALLS.append(("test.noop", current_job().attempt))


class RecordingRunner:
    """Notes the ids it is handed and runs nothing."""

    has_broker = True

    def __init__(self):
        self.delivered: list[int] = []

    def deliver(self, app, job_ids, *, together=False):
        self.delivered.extend(job_ids)


@pytest.fixture(autouse=True)
def _reset_test_tasks():
    CALLS.clear()
    FAIL["until"] = 0
    yield
    CALLS.clear()


@pytest.fixture
def recording(app, monkeypatch) -> RecordingRunner:
    runner = RecordingRunner()
    monkeypatch.setitem(app.extensions, "tinbao.jobs", runner)
    return runner


@pytest.fixture
def report_id(app, client, monkeypatch) -> int:
    """A filed report with no job left: no classification job (the classifier switched off
    meanwhile), and its index job run and removed, so that a test sees only its own jobs."""
    from portal.reports.models import Report

    monkeypatch.setitem(app.config, "CLASSIFIER_ENABLED", False)
    file_report(client)
    monkeypatch.setitem(app.config, "CLASSIFIER_ENABLED", True)
    with app.app_context():
        for job_id in db.session.scalars(select(Job.id)).all():
            run_job(app, job_id)
        db.session.execute(delete(Job))
        db.session.commit()
    runner = app.extensions["tinbao.jobs"]
    if isinstance(runner, RecordingRunner):
        runner.delivered.clear()
    with app.app_context():
        return db.session.scalar(select(Report.id))


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    """Tomorrow (in Vietnam) at ``hour:minute`` Vietnam time, as an aware UTC moment."""
    day = datetime.now(VN_TZ).date() + timedelta(days=1)
    return datetime.combine(day, time(hour, minute), tzinfo=VN_TZ).astimezone(UTC)


def classifications(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Classification.id)))


def job_row(app, job_id: int) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job
