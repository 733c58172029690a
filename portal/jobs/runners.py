"""Runners: how committed jobs reach a process that runs them (``JOBS_MODE``).

- ``thread`` (the embedded default, no services): a worker thread in the web process.
- ``inline`` (tests, scripts): at once, in the committing thread, after the commit.
- ``db``: nobody is told; `flask jobs worker` processes poll the table.
- ``rq`` (production): the id is pushed to an RQ queue in Redis; `flask jobs worker` runs an
  RQ worker. If Redis cannot be reached the row stays queued and the sweeper hands it over
  again, or runs it itself while Redis stays down.

Every runner carries only job ids; :func:`portal.jobs.services.run_job` does the rest, so the
guarantees (claimed once, committed once, retried) are the same in every mode.
"""

import functools
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from portal.jobs import services

log = logging.getLogger(__name__)

MODES = ("thread", "inline", "db", "rq")


class InlineRunner:
    """Runs each job at once in the caller's thread, in its own application context (so with
    its own database session, after the caller's commit)."""

    has_broker = True

    def deliver(self, app, job_ids: list[int], *, together: bool = False) -> None:
        for job_id in job_ids:
            services.run_job(app, job_id)

    def submit(self, app, job, *args) -> None:
        """Run ``job(app, *args)`` now (the interface before the jobs table)."""
        job(app, *args)


class ThreadRunner:
    """Runs jobs one after another on a worker thread of this process.

    The thread is not a daemon: a CLI command that queued jobs waits for them before it exits.
    A job lost with the process (the web server was killed) is still in the table; the
    sweeper runs it again.
    """

    has_broker = True

    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tinbao-job")

    def deliver(self, app, job_ids: list[int], *, together: bool = False) -> None:
        for job_id in job_ids:
            self._pool.submit(services.run_job, app, job_id)

    def submit(self, app, job, *args) -> Future:
        """Run ``job(app, *args)`` on the worker thread (the interface before the jobs table)."""
        return self._pool.submit(job, app, *args)


class DatabaseRunner:
    """Tells no one: `flask jobs worker` processes find new jobs by polling the table."""

    has_broker = False

    def deliver(self, app, job_ids: list[int], *, together: bool = False) -> None:
        return None


class RQRunner:
    """Pushes job ids to an RQ queue in Redis (``perform`` runs them in the worker)."""

    has_broker = True

    def __init__(self, redis_url: str, queue_name: str = "tinbao", *,
                 job_timeout: float = 600):
        self.redis_url, self.queue_name = redis_url, queue_name
        self.job_timeout = max(1, int(job_timeout))
        self._queue = None
        self._lock = threading.Lock()

    def queue(self):
        """The RQ queue, connected on first use with short timeouts: a reporter's request
        must not hang on an unreachable Redis."""
        with self._lock:
            if self._queue is None:
                import redis

                connection = redis.Redis.from_url(
                    self.redis_url, socket_connect_timeout=1, socket_timeout=2)
                self._queue = rq_queue(connection, self.queue_name)
            return self._queue

    def deliver(self, app, job_ids: list[int], *, together: bool = False) -> None:
        import redis

        try:
            queue = self.queue()
            # One message for the jobs of one commit: an RQ enqueue costs a filing more CPU
            # than writing its job rows (docs/benchmarks.md, "Load (issue 6)"). The sweeper's
            # hand-overs go one by one, so that idle workers share them.
            messages = [job_ids] if together else [[job_id] for job_id in job_ids]
            with queue.connection.pipeline() as pipe:
                for ids in messages:
                    queue.enqueue(
                        perform, *ids, pipeline=pipe,
                        # RQ stops a job at the lease: the sweeper would queue it again then.
                        job_timeout=self.job_timeout,
                        # The table keeps the outcome; Redis keeps nothing after the run.
                        result_ttl=0, failure_ttl=24 * 3600,
                        description=f"tinbao job {', '.join(map(str, ids))}",
                    )
                pipe.execute()
        except redis.exceptions.RedisError as exc:
            raise services.BrokerUnavailable(type(exc).__name__) from exc


def make_runner(app):
    """The runner ``JOBS_MODE`` names."""
    mode = app.config.get("JOBS_MODE") or "thread"
    if mode == "inline":
        return InlineRunner()
    if mode == "thread":
        return ThreadRunner()
    if mode == "db":
        return DatabaseRunner()
    if mode == "rq":
        if not app.config.get("REDIS_URL"):
            raise ValueError("TINBAO_JOBS_MODE=rq needs TINBAO_REDIS_URL")
        return RQRunner(app.config["REDIS_URL"], app.config.get("JOBS_QUEUE") or "tinbao",
                        job_timeout=float(app.config.get("JOBS_LEASE_SECONDS", 600)))
    raise ValueError(f"unknown TINBAO_JOBS_MODE {mode!r} (one of {', '.join(MODES)})")


# --- The RQ side --------------------------------------------------------------------------------

PERFORM = "portal.jobs.runners.perform"


def rq_queue(connection, name: str):
    """Our RQ queue. Job data is JSON, not pickle: unpickling what is in Redis would run
    whatever code someone able to write to Redis put there."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    return Queue(name, connection=connection, serializer=JSONSerializer)


@functools.cache
def _worker_class():
    from rq import SimpleWorker

    class TinbaoWorker(SimpleWorker):
        """An RQ worker that runs only :func:`perform` (a job naming any other function, put
        in Redis by someone else, is dropped, never imported or called)."""

        def execute_job(self, job, queue):
            if job.func_name != PERFORM:
                log.error("dropped RQ job %s: not a tinbao job", job.id)
                job.delete()
                return
            super().execute_job(job, queue)

    return TinbaoWorker


def __getattr__(name):
    # TinbaoWorker is built on first use, so that importing this module does not import RQ
    # (the embedded default runs without it).
    if name == "TinbaoWorker":
        return _worker_class()
    raise AttributeError(name)

# The application of this worker process, set by `flask jobs worker` before it starts RQ.
_worker_app = None
_worker_app_lock = threading.Lock()


def set_worker_app(app) -> None:
    """Make ``app`` the application that :func:`perform` runs jobs in."""
    global _worker_app
    _worker_app = app


def perform(*job_ids: int) -> list[str]:
    """RQ's entry point: run the jobs with these ids, one after the other (``run_job`` each;
    never raises for a failing task: the outcome is recorded in the table, which decides
    about retries, not RQ). A job whose worker died before reaching it is handed over again
    by the sweeper, like any job whose hand-over was lost."""
    global _worker_app
    with _worker_app_lock:
        if _worker_app is None:  # a plain `rq worker`: build the app from the environment
            from portal import create_app

            _worker_app = create_app()
    return [services.run_job(_worker_app, job_id) for job_id in job_ids]


class Sweeper(threading.Thread):
    """Runs :func:`services.sweep_and_deliver` every ``interval`` seconds until stopped (a
    daemon thread beside the RQ worker, or in a web process of the embedded default)."""

    def __init__(self, app, interval: float, *, schedule: bool = True):
        super().__init__(name="tinbao-jobs-sweeper", daemon=True)
        self.app, self.interval, self.schedule = app, interval, schedule
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                services.sweep_and_deliver(self.app, schedule=self.schedule)
            except Exception:  # noqa: BLE001 (the database may be restarting: try again)
                log.exception("job sweep failed")
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()


_web_sweeper: tuple[int, Sweeper] | None = None
_web_sweeper_lock = threading.Lock()


def ensure_web_sweeper(app) -> None:
    """Start this process's sweeper once (thread mode: after a crash or restart the web process
    itself finds the jobs the previous one left). Checked per process id, so a server that
    forks workers after loading the app starts one in each."""
    global _web_sweeper
    import os

    pid = os.getpid()
    if _web_sweeper is not None and _web_sweeper[0] == pid:
        return
    with _web_sweeper_lock:
        if _web_sweeper is None or _web_sweeper[0] != pid:
            sweeper = Sweeper(app, float(app.config.get("JOBS_SWEEP_SECONDS", 30)),
                              schedule=False)
            sweeper.start()
            _web_sweeper = (pid, sweeper)
