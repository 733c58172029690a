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

The definitions, in words, are in docs/supervision.md.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

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
HANDOVER_KINDS = ("filed", "transfer", "withdraw_transfer", "accept", "return", "resolve",
                  "mark_spam", "restore", "merge_duplicate")
STAGES = ("transfer", "accept", "resolve")  # filed → transferred → accepted → resolved

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


def _local_month(column, dialect: str):
    """'YYYY-MM' of a stored (naive UTC) timestamp, in Vietnam time."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("Asia/Ho_Chi_Minh", func.timezone("UTC", column)),
                            "YYYY-MM")
    # SQLite has no time zones; Vietnam has kept UTC+7 without daylight saving since 1975.
    return func.strftime("%Y-%m", column, "+7 hours")


def _days_between(later, earlier, dialect: str):
    if dialect == "postgresql":
        return func.date_part("epoch", later - earlier) / 86400.0
    return func.julianday(later) - func.julianday(earlier)


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


def _received(f: StatsFilter, dialect: str) -> _Source:
    """Reports filed in the period (``created_at``: the moment of the "filed" event)."""
    query = (
        select(Report.id.label("report_id"), null().label("agency"),
               Report.sector.label("sector"), Report.report_type.label("report_type"),
               _place(f).label("place"), _local_month(Report.created_at, dialect).label("month"),
               null().label("outcome"))
        .where(Report.created_at >= f.start, Report.created_at < f.end, *_report_conditions(f))
    )
    if f.agency_id:
        # An agency received the reports it has been sent.
        query = query.where(exists().where(ReportEvent.report_id == Report.id,
                                           ReportEvent.kind == "transfer",
                                           ReportEvent.agency_id == f.agency_id))
    return _Source(query, ("sector", "report_type", "place", "month"), {"received": None})


def _flow(f: StatsFilter, dialect: str) -> _Source:
    """Transfers, acceptances, returns and results in the period, by the agency concerned.

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


def _overdue(f: StatsFilter, dialect: str, now: datetime) -> _Source:
    """Legal deadlines that fell due in the period and were missed: closed after their due
    time, or still open past it (docs/deadlines.md). The agency is the one that had to act
    (the holder the stage started with); the Front's own stages have none."""
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


def _open_cases(f: StatsFilter, dialect: str, now: datetime) -> _Source:
    """Cases open now that were filed by the end of the period, by who holds them (None: the
    Front): long-running ones (filed more than the threshold ago, or past the time limit of
    their resolution) and those with signs of a crime not with an investigating body."""
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


def _stage_durations(f: StatsFilter, dialect: str):
    """One row per handover in the period that ended a stage, with the days it took.

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


def _sources(f: StatsFilter, dialect: str, now: datetime) -> list[_Source]:
    return [_received(f, dialect), _flow(f, dialect), _overdue(f, dialect, now),
            _open_cases(f, dialect, now)]


def _source_of(measure: str, f: StatsFilter, dialect: str, now: datetime) -> _Source:
    for source in _sources(f, dialect, now):
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


def _counts(f: StatsFilter, dims: tuple, dialect: str, now: datetime) -> dict:
    """``{dim or None: {key: {measure: n}}}`` for every source."""
    counts: dict = {}
    for source in _sources(f, dialect, now):
        sub = source.query.subquery()
        wanted = tuple(d for d in dims if d in source.dimensions)
        for dim, rows in _grouped(sub, wanted, _count_columns(sub, source), dialect).items():
            table = counts.setdefault(dim, {})
            for key, *values in rows:
                figures = table.setdefault(key, {})
                for measure, value in zip(source.measures, values, strict=True):
                    figures[measure] = int(value or 0)
    return counts


def _stage_times(f: StatsFilter, dims: tuple, dialect: str) -> dict:
    """``{dim or None: {key: {stage: StageTime}}}``: how many handovers ended each stage in
    the period, and the median and 90th percentile of the days they took.

    Percentiles are "discrete" (``percentile_disc``): the first duration at or above that
    share of the ordered durations, so the figure is always a time some case really took.
    """
    sub = _stage_durations(f, dialect).subquery()
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
            now: datetime | None = None) -> Statistics:
    """Every figure for ``f``: the whole, and one table per dimension in ``dims``."""
    now = now or deadlines.now()
    dialect = _dialect()
    counts = _counts(f, dims, dialect, now)
    times = _stage_times(f, tuple(d for d in dims if d in STAGE_DIMENSIONS), dialect) \
        if with_stage_times else {}

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
             now: datetime | None = None):
    """A ``SELECT`` of the distinct ids of the reports behind one figure (the drill-down): the
    rows of the same source query that the count adds up. ``key`` None with a ``dim`` means
    the rows without a value (unclassified, or the Front)."""
    now = now or deadlines.now()
    dialect = _dialect()
    source = _source_of(measure, f, dialect, now)
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
