"""Runners: the mode chosen by configuration, Redis unreachable, and the web process's own
sweeper in the embedded default (portal/jobs/runners.py)."""

import time
from datetime import timedelta

import pytest

from portal import create_app
from portal.extensions import db
from portal.jobs import runners, services
from portal.jobs.models import DONE, RUNNING, Job
from portal.timeutil import utcnow
from tests.helpers import StubClassifier
from tests.unit.jobs.conftest import CALLS, job_row


def _config(app, tmp_path, **settings) -> dict:
    return {"TESTING": True, "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": app.config["SECRET_KEY"], "KEYS_FOLDER": app.config["KEYS_FOLDER"],
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "RATELIMIT_STORAGE_URI": "memory://",
            "CLASSIFIER_FACTORY": lambda _app: StubClassifier(), **settings}


@pytest.mark.parametrize(("mode", "runner"), [
    ("thread", runners.ThreadRunner), ("inline", runners.InlineRunner),
    ("db", runners.DatabaseRunner), ("rq", runners.RQRunner)])
def test_the_mode_chooses_the_runner(app, tmp_path, mode, runner):
    variant = create_app(_config(app, tmp_path, JOBS_MODE=mode,
                                 REDIS_URL="redis://127.0.0.1:1/5"))
    assert isinstance(variant.extensions["tinbao.jobs"], runner)


def test_rq_mode_without_redis_url_or_an_unknown_mode_stops_the_portal(app, tmp_path):
    with pytest.raises(ValueError, match="needs TINBAO_REDIS_URL"):
        create_app(_config(app, tmp_path, JOBS_MODE="rq", REDIS_URL=None))
    with pytest.raises(ValueError, match="unknown TINBAO_JOBS_MODE"):
        create_app(_config(app, tmp_path, JOBS_MODE="celery"))


def test_an_unreachable_redis_is_reported_not_raised(app):
    runner = runners.RQRunner("redis://127.0.0.1:1/5")
    started = time.monotonic()
    with pytest.raises(services.BrokerUnavailable):
        runner.deliver(app, [1])
    assert time.monotonic() - started < 3  # short timeouts: a filing never hangs on Redis
    assert services.deliver(app, []) is True


def test_the_web_process_runs_again_what_a_crashed_one_left(app, tmp_path):
    """Thread mode: the first request starts the process's sweeper, which finds a job whose
    process died (lease passed) and runs it on the job thread."""
    with app.app_context():
        job = services.enqueue("test.noop")
        db.session.commit()  # the session app runs it inline …
        db.session.execute(services.update(Job).where(Job.id == job.id).values(
            status=RUNNING, attempts=1, locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()  # … then it is made to look like a web process died running it
        job_id = job.id
    CALLS.clear()
    web = create_app(_config(app, tmp_path, JOBS_MODE="thread", JOBS_SWEEP_SECONDS=3600))
    # Another app of this test process (the browser test's live server) may have started the
    # process's sweeper already: start from none, so that the sweeper is this app's.
    saved, runners._web_sweeper = runners._web_sweeper, None
    try:
        web.test_client().get("/")
        deadline = time.monotonic() + 10
        while job_row(app, job_id).status != DONE and time.monotonic() < deadline:
            time.sleep(0.05)
        assert job_row(app, job_id).status == DONE and job_row(app, job_id).attempts == 2
        assert CALLS == [("test.noop", 2)]
    finally:
        pid, sweeper = runners._web_sweeper
        sweeper.stop()
        sweeper.join(5)
        runners._web_sweeper = saved
