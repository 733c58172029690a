"""``flask --app portal jobs …``: the worker, the sweeper and the administrator's view."""

import logging
import signal
import sys
import threading
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from portal.extensions import db
from portal.jobs import runners, services
from portal.jobs.models import FAILED, QUEUED, RUNNING, STATUSES, Job
from portal.timeutil import format_datetime_vn

log = logging.getLogger(__name__)


@click.group("jobs", cls=AppGroup)
def jobs_group() -> None:
    """Background jobs: worker, sweeper, list and retry (docs/jobs.md)."""


@jobs_group.command("worker")
@click.option("--burst", is_flag=True,
              help="Run what is due, then exit (instead of waiting for more).")
def worker_command(burst: bool) -> None:
    """Run jobs until stopped (SIGTERM finishes the current job first).

    With TINBAO_JOBS_MODE=rq: an RQ worker on the TINBAO_JOBS_QUEUE queue of TINBAO_REDIS_URL
    plus the periodic sweeper; in the other modes: polls the jobs table."""
    _log_to_stderr()
    app = current_app._get_current_object()
    db.session.remove()  # jobs run in their own application contexts and sessions
    if app.config.get("JOBS_MODE") == "rq":
        code = _rq_worker(app, burst)
    else:
        code = _polling_worker(app, burst)
    sys.exit(code)


def _log_to_stderr() -> None:
    # journald keeps what the unit writes; log records carry job ids and kinds, never data.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _rq_worker(app, burst: bool) -> int:
    import redis

    runners.set_worker_app(app)
    connection = redis.Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=5,
                                      socket_keepalive=True, health_check_interval=30)
    queue = runners.rq_queue(connection, app.config.get("JOBS_QUEUE") or "tinbao")
    if burst:
        services.sweep_and_deliver(app)  # with Redis down, the due jobs run here
        if not _redis_answers(connection):
            return 0
        runners.TinbaoWorker([queue], connection=connection, serializer=queue.serializer,
                             log_job_description=False).work(burst=True, logging_level="INFO")
        return 0

    # The sweeper runs beside the RQ worker all along: it queues again what a dead worker
    # left, hands over what Redis never got and, while Redis is down, runs due jobs itself.
    sweeper = runners.Sweeper(app, float(app.config.get("JOBS_SWEEP_SECONDS", 30)))
    sweeper.start()
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):  # until RQ installs its own handlers
        signal.signal(signum, lambda *_: stopping.set())
    try:
        if not _redis_answers(connection):
            log.warning("Redis unreachable: due jobs run from the database until it answers")
            while not _redis_answers(connection):
                if stopping.wait(5):
                    return 0
        if stopping.is_set():
            return 0
        # A SimpleWorker runs jobs in this process: the classifier is loaded once, not once
        # per forked job, and a kill -9 of the unit kills the job with it (its lease then
        # runs out and the sweeper of another worker, or of this one restarted, queues it).
        worker = runners.TinbaoWorker([queue], connection=connection,
                                      serializer=queue.serializer, log_job_description=False)
        worker.work(logging_level="INFO")
    finally:
        sweeper.stop()
        # A job the sweeper is running itself (Redis down) is finished too, not cut off.
        sweeper.join(float(app.config.get("JOBS_LEASE_SECONDS", 600)))
    # RQ notes a SIGTERM/SIGINT here (warm shutdown); any other return is a failure.
    if getattr(worker, "_shutdown_requested_date", None) is not None:
        return 0
    log.error("the RQ worker stopped by itself; exiting so that systemd restarts it")
    return 1


def _redis_answers(connection) -> bool:
    import redis

    try:
        return bool(connection.ping())
    except redis.exceptions.RedisError:
        return False


def _polling_worker(app, burst: bool) -> int:
    stopping = threading.Event()
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, lambda *_: stopping.set())
    poll = float(app.config.get("JOBS_POLL_SECONDS", 2))
    # Jobs queued by the jobs themselves run here too, not on a thread of ours.
    with _runner(app, runners.InlineRunner() if app.config.get("JOBS_MODE") != "db"
                 else runners.DatabaseRunner()):
        try:
            while not stopping.is_set():
                # A few at a time, so that SIGTERM is heeded soon (after the job in hand).
                result = services.sweep_and_deliver(app, limit=5)
                if burst and not result.due:
                    break
                if not result.due:
                    stopping.wait(poll)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    return 0


@contextmanager
def _runner(app, runner):
    """Use ``runner`` for this command only."""
    saved = app.extensions["tinbao.jobs"]
    app.extensions["tinbao.jobs"] = runner
    try:
        yield
    finally:
        app.extensions["tinbao.jobs"] = saved


@jobs_group.command("sweep")
def sweep_command() -> None:
    """Queue again jobs whose worker died, hand over due jobs the broker lost (or that were
    filed while Redis was down) and add the daily reminder job. Without a broker, or with
    Redis unreachable, the due jobs run here."""
    app = current_app._get_current_object()
    db.session.remove()
    runner = app.extensions["tinbao.jobs"]
    if app.config.get("JOBS_MODE") in ("thread", "db"):
        # No broker: run the due jobs here, in this command, rather than on a thread.
        runner = runners.InlineRunner()
    with _runner(app, runner):
        result = services.sweep_and_deliver(app)
    click.echo(f"Quét hàng đợi: {len(result.due)} việc được giao, {result.requeued} việc "
               f"xếp lại (tiến trình dừng giữa chừng), {result.failed} việc thất bại hẳn, "
               f"{len(result.scheduled)} việc định kỳ mới, {result.purged} việc cũ đã xoá.")


@jobs_group.command("list")
@click.option("--status", type=click.Choice(STATUSES),
              help="Only jobs in this state (default: every job not done).")
@click.option("--kind", help="Only jobs of this kind.")
@click.option("--limit", default=50, show_default=True, help="At most this many rows.")
def list_command(status: str | None, kind: str | None, limit: int) -> None:
    """Counts by kind and state, then the jobs not done (or --status …), newest first."""
    totals = services.counts()
    if not totals:
        click.echo("Không có việc nào.")
        return
    click.echo(f"{'loại việc':<24} " + " ".join(f"{s:>8}" for s in STATUSES))
    for job_kind in sorted({k for k, _s in totals}):
        click.echo(f"{job_kind:<24} "
                   + " ".join(f"{totals.get((job_kind, s), 0):>8}" for s in STATUSES))
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    query = query.where(Job.status == status) if status else \
        query.where(Job.status.in_((QUEUED, RUNNING, FAILED)))
    if kind:
        query = query.where(Job.kind == kind)
    rows = db.session.scalars(query).all()
    if rows:
        click.echo("")
    for job in rows:
        when = job.locked_until if job.status == RUNNING else (
            job.finished_at if job.finished_at else job.run_after)
        ids = ",".join(f"{k}={v}" for k, v in sorted((job.payload or {}).items()))
        click.echo(f"#{job.id:<7} {job.kind:<22} {job.status:<8} lần {job.attempts}/"
                   f"{job.max_attempts}  {format_datetime_vn(when)}  {ids}"
                   + (f"  — {job.last_error}" if job.last_error else ""))


@jobs_group.command("retry")
@click.argument("job_ids", nargs=-1, type=int)
@click.option("--failed", "all_failed", is_flag=True, help="Every failed job.")
def retry_command(job_ids: tuple[int, ...], all_failed: bool) -> None:
    """Queue failed jobs again (after fixing what made them fail), with fresh attempts."""
    if not job_ids and not all_failed:
        raise click.UsageError("Nêu mã việc, hoặc dùng --failed.")
    ids = services.retry(list(job_ids), all_failed=all_failed)
    db.session.commit()
    if ids:
        services.deliver(current_app._get_current_object(), ids)
    click.echo(f"Đã xếp lại {len(ids)} việc.")


@jobs_group.command("rescrub-attachments")
@click.option("--content-type", help="Only files of this type, e.g. image/jpeg.")
def rescrub_command(content_type: str | None) -> None:
    """Queue a job per stored attachment that cleans it again with the current scrubber
    (after a fix in portal/scrub.py); a file already clean is left as it is."""
    from portal.jobs.attachments import enqueue_rescrub_all

    count = enqueue_rescrub_all(content_type)
    click.echo(f"Đã xếp {count} việc làm sạch lại tệp đính kèm.")
