"""The supervision figures: one source of numbers for the dashboard, the periodic reports
(DOCX, XLSX, CSV) and the public transparency page.

A :class:`StatsFilter` (a period of local dates, optionally an agency, sector, report type,
province or commune) goes in; a :class:`Statistics` of plain numbers comes out. Every figure is
computed in the database with aggregate SQL over the report history (``report_events``) and
the legal deadlines (``report_deadlines``): no report is loaded into Python. Each figure is the
count of the rows of a *source* query that meet the figure's condition, and the drill-down
list of a figure (:func:`case_ids`) selects the reports of the very same rows, so a list
always matches the number it was opened from.

Breakdowns (by agency, sector, type, place, month, outcome) are one query per source: on
PostgreSQL ``GROUP BY GROUPING SETS`` gives every breakdown in one pass and
``percentile_disc`` the stage times; SQLite, which has neither, gets one ``GROUP BY`` per
breakdown and percentiles from ``CUME_DIST()`` — the same definition, so both databases give
the same numbers (tests/unit/supervision/test_stats.py runs on both).

Each source exists twice: computed straight from the history (``…_from_history``, the
definition) and read from the facts that portal/supervision/facts.py keeps in step with every
change (one narrow table, no join to the history, no window function). A period without a
filter adds up stored daily counts and monthly stage-length histograms instead, counting from
the facts the days changed since the last ``flask supervision refresh``; its percentiles are
found in two steps (the bucket from the histograms, then the value among that bucket's
durations). All three give the same numbers (tests/unit/supervision/test_fast_path.py).

The definitions, in words, are in docs/supervision.md.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    null,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import aliased

from portal import geo, labels
from portal.agencies.models import Agency
from portal.classification.models import Classification
from portal.deadlines import services as deadlines
from portal.deadlines.calendar import start_of_day
from portal.deadlines.models import Deadline
from portal.extensions import db
from portal.reports import handling, status
from portal.reports.models import REPORT_TYPES, SECTORS, Report, ReportEvent
from portal.supervision import facts
from portal.supervision.models import (
    DailyCount,
    DeadlineFact,
    EventFact,
    MonthlyStageCount,
    OpenFact,
)

# Cases still being handled: with the Front (new, in review, returned) or with an agency.
OPEN_STATUSES = (status.RECEIVED, status.IN_REVIEW, status.TRANSFERRED, status.ACCEPTED,
                 status.RETURNED)
# The bodies that investigate crimes (BLTTHS 2015, Art. 145, 163): a report with signs of a
# crime should be with one of them ("không bỏ lọt tội phạm").
INVESTIGATING_KINDS = ("police", "procuracy", "military_investigation")

# History events that move a case between the Front and an agency (routing.md): each stage the
# dashboard times begins at the handover before it. A transfer can only follow filing, a
# return, a withdrawn transfer or a restore; an acceptance only a transfer; a result only an
# acceptance (portal/reports/status.py) — so the previous handover is the stage's start.
HANDOVER_KINDS = facts.HANDOVER_KINDS
STAGES = facts.STAGES  # filed → transferred → accepted → resolved

MEASURES = ("received", "transferred", "accepted", "returned", "resolved", "misrouted",
            "overdue", "overdue_open", "open_now", "long_running", "crime_elsewhere")
# The figures counted over the period; the others describe the cases open now.
FLOW_MEASURES = ("received", "transferred", "accepted", "returned", "resolved", "misrouted",
                 "overdue", "overdue_open")
SNAPSHOT_MEASURES = ("open_now", "long_running", "crime_elsewhere")

DIMENSIONS = ("agency", "sector", "report_type", "place", "month", "outcome")
OUTCOMES = tuple(labels.OUTCOMES)

# Which columns each table shows (the dashboard and the exports use these lists).
COLUMNS = {
    None: ("received", "transferred", "accepted", "returned", "resolved", "overdue",
           "open_now", "long_running", "crime_elsewhere"),
    "agency": ("transferred", "accepted", "returned", "resolved", "overdue", "open_now",
               "long_running", "crime_elsewhere"),
    "sector": ("received", "transferred", "accepted", "returned", "resolved", "overdue",
               "open_now", "long_running", "crime_elsewhere"),
    "report_type": ("received", "transferred", "accepted", "returned", "resolved", "overdue",
                    "open_now", "long_running", "crime_elsewhere"),
    "place": ("received", "transferred", "accepted", "returned", "resolved", "overdue",
              "open_now", "long_running", "crime_elsewhere"),
    "month": ("received", "transferred", "accepted", "returned", "resolved", "overdue"),
    "outcome": ("resolved",),
}
# Tables that also show the misrouting rate, and those that show stage times.
WITH_RATE = ("agency", "sector", "report_type", "place", "month")
# (Stage times are sorted once per breakdown: only those shown are computed.)
STAGE_DIMENSIONS = ("agency",)


def measure_labels() -> dict[str, str]:
    """Column headings, in the current language."""
    return {
        "received": _("Tiếp nhận"),
        "transferred": _("Chuyển đến cơ quan"),
        "accepted": _("Cơ quan thụ lý"),
        "returned": _("Bị trả lại"),
        "resolved": _("Có kết quả"),
        "misrouted": _("Lượt chuyển bị trả lại"),
        "overdue": _("Quá hạn"),
        "overdue_open": _("Quá hạn, chưa xong"),
        "open_now": _("Đang giải quyết"),
        "long_running": _("Kéo dài"),
        "crime_elsewhere": _("Dấu hiệu tội phạm, chưa ở cơ quan điều tra"),
        "misrouting_rate": _("Tỷ lệ trả lại"),
    }


def dimension_labels() -> dict[str | None, str]:
    return {
        None: _("Tổng hợp"),
        "agency": _("Theo cơ quan"),
        "sector": _("Theo lĩnh vực"),
        "report_type": _("Theo loại đơn"),
        "place": _("Theo địa bàn"),
        "month": _("Theo tháng"),
        "outcome": _("Theo kết quả giải quyết"),
    }


def stage_labels() -> dict[str, str]:
    return {
        "transfer": _("Tiếp nhận → chuyển cơ quan có thẩm quyền"),
        "accept": _("Chuyển → cơ quan thụ lý"),
        "resolve": _("Thụ lý → có kết quả"),
    }


# --- the filter -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatsFilter:
    """What the figures cover: local dates ``date_from`` to ``date_to`` (both included) and,
    optionally, one agency, sector, report type, province or commune."""

    date_from: date
    date_to: date
    agency_id: int | None = None
    sector: str | None = None
    report_type: str | None = None
    province_code: int | None = None
    ward_code: int | None = None

    @property
    def start(self) -> datetime:
        return start_of_day(self.date_from)

    @property
    def end(self) -> datetime:
        """The first moment after the period (exclusive upper bound)."""
        return start_of_day(self.date_to + timedelta(days=1))

    @property
    def by_commune(self) -> bool:
        """The place breakdown lists communes once a province (or commune) is chosen, else
        provinces."""
        return bool(self.province_code or self.ward_code)

    def query_args(self) -> dict:
        """The filter as query-string arguments (dd/mm/yyyy dates), for links."""
        args = {"from": self.date_from.strftime("%d/%m/%Y"),
                "to": self.date_to.strftime("%d/%m/%Y")}
        for name in ("agency_id", "sector", "report_type", "province_code", "ward_code"):
            value = getattr(self, name)
            if value not in (None, ""):
                args[name] = value
        return args


@dataclass(frozen=True)
class StageTime:
    """Times one stage took (in days) for the handovers that ended it in the period."""

    count: int
    median_days: float | None
    p90_days: float | None


@dataclass(frozen=True)
class Row:
    """One line of a table: a key (a code; None = unclassified, or the Front for agencies),
    its label, the counts and, where computed, the stage times."""

    key: object
    label: str
    counts: dict
    stage_times: dict = field(default_factory=dict)

    @property
    def misrouting_rate(self) -> float | None:
        """Transfers in the period that the agency returned as not competent, per transfer."""
        transferred = self.counts.get("transferred", 0)
        return self.counts.get("misrouted", 0) / transferred if transferred else None


@dataclass(frozen=True)
class Statistics:
    filter: StatsFilter
    as_of: datetime
    long_running_days: int
    total: Row
    breakdowns: dict  # dimension → [Row]


# --- SQL building blocks ----------------------------------------------------------------------

def _dialect() -> str:
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        # For the rest of this transaction only: these are a few large aggregates, where JIT
        # compilation costs more than it saves (about a second a query on a million reports),
        # and sorts and hashes of a year's events should stay in memory.
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text("SET LOCAL work_mem = '32MB'"))
    return dialect


# The same SQL as the facts use (portal/supervision/facts.py), so that both give one number.
_local_month = facts.local_month
_days_between = facts.days_between


def _report_conditions(f: StatsFilter) -> list:
    # Spam is kept but hidden (docs/portal.md): it counts in no figure. A restored report
    # counts again.
    conditions = [Report.status != status.SPAM]
    if f.sector:
        conditions.append(Report.sector == f.sector)
    if f.report_type:
        conditions.append(Report.report_type == f.report_type)
    if f.province_code:
        conditions.append(Report.province_code == f.province_code)
    if f.ward_code:
        conditions.append(Report.ward_code == f.ward_code)
    return conditions


def _place(f: StatsFilter):
    return Report.ward_code if f.by_commune else Report.province_code


@dataclass(frozen=True)
class _Source:
    """A query with one row per thing counted, its dimension columns and 0/1 flag columns."""

    query: object
    dimensions: tuple
    # measure → the flag column that marks its rows (None: every row counts)
    measures: dict


def _received(f: StatsFilter, dialect: str, ranges=None) -> _Source:
    """Reports filed in the period (``created_at``: the moment of the "filed" event), or in
    the [start, end) time ``ranges``."""
    query = (
        select(Report.id.label("report_id"), null().label("agency"),
               Report.sector.label("sector"), Report.report_type.label("report_type"),
               _place(f).label("place"), _local_month(Report.created_at, dialect).label("month"),
               null().label("outcome"))
        .where(facts.in_ranges(Report.created_at, ranges or [(f.start, f.end)]),
               *_report_conditions(f))
    )
    if f.agency_id:
        # An agency received the reports it has been sent.
        query = query.where(exists().where(ReportEvent.report_id == Report.id,
                                           ReportEvent.kind == "transfer",
                                           ReportEvent.agency_id == f.agency_id))
    return _Source(query, ("sector", "report_type", "place", "month"), {"received": None})


def _flow_from_history(f: StatsFilter, dialect: str) -> _Source:
    """Transfers, acceptances, returns and results in the period, by the agency concerned
    (straight from the history; :func:`_flow` reads the same from the facts).

    A transfer counts as misrouted when the agency returned it (before or after accepting):
    a return undoes the case's latest transfer before it (a return only follows a transfer or
    the acceptance of one, and a withdrawn transfer is followed by a new one before any
    return: portal/reports/status.py) — the same charging as routing.services.misrouting_rate.
    Only returns from the period's start on can undo a transfer of the period, so both this
    lookup and the events counted are ranges on ``created_at`` (no window over the history).
    """
    transfer, returned = aliased(ReportEvent), aliased(ReportEvent)
    undone = (
        select(func.max(transfer.id))
        .join(returned, and_(returned.report_id == transfer.report_id,
                             returned.id > transfer.id))
        .where(transfer.kind == "transfer", returned.kind == "return",
               returned.created_at >= f.start)
        .group_by(returned.id)
    )
    query = (
        select(ReportEvent.report_id.label("report_id"), ReportEvent.agency_id.label("agency"),
               Report.sector.label("sector"), Report.report_type.label("report_type"),
               _place(f).label("place"),
               _local_month(ReportEvent.created_at, dialect).label("month"),
               Report.outcome_code.label("outcome"),
               *[case((ReportEvent.kind == kind, 1), else_=0).label(f"is_{kind}")
                 for kind in ("transfer", "accept", "return", "resolve")],
               case((and_(ReportEvent.kind == "transfer", ReportEvent.id.in_(undone)), 1),
                    else_=0).label("is_misrouted"))
        .join(Report, Report.id == ReportEvent.report_id)
        .where(ReportEvent.kind.in_(("transfer", "accept", "return", "resolve")),
               ReportEvent.created_at >= f.start, ReportEvent.created_at < f.end,
               *_report_conditions(f))
    )
    if f.agency_id:
        query = query.where(ReportEvent.agency_id == f.agency_id)
    return _Source(query, ("agency", "sector", "report_type", "place", "month", "outcome"), {
        "transferred": "is_transfer", "accepted": "is_accept", "returned": "is_return",
        "resolved": "is_resolve", "misrouted": "is_misrouted"})


def _overdue_from_history(f: StatsFilter, dialect: str, now: datetime) -> _Source:
    """Legal deadlines that fell due in the period and were missed: closed after their due
    time, or still open past it (docs/deadlines.md); :func:`_overdue` reads the facts. The
    agency is the one that had to act (the holder the stage started with); the Front's own
    stages have none."""
    # Looked up for the rows kept only (a join would read the whole history).
    start_agency = (select(ReportEvent.agency_id)
                    .where(ReportEvent.id == Deadline.start_event_id).scalar_subquery())
    agency = case((Deadline.party == "agency", start_agency), else_=null())
    query = (
        select(Deadline.report_id.label("report_id"), agency.label("agency"),
               Report.sector.label("sector"), Report.report_type.label("report_type"),
               _place(f).label("place"), _local_month(Deadline.due_at, dialect).label("month"),
               null().label("outcome"),
               case((Deadline.closed_at.is_(None), 1), else_=0).label("is_open"))
        .join(Report, Report.id == Deadline.report_id)
        .where(Deadline.due_at >= f.start, Deadline.due_at < f.end,
               or_(Deadline.closed_at > Deadline.due_at,
                   and_(Deadline.closed_at.is_(None), Deadline.due_at < now)),
               *_report_conditions(f))
    )
    if f.agency_id:
        query = query.where(agency == f.agency_id)
    return _Source(query, ("agency", "sector", "report_type", "place", "month"),
                   {"overdue": None, "overdue_open": "is_open"})


def long_running_days() -> int:
    return int(current_app.config.get("SUPERVISION_LONG_RUNNING_DAYS", 90))


def _open_cases_from_history(f: StatsFilter, dialect: str, now: datetime) -> _Source:
    """Cases open now that were filed by the end of the period, by who holds them (None: the
    Front): long-running ones (filed more than the threshold ago, or past the time limit of
    their resolution) and those with signs of a crime not with an investigating body
    (:func:`_open_cases` reads the same from the open-case facts)."""
    holder = aliased(Agency)
    past_resolve_deadline = exists().where(
        Deadline.report_id == Report.id, Deadline.stage == "resolve",
        Deadline.closed_at.is_(None), Deadline.due_at < now)
    long_running = or_(Report.created_at < now - timedelta(days=long_running_days()),
                       past_resolve_deadline)
    crime_elsewhere = and_(handling.has_crime_signs(),
                           or_(Report.current_agency_id.is_(None),
                               holder.kind.not_in(INVESTIGATING_KINDS)))
    query = (
        select(Report.id.label("report_id"), Report.current_agency_id.label("agency"),
               Report.sector.label("sector"), Report.report_type.label("report_type"),
               _place(f).label("place"), null().label("month"), null().label("outcome"),
               case((long_running, 1), else_=0).label("is_long"),
               case((crime_elsewhere, 1), else_=0).label("is_crime_elsewhere"))
        .select_from(Report)
        .outerjoin(Classification, Classification.report_id == Report.id)
        .outerjoin(holder, holder.id == Report.current_agency_id)
        .where(Report.status.in_(OPEN_STATUSES), Report.created_at < f.end,
               *_report_conditions(f))
    )
    if f.agency_id:
        query = query.where(Report.current_agency_id == f.agency_id)
    return _Source(query, ("agency", "sector", "report_type", "place"), {
        "open_now": None, "long_running": "is_long", "crime_elsewhere": "is_crime_elsewhere"})


def _stage_durations_from_history(f: StatsFilter, dialect: str):
    """One row per handover in the period that ended a stage, with the days it took (from
    the history; :func:`_stage_durations` reads the facts).

    The stage began at the case's previous handover. ``LAG()`` finds it among the handovers
    of the period (ranges on ``created_at``: no window over the whole history); only for a
    case's first handover in the period is it looked up before the period's start, one index
    probe on ``(report_id, id)`` each. (History events are numbered in the order they happen,
    so the previous one by id is the previous one in time.)
    """
    events = (
        select(ReportEvent.report_id, ReportEvent.id, ReportEvent.kind, ReportEvent.agency_id,
               ReportEvent.created_at,
               func.lag(ReportEvent.created_at, type_=ReportEvent.created_at.type)
               .over(partition_by=ReportEvent.report_id, order_by=ReportEvent.id)
               .label("previous_in_period"))
        .where(ReportEvent.kind.in_(HANDOVER_KINDS), ReportEvent.created_at >= f.start,
               ReportEvent.created_at < f.end)
        .subquery()
    )
    before = aliased(ReportEvent)
    previous_before = (select(before.created_at)
                       .where(before.report_id == events.c.report_id,
                              before.kind.in_(HANDOVER_KINDS), before.id < events.c.id)
                       .order_by(before.id.desc()).limit(1)
                       .scalar_subquery())
    # CASE evaluates the lookup only where the period has no earlier handover.
    previous_at = case((events.c.previous_in_period.is_not(None), events.c.previous_in_period),
                       else_=previous_before)
    durations = (
        select(events.c.report_id, events.c.kind, events.c.agency_id, events.c.created_at,
               previous_at.label("previous_at"))
        .where(events.c.kind.in_(STAGES))
        .subquery()
    )
    query = (
        select(durations.c.report_id.label("report_id"), durations.c.agency_id.label("agency"),
               Report.sector.label("sector"), Report.report_type.label("report_type"),
               durations.c.kind.label("stage"),
               _days_between(durations.c.created_at, durations.c.previous_at, dialect)
               .label("days"))
        .join(Report, Report.id == durations.c.report_id)
        .where(durations.c.previous_at.is_not(None), *_report_conditions(f))
    )
    if f.agency_id:
        query = query.where(durations.c.agency_id == f.agency_id)
    return query


# --- the same sources from the facts (portal/supervision/facts.py) -----------------------------

def _fact_conditions(f: StatsFilter, table) -> list:
    """:func:`_report_conditions` on the report columns copied into a facts table."""
    conditions = [table.spam.is_(False)]
    for name in ("sector", "report_type", "province_code", "ward_code"):
        value = getattr(f, name)
        if value:
            conditions.append(getattr(table, name) == value)
    return conditions


def _fact_place(f: StatsFilter, table):
    return table.ward_code if f.by_commune else table.province_code


def _flow(f: StatsFilter, dialect: str, ranges=None) -> _Source:
    """:func:`_flow_from_history`, one row per fact: the "returned" mark and the report's
    columns were written with the event (``ranges``: [start, end) times instead of the
    period)."""
    t = EventFact
    query = (
        select(t.report_id.label("report_id"), t.agency_id.label("agency"),
               t.sector.label("sector"), t.report_type.label("report_type"),
               _fact_place(f, t).label("place"), t.month.label("month"),
               t.outcome_code.label("outcome"),
               *[case((t.kind == kind, 1), else_=0).label(f"is_{kind}")
                 for kind in ("transfer", "accept", "return", "resolve")],
               case((and_(t.kind == "transfer", t.misrouted.is_(True)), 1),
                    else_=0).label("is_misrouted"))
        .where(facts.in_ranges(t.created_at, ranges or [(f.start, f.end)]),
               *_fact_conditions(f, t))
    )
    if f.agency_id:
        query = query.where(t.agency_id == f.agency_id)
    return _Source(query, ("agency", "sector", "report_type", "place", "month", "outcome"), {
        "transferred": "is_transfer", "accepted": "is_accept", "returned": "is_return",
        "resolved": "is_resolve", "misrouted": "is_misrouted"})


def _overdue(f: StatsFilter, dialect: str, now: datetime, *, part: str = "all",
             ranges=None) -> _Source:
    """:func:`_overdue_from_history` from the deadline facts (which hold only deadlines open
    or closed late). ``part``: "closed" (closed late, due in ``ranges``), "open" (still open,
    due in the period before now) or "all"."""
    t = DeadlineFact
    closed_late = and_(t.closed_at.is_not(None),
                       facts.in_ranges(t.due_at, ranges or [(f.start, f.end)]))
    open_late = and_(t.closed_at.is_(None), t.due_at >= f.start, t.due_at < f.end,
                     t.due_at < now)
    missed = {"closed": closed_late, "open": open_late, "all": or_(closed_late, open_late)}
    query = (
        select(t.report_id.label("report_id"), t.agency_id.label("agency"),
               t.sector.label("sector"), t.report_type.label("report_type"),
               _fact_place(f, t).label("place"), t.month.label("month"),
               null().label("outcome"),
               case((t.closed_at.is_(None), 1), else_=0).label("is_open"))
        .where(missed[part], *_fact_conditions(f, t))
    )
    if f.agency_id:
        query = query.where(t.agency_id == f.agency_id)
    return _Source(query, ("agency", "sector", "report_type", "place", "month"),
                   {"overdue": None, "overdue_open": "is_open"})


def _open_cases(f: StatsFilter, dialect: str, now: datetime) -> _Source:
    """:func:`_open_cases_from_history` from the open-case facts: one narrow row per open
    case, its resolution deadline worked out when it changed; the classifier's answer is
    looked up only for the cases staff have not decided."""
    t, holder = OpenFact, aliased(Agency)
    long_running = or_(t.created_at < now - timedelta(days=long_running_days()),
                       t.resolve_due_at < now)
    # handling.has_crime_signs: staff's answer, else (undecided: a few cases) the classifier's.
    flagged = exists().where(Classification.report_id == t.report_id,
                             Classification.crime_flag.is_(True))
    crime_signs = case((t.crime_confirmed.is_(True), True),
                       (t.crime_confirmed.is_(None), flagged), else_=False)
    crime_elsewhere = and_(crime_signs,
                           or_(t.agency_id.is_(None), holder.kind.not_in(INVESTIGATING_KINDS)))
    conditions = [t.created_at < f.end]
    for name in ("sector", "report_type", "province_code", "ward_code"):
        value = getattr(f, name)
        if value:
            conditions.append(getattr(t, name) == value)
    query = (
        select(t.report_id.label("report_id"), t.agency_id.label("agency"),
               t.sector.label("sector"), t.report_type.label("report_type"),
               _fact_place(f, t).label("place"), null().label("month"),
               null().label("outcome"),
               case((long_running, 1), else_=0).label("is_long"),
               case((crime_elsewhere, 1), else_=0).label("is_crime_elsewhere"))
        .select_from(t)
        .outerjoin(holder, holder.id == t.agency_id)
        .where(*conditions)
    )
    if f.agency_id:
        query = query.where(t.agency_id == f.agency_id)
    return _Source(query, ("agency", "sector", "report_type", "place"), {
        "open_now": None, "long_running": "is_long", "crime_elsewhere": "is_crime_elsewhere"})


def _stage_durations(f: StatsFilter, dialect: str, ranges=None):
    """:func:`_stage_durations_from_history` from the facts: each stage's start and length
    were worked out when the history changed."""
    t = EventFact
    query = (
        select(t.report_id.label("report_id"), t.agency_id.label("agency"),
               t.sector.label("sector"), t.report_type.label("report_type"),
               t.kind.label("stage"), t.stage_days.label("days"))
        .where(t.kind.in_(STAGES), t.stage_days.is_not(None),
               facts.in_ranges(t.created_at, ranges or [(f.start, f.end)]),
               *_fact_conditions(f, t))
    )
    if f.agency_id:
        query = query.where(t.agency_id == f.agency_id)
    return query


def _sources(f: StatsFilter, dialect: str, now: datetime,
             from_history: bool = False) -> list[_Source]:
    if from_history:
        return [_received(f, dialect), _flow_from_history(f, dialect),
                _overdue_from_history(f, dialect, now),
                _open_cases_from_history(f, dialect, now)]
    return [_received(f, dialect), _flow(f, dialect), _overdue(f, dialect, now),
            _open_cases(f, dialect, now)]


def _source_of(measure: str, f: StatsFilter, dialect: str, now: datetime,
               from_history: bool = False) -> _Source:
    for source in _sources(f, dialect, now, from_history):
        if measure in source.measures:
            return source
    raise KeyError(measure)


# --- aggregation -------------------------------------------------------------------------------

def _count_columns(sub, source: _Source) -> list:
    columns = []
    for measure, flag in source.measures.items():
        counted = func.count() if flag is None else func.coalesce(func.sum(sub.c[flag]), 0)
        columns.append(counted.label(measure))
    return columns


def _grouped(sub, dims: tuple, values: list, dialect: str, extra_keys: tuple = ()):
    """``{dim or None: [(key, *extra, *values)]}``: the whole (None) and one group per value of
    each dimension in ``dims``, with ``extra_keys`` columns always grouped on."""
    found = {}
    if dialect == "postgresql" and dims:
        columns = [sub.c[d] for d in dims]
        # GROUPING(a, b, …) has a bit per argument, the first the highest, set when that column
        # is not in the row's grouping set: it says which breakdown a row belongs to.
        sets = func.grouping_sets(text("()"), *columns)
        query = (select(func.grouping(*columns).label("grouping"), *columns, *extra_keys,
                        *values).select_from(sub).group_by(*extra_keys, sets))
        everything = (1 << len(dims)) - 1
        for row in db.session.execute(query):
            mask = row[0]
            if mask == everything:
                dim, key = None, None
            else:
                index = next(i for i in range(len(dims))
                             if not mask & (1 << (len(dims) - 1 - i)))
                dim, key = dims[index], row[1 + index]
            found.setdefault(dim, []).append((key, *row[1 + len(dims):]))
        return found
    for dim in (None, *dims):
        keys = [] if dim is None else [sub.c[dim]]
        # select_from: a figure counted with COUNT(*) names no column of the source.
        query = select(*keys, *extra_keys, *values).select_from(sub)
        if keys or extra_keys:
            query = query.group_by(*keys, *extra_keys)
        for row in db.session.execute(query):
            found.setdefault(dim, []).append(tuple(row) if keys else (None, *row))
    return found


def _add_grouped(counts: dict, source: _Source, dims: tuple, dialect: str) -> None:
    sub = source.query.subquery()
    wanted = tuple(d for d in dims if d in source.dimensions)
    for dim, rows in _grouped(sub, wanted, _count_columns(sub, source), dialect).items():
        table = counts.setdefault(dim, {})
        for key, *values in rows:
            figures = table.setdefault(key, {})
            for measure, value in zip(source.measures, values, strict=True):
                figures[measure] = figures.get(measure, 0) + int(value or 0)


def _counts(f: StatsFilter, dims: tuple, dialect: str, now: datetime,
            from_history: bool = False, use_stored: bool = True) -> dict:
    """``{dim or None: {key: {measure: n}}}`` for every source."""
    counts: dict = {}
    stored = _stored_days(f) if use_stored and not from_history else None
    if stored is None:
        for source in _sources(f, dialect, now, from_history):
            _add_grouped(counts, source, dims, dialect)
        return counts
    through, live_days = stored
    _add_stored_counts(counts, f, dims, through, live_days, dialect)
    if live_days:
        ranges = facts.day_ranges(live_days)
        for source in (_received(f, dialect, ranges), _flow(f, dialect, ranges),
                       _overdue(f, dialect, now, part="closed", ranges=ranges)):
            _add_grouped(counts, source, dims, dialect)
    for source in (_overdue(f, dialect, now, part="open"), _open_cases(f, dialect, now)):
        _add_grouped(counts, source, dims, dialect)
    return counts


# --- the stored counts (a period without a filter; portal/supervision/facts.py) ------------------

def _unfiltered(f: StatsFilter) -> bool:
    return not any((f.agency_id, f.sector, f.report_type, f.province_code, f.ward_code))


def _stored_days(f: StatsFilter):
    """``(through, live days)`` when the stored daily counts can serve ``f``: they cover the
    days up to ``through`` except those marked dirty, which — with the period's days after
    ``through`` — are counted from the facts. None: count everything from the facts."""
    if not _unfiltered(f):
        return None
    connection = db.session.connection()
    through = facts.coverage(connection)
    if through is None:
        return None
    live = facts.dirty(connection, "day", f.date_from, min(f.date_to, through))
    day = max(f.date_from, through + timedelta(days=1))
    while day <= f.date_to:
        live.add(day)
        day += timedelta(days=1)
    return through, live


def _stored_month(column, dialect: str):
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


# The dimensions each stored measure has (those of its source).
STORED_DIMENSIONS = {
    "received": ("sector", "report_type", "place", "month"),
    **{m: ("agency", "sector", "report_type", "place", "month", "outcome")
       for m in ("transferred", "accepted", "returned", "resolved", "misrouted")},
    "overdue": ("agency", "sector", "report_type", "place", "month"),
}


def _add_stored_counts(counts: dict, f: StatsFilter, dims: tuple, through: date,
                       live_days: set, dialect: str) -> None:
    """Add the stored daily counts of the period's days that are not counted live."""
    t = DailyCount
    last = min(f.date_to, through)
    if last < f.date_from:
        return
    where = [t.day >= f.date_from, t.day <= last]
    if live_days:
        where.append(t.day.not_in(sorted(live_days)))
    sums = [func.coalesce(func.sum(getattr(t, m)), 0) for m in facts.DAILY_MEASURES]
    wanted = ["", *[d for d in dims if d != "month"]]
    rows = [tuple(r) for r in db.session.execute(
        select(t.dim, t.key, *sums).where(*where, t.dim.in_(wanted)).group_by(t.dim, t.key))]
    if "month" in dims:
        month = _stored_month(t.day, dialect)
        rows += [("month", *r) for r in db.session.execute(
            select(month, *sums).where(*where, t.dim == "").group_by(month))]
    for dim_name, key, *values in rows:
        dim = dim_name or None
        if dim in ("agency", "place") and key is not None:
            key = int(key)
        figures = counts.setdefault(dim, {}).setdefault(key, {})
        for measure, value in zip(facts.DAILY_MEASURES, values, strict=True):
            if dim is not None and dim not in STORED_DIMENSIONS[measure]:
                continue
            figures[measure] = figures.get(measure, 0) + int(value or 0)
            if measure == "overdue":
                figures["overdue_open"] = figures.get("overdue_open", 0)


def _percentile_rank(share: float, n: int, dialect: str) -> int:
    """The rank (1-based) of the discrete percentile ``share`` of ``n`` ordered values, as
    each database computes it: PostgreSQL's ``percentile_disc`` takes ⌈share·n⌉; the SQLite
    path the first value whose ``CUME_DIST`` (rank/n) reaches the share."""
    if dialect == "postgresql":
        return max(math.ceil(share * n), 1)
    rank = max(math.ceil(share * n), 1)
    while rank > 1 and (rank - 1) / n >= share:
        rank -= 1
    while rank < n and rank / n < share:
        rank += 1
    return rank


def _stage_times_stored(f: StatsFilter, dims: tuple, through: date) -> dict:
    """The stage times of a period without a filter, exactly, in two steps.

    1. How many durations of each stage (and agency) fall in each histogram bucket: the
       stored monthly counts for the months inside the period that are up to date, the
       facts for the rest (the period's first and last months when cut, months marked dirty,
       months after the last refresh). This gives the count, and the bucket in which the
       percentile's rank falls.
    2. The durations of those buckets only (a few per cent of the period's), read from the
       facts and ordered: the percentile is the value at its rank within its bucket.
    """
    connection = db.session.connection()
    dialect = connection.dialect.name
    t, m = EventFact, MonthlyStageCount
    months = _months(f)
    stale = {d.strftime("%Y-%m") for d in facts.dirty(
        connection, "month", f.date_from.replace(day=1), f.date_to)}
    last_stored = through.strftime("%Y-%m")
    stored = []
    for month in months:
        first = date(int(month[:4]), int(month[5:]), 1)
        after = (first + timedelta(days=32)).replace(day=1)
        if (first >= f.date_from and after - timedelta(days=1) <= f.date_to
                and month <= last_stored and month not in stale):
            stored.append(month)
    live_days = set()
    day = f.date_from
    while day <= f.date_to:
        if day.strftime("%Y-%m") not in stored:
            live_days.add(day)
        day += timedelta(days=1)
    histogram: dict = {}  # (stage, agency) → {bucket: n}
    queries = []
    if stored:
        queries.append(select(m.kind, m.agency_id, m.bucket, func.sum(m.count))
                       .where(m.month.in_(stored))
                       .group_by(m.kind, m.agency_id, m.bucket))
    if live_days:
        queries.append(select(t.kind, t.agency_id, t.bucket, func.count())
                       .where(t.kind.in_(STAGES), t.bucket.is_not(None), t.spam.is_(False),
                              facts.in_ranges(t.created_at, facts.day_ranges(live_days)))
                       .group_by(t.kind, t.agency_id, t.bucket))
    for query in queries:
        for kind, agency, bucket, n in db.session.execute(query):
            for group in ((kind, None, False), (kind, agency, True)):
                buckets = histogram.setdefault(group, {})
                buckets[bucket] = buckets.get(bucket, 0) + int(n)
    # Which value of which bucket each percentile is.
    wanted: dict = {}  # group → {share: (bucket, rank within the bucket)}
    totals: dict = {}
    for group, buckets in histogram.items():
        total = sum(buckets.values())
        totals[group] = total
        for share in (0.5, 0.9):
            rank, before = _percentile_rank(share, total, dialect), 0
            for bucket in sorted(buckets):
                if before + buckets[bucket] >= rank:
                    wanted.setdefault(group, {})[share] = (bucket, rank - before)
                    break
                before += buckets[bucket]
    period = and_(t.created_at >= f.start, t.created_at < f.end, t.spam.is_(False))
    targets = [(group, share, bucket, rank) for group, shares in wanted.items()
               for share, (bucket, rank) in shares.items()]
    if dialect == "postgresql":
        picked = _ranked_values((f.start, f.end), [x for x in targets
                                                   if x[0][1] is not None or not x[0][2]])
        picked.update(_bucket_values(t, period, [x for x in targets if x[0][1] is None
                                                 and x[0][2]]))
    else:
        picked = _bucket_values(t, period, targets)
    found: dict = {}
    for group, total in totals.items():
        kind, agency, agency_wise = group
        median, p90 = picked.get((group, 0.5)), picked.get((group, 0.9))
        dim, key = ("agency", agency) if agency_wise else (None, None)
        if dim is not None and dim not in dims:
            continue
        found.setdefault(dim, {}).setdefault(key, {})[kind] = StageTime(
            total, _float(median), _float(p90))
    return found


def _bucket_values(t, period, targets) -> dict:
    """``{(group, share): value}``: each target's bucket read whole and ordered here (SQLite,
    or a handful of targets)."""
    by_agency = sorted({(g[0], g[1], b) for g, _s, b, _r in targets if g[2]},
                       key=lambda k: (k[0], k[1] is None, k[1] or 0, k[2]))
    overall = sorted({(g[0], b) for g, _s, b, _r in targets if not g[2]})
    lookups = []
    with_agency = [k for k in by_agency if k[1] is not None]
    if with_agency:
        lookups.append((True, tuple_(t.kind, t.agency_id, t.bucket).in_(with_agency)))
    for kind, _agency, bucket in (k for k in by_agency if k[1] is None):
        lookups.append((True, and_(t.kind == kind, t.agency_id.is_(None), t.bucket == bucket)))
    if overall:
        lookups.append((False, tuple_(t.kind, t.bucket).in_(overall)))
    durations: dict = {}
    for agency_wise, condition in lookups:
        for kind, agency, bucket, days in db.session.execute(
                select(t.kind, t.agency_id, t.bucket, t.stage_days).where(period, condition)):
            group = (kind, agency, True) if agency_wise else (kind, None, False)
            durations.setdefault((group, bucket), []).append(days)
    return {(group, share): sorted(durations[(group, bucket)])[rank - 1]
            for group, share, bucket, rank in targets}


# PostgreSQL: the wanted ranks come in as arrays (unnest), so that the statement is compiled
# once whatever their number; the database orders each bucket (from the covering index) and
# returns one row per wanted rank.
_RANKED_SQL = """
WITH wanted AS (SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:agencies AS integer[]),
                                     CAST(:buckets AS integer[]), CAST(:ranks AS bigint[]))
                AS w(kind, agency_id, bucket, rank)),
ranked AS (
  SELECT f.kind, {agency} AS agency_id, f.bucket, f.stage_days,
         row_number() OVER (PARTITION BY f.kind, {agency}, f.bucket
                            ORDER BY f.stage_days) AS rank
  FROM supervision_event_facts f
  JOIN (SELECT DISTINCT kind, agency_id, bucket FROM wanted) b
    ON f.kind = b.kind AND f.bucket = b.bucket {same_agency}
  WHERE f.created_at >= :start AND f.created_at < :end AND f.spam IS false)
SELECT r.kind, r.agency_id, r.bucket, r.rank, r.stage_days FROM ranked r
JOIN wanted w ON r.kind = w.kind AND r.agency_id = w.agency_id AND r.bucket = w.bucket
             AND r.rank = w.rank
"""


def _ranked_values(period_bounds, targets) -> dict:
    """:func:`_bucket_values` on PostgreSQL, for agencies (not None) and for all."""
    start, end = (moment.astimezone(UTC).replace(tzinfo=None) for moment in period_bounds)
    found: dict = {}
    for agency_wise in (True, False):
        chosen = [x for x in targets if x[0][2] == agency_wise]
        if not chosen:
            continue
        sql = _RANKED_SQL.format(
            agency="f.agency_id" if agency_wise else "-1",
            same_agency="AND f.agency_id = b.agency_id" if agency_wise else "")
        params = {"kinds": [g[0] for g, _s, _b, _r in chosen],
                  "agencies": [g[1] if agency_wise else -1 for g, _s, _b, _r in chosen],
                  "buckets": [b for _g, _s, b, _r in chosen],
                  "ranks": [r for _g, _s, _b, r in chosen], "start": start, "end": end}
        at = {(kind, agency, bucket, rank): days for kind, agency, bucket, rank, days
              in db.session.execute(text(sql), params)}
        for group, share, bucket, rank in chosen:
            found[(group, share)] = at[(group[0], group[1] if agency_wise else -1, bucket, rank)]
    return found


def _stage_times(f: StatsFilter, dims: tuple, dialect: str, from_history: bool = False,
                 use_stored: bool = True) -> dict:
    """``{dim or None: {key: {stage: StageTime}}}``: how many handovers ended each stage in
    the period, and the median and 90th percentile of the days they took.

    Percentiles are "discrete" (``percentile_disc``): the first duration at or above that
    share of the ordered durations, so the figure is always a time some case really took.
    """
    if use_stored and not from_history and _unfiltered(f) and set(dims) <= {"agency"}:
        through = facts.coverage(db.session.connection())
        if through is not None:
            return _stage_times_stored(f, dims, through)
    durations = _stage_durations_from_history(f, dialect) if from_history \
        else _stage_durations(f, dialect)
    sub = durations.subquery()
    found: dict = {}
    if dialect == "postgresql":
        values = [func.count(),
                  func.percentile_disc(0.5).within_group(sub.c.days),
                  func.percentile_disc(0.9).within_group(sub.c.days)]
        rows = _grouped(sub, dims, values, dialect, extra_keys=(sub.c.stage,))
    else:
        rows = {}
        for dim in (None, *dims):
            keys = [] if dim is None else [sub.c[dim]]
            ranked = select(
                *[k.label("key") for k in keys], sub.c.stage, sub.c.days,
                func.cume_dist().over(partition_by=(*keys, sub.c.stage), order_by=sub.c.days)
                .label("share"),
            ).subquery()
            key = [ranked.c.key] if keys else []
            query = (select(*key, ranked.c.stage, func.count(),
                            func.min(case((ranked.c.share >= 0.5, ranked.c.days))),
                            func.min(case((ranked.c.share >= 0.9, ranked.c.days))))
                     .group_by(*key, ranked.c.stage))
            rows[dim] = [tuple(r) if keys else (None, *r) for r in db.session.execute(query)]
    for dim, items in rows.items():
        for key, stage, count, median, p90 in items:
            found.setdefault(dim, {}).setdefault(key, {})[stage] = StageTime(
                int(count), _float(median), _float(p90))
    return found


def _float(value) -> float | None:
    return None if value is None else float(value)


# --- labels and order -------------------------------------------------------------------------

def _months(f: StatsFilter) -> list[str]:
    months, year, month = [], f.date_from.year, f.date_from.month
    while (year, month) <= (f.date_to.year, f.date_to.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _ordered_keys(dim: str, f: StatsFilter, present: set) -> list[tuple[object, str]]:
    """``(key, label)`` of a breakdown's rows in reading order. Fixed lists (sectors, types,
    months, outcomes) are listed in full; agencies and places only where there are figures."""
    unclassified = _("Chưa phân loại")
    if dim == "sector":
        rows = [(code, str(labels.SECTOR_LABELS[code])) for code in SECTORS]
        return rows + ([(None, unclassified)] if None in present else [])
    if dim == "report_type":
        rows = [(code, str(labels.REPORT_TYPE_LABELS[code])) for code in REPORT_TYPES]
        return rows + ([(None, _("Chưa rõ loại"))] if None in present else [])
    if dim == "month":
        return [(m, f"{m[5:]}/{m[:4]}") for m in _months(f)]
    if dim == "outcome":
        return [(code, str(labels.OUTCOMES[code][0])) for code in OUTCOMES
                if not f.report_type or f.report_type in labels.OUTCOMES[code][1]]
    if dim == "agency":
        ids = [k for k in present if k is not None]
        names = dict(db.session.execute(select(Agency.id, Agency.name)
                                        .where(Agency.id.in_(ids))).all()) if ids else {}
        rows = sorted(((k, names.get(k, f"#{k}")) for k in ids), key=lambda r: r[1])
        return ([(None, _("Mặt trận Tổ quốc"))] if None in present else []) + rows
    if dim == "place":
        name = geo.ward_name if f.by_commune else geo.province_name
        rows = sorted(((k, name(k) or str(k)) for k in present if k is not None),
                      key=lambda r: r[1])
        return rows + ([(None, _("Không rõ nơi"))] if None in present else [])
    raise KeyError(dim)


def key_label(dim: str, key, f: StatsFilter) -> str:
    """The label of one row of a breakdown (for a drill-down list's heading)."""
    for found, label in _ordered_keys(dim, f, {key}):
        if found == key:
            return label
    return str(key)


def describe_filter(f: StatsFilter) -> list[str]:
    """The filter's choices other than the dates, in words ("Lĩnh vực: Đất đai")."""
    scope = []
    if f.agency_id:
        name = db.session.scalar(select(Agency.name).where(Agency.id == f.agency_id))
        scope.append(_("Cơ quan: %(name)s", name=name or f"#{f.agency_id}"))
    if f.sector:
        scope.append(_("Lĩnh vực: %(name)s", name=labels.SECTOR_LABELS[f.sector]))
    if f.report_type:
        scope.append(_("Loại đơn: %(name)s", name=labels.REPORT_TYPE_LABELS[f.report_type]))
    if f.province_code or f.ward_code:
        province = f.province_code or geo.ward_province(f.ward_code)
        scope.append(_("Địa bàn: %(name)s", name=geo.place_label(province, f.ward_code)))
    return scope


# --- the public functions -----------------------------------------------------------------------

def compute(f: StatsFilter, dims: tuple = DIMENSIONS, *, with_stage_times: bool = True,
            now: datetime | None = None, from_history: bool = False,
            stored: bool = True) -> Statistics:
    """Every figure for ``f``: the whole, and one table per dimension in ``dims``.

    From the stored counts (a period without a filter) and the facts
    (portal/supervision/facts.py); ``stored=False`` reads the facts only; ``from_history``
    computes the same straight from the history events, deadlines and reports (slower: the
    tests and ``flask --app portal supervision check`` compare them).
    """
    now = now or deadlines.now()
    dialect = _dialect()
    counts = _counts(f, dims, dialect, now, from_history, stored)
    times = _stage_times(f, tuple(d for d in dims if d in STAGE_DIMENSIONS), dialect,
                         from_history, stored) if with_stage_times else {}

    def row(dim, key, label):
        figures = {measure: 0 for measure in MEASURES}
        figures.update(counts.get(dim, {}).get(key, {}))
        return Row(key, label, figures, times.get(dim, {}).get(key, {}))

    breakdowns = {}
    for dim in dims:
        present = {key for key, figures in counts.get(dim, {}).items() if any(figures.values())}
        present |= set(times.get(dim, {}))
        breakdowns[dim] = [row(dim, key, label) for key, label in _ordered_keys(dim, f, present)]
    return Statistics(filter=f, as_of=now, long_running_days=long_running_days(),
                      total=row(None, None, _("Tổng cộng")), breakdowns=breakdowns)


def case_ids(f: StatsFilter, measure: str, dim: str | None = None, key=None, *,
             now: datetime | None = None, from_history: bool = False):
    """A ``SELECT`` of the distinct ids of the reports behind one figure (the drill-down): the
    rows of the same source query that the count adds up. ``key`` None with a ``dim`` means
    the rows without a value (unclassified, or the Front)."""
    now = now or deadlines.now()
    dialect = _dialect()
    source = _source_of(measure, f, dialect, now, from_history)
    sub = source.query.subquery()
    query = select(sub.c.report_id).distinct()
    flag = source.measures[measure]
    if flag is not None:
        query = query.where(sub.c[flag] == 1)
    if dim is not None:
        if dim not in source.dimensions:
            raise KeyError(dim)
        column: ColumnElement = sub.c[dim]
        query = query.where(column.is_(None) if key is None else column == key)
    return query


def parse_key(dim: str, value: str | None):
    """A drill-down key from a URL (``none`` → None); raises ValueError when malformed."""
    if value in (None, "", "none"):
        return None
    if dim in ("agency", "place"):
        if not value.isdigit():
            raise ValueError(value)
        return int(value)
    if dim == "sector" and value in SECTORS:
        return value
    if dim == "report_type" and value in REPORT_TYPES:
        return value
    if dim == "outcome" and value in OUTCOMES:
        return value
    if dim == "month" and len(value) == 7 and value[4] == "-" and value.replace("-", "").isdigit():
        return value
    raise ValueError(value)
