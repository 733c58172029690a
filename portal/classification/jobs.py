"""Classification as a background job (the machinery is in :mod:`portal.jobs`).

A report's classification job is added in the filing transaction
(:func:`queue_classification`), so it is committed with the report or not at all; the runner
gets it after the commit, so a job never sees a half-stored report and the reporter never
waits for it. The task itself is ``classify_report`` in portal/jobs/tasks.py.
"""

from flask import current_app

from portal.classification import services
from portal.extensions import db
from portal.jobs import enqueue

__all__ = ["init_app", "queue_classification"]


def init_app(app) -> None:
    """The classifier, loaded lazily once per process by the first job that needs it."""
    app.extensions["tinbao.classifier"] = services.ClassifierHolder(app)


def queue_classification(report):
    """Add the classification of ``report`` to the current transaction (flushing it for its
    id); returns the job, or None when the classifier is switched off."""
    if not current_app.config.get("CLASSIFIER_ENABLED", True):
        return None
    if report.id is None:
        db.session.flush()
    return enqueue("classify_report", report_id=report.id)
