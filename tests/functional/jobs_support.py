"""Support for the jobs tests that need Redis or a real worker process.

``create_worker_app`` is the application a worker subprocess runs in the kill -9 test:
``python -m flask --app "tests.functional.jobs_support:create_worker_app()" jobs worker``. It is
the portal configured from the environment like production, plus the stub classifier and a
hook that holds a job between its work and its commit while a "pause" file exists.
"""

import os
import time
from pathlib import Path

import pytest

REDIS_URL = os.environ.get("TINBAO_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


def redis_or_skip(url: str = REDIS_URL) -> str:
    """``url`` if a Redis answers there; otherwise skip the test with the reason, or fail it
    in CI (CI=true), where Redis is part of the environment."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.exceptions.RedisError as exc:
        message = (f"this test needs Redis at {url} ({type(exc).__name__}); "
                   "set TINBAO_TEST_REDIS_URL or start Redis")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


def clean_redis(url: str, queue_name: str) -> None:
    """Delete what RQ kept in Redis for a test's queue (the queue, its registries, their jobs
    and executions), so test runs leave nothing behind."""
    import redis

    connection = redis.Redis.from_url(url)
    job_ids: set[str] = set()
    for key in list(connection.scan_iter(f"rq:*{queue_name}*")):
        kind = connection.type(key)
        if kind == b"zset":
            job_ids.update(m.decode().split(":")[0] for m in connection.zrange(key, 0, -1))
        elif kind == b"list":
            job_ids.update(m.decode() for m in connection.lrange(key, 0, -1))
        connection.delete(key)
    for job_id in job_ids:
        connection.delete(f"rq:job:{job_id}", f"rq:results:{job_id}",
                          f"rq:executions:{job_id}")
        for key in connection.scan_iter(f"rq:execution:{job_id}:*"):
            connection.delete(key)
    connection.srem("rq:queues", f"rq:queue:{queue_name}")


def hold_before_commit(job) -> None:
    """Hold a classification job while TINBAO_TEST_PAUSE_FILE exists (up to a minute), after
    telling the test so through TINBAO_TEST_REACHED_FILE: the job's work is flushed to the
    database, not committed, when the test kills the worker."""
    pause = Path(os.environ["TINBAO_TEST_PAUSE_FILE"])
    if job.kind != "classify_report" or not pause.exists():
        return
    Path(os.environ["TINBAO_TEST_REACHED_FILE"]).write_text(str(job.attempt))
    deadline = time.monotonic() + 60
    while pause.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def create_worker_app():
    """The worker's application (see the module docstring)."""
    from portal import create_app
    from tests.helpers import StubClassifier

    return create_app({
        "INSTANCE_PATH": os.environ["TINBAO_TEST_INSTANCE"],
        "CLASSIFIER_FACTORY": lambda app: StubClassifier(),
        "JOBS_BEFORE_COMMIT": hold_before_commit,
    })
