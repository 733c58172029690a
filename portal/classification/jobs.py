"""Background jobs of the embedded default: one worker thread per process.

Jobs get ids, never ORM objects, and are queued only after the report's transaction has
committed, so a job never sees a half-stored report and the reporter never waits for it.
(The production mode replaces this runner with a Redis-backed queue.)
"""

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from flask import current_app

from portal.classification import services
from portal.extensions import db

log = logging.getLogger(__name__)


class InlineRunner:
    """Runs a job at once in the caller's thread (tests, CLI)."""

    def submit(self, app, job, *args) -> None:
        job(app, *args)


class ThreadRunner:
    """Runs jobs one after another on a daemon worker thread."""

    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tinbao-job")

    def submit(self, app, job, *args) -> Future:
        return self._pool.submit(job, app, *args)


def init_app(app) -> None:
    mode = app.config.get("JOBS_MODE", "thread")
    app.extensions["tinbao.jobs"] = InlineRunner() if mode == "inline" else ThreadRunner()
    app.extensions["tinbao.classifier"] = services.ClassifierHolder(app)


def classify_job(app, report_id: int) -> None:
    """Classify one report; a missing model is logged, never raised to the reporter."""
    with app.app_context():
        try:
            classifier = app.extensions["tinbao.classifier"].get()
            services.classify_report(report_id, classifier)
        except services.ClassifierUnavailable as exc:
            log.warning("classifier unavailable, report left for later: %s", exc)
        except Exception:
            log.exception("classification failed for a report")
            db.session.rollback()
        finally:
            db.session.remove()


def enqueue_classification(report_id: int) -> None:
    """Queue the classification of a just-committed report."""
    if not current_app.config.get("CLASSIFIER_ENABLED", True):
        return
    app = current_app._get_current_object()
    app.extensions["tinbao.jobs"].submit(app, classify_job, report_id)
