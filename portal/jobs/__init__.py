"""Background jobs: a transactional outbox (the ``jobs`` table) delivered by RQ, a thread or
the database itself (docs/jobs.md).

Queue work inside the transaction that needs it, with ids only::

    from portal import jobs
    jobs.enqueue("classify_report", report_id=report.id)
    db.session.commit()  # the job is handed to a runner after this commit succeeds
"""

from portal.jobs.services import current_job, enqueue, run_job

__all__ = ["current_job", "enqueue", "init_app", "run_job"]


def init_app(app) -> None:
    """Choose the runner for ``JOBS_MODE``, register `flask jobs`, and in thread mode start
    this process's sweeper with its first request."""
    from portal.jobs import runners
    from portal.jobs.cli import jobs_group

    app.extensions["tinbao.jobs"] = runners.make_runner(app)
    app.cli.add_command(jobs_group)
    if app.config.get("JOBS_MODE", "thread") == "thread" and app.config.get(
            "JOBS_SWEEP_IN_WEB", True):
        @app.before_request
        def _start_job_sweeper():
            runners.ensure_web_sweeper(app)
