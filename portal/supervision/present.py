"""The supervision figures laid out as tables, the same for the dashboard and every export.

:func:`tables` turns a :class:`~portal.supervision.stats.Statistics` into plain tables — a
heading, column headings, rows of cells — and every output (the dashboard's HTML, DOCX, XLSX,
CSV) prints these tables: the numbers cannot differ between them. Each cell keeps its raw
value (for spreadsheets and drill-down links) and the text shown for it in the current
language (Vietnamese: "1.234", "20,5%", "1,8").
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import format_decimal
from flask_babel import gettext as _

from portal.supervision import charts
from portal.supervision.stats import (
    COLUMNS,
    STAGES,
    WITH_RATE,
    Row,
    Statistics,
    dimension_labels,
    measure_labels,
    stage_labels,
)

# The order of the tables in every output.
TABLE_ORDER = ("report_type", "sector", "agency", "place", "month", "outcome")
# Measures whose figure is a list of cases one can open (the dashboard links them).
DRILLABLE = ("received", "transferred", "accepted", "returned", "resolved", "misrouted",
             "overdue", "overdue_open", "open_now", "long_running", "crime_elsewhere")
SUMMARY_MEASURES = ("received", "transferred", "accepted", "returned", "resolved", "misrouted",
                    "misrouting_rate", "overdue", "overdue_open", "open_now", "long_running",
                    "crime_elsewhere")


@dataclass(frozen=True)
class Cell:
    measure: str  # a stats measure, "misrouting_rate", or "<stage>_median" / "<stage>_p90"…
    value: object  # int, float or None (nothing to measure)
    text: str

    @property
    def is_count(self) -> bool:
        return isinstance(self.value, int) and self.measure in DRILLABLE


@dataclass(frozen=True)
class TableRow:
    key: object
    label: str
    cells: tuple


@dataclass(frozen=True)
class Table:
    id: str  # "summary", "stages" or a dimension
    dim: str | None  # the breakdown (drill-down key), None for summary and stage tables
    title: str
    first_heading: str
    headings: tuple
    rows: tuple
    total: TableRow | None = None


# --- numbers as text ----------------------------------------------------------------------------

def _rounded(value: float, places: int = 1) -> Decimal:
    # Half up, as people round ("0,25" → "0,3"), not Python's half-to-even.
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def count_text(value: int) -> str:
    return format_decimal(value, "#,##0")


def rate_text(rate: float | None) -> str:
    if rate is None:
        return "—"
    return format_decimal(_rounded(rate * 100), "#,##0.0") + "%"


def days_text(days: float | None) -> str:
    if days is None:
        return "—"
    return format_decimal(_rounded(days), "#,##0.0")


def rounded_days(days: float | None) -> float | None:
    """Days as shown (one decimal), for spreadsheets."""
    return None if days is None else float(_rounded(days))


def rounded_rate(rate: float | None) -> float | None:
    """A rate as shown (0.1 % steps), for spreadsheets."""
    return None if rate is None else float(_rounded(rate * 100)) / 100


# --- tables --------------------------------------------------------------------------------------

def _columns(dim: str) -> list[str]:
    columns = list(COLUMNS[dim])
    if dim in WITH_RATE:
        columns.append("misrouting_rate")
    if dim == "agency":
        columns += ["accept_median", "resolve_median"]
    return columns


def column_headings() -> dict[str, str]:
    headings = measure_labels()
    for stage, label in stage_labels().items():
        headings[f"{stage}_count"] = _("Số lượt: %(stage)s", stage=label)
        headings[f"{stage}_median"] = _("Trung vị (ngày): %(stage)s", stage=label)
        headings[f"{stage}_p90"] = _("%(share)s số lượt xong trong (ngày): %(stage)s",
                                     share="90%", stage=label)
    headings["accept_median"] = _("Trung vị ngày đến khi thụ lý")
    headings["resolve_median"] = _("Trung vị ngày đến khi có kết quả")
    return headings


def cell(row: Row, measure: str) -> Cell:
    """One figure of a row, with its text."""
    if measure == "misrouting_rate":
        rate = row.misrouting_rate
        return Cell(measure, rate, rate_text(rate))
    for stage in STAGES:
        for part in ("count", "median", "p90"):
            if measure == f"{stage}_{part}":
                time = row.stage_times.get(stage)
                if part == "count":
                    value = time.count if time else 0
                    return Cell(measure, value, count_text(value))
                days = getattr(time, f"{part}_days") if time else None
                return Cell(measure, days, days_text(days))
    value = row.counts[measure]
    return Cell(measure, value, count_text(value))


def _table_row(row: Row, columns) -> TableRow:
    return TableRow(row.key, row.label, tuple(cell(row, m) for m in columns))


def summary_table(statistics: Statistics) -> Table:
    labels = measure_labels()
    total = statistics.total
    rows = tuple(TableRow(measure, labels[measure], (cell(total, measure),))
                 for measure in SUMMARY_MEASURES)
    return Table("summary", None, _("Tổng hợp"), _("Chỉ tiêu"), (_("Số liệu"),), rows)


def stage_table(statistics: Statistics) -> Table:
    labels = stage_labels()
    total = statistics.total
    rows = []
    for stage in STAGES:
        rows.append(TableRow(stage, labels[stage], (
            cell(total, f"{stage}_count"), cell(total, f"{stage}_median"),
            cell(total, f"{stage}_p90"))))
    return Table("stages", None, _("Thời gian xử lý theo giai đoạn"), _("Giai đoạn"),
                 (_("Số lượt"), _("Trung vị (ngày)"),
                  _("%(share)s số lượt xong trong (ngày)", share="90%")),
                 tuple(rows))


def breakdown_table(statistics: Statistics, dim: str) -> Table:
    columns = _columns(dim)
    headings = column_headings()
    rows = tuple(_table_row(row, columns) for row in statistics.breakdowns[dim])
    first = {"agency": _("Cơ quan"), "sector": _("Lĩnh vực"), "report_type": _("Loại đơn"),
             "place": _("Xã, phường") if statistics.filter.by_commune else _("Tỉnh, thành phố"),
             "month": _("Tháng"), "outcome": _("Kết quả")}[dim]
    return Table(dim, dim, dimension_labels()[dim], first,
                 tuple(headings[c] for c in columns), rows,
                 total=_table_row(statistics.total, columns))


def tables(statistics: Statistics) -> list[Table]:
    """Summary, stage times, then one table per breakdown computed, in TABLE_ORDER."""
    found = [summary_table(statistics), stage_table(statistics)]
    for dim in TABLE_ORDER:
        if dim in statistics.breakdowns:
            found.append(breakdown_table(statistics, dim))
    return found


# --- charts -------------------------------------------------------------------------------------

def dashboard_charts(statistics: Statistics) -> dict[str, charts.BarChart]:
    """The pictures beside the dashboard's tables (each repeats its table's figures)."""
    found = {}
    breakdowns = statistics.breakdowns
    if "month" in breakdowns:
        found["month"] = charts.bar_chart(
            "chart-month", _("Số tin tiếp nhận theo tháng"),
            _("Biểu đồ thanh: số tin tiếp nhận trong mỗi tháng của kỳ; số liệu ở bảng bên "
              "cạnh."),
            [(row.label, row.counts["received"], count_text(row.counts["received"]))
             for row in breakdowns["month"]])
    for dim, title in (("sector", _("Số tin tiếp nhận theo lĩnh vực")),
                       ("report_type", _("Số tin tiếp nhận theo loại đơn"))):
        if dim in breakdowns:
            rows = [row for row in breakdowns[dim] if row.counts["received"]]
            found[dim] = charts.bar_chart(
                f"chart-{dim}", title,
                _("Biểu đồ thanh: số tin tiếp nhận trong kỳ; chỉ ghi các mục có tin; số liệu "
                  "ở bảng bên cạnh."),
                [(row.label, row.counts["received"], count_text(row.counts["received"]))
                 for row in rows])
    if "agency" in breakdowns:
        rows = [row for row in breakdowns["agency"] if row.counts["transferred"]]
        found["agency"] = charts.bar_chart(
            "chart-agency", _("Tỷ lệ bị trả lại vì không đúng thẩm quyền, theo cơ quan"),
            _("Biểu đồ thanh: phần trăm số lượt chuyển đến mỗi cơ quan trong kỳ bị cơ quan "
              "trả lại; số liệu ở bảng bên cạnh."),
            [(row.label, row.misrouting_rate or 0, rate_text(row.misrouting_rate))
             for row in rows])
    labels = stage_labels()
    bars = []
    for stage in STAGES:
        time = statistics.total.stage_times.get(stage)
        if time:
            bars.append((_("%(stage)s — trung vị", stage=labels[stage]), time.median_days,
                         _("%(n)s ngày", n=days_text(time.median_days))))
            bars.append((_("%(stage)s — %(share)s số lượt", stage=labels[stage], share="90%"),
                         time.p90_days,
                         _("%(n)s ngày", n=days_text(time.p90_days))))
    found["stages"] = charts.bar_chart(
        "chart-stages", _("Thời gian xử lý theo giai đoạn"),
        _("Biểu đồ thanh: trung vị và phân vị 90 của số ngày mỗi giai đoạn đã mất; số liệu ở "
          "bảng bên cạnh."), bars)
    return found
