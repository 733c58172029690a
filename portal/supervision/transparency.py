"""The public transparency page's figures: aggregates from which no case can be identified.

The numbers are the dashboard's (:func:`portal.supervision.stats.compute` for the calendar
year), summed by quarter, report type, sector and outcome. Before anything is shown:

1. **Small counts.** Every count from 1 to ``minimum - 1`` (4) is shown as "< 5". A zero is
   shown: "nobody" identifies no one.
2. **Totals.** Each column of a table adds up to a total the page shows (the year's reports
   received, transferred, resolved). If one hidden cell could be worked out from that total
   and the cells shown — total minus the others — another cell of the column is hidden too
   ("ẩn"), the smallest one shown, until every small cell could still be at least two values
   (:func:`protect`). A reader knows a "< 5" cell is 1–4 and, since smaller ones would have
   been "< 5", that an "ẩn" cell is at least 5; the check works with exactly that knowledge.
3. If even that cannot protect a column (a tiny year: "3" and "5" adding up to 8), the total
   itself is withheld wherever it appears on the page.

Every column is a separate sum (no cell is in two sums), so protecting each column protects
the table. The rule is explained on the page (docs/supervision.md too).
"""

import time
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.deadlines import services as deadlines
from portal.deadlines.calendar import local_date
from portal.extensions import db
from portal.reports.models import REPORT_TYPES, SECTORS, Report
from portal.supervision import present, stats

SHOWN, SMALL, HIDDEN = "shown", "small", "hidden"
MEASURES = ("received", "transferred", "resolved")
CACHE = "tinbao.transparency"


def _pinned(values, marks, total, minimum) -> bool:
    """Whether some small cell's value follows from the total and what is shown.

    The cells not shown add up to ``rest = total - shown``. A small cell lies in
    [1, minimum - 1], a hidden one in [minimum, rest]; for each small cell, the values it can
    take given the others' ranges are an interval: pinned when that interval is one value.
    """
    rest = total - sum(v for v, m in zip(values, marks, strict=True) if m == SHOWN)
    bounds = []
    for m in marks:
        if m == SMALL:
            bounds.append((1, minimum - 1))
        elif m == HIDDEN:
            bounds.append((minimum, max(rest, minimum)))
        else:
            bounds.append(None)
    for index, mark in enumerate(marks):
        if mark != SMALL:
            continue
        others = [b for j, b in enumerate(bounds) if b is not None and j != index]
        low = max(1, rest - sum(high for _low, high in others))
        high = min(minimum - 1, rest - sum(low_ for low_, _high in others))
        if high <= low:
            return True
    return False


def protect(values: list[int], total: int | None, minimum: int = 5) -> tuple[list[str], bool]:
    """The marks of one column (``shown``, ``small`` or ``hidden``) and whether its total may
    be shown. ``total`` None: the column has no total on the page."""
    marks = [SMALL if 0 < v < minimum else SHOWN for v in values]
    if total is None or not any(m == SMALL for m in marks):
        return marks, True
    while _pinned(values, marks, total, minimum):
        candidates = [i for i, (v, m) in enumerate(zip(values, marks, strict=True))
                      if m == SHOWN and v > 0]
        if not candidates:
            return marks, False
        marks[min(candidates, key=lambda i: (values[i], i))] = HIDDEN
    return marks, True


# --- the page's tables ------------------------------------------------------------------------

@dataclass(frozen=True)
class PublicCell:
    text: str
    mark: str  # SHOWN, SMALL or HIDDEN (HIDDEN also for a withheld total)


@dataclass(frozen=True)
class PublicRow:
    label: str
    cells: tuple


@dataclass(frozen=True)
class PublicTable:
    id: str
    title: str
    first_heading: str
    headings: tuple
    rows: tuple
    total: PublicRow


@dataclass(frozen=True)
class PublicFigures:
    year: int
    until: date  # the figures run from 1 January to this day (today for the current year)
    tables: tuple
    minimum: int
    any_suppressed: bool


def _text(value: int, mark: str, minimum: int) -> str:
    if mark == SMALL:
        return f"< {minimum}"
    if mark == HIDDEN:
        return _("ẩn")
    return present.count_text(value)


def _build_tables(grids: list, totals: dict, minimum: int):
    """Protect each column of each table against its total; a total that cannot be shown is
    withheld in every table (it is the same number everywhere)."""
    withheld = set()
    for _table_id, _title, _first, measures, rows, _future in grids:
        for column, measure in enumerate(measures):
            total = totals[measure]
            if 0 < total < minimum:
                withheld.add(measure)
                continue
            _marks, total_ok = protect([values[column] for _label, values in rows], total,
                                       minimum)
            if not total_ok:
                withheld.add(measure)
    headings = stats.measure_labels()
    tables, suppressed = [], False
    for table_id, title, first, measures, rows, future in grids:
        columns = []
        for column, measure in enumerate(measures):
            values = [values[column] for _label, values in rows]
            total = None if measure in withheld else totals[measure]
            marks, _ok = protect(values, total, minimum)
            columns.append(marks)
            suppressed |= any(m != SHOWN for m in marks)
        body = []
        for index, (label, values) in enumerate(rows):
            if index in future:
                body.append(PublicRow(label, tuple(PublicCell("—", SHOWN) for _m in measures)))
                continue
            body.append(PublicRow(label, tuple(
                PublicCell(_text(values[c], columns[c][index], minimum), columns[c][index])
                for c in range(len(measures)))))
        total_cells = []
        for measure in measures:
            if measure in withheld:
                mark = SMALL if 0 < totals[measure] < minimum else HIDDEN
                total_cells.append(PublicCell(_text(totals[measure], mark, minimum), mark))
            else:
                total_cells.append(PublicCell(present.count_text(totals[measure]), SHOWN))
        suppressed |= bool(withheld & set(measures))
        tables.append(PublicTable(table_id, title, first, tuple(headings[m] for m in measures),
                                  tuple(body), PublicRow(_("Cả năm"), tuple(total_cells))))
    return tuple(tables), suppressed


def last_published_day(today: date) -> date:
    """Figures run to the end of the last full month. Day-fresh counts would let someone who
    knows that a neighbour filed today watch which row grows by one; a month's reports appear
    together."""
    return today.replace(day=1) - timedelta(days=1)


def compute(year: int, until: date) -> PublicFigures:
    """The page's tables for ``year``, up to ``until`` (the last published day)."""
    minimum = int(current_app.config["TRANSPARENCY_MIN_COUNT"])
    until = min(date(year, 12, 31), until)
    figures = stats.compute(stats.StatsFilter(date(year, 1, 1), until),
                            ("month", "report_type", "sector", "outcome"),
                            with_stage_times=False)
    total = figures.total.counts
    totals = {m: total[m] for m in MEASURES}

    quarters = []
    future = set()
    for number in range(1, 5):
        months = [f"{year:04d}-{month:02d}" for month in range(3 * number - 2, 3 * number + 1)]
        rows = [r for r in figures.breakdowns["month"] if r.key in months]
        quarters.append((_("Quý %(q)s", q=("I", "II", "III", "IV")[number - 1]),
                         [sum(r.counts[m] for r in rows) for m in MEASURES]))
        if date(year, 3 * number - 2, 1) > until:
            future.add(number - 1)

    def rows_of(dim, measures, keep):
        return [(row.label, [row.counts[m] for m in measures])
                for row in figures.breakdowns[dim] if keep(row)]

    grids = [
        ("quarter", _("Theo quý"), _("Quý"), MEASURES, quarters, future),
        ("report_type", _("Theo loại đơn"), _("Loại đơn"), ("received", "resolved"),
         rows_of("report_type", ("received", "resolved"),
                 lambda r: r.key in REPORT_TYPES or any(r.counts.values())), set()),
        ("sector", _("Theo lĩnh vực"), _("Lĩnh vực"), ("received", "resolved"),
         rows_of("sector", ("received", "resolved"),
                 lambda r: r.key in SECTORS or any(r.counts.values())), set()),
        ("outcome", _("Kết quả giải quyết"), _("Kết quả"), ("resolved",),
         rows_of("outcome", ("resolved",), lambda r: True), set()),
    ]
    tables, suppressed = _build_tables(grids, totals, minimum)
    return PublicFigures(year=year, until=until, tables=tables, minimum=minimum,
                         any_suppressed=suppressed)


def today() -> date:
    """Today in Vietnam, by the portal's clock (tests set it: portal/deadlines/services.py)."""
    return local_date(deadlines.now())


def first_year() -> int | None:
    """The year of the first report filed (the page offers every year since)."""
    first = db.session.scalar(select(func.min(Report.created_at)))
    return local_date(first).year if first else None


def cached(year: int, until: date) -> PublicFigures:
    """:func:`compute`, kept ``TRANSPARENCY_CACHE_SECONDS`` per year and language: the page is
    public, and its figures need not be to the second."""
    seconds = int(current_app.config.get("TRANSPARENCY_CACHE_SECONDS", 600))
    key = (year, until, str(get_locale() or "vi"))
    store = current_app.extensions.setdefault(CACHE, {})
    hit = store.get(key)
    if seconds > 0 and hit and hit[0] > time.monotonic():
        return hit[1]
    figures = compute(year, until)
    if seconds > 0:
        if len(store) > 64:  # a key per year, day and language: never let it grow unbounded
            store.clear()
        store[key] = (time.monotonic() + seconds, figures)
    return figures
