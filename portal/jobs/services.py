"""Durable, idempotent, retried background jobs on top of the ``jobs`` table.

The life of a job (docs/jobs.md):

1. :func:`enqueue` adds a row to the caller's transaction. Nothing is sent anywhere yet: if the
   transaction rolls back, the job never existed.
2. After the commit, the session's ``after_commit`` hook hands the new ids to the configured
   runner (an RQ queue in Redis, a thread, or the caller itself), like warehouse's
   after-commit task hook. If that hand-over fails (Redis down), nothing is lost: the row is
   in the database and the sweeper hands it over again later.
3. :func:`run_job` claims the row (a conditional UPDATE, so one worker wins), runs the task,
   and marks the row done *in the same transaction as the task's own writes*. A worker killed
   before that commit leaves no half-done work, only a row whose lease runs out.
4. :func:`sweep` (every worker, periodically, and `flask jobs sweep`) queues again the jobs
   whose lease ran out (their worker died), hands over due jobs that no runner has, and adds
   the daily reminder job.

A failure is retried with exponential backoff up to the job's ``max_attempts``; then the job
stays ``failed`` for an administrator (`flask jobs list`, `flask jobs retry`).
"""

import contextvars
import logging
import os
import socket
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import delete, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.jobs import tasks
from portal.jobs.models import DONE, FAILED, QUEUED, RUNNING, Job
from portal.timeutil import VN_TZ, utcnow

log = logging.getLogger(__name__)

# session.info key: ids of jobs inserted in the session's current transaction.
_PENDING = "tinbao.jobs.pending"
# Payload values: ids, dates as ISO strings, flags. Anything else (an ORM object, report text
# in a dict) is refused when the job is added.
_PAYLOAD_TYPES = (int, str, bool, type(None))
_MAX_BACKOFF = timedelta(hours=1)
# A job is claimable this much before its run_after: the clocks of the web server that queued
# it and of the worker that got it a moment later may differ a little.
_CLOCK_SLACK = timedelta(seconds=5)


class BrokerUnavailable(RuntimeError):
    """The runner could not take the jobs (Redis unreachable); they stay in the table."""


@dataclass(frozen=True)
class RunningJob:
    """The job :func:`run_job` is running now (for tasks that need its id, e.g. to name files
    deterministically per attempt)."""

    id: int
    kind: str
    attempt: int


_current = contextvars.ContextVar("tinbao_current_job", default=None)


def current_job() -> RunningJob | None:
    """The job being run in this context, or None outside a job."""
    return _current.get()


def worker_name() -> str:
    """``host:pid`` of this process (kept on the row it runs; no personal data)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


# --- Adding jobs --------------------------------------------------------------------------------

# One statement object, so that SQLAlchemy finds its compiled form in its cache at once.
_INSERT_JOB = insert(Job.__table__).returning(Job.__table__.c.id)


@dataclass(frozen=True)
class QueuedJob:
    """A job added to the current transaction (its row is written; it runs after the commit)."""

    id: int
    kind: str


def enqueue(kind: str, *, unique_key: str | None = None, **payload) -> QueuedJob:
    """Add a job of ``kind`` to the current transaction; it runs after the commit.

    ``payload`` holds ids and ISO dates only (checked). The caller commits; if it rolls back,
    the job is gone with the rest of its work. The row is written at once with one INSERT, not
    as an ORM object: a filing would otherwise flush twice (docs/benchmarks.md, "Load").
    A second job with the same ``unique_key`` raises ``IntegrityError`` here.
    """
    task = tasks.get(kind)
    if task is None:
        raise ValueError(f"unknown job kind {kind!r}")
    for name, value in payload.items():
        if not isinstance(value, _PAYLOAD_TYPES):
            raise TypeError(f"job payload {name!r} must be an id, a string or a flag, "
                            f"not {type(value).__name__}")
    config = current_app.config
    now = utcnow()
    job_id = db.session.execute(_INSERT_JOB, {
        "kind": kind, "payload": payload, "unique_key": unique_key, "status": QUEUED,
        "attempts": 0, "max_attempts": task.max_attempts or int(config.get("JOBS_MAX_ATTEMPTS", 5)),
        "run_after": now, "created_at": now,
        # In "db" mode no one is handed the job after the commit: the pollers find it at once.
        "pushed_at": None if config.get("JOBS_MODE") == "db" else now,
    }).scalar_one()
    db.session.info.setdefault(_PENDING, []).append(job_id)
    return QueuedJob(job_id, kind)


@event.listens_for(FlaskSession, "after_rollback")
def _forget_rolled_back_jobs(session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(FlaskSession, "after_commit")
def _deliver_committed_jobs(session) -> None:
    ids = session.info.pop(_PENDING, None)
    if not ids or not has_app_context():
        return
    try:
        deliver(current_app._get_current_object(), ids, together=True)
    except Exception:  # noqa: BLE001
        # Never into the committing code: its work is committed (a filing must not delete the
        # files it stored, thinking it failed). The rows are there; the sweeper hands them over.
        log.exception("handing %d committed job(s) to the runner failed", len(ids))


def deliver(app, ids: list[int], *, together: bool = False) -> bool:
    """Hand committed jobs to the configured runner. Never raises: a job that cannot be
    handed over now stays queued in the table for the sweeper. Returns whether it was.

    ``together``: the jobs of one commit (a filing's classification and index), which a broker
    may carry as one message, run one after the other by the same worker."""
    runner = app.extensions["tinbao.jobs"]
    try:
        runner.deliver(app, list(ids), together=together)
    except BrokerUnavailable as exc:
        log.warning("job broker unavailable (%s): %d job(s) left in the table for the sweeper",
                    exc, len(ids))
        return False
    return True


# --- Running a job ------------------------------------------------------------------------------

def backoff(attempt: int, base_seconds: float) -> timedelta:
    """Delay before attempt ``attempt + 1``: base, 4×base, 16×base … at most an hour."""
    return min(timedelta(seconds=base_seconds * 4 ** (attempt - 1)), _MAX_BACKOFF)


def describe_error(exc: BaseException) -> str:
    """The exception's class and the place it was raised, e.g. ``ClassifierUnavailable at
    portal/classification/services.py:38``. Never the message: it may quote report text or
    an identity, and this is stored and shown to administrators."""
    where = ""
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    if frames:
        path = frames[-1].filename.replace(os.sep, "/")
        if "/site-packages/" in path:
            path = path.split("/site-packages/", 1)[1]
        elif "/portal/" in path or "/classifier/" in path:
            marker = "/portal/" if "/portal/" in path else "/classifier/"
            path = marker[1:] + path.rsplit(marker, 1)[1]
        else:
            path = os.path.basename(path)
        where = f" at {path}:{frames[-1].lineno}"
    return f"{type(exc).__name__}{where}"[:255]


def _claim(job_id: int, now: datetime, lease: timedelta, worker: str):
    """Take a queued, due job for this worker; None if another worker has it, it is not due,
    or it is finished. One conditional UPDATE: on PostgreSQL a second claimer waits for the
    first's row lock and then sees the row no longer queued; on SQLite writes are serialised."""
    row = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == QUEUED, Job.run_after <= now + _CLOCK_SLACK)
        .values(status=RUNNING, attempts=Job.attempts + 1, locked_until=now + lease,
                locked_by=worker, started_at=now, finished_at=None)
        .returning(Job.kind, Job.payload, Job.attempts, Job.max_attempts)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    return row


def _fenced(job_id: int, attempt: int):
    """Conditions that hold only while this attempt still owns the job: if its lease ran out
    and the sweeper queued it again (or another worker took it), they fail and this attempt's
    writes are rolled back instead of being committed a second time."""
    return (Job.id == job_id, Job.status == RUNNING, Job.attempts == attempt)


def run_job(app, job_id: int, *, now: datetime | None = None) -> str:
    """Run one job if it can be claimed; returns ``"done"``, ``"retry"``, ``"failed"``,
    ``"skipped"`` (not claimable: done already, running elsewhere, not due, gone) or
    ``"lost"`` (the lease ran out and another attempt owns the job: nothing was committed).

    Safe to call any number of times for the same id, from any number of processes.
    """
    with app.app_context():
        try:
            return _run_claimed(app, job_id, now)
        finally:
            db.session.remove()


def _run_claimed(app, job_id: int, now: datetime | None) -> str:
    config = app.config
    now = now or utcnow()
    lease = timedelta(seconds=float(config.get("JOBS_LEASE_SECONDS", 600)))
    claimed = _claim(job_id, now, lease, worker_name())
    if claimed is None:
        return "skipped"
    kind, payload, attempt, max_attempts = claimed
    task = tasks.get(kind)
    token = _current.set(RunningJob(job_id, kind, attempt))
    try:
        if task is None:
            raise tasks.PermanentJobError(f"unknown job kind {kind!r}")
        task.func(**(payload or {}))
        db.session.flush()
        hook = config.get("JOBS_BEFORE_COMMIT")
        if hook is not None:
            # Tests stop a job here, its work written but not committed, and kill the worker.
            hook(RunningJob(job_id, kind, attempt))
        finished = db.session.execute(
            update(Job).where(*_fenced(job_id, attempt))
            .values(status=DONE, finished_at=max(now, utcnow()), locked_until=None)
            .execution_options(synchronize_session=False)
        )
        if finished.rowcount != 1:
            db.session.rollback()
            log.warning("job %d (%s) attempt %d lost its lease; its work was rolled back",
                        job_id, kind, attempt)
            return "lost"
        db.session.commit()
        log.info("job %d (%s) done on attempt %d", job_id, kind, attempt)
        return "done"
    except Exception as exc:  # noqa: BLE001 (every failure is recorded and retried)
        db.session.rollback()
        return _record_failure(app, job_id, kind, attempt, max_attempts, exc, now)
    finally:
        _current.reset(token)


def _record_failure(app, job_id, kind, attempt, max_attempts, exc, now) -> str:
    error = describe_error(exc)
    permanent = isinstance(exc, tasks.PermanentJobError)
    now = max(now, utcnow())  # the backoff counts from the failure, not from the start
    if permanent or attempt >= max_attempts:
        values = {"status": FAILED, "finished_at": now, "locked_until": None,
                  "last_error": error}
        outcome = "failed"
    else:
        delay = backoff(attempt, float(app.config.get("JOBS_RETRY_BASE_SECONDS", 30)))
        values = {"status": QUEUED, "run_after": now + delay, "pushed_at": None,
                  "locked_until": None, "locked_by": None, "last_error": error}
        outcome = "retry"
    result = db.session.execute(update(Job).where(*_fenced(job_id, attempt)).values(**values)
                                .execution_options(synchronize_session=False))
    db.session.commit()
    if result.rowcount != 1:
        return "lost"
    if outcome == "failed":
        log.error("job %d (%s) failed for good on attempt %d: %s", job_id, kind, attempt, error)
    else:
        log.warning("job %d (%s) attempt %d failed, retrying at %s: %s", job_id, kind,
                    attempt, values["run_after"].isoformat(timespec="seconds"), error)
    return outcome


# --- The sweeper --------------------------------------------------------------------------------

@dataclass
class SweepResult:
    scheduled: list[str] = field(default_factory=list)  # unique keys of jobs added
    requeued: int = 0  # leases that ran out: queued again
    failed: int = 0  # leases that ran out on the last attempt
    purged: int = 0  # old finished rows deleted
    due: list[int] = field(default_factory=list)  # ids to hand to a runner now


def sweep(now: datetime | None = None, *, limit: int = 500, schedule: bool = True) -> SweepResult:
    """One pass of the sweeper (needs an application context); see the module docstring.
    ``schedule``: also add the daily jobs (not in a web process's own sweeper: the daily
    reminders are a worker's or cron's business).

    Returns the ids of the jobs that should be handed to a runner now (:func:`deliver`, or run
    locally); they are marked as handed over, so concurrent sweepers never hand out the same
    job twice within ``JOBS_REDELIVER_SECONDS``.
    """
    config = current_app.config
    now = now or utcnow()
    result = SweepResult()
    result.scheduled = schedule_daily(now) if schedule else []
    result.failed, result.requeued = expire_leases(now)
    result.purged = purge_finished(now)
    result.due = take_due(now, timedelta(seconds=float(config.get("JOBS_REDELIVER_SECONDS",
                                                                     120))), limit)
    return result


def schedule_daily(now: datetime) -> list[str]:
    """Add today's reminder job once the local time passes ``JOBS_DAILY_REMIND_AT`` (Vietnam
    time, "HH:MM"; empty: never). The unique key makes it once a day however many sweepers
    run; a portal started after that hour still sends the day's reminders."""
    at = (current_app.config.get("JOBS_DAILY_REMIND_AT") or "").strip()
    if not at:
        return []
    hour, minute = (int(part) for part in at.split(":"))
    local = now.astimezone(VN_TZ)
    if (local.hour, local.minute) < (hour, minute):
        return []
    day = local.date().isoformat()
    key = f"deadlines.remind:{day}"
    if db.session.scalar(select(Job.id).where(Job.unique_key == key)) is not None:
        return []
    try:
        enqueue("deadlines.remind", unique_key=key, day=day)
        db.session.commit()
    except IntegrityError:  # another sweeper added it a moment ago
        db.session.rollback()
        return []
    return [key]


def expire_leases(now: datetime) -> tuple[int, int]:
    """Jobs whose worker stopped mid-way (lease passed): queued again, or failed when that
    was their last attempt. Returns ``(failed, requeued)``."""
    expired = (Job.status == RUNNING, Job.locked_until < now)
    failed = db.session.execute(
        update(Job).where(*expired, Job.attempts >= Job.max_attempts)
        .values(status=FAILED, finished_at=now, locked_until=None,
                last_error="lease expired: the worker stopped during the last attempt")
        .execution_options(synchronize_session=False)
    ).rowcount
    requeued = db.session.execute(
        update(Job).where(*expired)
        .values(status=QUEUED, run_after=now, pushed_at=None, locked_until=None,
                locked_by=None, last_error="lease expired: the worker stopped")
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if failed or requeued:
        log.warning("jobs whose worker stopped: %d queued again, %d failed", requeued, failed)
    return failed, requeued


def purge_finished(now: datetime) -> int:
    """Delete done jobs older than ``JOBS_KEEP_DONE_DAYS`` (failed ones stay until retried)."""
    days = int(current_app.config.get("JOBS_KEEP_DONE_DAYS", 30))
    count = db.session.execute(
        delete(Job).where(Job.status == DONE, Job.finished_at < now - timedelta(days=days))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return count


def take_due(now: datetime, redeliver_after: timedelta, limit: int) -> list[int]:
    """Mark due jobs that no runner has (never handed over, or handed over longer than
    ``redeliver_after`` ago) as handed over now, and return their ids."""
    cutoff = now - redeliver_after
    due = (Job.status == QUEUED, Job.run_after <= now,
           (Job.pushed_at.is_(None)) | (Job.pushed_at <= cutoff))
    # SKIP LOCKED (PostgreSQL; SQLite has no row locks and ignores it): sweepers skip rows
    # another transaction is changing instead of waiting for them.
    candidates = (select(Job.id).where(*due).order_by(Job.run_after, Job.id).limit(limit)
                  .with_for_update(skip_locked=True))
    ids = db.session.scalars(
        update(Job).where(Job.id.in_(candidates.scalar_subquery()), *due)
        .values(pushed_at=now).returning(Job.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return sorted(ids)


def sweep_and_deliver(app, now: datetime | None = None, *, schedule: bool = True,
                      limit: int = 500) -> SweepResult:
    """:func:`sweep`, then hand the due jobs to the runner; when it has no broker ("db" mode)
    or the broker is down, run them here, one after another (the database is the fallback)."""
    with app.app_context():
        try:
            result = sweep(now, schedule=schedule, limit=limit)
        finally:
            db.session.remove()
    if result.due:
        runner = app.extensions["tinbao.jobs"]
        if not (getattr(runner, "has_broker", True) and deliver(app, result.due)):
            for job_id in result.due:
                run_job(app, job_id, now=now)
    return result


# --- Administration -----------------------------------------------------------------------------

def counts() -> dict[tuple[str, str], int]:
    """``{(kind, status): count}`` over the whole table."""
    rows = db.session.execute(select(Job.kind, Job.status, func.count(Job.id))
                              .group_by(Job.kind, Job.status))
    return {(kind, status): count for kind, status, count in rows}


def retry(ids: list[int] | None = None, *, all_failed: bool = False) -> list[int]:
    """Queue failed jobs again with a fresh set of attempts; returns their ids. The commit
    is the caller's; the jobs are handed to the runner with :func:`deliver` after it."""
    query = update(Job).where(Job.status == FAILED)
    if not all_failed:
        query = query.where(Job.id.in_(ids or []))
    return sorted(db.session.scalars(
        query.values(status=QUEUED, attempts=0, run_after=utcnow(), pushed_at=utcnow(),
                     finished_at=None, locked_until=None, locked_by=None)
        .returning(Job.id).execution_options(synchronize_session=False)
    ).all())
