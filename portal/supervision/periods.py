"""Reporting periods: quarter, six months, year or a custom range of local dates.

Dates are calendar dates in Vietnam (Asia/Ho_Chi_Minh), both ends included, typed
``dd/mm/yyyy`` as on every page of the portal. Nothing here touches the database.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _

QUARTER_NUMERALS = {1: "I", 2: "II", 3: "III", 4: "IV"}
KINDS = ("quarter", "half", "year", "custom")
# A custom range longer than this is refused: the dashboard lists one row per month, and a
# decade of figures in one request is a load nobody needs.
MAX_DAYS = 5 * 366

_DMY = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


class PeriodError(ValueError):
    """A period that cannot be used, with the message to show."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


def parse_date(value: str | None) -> date | None:
    """``dd/mm/yyyy`` (or ISO ``yyyy-mm-dd``) → date; None when empty. Raises PeriodError."""
    if value is None or not value.strip():
        return None
    match = _DMY.match(value)
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        match = _ISO.match(value)
        if match:
            return date(*(int(g) for g in match.groups()))
    except ValueError:
        pass
    raise PeriodError(_("Ngày “%(value)s” không hợp lệ: ghi theo dạng ngày/tháng/năm, ví dụ "
                        "01/07/2026.", value=value.strip()[:20]))


def format_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


@dataclass(frozen=True)
class Period:
    """A reporting period: ``date_from`` to ``date_to``, both included."""

    kind: str
    date_from: date
    date_to: date
    year: int | None = None
    number: int | None = None  # the quarter (1–4) or the half (1–2)

    def title(self) -> str:
        """How a Vietnamese report names the period: "quý III năm 2026"."""
        if self.kind == "quarter":
            return _("quý %(q)s năm %(year)d", q=QUARTER_NUMERALS[self.number], year=self.year)
        if self.kind == "half":
            if self.number == 1:
                return _("6 tháng đầu năm %(year)d", year=self.year)
            return _("6 tháng cuối năm %(year)d", year=self.year)
        if self.kind == "year":
            return _("năm %(year)d", year=self.year)
        return _("từ ngày %(start)s đến ngày %(end)s", start=format_date(self.date_from),
                 end=format_date(self.date_to))

    def query_args(self) -> dict:
        """The query-string arguments that name this period again."""
        if self.kind == "custom":
            return {"period": "custom", "from": format_date(self.date_from),
                    "to": format_date(self.date_to)}
        args = {"period": self.kind, "year": self.year}
        if self.kind == "quarter":
            args["quarter"] = self.number
        elif self.kind == "half":
            args["half"] = self.number
        return args


def quarter(year: int, number: int) -> Period:
    start = date(year, 3 * (number - 1) + 1, 1)
    end = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
    return Period("quarter", start, end - timedelta(days=1), year, number)


def half(year: int, number: int) -> Period:
    start = date(year, 1 if number == 1 else 7, 1)
    end = date(year, 6, 30) if number == 1 else date(year, 12, 31)
    return Period("half", start, end, year, number)


def whole_year(year: int) -> Period:
    return Period("year", date(year, 1, 1), date(year, 12, 31), year)


def custom(date_from: date, date_to: date) -> Period:
    if date_from > date_to:
        raise PeriodError(_("“Từ ngày” phải trước hoặc bằng “Đến ngày”."))
    if (date_to - date_from).days > MAX_DAYS:
        raise PeriodError(_("Khoảng thời gian dài nhất là 5 năm."))
    return Period("custom", date_from, date_to)


def quarter_of(day: date) -> Period:
    return quarter(day.year, (day.month - 1) // 3 + 1)


def _int(args, name: str, low: int, high: int) -> int:
    value = str(args.get(name) or "").strip()
    if not value.isdigit() or not low <= int(value) <= high:
        raise PeriodError(_("Kỳ báo cáo không hợp lệ: thiếu hoặc sai “%(name)s”.", name=name))
    return int(value)


def from_args(args) -> Period:
    """The period a query string names: ``period=quarter&year=2026&quarter=3``,
    ``period=half&year=2026&half=1``, ``period=year&year=2026`` or
    ``period=custom&from=01/07/2026&to=15/08/2026``. Raises PeriodError."""
    kind = args.get("period")
    if kind not in KINDS:
        raise PeriodError(_("Vui lòng chọn kỳ báo cáo: quý, 6 tháng, năm hoặc khoảng thời gian."))
    if kind == "custom":
        date_from, date_to = parse_date(args.get("from")), parse_date(args.get("to"))
        if date_from is None or date_to is None:
            raise PeriodError(_("Vui lòng nhập “Từ ngày” và “Đến ngày”."))
        return custom(date_from, date_to)
    year = _int(args, "year", 2000, 2100)
    if kind == "quarter":
        return quarter(year, _int(args, "quarter", 1, 4))
    if kind == "half":
        return half(year, _int(args, "half", 1, 2))
    return whole_year(year)
