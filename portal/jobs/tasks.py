"""What a job of each kind does: the registry of task functions, and the portal's tasks.

A task function takes the job's payload as keyword arguments (ids and dates, never ORM
objects) and runs inside an application context with ``db.session`` in a transaction that
:func:`portal.jobs.services.run_job` commits together with marking the job done. So a task
must not commit (unless, like the reminders, it is idempotent step by step and says so), and
whatever it writes to the database happens exactly once even if the worker dies half-way.

Effects outside the database (a file, an e-mail) cannot be rolled back: such a task makes them
idempotent with a key derived from the database (see ``deadlines.remind``).
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    kind: str
    func: Callable[..., None]
    # None: the configured JOBS_MAX_ATTEMPTS.
    max_attempts: int | None = None


TASKS: dict[str, Task] = {}


class PermanentJobError(Exception):
    """Raised by a task when trying again cannot help: the job fails at once."""


def task(kind: str, *, max_attempts: int | None = None):
    """Register the decorated function as the task for jobs of ``kind``."""

    def register(func):
        TASKS[kind] = Task(kind, func, max_attempts)
        return func

    return register


def get(kind: str) -> Task | None:
    """The task registered for ``kind``."""
    return TASKS.get(kind)


# --- The portal's tasks -----------------------------------------------------------------------

@task("classify_report")
def classify_report(report_id: int) -> None:
    """Run the classifier on a newly filed report and store its answer.

    Idempotent: a report that already has a classification (a second delivery, or `flask
    classifier run-pending` got there first) is left alone. A missing model raises
    ``ClassifierUnavailable``, so the job is retried with backoff and, after the last attempt,
    stays ``failed`` in `flask jobs list` (`flask classifier run-pending` catches up too).
    """
    from flask import current_app

    from portal.classification import services
    from portal.classification.models import Classification
    from portal.extensions import db
    from portal.reports.models import Report

    if db.session.get(Report, report_id) is None:
        return  # deleted meanwhile (retention purge): nothing to do
    if db.session.query(Classification.id).filter_by(report_id=report_id).first():
        return
    classifier = current_app.extensions["tinbao.classifier"].get()
    services.classify_report(report_id, classifier, commit=False)


@task("search.index_report")
def index_report(report_id: int) -> None:
    """Write the keyed word index of a newly filed report (portal/protection/search.py).

    Idempotent: the tokens already written are kept (a second delivery adds nothing).
    """
    from portal.extensions import db
    from portal.protection import search
    from portal.reports.models import Report

    report = db.session.get(Report, report_id)
    if report is not None:  # None: deleted meanwhile (retention purge)
        search.index_report(report)


@task("deadlines.remind", max_attempts=3)
def deadlines_remind(day: str | None = None) -> None:
    """The daily reminders and escalations (portal/deadlines/reminders.py ``remind``).

    ``remind`` commits user by user and records each (deadline, user, kind, day) it sent, so a
    retry after a crash sends only what was not recorded; the message's idempotency key makes
    the file sender skip a message it already wrote in the short window between sending and
    recording (docs/jobs.md, "Notifications").
    """
    from portal.deadlines.reminders import remind

    remind()


@task("attachments.rescrub")
def rescrub_attachment(attachment_id: int) -> None:
    """Clean a stored attachment again with the current scrubber (after a scrubber fix).

    See :func:`portal.jobs.attachments.rescrub` for how the file is replaced exactly once.
    """
    from portal.jobs.attachments import rescrub

    rescrub(attachment_id)


@task("attachments.delete_file")
def delete_attachment_file(stored_name: str) -> None:
    """Delete a replaced attachment file once the row no longer points to it."""
    from portal.jobs.attachments import delete_file

    delete_file(stored_name)
