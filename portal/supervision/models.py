"""Tables the supervision figures keep for themselves (docs/supervision.md, "How it is computed").

Nothing here is a record of its own: every row is derived from the history events, the legal
deadlines and the reports, written by :mod:`portal.supervision.facts` in the same transaction
as the change it follows, and rebuilt from scratch by ``flask --app portal supervision
rebuild-facts``. The alerts snapshot is written by ``flask --app portal supervision
refresh-alerts``.
"""

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import UTCDateTime


class EventFact(db.Model):
    """One transfer, acceptance, return or result, with what the figures ask of it.

    The report's classification, place, outcome and spam status are copied in (and rewritten
    whenever they change), so that a period's figures read this one narrow table instead of
    joining the history to the reports; the stage's start (the case's previous handover) and
    whether a later return undid a transfer are worked out once, when the history changes,
    instead of by window functions on every page view.
    """

    __tablename__ = "supervision_event_facts"
    __table_args__ = (
        # A period's events (every figure reads a range of created_at).
        Index("ix_supervision_event_facts_created_at", "created_at"),
        # The exact stage times (stats._stage_times_stored): the durations of one histogram
        # bucket in a period, of one agency or of all, read from the index alone.
        Index("ix_supervision_event_facts_kind_bucket", "kind", "bucket", "created_at", "spam",
              "stage_days"),
        Index("ix_supervision_event_facts_kind_agency_bucket", "kind", "agency_id", "bucket",
              "created_at", "spam", "stage_days"),
    )

    event_id: Mapped[int] = mapped_column(
        ForeignKey("report_events.id", ondelete="CASCADE"), primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # 'YYYY-MM' of created_at in Vietnam time, as the database computes it (stats._local_month).
    month: Mapped[str] = mapped_column(String(7))
    agency_id: Mapped[int | None] = mapped_column(Integer)
    # transfer, accept, resolve: when the stage they end began (the case's previous handover).
    stage_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The stage's length in days, as the database computes it (stats._days_between), and its
    # bucket on a logarithmic scale (facts.bucket_of: eight to a doubling).
    stage_days: Mapped[float | None] = mapped_column(Float)
    bucket: Mapped[int | None] = mapped_column(Integer)
    # transfer: the agency later returned it as not competent (the next transfer-or-return of
    # the case is a return).
    misrouted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The report's, at the time of the last change.
    spam: Mapped[bool] = mapped_column(Boolean, default=False)
    sector: Mapped[str | None] = mapped_column(String(32))
    report_type: Mapped[str | None] = mapped_column(String(16))
    province_code: Mapped[int | None] = mapped_column(Integer)
    ward_code: Mapped[int | None] = mapped_column(Integer)
    outcome_code: Mapped[str | None] = mapped_column(String(32))


class DeadlineFact(db.Model):
    """A legal deadline that is missed or may still be missed: open, or closed after its due
    time. A deadline closed in time can never count as overdue and has no row."""

    __tablename__ = "supervision_deadline_facts"
    __table_args__ = (
        Index("ix_supervision_deadline_facts_due_at", "due_at"),
    )

    deadline_id: Mapped[int] = mapped_column(
        ForeignKey("report_deadlines.id", ondelete="CASCADE"), primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    month: Mapped[str] = mapped_column(String(7))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The agency that had to act (party "agency": the holder the stage started with).
    agency_id: Mapped[int | None] = mapped_column(Integer)
    spam: Mapped[bool] = mapped_column(Boolean, default=False)
    sector: Mapped[str | None] = mapped_column(String(32))
    report_type: Mapped[str | None] = mapped_column(String(16))
    province_code: Mapped[int | None] = mapped_column(Integer)
    ward_code: Mapped[int | None] = mapped_column(Integer)


class OpenFact(db.Model):
    """A case open now (received, in review, transferred, accepted, returned), with what the
    snapshot figures ask of it: who holds it, staff's answer on signs of a crime (while there
    is none, the figures look at the classifier's — a few rows, and the classifier's jobs then
    never write here), the due time of its open resolution deadline."""

    __tablename__ = "supervision_open_facts"

    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    agency_id: Mapped[int | None] = mapped_column(Integer)
    crime_confirmed: Mapped[bool | None] = mapped_column(Boolean)
    # The earliest due time of its open "resolve" deadlines (None: none open).
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sector: Mapped[str | None] = mapped_column(String(32))
    report_type: Mapped[str | None] = mapped_column(String(16))
    province_code: Mapped[int | None] = mapped_column(Integer)
    ward_code: Mapped[int | None] = mapped_column(Integer)


class DailyCount(db.Model):
    """The counts of one local day, for the whole (``dim`` "") and by one dimension: what
    :func:`portal.supervision.stats.compute` adds up for a period without a filter.

    Rebuilt for a day from the facts by ``flask --app portal supervision refresh``; a day with
    a change not yet rebuilt is listed in ``supervision_dirty`` and counted from the facts.
    """

    __tablename__ = "supervision_daily_counts"
    __table_args__ = (Index("ix_supervision_daily_counts_day", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    dim: Mapped[str] = mapped_column(String(16))
    # The row's key as text (an agency or province code in digits); NULL: none.
    key: Mapped[str | None] = mapped_column(String(32))
    received: Mapped[int] = mapped_column(Integer, default=0)
    transferred: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    misrouted: Mapped[int] = mapped_column(Integer, default=0)
    # Deadlines due that day and closed after their due time (the open ones depend on "now"
    # and are always counted from the facts).
    overdue: Mapped[int] = mapped_column(Integer, default=0)


class MonthlyStageCount(db.Model):
    """How many stages of one kind an agency (or the Front's agency-less rows) ended in one
    month with a duration in one histogram bucket: the first step of the exact percentiles."""

    __tablename__ = "supervision_monthly_stages"
    __table_args__ = (Index("ix_supervision_monthly_stages_month", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    kind: Mapped[str] = mapped_column(String(32))
    agency_id: Mapped[int | None] = mapped_column(Integer)
    bucket: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)


class DirtyPeriod(db.Model):
    """A day (``family`` "day") or a month ("month", its first day) whose stored counts a
    change has made stale. Written in the transaction of the change, removed by the refresh
    that rebuilds it; until then the figures count it from the facts. Insert-only for the
    writers, so concurrent staff actions never wait on one another here."""

    __tablename__ = "supervision_dirty"
    __table_args__ = (Index("ix_supervision_dirty_family_day", "family", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    family: Mapped[str] = mapped_column(String(8))
    day: Mapped[date] = mapped_column(Date)


class Snapshot(db.Model):
    """A computed result kept for pages that must not compute it on every view (the hot-spot
    alerts), with the time it was computed."""

    __tablename__ = "supervision_snapshots"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict] = mapped_column(JSON)
