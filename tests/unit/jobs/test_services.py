"""The life of a job: added with its transaction, handed over after the commit, claimed once,
committed once with its work, retried with backoff, failed for good, swept when its worker
died (portal/jobs/services.py)."""

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.jobs import enqueue, run_job, services
from portal.jobs.models import DONE, FAILED, QUEUED, RUNNING, Job
from portal.reports.models import Report
from portal.timeutil import utcnow
from tests.unit.jobs.conftest import (
    CALLS,
    FAIL,
    REPORT_WORDS,
    classifications,
    job_row,
)


def _enqueue(app, kind="test.classify", **payload) -> int:
    with app.app_context():
        job = enqueue(kind, **payload)
        db.session.commit()
        return job.id


def test_a_job_is_handed_over_only_after_its_transaction_commits(app, recording, report_id):
    with app.app_context():
        job = enqueue("test.classify", report_id=report_id)
        db.session.flush()
        assert recording.delivered == []  # not before the commit
        db.session.commit()
        assert recording.delivered == [job.id]
        row = db.session.get(Job, job.id)
        assert (row.status, row.attempts, row.payload) == (QUEUED, 0, {"report_id": report_id})


def test_a_rolled_back_job_never_exists_and_is_never_handed_over(app, recording, report_id):
    with app.app_context():
        enqueue("test.classify", report_id=report_id)
        db.session.flush()
        db.session.rollback()
        assert db.session.scalar(select(Job)) is None
    assert recording.delivered == []


def test_payloads_hold_ids_not_objects_and_kinds_must_exist(app, report_id):
    with app.app_context():
        report = db.session.get(Report, report_id)
        with pytest.raises(TypeError, match="must be an id"):
            enqueue("test.classify", report=report)
        with pytest.raises(ValueError, match="unknown job kind"):
            enqueue("no.such.kind", report_id=report_id)


def test_run_marks_done_in_the_same_commit_as_the_work(app, recording, report_id):
    job_id = _enqueue(app, report_id=report_id)
    assert run_job(app, job_id) == "done"
    row = job_row(app, job_id)
    assert (row.status, row.attempts, row.locked_until) == (DONE, 1, None)
    assert row.finished_at is not None and row.locked_by
    assert classifications(app) == 1


def test_running_the_same_job_twice_does_its_work_once(app, recording, report_id):
    job_id = _enqueue(app, report_id=report_id)
    assert [run_job(app, job_id) for _ in range(3)] == ["done", "skipped", "skipped"]
    assert CALLS == [("test.classify", 1)]
    assert classifications(app) == 1 and job_row(app, job_id).attempts == 1


def test_a_failure_rolls_its_work_back_and_retries_with_backoff(app, recording, report_id,
                                                                caplog):
    FAIL["until"] = 2
    job_id = _enqueue(app, report_id=report_id)
    start = utcnow()
    with caplog.at_level(logging.INFO, logger="portal.jobs"):
        assert run_job(app, job_id, now=start) == "retry"
    row = job_row(app, job_id)
    assert (row.status, row.attempts, row.pushed_at) == (QUEUED, 1, None)
    assert timedelta(seconds=29) < row.run_after - start <= timedelta(seconds=31)
    assert row.last_error.startswith("RuntimeError at ") and REPORT_WORDS not in row.last_error
    assert classifications(app) == 0  # the work of the failed attempt was rolled back

    # Not due before its backoff; then the sweeper hands it over again.
    assert run_job(app, job_id, now=start + timedelta(seconds=10)) == "skipped"
    with app.app_context():
        assert services.sweep(start + timedelta(seconds=10), schedule=False).due == []
        assert services.sweep(start + timedelta(seconds=31), schedule=False).due == [job_id]
    assert run_job(app, job_id, now=start + timedelta(seconds=31)) == "retry"
    row = job_row(app, job_id)
    assert timedelta(minutes=2) <= row.run_after - start - timedelta(seconds=31) \
        <= timedelta(minutes=2, seconds=1)  # 4 × 30 s
    later = start + timedelta(minutes=3)
    assert run_job(app, job_id, now=later) == "done"
    assert CALLS == [("test.classify", 1), ("test.classify", 2), ("test.classify", 3)]
    assert classifications(app) == 1 and job_row(app, job_id).attempts == 3

    # Neither the table nor the log ever holds what the exception said.
    assert REPORT_WORDS not in (job_row(app, job_id).last_error or "")
    assert all(REPORT_WORDS not in record.getMessage() for record in caplog.records)


def test_after_the_last_attempt_the_job_stays_failed_until_retried(app, recording, report_id,
                                                                   runner):
    FAIL["until"] = 99
    job_id = _enqueue(app, report_id=report_id)
    now = utcnow()
    outcomes = []
    for _ in range(3):
        outcomes.append(run_job(app, job_id, now=now))
        now += timedelta(hours=1)
    assert outcomes == ["retry", "retry", "failed"]
    row = job_row(app, job_id)
    assert (row.status, row.attempts) == (FAILED, 3) and row.finished_at is not None
    listing = runner.invoke(args=["jobs", "list"])
    assert listing.exit_code == 0, listing.output
    assert f"#{job_id}" in listing.output and "failed" in listing.output
    assert "RuntimeError at" in listing.output and REPORT_WORDS not in listing.output

    FAIL["until"] = 0
    recording.delivered.clear()
    result = runner.invoke(args=["jobs", "retry", "--failed"])
    assert "Đã xếp lại 1 việc" in result.output
    assert recording.delivered == [job_id]
    assert run_job(app, job_id) == "done" and classifications(app) == 1


def test_a_permanent_error_fails_at_once(app, recording):
    with app.app_context():
        job = Job(kind="gone.kind", payload={}, max_attempts=5)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    assert run_job(app, job_id) == "failed"
    assert job_row(app, job_id).last_error.startswith("PermanentJobError")


def test_a_job_whose_worker_died_is_queued_again_and_completes_once(app, recording, report_id):
    job_id = _enqueue(app, report_id=report_id)
    now = utcnow()
    with app.app_context():
        # What a worker killed mid-way leaves: the claim committed, nothing else.
        db.session.execute(services.update(Job).where(Job.id == job_id).values(
            status=RUNNING, attempts=1, locked_until=now + timedelta(seconds=600),
            locked_by="elsewhere:1"))
        db.session.commit()
    assert run_job(app, job_id, now=now) == "skipped"  # its lease still runs
    with app.app_context():
        assert services.sweep(now + timedelta(seconds=599), schedule=False).requeued == 0
        result = services.sweep(now + timedelta(seconds=601), schedule=False)
    assert (result.requeued, result.due) == (1, [job_id])
    assert job_row(app, job_id).last_error.startswith("lease expired")
    assert run_job(app, job_id, now=now + timedelta(seconds=601)) == "done"
    row = job_row(app, job_id)
    assert (row.status, row.attempts) == (DONE, 2) and classifications(app) == 1


def test_a_lease_that_ran_out_on_the_last_attempt_fails_the_job(app, recording, report_id):
    job_id = _enqueue(app, report_id=report_id)
    now = utcnow()
    with app.app_context():
        db.session.execute(services.update(Job).where(Job.id == job_id).values(
            status=RUNNING, attempts=3, locked_until=now))
        db.session.commit()
        result = services.sweep(now + timedelta(seconds=1), schedule=False)
    assert (result.failed, result.requeued, result.due) == (1, 0, [])
    assert job_row(app, job_id).status == FAILED


def test_a_worker_that_lost_its_lease_commits_nothing(app, recording, monkeypatch):
    """A worker slower than its lease: the sweeper queued the job again meanwhile, so the slow
    attempt's commit is refused (the fence) and only the next attempt counts."""
    job_id = _enqueue(app, "test.noop")

    def sweeper_meanwhile(job):
        with app.app_context():  # another process's view: its own session
            services.expire_leases(utcnow() + timedelta(hours=1))
            db.session.remove()

    monkeypatch.setitem(app.config, "JOBS_BEFORE_COMMIT", sweeper_meanwhile)
    assert run_job(app, job_id) == "lost"
    assert job_row(app, job_id).status == QUEUED
    monkeypatch.setitem(app.config, "JOBS_BEFORE_COMMIT", None)
    assert run_job(app, job_id, now=utcnow() + timedelta(hours=1, seconds=1)) == "done"
    assert CALLS == [("test.noop", 1), ("test.noop", 2)]


def test_the_sweeper_hands_over_only_jobs_no_runner_has(app, recording, report_id,
                                                        monkeypatch):
    job_id = _enqueue(app, report_id=report_id)  # handed over at the commit
    now = utcnow()
    with app.app_context():
        assert services.sweep(now, schedule=False).due == []
        # Still queued two minutes later: the broker lost it (or never got it).
        assert services.sweep(now + timedelta(seconds=121), schedule=False).due == [job_id]
        # Handed over again just now: not again at once, even by another sweeper.
        assert services.sweep(now + timedelta(seconds=122), schedule=False).due == []


def test_db_mode_leaves_new_jobs_for_the_pollers(app, monkeypatch, report_id):
    from portal.jobs.runners import DatabaseRunner

    monkeypatch.setitem(app.config, "JOBS_MODE", "db")
    monkeypatch.setitem(app.extensions, "tinbao.jobs", DatabaseRunner())
    job_id = _enqueue(app, report_id=report_id)
    assert job_row(app, job_id).pushed_at is None
    with app.app_context():
        assert services.sweep(schedule=False).due == [job_id]


def test_done_jobs_are_purged_after_a_while_failed_ones_stay(app, recording, report_id):
    done_id = _enqueue(app, report_id=report_id)
    run_job(app, done_id)
    with app.app_context():
        failed = Job(kind="test.noop", payload={}, status=FAILED, finished_at=utcnow())
        db.session.add(failed)
        db.session.commit()
        assert services.sweep(utcnow() + timedelta(days=29), schedule=False).purged == 0
        assert services.sweep(utcnow() + timedelta(days=31), schedule=False).purged == 1
        assert db.session.scalars(select(Job.status)).all() == [FAILED]


def test_describe_error_names_the_class_and_place_never_the_message():
    try:
        raise ValueError(REPORT_WORDS)
    except ValueError as exc:
        text = services.describe_error(exc)
    assert text.startswith("ValueError at test_services.py:") and REPORT_WORDS not in text


def test_backoff_grows_fourfold_up_to_an_hour():
    assert [services.backoff(n, 30).total_seconds() for n in (1, 2, 3, 4, 5, 6)] == \
        [30, 120, 480, 1920, 3600, 3600]
