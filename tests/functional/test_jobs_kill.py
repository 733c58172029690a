"""kill -9 a worker in the middle of a job: after a new worker starts, the job completes,
exactly once, and nothing is lost (docs/jobs.md, "The kill -9 test").

Real worker processes (`flask jobs worker`) against the test database (SQLite file, or
PostgreSQL with TINBAO_TEST_DATABASE_URL): in rq mode through Redis (skipped without a local
Redis, failed in CI), and in db mode, where workers poll the table.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.classification.models import Classification
from portal.extensions import db
from portal.jobs import runners
from portal.jobs.models import DONE, RUNNING, Job
from portal.reports.models import Report
from tests.functional.jobs_support import clean_redis, redis_or_skip
from tests.helpers import file_report

ROOT = Path(__file__).resolve().parents[2]
TEXT = "Cán bộ địa chính xã nhận hối lộ 50 triệu đồng để cấp sổ đỏ sai quy định cho hộ dân."
# Short, so the test takes seconds; longer than it takes to kill the worker once the job is
# held (RQ's job timeout is the lease too).
LEASE_SECONDS = 3


def _wait_for(condition, timeout: float, what: str, logs: list[Path], alive=()):
    deadline = time.monotonic() + timeout
    problem = f"timed out waiting for {what}"
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if any(process.poll() is not None for process in alive):
            problem = f"a worker exited while waiting for {what}"
            break
        time.sleep(0.05)
    output = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
                       for p in logs if p.exists())
    pytest.fail(f"{problem}\n{output}")


def _kinds(app) -> list[tuple]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(Job.kind, Job.status, Job.attempts).order_by(Job.id))]


def _job(app) -> Job | None:
    with app.app_context():
        job = db.session.scalar(select(Job).where(Job.kind == "classify_report"))
        if job is not None:
            db.session.expunge(job)
        db.session.remove()
        return job


def _classifications(app) -> list[int]:
    with app.app_context():
        ids = list(db.session.scalars(select(Classification.report_id)))
        db.session.remove()
        return ids


class Workers:
    """`flask jobs worker` subprocesses on the test database, with their logs."""

    def __init__(self, app, tmp_path: Path):
        self.tmp_path = tmp_path
        self.pause, self.reached = tmp_path / "pause", tmp_path / "reached"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TINBAO_TEST_INSTANCE": str(tmp_path / "worker-instance"),
            "TINBAO_TEST_PAUSE_FILE": str(self.pause),
            "TINBAO_TEST_REACHED_FILE": str(self.reached),
            # The same database, keys and secret as the portal under test.
            "TINBAO_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "TINBAO_SECRET_KEY": app.config["SECRET_KEY"],
            "TINBAO_KEYS_FOLDER": app.config["KEYS_FOLDER"],
            "TINBAO_UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
            # Short lease and sweeps so the test takes seconds, not minutes.
            "TINBAO_JOBS_LEASE_SECONDS": str(LEASE_SECONDS),
            "TINBAO_JOBS_SWEEP_SECONDS": "0.3",
            "TINBAO_JOBS_REDELIVER_SECONDS": "1",
            "TINBAO_JOBS_POLL_SECONDS": "0.2",
            "TINBAO_JOBS_DAILY_REMIND_AT": "",
        }
        self.logs: list[Path] = []
        self.processes: list[subprocess.Popen] = []
        self.killed: set[int] = set()

    def start(self) -> subprocess.Popen:
        log = self.tmp_path / f"worker-{len(self.processes) + 1}.log"
        self.logs.append(log)
        with open(log, "wb") as out:
            process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
                [sys.executable, "-m", "flask", "--app",
                 "tests.functional.jobs_support:create_worker_app()", "jobs", "worker"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)  # its own process group: kill -9 takes all of it
        self.processes.append(process)
        return process

    def wait_for(self, condition, what: str, timeout: float = 30):
        """Poll ``condition`` until true; fail early, with the logs, if a worker that was not
        killed on purpose exits."""
        alive = [p for p in self.processes if p.pid not in self.killed]
        return _wait_for(condition, timeout, what, self.logs, alive)

    def kill(self, process: subprocess.Popen) -> int:
        """kill -9 the worker's whole process group; returns its exit status."""
        self.killed.add(process.pid)
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait(10)

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


@pytest.fixture
def workers(app, tmp_path):
    started = Workers(app, tmp_path)
    yield started
    started.kill_all()


@pytest.fixture
def queue_name():
    return f"tinbao-test-{uuid.uuid4().hex[:8]}"


def _hand_over_as(app, monkeypatch, workers, mode, redis_url, queue_name):
    """The portal under test and the workers hand jobs over as production does in ``mode``."""
    monkeypatch.setitem(app.config, "JOBS_MODE", mode)
    workers.env.update(TINBAO_JOBS_MODE=mode, TINBAO_REDIS_URL=redis_url or "",
                       TINBAO_JOBS_QUEUE=queue_name)
    if mode == "rq":
        rq_runner = runners.RQRunner(redis_url, queue_name, job_timeout=LEASE_SECONDS)
        monkeypatch.setitem(app.extensions, "tinbao.jobs", rq_runner)
        return rq_runner
    monkeypatch.setitem(app.extensions, "tinbao.jobs", runners.DatabaseRunner())
    return None


@pytest.mark.parametrize("mode", ["rq", "db"])
def test_a_job_killed_mid_way_completes_exactly_once_after_restart(app, client, monkeypatch,
                                                                  workers, queue_name, mode):
    redis_url = redis_or_skip() if mode == "rq" else None
    rq_runner = _hand_over_as(app, monkeypatch, workers, mode, redis_url, queue_name)
    try:
        workers.pause.touch()
        first = workers.start()
        file_report(client, text=TEXT)
        attempt = workers.wait_for(lambda: workers.reached.exists() and
                                   workers.reached.read_text(),
                                   "the first worker to reach the middle of the job")
        assert attempt == "1"

        assert workers.kill(first) == -signal.SIGKILL
        job = _job(app)
        # Mid-way: claimed by the dead worker, its classification written but never committed.
        assert (job.status, job.attempts) == (RUNNING, 1)
        assert job.locked_by.endswith(f":{first.pid}")
        assert _classifications(app) == []

        workers.pause.unlink()
        second = workers.start()
        workers.wait_for(lambda: _job(app).status == DONE, "the job to complete")
        job = _job(app)
        assert job.attempts == 2 and job.locked_by.endswith(f":{second.pid}")
        assert job.last_error.startswith("lease expired")
        with app.app_context():
            report_ids = list(db.session.scalars(select(Report.id)))
        assert _classifications(app) == report_ids and len(report_ids) == 1  # exactly once
        # The filing's other job, its word index, was not held: the second worker ran it.
        workers.wait_for(lambda: _kinds(app) == [("classify_report", DONE, 2),
                                                 ("search.index_report", DONE, 1)],
                         "the index job to complete")

        second.send_signal(signal.SIGTERM)  # a warm shutdown, as systemd stops the unit
        assert second.wait(15) == 0
    finally:
        if rq_runner is not None:
            clean_redis(rq_runner.redis_url, rq_runner.queue_name)


def test_an_rq_worker_without_redis_runs_jobs_from_the_database(app, client, monkeypatch,
                                                                 workers, queue_name):
    """Redis down for the portal and the worker alike: filing works, and the worker's sweeper
    runs the job from the table; SIGTERM still stops it cleanly."""
    _hand_over_as(app, monkeypatch, workers, "rq", "redis://127.0.0.1:1/5", queue_name)
    worker = workers.start()
    file_report(client, text=TEXT)
    workers.wait_for(lambda: _job(app) is not None and _job(app).status == DONE,
                     "the job to be run from the database")
    assert len(_classifications(app)) == 1 and _job(app).attempts == 1
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(15) == 0
