"""The supervision figures' own tables, kept in step with the history (docs/supervision.md,
"How it is computed").

Two layers, both derived, both rebuilt from scratch by ``flask --app portal supervision
rebuild-facts`` (and by migration ``a6c100000001`` for the data already there):

1. **Facts** (:class:`EventFact`, :class:`DeadlineFact`): one row per transfer, acceptance,
   return and result, and per deadline that is missed or still open, with the report's
   classification, place, outcome and spam status copied in, the stage's start and length, and
   whether a later return undid a transfer. They are written in the transaction of every change
   (an ``after_flush`` listener): for each report the flush touched, the rows are computed again
   by one ``SELECT`` over that report's history (the same statement the rebuild runs over every
   report) and replaced when they differ. A period's figures then read one table, without
   joins or window functions, and give exactly the numbers of the history itself
   (``stats.compute(…, from_history=True)``; tests/unit/supervision/test_fast_path.py).

2. **Stored counts** (:class:`DailyCount`, :class:`MonthlyStageCount`): for each local day the
   counts of the whole and of every breakdown, and for each month the number of stages that
   ended in each histogram bucket of their length — what a period without a filter adds up.
   A change to the facts of a day or a month marks it in :class:`DirtyPeriod` (insert-only, in
   the same transaction); ``flask --app portal supervision refresh`` rebuilds the marked days
   and months (and those since the last run) and removes the marks. Until then the figures
   count those days from the facts, so the stored counts are never used stale.
"""

from bisect import bisect_right
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import (
    Date,
    and_,
    bindparam,
    case,
    cast,
    delete,
    event,
    func,
    insert,
    inspect,
    null,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session, aliased

from portal.deadlines.calendar import local_date, start_of_day
from portal.deadlines.models import Deadline
from portal.reports.models import Report, ReportEvent
from portal.supervision.models import (
    DailyCount,
    DeadlineFact,
    DirtyPeriod,
    EventFact,
    MonthlyStageCount,
    OpenFact,
    Snapshot,
)
from portal.timeutil import utcnow

SPAM = "spam"
# Cases still being handled (stats.OPEN_STATUSES).
OPEN_STATUSES = ("received", "in_review", "transferred", "accepted", "returned")
# History events that move a case between the Front and an agency: each stage the dashboard
# times begins at the handover before it (portal/reports/status.py).
HANDOVER_KINDS = ("filed", "transfer", "withdraw_transfer", "accept", "return", "resolve",
                  "mark_spam", "restore", "merge_duplicate")
STAGES = ("transfer", "accept", "resolve")  # filed → transferred → accepted → resolved
FLOW_KINDS = ("transfer", "accept", "return", "resolve")

# Histogram buckets of a stage's length: bucket 0 below one minute, then eight buckets to a
# doubling up to 2¹² days; the last bucket is everything longer. Fine enough that the exact
# percentile is looked for among a few per cent of the durations, coarse enough that a month
# of one agency's stages fits in a few dozen rows.
BUCKETS_PER_DOUBLING = 8
BOUNDS = tuple(2 ** (i / BUCKETS_PER_DOUBLING) / 1440 for i in range(8 * 24 + 1))

# Snapshot names: how far the stored counts go.
COVERAGE = "stored_counts"


def bucket_of(days: float) -> int:
    """The histogram bucket of a length in days (the SQL of :func:`_bucket` in Python)."""
    return bisect_right(BOUNDS, days)


def local_month(column, dialect: str):
    """'YYYY-MM' of a stored (naive UTC) timestamp, in Vietnam time."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("Asia/Ho_Chi_Minh", func.timezone("UTC", column)),
                            "YYYY-MM")
    # SQLite has no time zones; Vietnam has kept UTC+7 without daylight saving since 1975.
    return func.strftime("%Y-%m", column, "+7 hours")


def days_between(later, earlier, dialect: str):
    if dialect == "postgresql":
        return func.date_part("epoch", later - earlier) / 86400.0
    return func.julianday(later) - func.julianday(earlier)


def _bucket(days):
    return case((days.is_(None), null()),
                *[(days < bound, index) for index, bound in enumerate(BOUNDS)],
                else_=len(BOUNDS))


# --- the facts of some reports, from their history ----------------------------------------------

EVENT_COLUMNS = ("event_id", "report_id", "kind", "created_at", "month", "agency_id",
                 "stage_started_at", "stage_days", "bucket", "misrouted", "spam", "sector",
                 "report_type", "province_code", "ward_code", "outcome_code")
OPEN_COLUMNS = ("report_id", "created_at", "agency_id", "crime_confirmed", "resolve_due_at",
                "sector", "report_type", "province_code", "ward_code")
DEADLINE_COLUMNS = ("deadline_id", "report_id", "due_at", "month", "closed_at", "agency_id",
                    "spam", "sector", "report_type", "province_code", "ward_code")


def event_rows(dialect: str, reports: Callable):
    """``SELECT`` of the event facts of the reports ``reports(column)`` selects.

    The stage's start is the case's previous handover (``LAG`` over its handovers in id order:
    events are numbered in the order they happen). A transfer is misrouted when the next of
    the case's transfers and returns is a return: that return undid it, before or after
    acceptance — the charging of routing.services.misrouting_rate. The histogram bucket is left
    empty here: :func:`_set_buckets` (SQL, for many rows) or :func:`bucket_of` (Python, for a
    report's few) fills it, with the same comparisons against the same bounds.
    """
    e = ReportEvent
    handovers = (
        select(e.id, e.report_id, e.kind, e.created_at, e.agency_id,
               func.lag(e.created_at, type_=e.created_at.type)
               .over(partition_by=e.report_id, order_by=e.id).label("previous_at"))
        .where(e.kind.in_(HANDOVER_KINDS), reports(e.report_id))
        .subquery("handovers")
    )
    moves = (
        select(e.id, func.lead(e.kind).over(partition_by=e.report_id, order_by=e.id)
               .label("next_move"))
        .where(e.kind.in_(("transfer", "return")), reports(e.report_id))
        .subquery("moves")
    )
    h = handovers.c
    started = case((h.kind.in_(STAGES), h.previous_at), else_=null())
    days = days_between(h.created_at, started, dialect)
    return (
        select(h.id.label("event_id"), h.report_id, h.kind, h.created_at,
               local_month(h.created_at, dialect).label("month"), h.agency_id,
               started.label("stage_started_at"), days.label("stage_days"),
               null().label("bucket"),  # set by _set_buckets / bucket_of
               case((and_(h.kind == "transfer", moves.c.next_move == "return"), True),
                    else_=False).label("misrouted"),
               (Report.status == SPAM).label("spam"), Report.sector, Report.report_type,
               Report.province_code, Report.ward_code, Report.outcome_code)
        .select_from(handovers)
        .join(Report, Report.id == h.report_id)
        .outerjoin(moves, moves.c.id == h.id)
        .where(h.kind.in_(FLOW_KINDS))
    )


def deadline_rows(dialect: str, reports: Callable):
    """``SELECT`` of the deadline facts of the reports ``reports(column)`` selects: deadlines
    open or closed after their due time (one closed in time is never overdue), with the agency
    that had to act (the holder the stage started with; none for the Front's own stages)."""
    d, start = Deadline, aliased(ReportEvent)
    return (
        select(d.id.label("deadline_id"), d.report_id, d.due_at,
               local_month(d.due_at, dialect).label("month"), d.closed_at,
               case((d.party == "agency", start.agency_id), else_=null()).label("agency_id"),
               (Report.status == SPAM).label("spam"), Report.sector, Report.report_type,
               Report.province_code, Report.ward_code)
        .join(Report, Report.id == d.report_id)
        .outerjoin(start, start.id == d.start_event_id)
        .where(reports(d.report_id), or_(d.closed_at.is_(None), d.closed_at > d.due_at))
    )


def open_rows(dialect: str, reports: Callable):
    """``SELECT`` of the open-case facts of the reports ``reports(column)`` selects: staff's
    answer on signs of a crime, and the earliest due time of an open resolution deadline (the
    long-running figure)."""
    resolve_due = (select(func.min(Deadline.due_at))
                   .where(Deadline.report_id == Report.id, Deadline.stage == "resolve",
                          Deadline.closed_at.is_(None))
                   .scalar_subquery())
    return (
        select(Report.id.label("report_id"), Report.created_at,
               Report.current_agency_id.label("agency_id"), Report.crime_confirmed,
               resolve_due.label("resolve_due_at"), Report.sector, Report.report_type,
               Report.province_code, Report.ward_code)
        .where(Report.status.in_(OPEN_STATUSES), reports(Report.id))
    )


def _dialect(connection) -> str:
    return connection.dialect.name


def _set_buckets(connection, condition) -> None:
    """Fill the histogram bucket of the event facts selected by ``condition``."""
    connection.execute(EventFact.__table__.update()
                       .where(condition, EventFact.stage_days.is_not(None))
                       .values(bucket=_bucket(EventFact.stage_days)))


_STATEMENTS: dict = {}


def _statements(dialect: str) -> list:
    """``(table, columns, old rows, new rows)`` for each facts table, with the report ids as
    one expanding parameter: built and compiled once (a staff action runs them on every
    flush, so their cost is per action)."""
    if dialect not in _STATEMENTS:
        chosen = bindparam("report_ids", expanding=True)

        def of(column):
            return column.in_(chosen)

        _STATEMENTS[dialect] = [
            (table, columns,
             select(*[table.__table__.c[c] for c in columns])
             .where(of(table.__table__.c.report_id)),
             rows(dialect, of))
            for table, rows, columns in ((EventFact, event_rows, EVENT_COLUMNS),
                                         (DeadlineFact, deadline_rows, DEADLINE_COLUMNS),
                                         (OpenFact, open_rows, OPEN_COLUMNS))]
    return _STATEMENTS[dialect]


def rebuild_facts(connection, *, batch: int = 50_000, progress=None) -> int:
    """Compute every fact again from the history (a migration, or a repair after the history
    was edited outside the portal). Returns the number of reports covered."""
    dialect = _dialect(connection)
    connection.execute(delete(EventFact))
    connection.execute(delete(DeadlineFact))
    connection.execute(delete(OpenFact))
    top = connection.scalar(select(func.max(Report.id))) or 0
    for low in range(1, top + 1, batch):
        high = low + batch - 1

        def between(column, low=low, high=high):
            return column.between(low, high)

        connection.execute(insert(EventFact).from_select(
            EVENT_COLUMNS, event_rows(dialect, between)))
        _set_buckets(connection, EventFact.report_id.between(low, high))
        connection.execute(insert(DeadlineFact).from_select(
            DEADLINE_COLUMNS, deadline_rows(dialect, between)))
        connection.execute(insert(OpenFact).from_select(
            OPEN_COLUMNS, open_rows(dialect, between)))
        if progress:
            progress(min(high, top), top)
    return top


def _differences(old: list, new: list) -> list:
    """Rows (as tuples) that are in one list and not the other."""
    before, after = set(old), set(new)
    return list((before - after) | (after - before))


def follow_reports(connection, report_ids: Iterable[int], received_changes=(),
                   fresh: Iterable[int] = ()) -> None:
    """Bring the facts of ``report_ids`` in line with their history, in the caller's
    transaction, and mark the days and months whose stored counts changed.

    ``received_changes``: the filing times (old and new) of reports whose filing counts
    changed, for the received figure. ``fresh``: reports inserted by this flush, which have no
    facts yet (one query less each when filing).
    """
    ids = sorted(set(report_ids))
    known = sorted(set(ids) - set(fresh))
    dialect = _dialect(connection)
    dirty_days: set[date] = set()
    dirty_months: set[date] = set()
    for at in received_changes:
        if at is not None:
            dirty_days.add(local_date(at))
    if known and dialect == "postgresql":
        # Rewrites of one report's facts follow one another (a classifier job and a staff
        # action at the same moment would otherwise both replace the same rows). Staff
        # actions hold this lock already (handling.lock_report); NO KEY, so that rows which
        # only refer to the report are not held up.
        connection.execute(select(Report.id).where(Report.id.in_(known)).order_by(Report.id)
                           .with_for_update(key_share=True))
    if ids:
        for table, columns, old_rows, new_rows in _statements(dialect):
            old = [tuple(r) for r in connection.execute(old_rows, {"report_ids": known})] \
                if known else []
            new = [tuple(r) for r in connection.execute(new_rows, {"report_ids": ids})]
            if table is EventFact:
                at = columns.index("bucket")
                days = columns.index("stage_days")
                new = [(*r[:at], None if r[days] is None else bucket_of(r[days]), *r[at + 1:])
                       for r in new]
            changed = _differences(old, new)
            if not changed:
                continue
            if old:
                connection.execute(delete(table).where(table.__table__.c.report_id.in_(known)))
            if new:
                connection.execute(insert(table.__table__), [dict(zip(columns, r, strict=True))
                                                   for r in new])
            for row in changed:
                values = dict(zip(columns, row, strict=True))
                if table is EventFact:
                    dirty_days.add(local_date(values["created_at"]))
                    if values["kind"] in STAGES:
                        dirty_months.add(local_date(values["created_at"]).replace(day=1))
                elif table is DeadlineFact:
                    dirty_days.add(local_date(values["due_at"]))
                # (open cases are always counted from their facts: nothing stored to mark)
    rows = [{"family": "day", "day": day} for day in sorted(dirty_days)]
    rows += [{"family": "month", "day": day} for day in sorted(dirty_months)]
    if rows:
        connection.execute(_INSERT_DIRTY, rows)


# Built once: a filing runs these, and a statement object built anew is looked up in
# SQLAlchemy's cache by walking it each time.
_INSERT_DIRTY = insert(DirtyPeriod.__table__)
_INSERT_OPEN_FACT = insert(OpenFact.__table__)
_INSERT_DEADLINE_FACT = insert(DeadlineFact.__table__)

# What a report's filing contributes to (the received figure and its breakdowns).
RECEIVED_ATTRIBUTES = ("created_at", "status", "sector", "report_type", "province_code")
# Report columns copied into the facts.
FACT_ATTRIBUTES = ("status", "sector", "report_type", "province_code", "ward_code",
                   "outcome_code", "current_agency_id", "crime_confirmed")


def _changed(obj, names) -> bool:
    """Whether the flush changed any of the attributes ``names`` of ``obj``."""
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _old_and_new(obj, name) -> list:
    """The values of ``obj.name`` before and after the flush (one if it did not change)."""
    history = inspect(obj).attrs[name].history
    return list(history.added or ()) + list(history.deleted or ()) + list(
        history.unchanged or ())


@event.listens_for(Session, "after_flush")
def _after_flush(session, _flush_context) -> None:
    """Follow every change of a report's history, deadlines or classification in the facts,
    in the same transaction (so a figure never sees one without the other). The classifier's
    answers are not followed: the figures read them where staff have not decided."""
    report_ids: set[int] = set()
    fresh: set[int] = set()
    received: list = []
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, ReportEvent | Deadline):
            if obj.report_id is not None:
                report_ids.add(obj.report_id)
        elif isinstance(obj, Report):
            if obj in session.new or obj in session.deleted:
                report_ids.add(obj.id)
                received.append(obj.created_at)
                if obj in session.new:
                    fresh.add(obj.id)
            elif _changed(obj, FACT_ATTRIBUTES + ("created_at",)):
                report_ids.add(obj.id)
                if _changed(obj, RECEIVED_ATTRIBUTES):
                    received.extend(_old_and_new(obj, "created_at"))
    report_ids.discard(None)
    # (A filing writes its facts itself, without a flush: follow_new_report below.)
    if report_ids or received:
        follow_reports(session.connection(), report_ids, received, fresh)


# The columns of a report that its open-case fact copies, and its status.
_FACT_NAMES = ("id", "created_at", "current_agency_id", "crime_confirmed", "sector",
               "report_type", "province_code", "ward_code", "status")


def _open_fact(loaded: dict, *, resolve_due_at) -> dict:
    """The open-case fact of a report from its ``_FACT_NAMES`` (what :func:`open_rows`
    selects)."""
    return {"report_id": loaded["id"], "created_at": loaded["created_at"],
            "agency_id": loaded["current_agency_id"],
            "crime_confirmed": loaded["crime_confirmed"], "resolve_due_at": resolve_due_at,
            "sector": loaded["sector"], "report_type": loaded["report_type"],
            "province_code": loaded["province_code"], "ward_code": loaded["ward_code"]}


def follow_new_report(connection, report, events, deadlines) -> None:
    """The facts of a report just written by :func:`portal.reports.rows.insert_new` (no flush,
    so no :func:`_after_flush`), with its history ``events`` and ``deadlines``, all new in
    this transaction and the only ones it has.

    Computed from the objects: the open-case fact, the fact of each deadline that is open or
    was closed late, and the days whose stored counts change — what :func:`follow_reports`
    would select, without its three SELECTs (tests/unit/supervision/test_fast_path.py compares
    them with a rebuild). A history holding a flow event (``FLOW_KINDS``), which a filing
    never has, or a fact column left to the database, takes :func:`follow_reports`.
    """
    loaded = _fact_columns(report)
    if loaded is None or any(event.kind in FLOW_KINDS for event in events):
        follow_reports(connection, [report.id], [report.created_at], [report.id])
        return
    dirty_days = {local_date(loaded["created_at"])}
    deadline_facts = []
    for deadline in deadlines:
        if deadline.closed_at is not None and deadline.closed_at <= deadline.due_at:
            continue
        agency_id = None
        if deadline.party == "agency" and deadline.start_event is not None:
            agency_id = deadline.start_event.agency_id
        due_day = local_date(deadline.due_at)
        dirty_days.add(due_day)
        deadline_facts.append({
            "deadline_id": deadline.id, "report_id": report.id, "due_at": deadline.due_at,
            "month": f"{due_day:%Y-%m}", "closed_at": deadline.closed_at,
            "agency_id": agency_id, "spam": loaded["status"] == SPAM,
            "sector": loaded["sector"], "report_type": loaded["report_type"],
            "province_code": loaded["province_code"], "ward_code": loaded["ward_code"]})
    if deadline_facts:
        connection.execute(_INSERT_DEADLINE_FACT, deadline_facts)
    if loaded["status"] in OPEN_STATUSES:
        resolve_due = [d.due_at for d in deadlines
                       if d.stage == "resolve" and d.closed_at is None]
        connection.execute(_INSERT_OPEN_FACT, _open_fact(
            loaded, resolve_due_at=min(resolve_due) if resolve_due else None))
    connection.execute(_INSERT_DIRTY, [{"family": "day", "day": day}
                                       for day in sorted(dirty_days)])


def _fact_columns(report) -> dict | None:
    """``_FACT_NAMES`` of a report just inserted, from the object; None when one of them would
    have to be read back from the database."""
    loaded = inspect(report).dict
    values = {}
    for name in _FACT_NAMES:
        if name in loaded:
            values[name] = loaded[name]
            continue
        # Not given and not fetched back by the INSERT: NULL in the row when the column has
        # no default of either kind; otherwise it is the database's to tell.
        column = Report.__table__.c[name]
        if column.default is not None or column.server_default is not None:
            return None
        values[name] = None
    return values


# --- stored counts --------------------------------------------------------------------------

def day_ranges(days: Iterable[date]) -> list[tuple[datetime, datetime]]:
    """Consecutive local days merged into [start, end) ranges of time."""
    ranges: list[list[date]] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] == day:
            ranges[-1][1] = day + timedelta(days=1)
        else:
            ranges.append([day, day + timedelta(days=1)])
    return [(start_of_day(a), start_of_day(b)) for a, b in ranges]


def in_ranges(column, ranges) -> object:
    """SQL: ``column`` falls in one of the [start, end) ``ranges``."""
    return or_(*[and_(column >= start, column < end) for start, end in ranges])


def _local_day(column, dialect: str):
    if dialect == "postgresql":
        return cast(func.timezone("Asia/Ho_Chi_Minh", func.timezone("UTC", column)), Date)
    return func.date(column, "+7 hours")


DAILY_MEASURES = ("received", "transferred", "accepted", "returned", "resolved", "misrouted",
                  "overdue")


def _daily_rows(connection, ranges) -> list[dict]:
    """The :class:`DailyCount` rows of the days in ``ranges`` (from the facts and reports),
    for the whole ("") and each dimension, spam left out."""
    dialect = _dialect(connection)
    f, d = EventFact, DeadlineFact
    sources = [
        # (day, measures, dimension → column, FROM … WHERE …)
        (_local_day(Report.created_at, dialect), {"received": func.count()},
         {"sector": Report.sector, "report_type": Report.report_type,
          "place": Report.province_code},
         lambda q: q.select_from(Report).where(Report.status != SPAM,
                                               in_ranges(Report.created_at, ranges))),
        (_local_day(f.created_at, dialect), {
            "transferred": func.sum(case((f.kind == "transfer", 1), else_=0)),
            "accepted": func.sum(case((f.kind == "accept", 1), else_=0)),
            "returned": func.sum(case((f.kind == "return", 1), else_=0)),
            "resolved": func.sum(case((f.kind == "resolve", 1), else_=0)),
            "misrouted": func.sum(case((and_(f.kind == "transfer", f.misrouted.is_(True)), 1),
                                       else_=0))},
         {"agency": f.agency_id, "sector": f.sector, "report_type": f.report_type,
          "place": f.province_code, "outcome": f.outcome_code},
         lambda q: q.select_from(f).where(f.spam.is_(False), in_ranges(f.created_at, ranges))),
        (_local_day(d.due_at, dialect), {"overdue": func.count()},
         {"agency": d.agency_id, "sector": d.sector, "report_type": d.report_type,
          "place": d.province_code},
         lambda q: q.select_from(d).where(d.spam.is_(False), d.closed_at.is_not(None),
                                          in_ranges(d.due_at, ranges))),
    ]
    found: dict = {}
    for day, measures, dimensions, scope in sources:
        for dim, column in [("", None), *dimensions.items()]:
            keys = [day] if column is None else [day, column]
            query = scope(select(*keys, *measures.values())).group_by(*keys)
            for row in connection.execute(query):
                row_day = row[0] if isinstance(row[0], date) else date.fromisoformat(row[0])
                key = None if column is None or row[1] is None else str(row[1])
                values = row[len(keys):]
                counts = found.setdefault((row_day, dim, key), dict.fromkeys(DAILY_MEASURES, 0))
                for measure, value in zip(measures, values, strict=True):
                    counts[measure] += int(value or 0)
    return [{"day": day, "dim": dim, "key": key, **counts}
            for (day, dim, key), counts in found.items() if any(counts.values())]


def _monthly_rows(connection, months: list[str]) -> list[dict]:
    """The :class:`MonthlyStageCount` rows of ``months`` ('YYYY-MM')."""
    f = EventFact
    query = (select(f.month, f.kind, f.agency_id, f.bucket, func.count())
             .where(f.month.in_(months), f.kind.in_(STAGES), f.bucket.is_not(None),
                    f.spam.is_(False))
             .group_by(f.month, f.kind, f.agency_id, f.bucket))
    return [{"month": m, "kind": k, "agency_id": a, "bucket": b, "count": n}
            for m, k, a, b, n in connection.execute(query)]


def _months_between(first: date, last: date) -> list[str]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def coverage(connection) -> date | None:
    """The last local day the stored counts cover (None: never built)."""
    data = connection.scalar(select(Snapshot.data).where(Snapshot.name == COVERAGE))
    return date.fromisoformat(data["through"]) if data else None


def _lock(connection) -> None:
    if _dialect(connection) == "postgresql":
        # Two refreshes at once would each rebuild the same days.
        connection.execute(text("SELECT pg_advisory_xact_lock(52110001)"))


def refresh(connection, today: date, *, rebuild: bool = False) -> dict:
    """Rebuild the stored counts of the days and months marked dirty and of the days since
    the last refresh up to ``today``; with ``rebuild`` (or the first time), of every day.
    Returns how many days and months were rebuilt. The caller commits."""
    _lock(connection)
    through = None if rebuild else coverage(connection)
    if through is None:
        first = connection.scalar(select(func.min(Report.created_at)))
        start = min(local_date(first), today) if first else today
        # Marks written before this point are covered by the rebuild; later ones stay.
        connection.execute(delete(DirtyPeriod))
        connection.execute(delete(DailyCount))
        connection.execute(delete(MonthlyStageCount))
        ranges = [(start_of_day(start), start_of_day(today + timedelta(days=1)))]
        months = _months_between(start, today)
        days_done = (today - start).days + 1
    else:
        if _dialect(connection) == "postgresql":
            # Exactly the marks this transaction sees are removed: one committed later (by a
            # change this rebuild may not see) stays for the next run.
            marked = connection.execute(
                text("DELETE FROM supervision_dirty RETURNING family, day")).all()
        else:  # one writer at a time
            marked = connection.execute(select(DirtyPeriod.family, DirtyPeriod.day)).all()
            connection.execute(delete(DirtyPeriod))
        days = {day for family, day in marked if family == "day"}
        days |= {through + timedelta(days=i) for i in range(0, (today - through).days + 1)}
        months = sorted({day.strftime("%Y-%m") for family, day in marked if family == "month"}
                        | set(_months_between(through, today)))
        connection.execute(delete(DailyCount).where(DailyCount.day.in_(sorted(days))))
        connection.execute(delete(MonthlyStageCount).where(MonthlyStageCount.month.in_(months)))
        ranges = day_ranges(days)
        days_done = len(days)
    rows = _daily_rows(connection, ranges)
    for i in range(0, len(rows), 5000):
        connection.execute(insert(DailyCount), rows[i:i + 5000])
    rows = _monthly_rows(connection, months)
    for i in range(0, len(rows), 5000):
        connection.execute(insert(MonthlyStageCount), rows[i:i + 5000])
    connection.execute(delete(Snapshot).where(Snapshot.name == COVERAGE))
    connection.execute(insert(Snapshot).values(name=COVERAGE, computed_at=utcnow(),
                                               data={"through": today.isoformat()}))
    return {"days": days_done, "months": len(months)}


def dirty(connection, family: str, first: date, last: date) -> set[date]:
    """The days (or months' first days) between ``first`` and ``last`` marked dirty."""
    return set(connection.scalars(
        select(DirtyPeriod.day).distinct()
        .where(DirtyPeriod.family == family, DirtyPeriod.day >= first,
               DirtyPeriod.day <= last)))
