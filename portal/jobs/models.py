"""The jobs table: a transactional outbox of background work.

A job row is written in the same transaction as the change that needs it (a new report needs
classifying), so a job can never be lost between "the report is stored" and "the job is
queued": either both are committed or neither is. The broker (Redis, or a thread in the
embedded default) only carries job ids as a doorbell; this table is the truth about what is
still to do, what is being done and what failed (docs/jobs.md).
"""

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import UTCDateTime, utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATUSES = (QUEUED, RUNNING, DONE, FAILED)


class Job(db.Model):
    """One unit of background work, identified by its kind and a payload of ids."""

    __tablename__ = "jobs"
    __table_args__ = (
        # The sweeper's and the poller's question: which queued jobs are due?
        Index("ix_jobs_status_run_after", "status", "run_after"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    # Ids and dates only (a report id, a day): never report text, names or addresses, so the
    # table and the broker's copy of a job hold nothing that needs protecting.
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # Set for jobs that must exist at most once (the daily reminders: "deadlines.remind:<day>").
    unique_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    # Not to be run before this (now for a new job; later after a failure: the backoff).
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the job was last handed to the broker; the sweeper hands it again when this is old
    # (the push failed because Redis was down, or the broker lost it).
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The lease of the attempt running now: when it passes, the worker is presumed dead
    # (kill -9, power cut) and the sweeper queues the job again.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(128))  # host:pid of the worker
    # The exception's class and where it was raised, never its message (which may quote data).
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.status} attempt {self.attempts}>"
