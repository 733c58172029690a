"""Jobs seen from the portal: filing writes the report, its classification job and its index
job in one transaction; with Redis down filing still works and the sweeper (or a worker)
catches up."""

import logging
import uuid

import pytest
from sqlalchemy import func, select

from portal.classification.models import Classification
from portal.extensions import db
from portal.jobs import runners
from portal.jobs.models import DONE, QUEUED, Job
from portal.protection import search
from portal.protection.models import ReportSearchToken
from portal.reports.models import Report
from tests.functional.jobs_support import clean_redis, redis_or_skip
from tests.helpers import file_report

TEXT = "Cán bộ địa chính xã nhận hối lộ 50 triệu đồng để cấp sổ đỏ sai quy định cho hộ dân."
CLOSED_PORT_URL = "redis://127.0.0.1:1/5"  # nothing listens on port 1


def _state(app):
    with app.app_context():
        return (db.session.scalar(select(func.count(Report.id))),
                db.session.scalar(select(func.count(Classification.id))),
                [(j.kind, j.status, j.attempts, j.payload) for j in
                 db.session.scalars(select(Job).order_by(Job.id))])


def _found(app, words: str) -> list[int]:
    """The reports a triage search for ``words`` finds (the keyed word index)."""
    with app.app_context():
        return list(db.session.scalars(
            search.matching(select(Report.id), Report.id, words).order_by(Report.id)))


def _filing_jobs(report_id: int, status: str, attempts: int) -> list[tuple]:
    return [("classify_report", status, attempts, {"report_id": report_id}),
            ("search.index_report", status, attempts, {"report_id": report_id})]


def test_filing_stores_its_classification_and_index_jobs_with_the_report(app, client):
    file_report(client, text=TEXT)
    response = client.post("/api/v1/reports", json={"text": TEXT})
    assert response.status_code == 201
    reports, classified, jobs = _state(app)
    assert (reports, classified) == (2, 2)
    # Ids only in the payload, never the text.
    assert jobs == _filing_jobs(1, DONE, 1) + _filing_jobs(2, DONE, 1)
    assert _found(app, "hoi lo") == [1, 2]


def test_with_the_classifier_off_only_the_index_job_is_queued(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "CLASSIFIER_ENABLED", False)
    file_report(client, text=TEXT)
    assert _state(app) == (1, 0, [("search.index_report", DONE, 1, {"report_id": 1})])
    assert _found(app, "địa chính") == [1]


def test_a_report_is_found_once_its_index_job_has_run_and_a_second_run_adds_nothing(
        app, client, runner, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_DAILY_REMIND_AT", "")
    monkeypatch.setitem(app.config, "JOBS_MODE", "db")
    monkeypatch.setitem(app.extensions, "tinbao.jobs", runners.DatabaseRunner())
    file_report(client, text=TEXT)
    assert _found(app, "so do") == []  # filed, not indexed yet
    assert runner.invoke(args=["jobs", "worker", "--burst"]).exit_code == 0
    assert _found(app, "so do") == [1] and _found(app, "hoi lo so do") == [1]
    assert _found(app, "so hong") == []
    with app.app_context():
        tokens = db.session.scalars(select(ReportSearchToken.token)
                                    .where(ReportSearchToken.report_id == 1)).all()
        search.index_report(db.session.get(Report, 1))  # a second delivery of the job
        db.session.commit()
        again = db.session.scalars(select(ReportSearchToken.token)
                                   .where(ReportSearchToken.report_id == 1)).all()
    assert len(tokens) > 10 and sorted(again) == sorted(tokens)


@pytest.fixture
def redis_down(app, monkeypatch):
    """The portal in rq mode with Redis unreachable (a closed port)."""
    monkeypatch.setitem(app.config, "JOBS_MODE", "rq")
    monkeypatch.setitem(app.config, "REDIS_URL", CLOSED_PORT_URL)
    monkeypatch.setitem(app.extensions, "tinbao.jobs", runners.RQRunner(CLOSED_PORT_URL))
    # The sweeper hands over again what waited this long (0: at once, for the test).
    monkeypatch.setitem(app.config, "JOBS_REDELIVER_SECONDS", 0)
    monkeypatch.setitem(app.config, "JOBS_DAILY_REMIND_AT", "")


def test_redis_down_filing_works_and_the_sweeper_runs_the_job_itself(app, client, runner,
                                                                     redis_down, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.jobs"):
        code = file_report(client, text=TEXT)
    assert code
    assert _state(app) == (1, 0, _filing_jobs(1, QUEUED, 0))
    warning = " ".join(r.getMessage() for r in caplog.records)
    assert "job broker unavailable" in warning and "left in the table" in warning
    assert "hối lộ" not in warning and code not in warning

    # Redis still down: the sweeper cannot hand the job over, so it runs it (the database is
    # the fallback queue).
    result = runner.invoke(args=["jobs", "sweep"])
    assert result.exit_code == 0, result.output
    assert "2 việc được giao" in result.output
    assert _state(app) == (1, 1, _filing_jobs(1, DONE, 1))
    assert _found(app, "hoi lo") == [1]


def test_redis_down_then_back_the_sweeper_hands_the_job_to_a_worker(app, client, runner,
                                                                    redis_down, monkeypatch):
    url = redis_or_skip()
    file_report(client, text=TEXT)
    assert _state(app)[1] == 0

    # Redis is back: the sweep pushes the job to the queue, and a worker runs it.
    queue_name = f"tinbao-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    monkeypatch.setitem(app.config, "JOBS_QUEUE", queue_name)
    rq_runner = runners.RQRunner(url, queue_name)
    monkeypatch.setitem(app.extensions, "tinbao.jobs", rq_runner)
    try:
        assert "2 việc được giao" in runner.invoke(args=["jobs", "sweep"]).output
        assert _state(app)[1] == 0 and rq_runner.queue().count == 2
        result = runner.invoke(args=["jobs", "worker", "--burst"])
        assert result.exit_code == 0, result.output
        assert _state(app) == (1, 1, _filing_jobs(1, DONE, 1))
        assert rq_runner.queue().count == 0
    finally:
        clean_redis(rq_runner.redis_url, rq_runner.queue_name)


@pytest.fixture
def live_rq(app, monkeypatch):
    """The portal in rq mode on the test Redis, with a queue of its own (removed afterwards)."""
    url = redis_or_skip()
    queue_name = f"tinbao-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "JOBS_MODE", "rq")
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    monkeypatch.setitem(app.config, "JOBS_QUEUE", queue_name)
    monkeypatch.setitem(app.config, "JOBS_DAILY_REMIND_AT", "")
    rq_runner = runners.RQRunner(url, queue_name)
    monkeypatch.setitem(app.extensions, "tinbao.jobs", rq_runner)
    try:
        yield rq_runner
    finally:
        clean_redis(rq_runner.redis_url, rq_runner.queue_name)


def test_a_filings_jobs_reach_redis_as_one_message_and_both_run(app, client, runner, live_rq):
    file_report(client, text=TEXT)
    assert _state(app) == (1, 0, _filing_jobs(1, QUEUED, 0))
    assert live_rq.queue().count == 1  # the classification and the index together
    result = runner.invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert _state(app) == (1, 1, _filing_jobs(1, DONE, 1))
    assert _found(app, "hoi lo") == [1] and live_rq.queue().count == 0


def test_the_polling_worker_runs_due_jobs_without_redis(app, client, runner, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_DAILY_REMIND_AT", "")
    monkeypatch.setitem(app.config, "JOBS_MODE", "db")
    monkeypatch.setitem(app.extensions, "tinbao.jobs", runners.DatabaseRunner())
    file_report(client, text=TEXT)
    assert _state(app)[1:] == (0, _filing_jobs(1, QUEUED, 0))
    result = runner.invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert _state(app)[1:] == (1, _filing_jobs(1, DONE, 1))


def test_jobs_list_shows_counts_and_pending_jobs(app, client, runner, redis_down):
    file_report(client, text=TEXT)
    output = runner.invoke(args=["jobs", "list"]).output
    assert "classify_report" in output and "queued" in output
    assert "#1" in output and "report_id=1" in output and "hối lộ" not in output


def test_the_worker_runs_only_tinbao_jobs_from_redis(app, runner, live_rq, tmp_path):
    """Someone able to write to Redis cannot make the worker call another function (and job
    data is JSON, so there is no pickle to unpickle)."""
    planted = tmp_path / "planted"
    live_rq.queue().enqueue("os.mkdir", str(planted))
    result = runner.invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert not planted.exists() and live_rq.queue().count == 0
