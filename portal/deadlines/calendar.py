"""The Vietnamese working-day calendar that legal deadlines are counted in.

A working day is Monday to Friday, except public holidays (Labour Code 2019, Art. 112: Tết
Dương lịch, Tết Nguyên Đán, Giỗ Tổ Hùng Vương, 30/4, 1/5, Quốc khánh…). The holidays, the lunar
ones included, come from the ``holidays`` package's Vietnam calendar, which also knows the
Saturdays the Government has already swapped into working days. The Government announces more
swaps each year (a make-up Saturday for a bridge day around Tết or 2/9); an administrator records
them as adjustments (``calendar_adjustments``), which win over the package.

All dates here are local dates in Asia/Ho_Chi_Minh: the law counts days where the office is.
:class:`WorkingCalendar` is plain data in and out; :func:`load_calendar` builds one with the
adjustments stored in the database.
"""

import threading
from datetime import date, datetime, time, timedelta

import holidays
from sqlalchemy import select

from portal.timeutil import VN_TZ

WORKING = "working"  # an adjustment that makes a weekend day or holiday a working day
DAY_OFF = "day_off"  # an adjustment that makes a working day a day off
ADJUSTMENT_KINDS = (WORKING, DAY_OFF)


class _SharedHolidays:
    """The package's Vietnam holidays, built once per process: building them (the lunar dates)
    cost about 2 ms, once per filing (docs/benchmarks.md, "Load (issue 6)"). The package adds
    a year's holidays on the first lookup in that year, so lookups hold a lock: another thread
    never sees a year half filled in."""

    def __init__(self):
        self._lock = threading.Lock()
        self._calendar = holidays.country_holidays("VN", language="vi")

    def get(self, day: date) -> str | None:
        with self._lock:
            return self._calendar.get(day)

    def __contains__(self, day: date) -> bool:
        with self._lock:
            return day in self._calendar

    @property
    def weekend_workdays(self):
        with self._lock:
            return getattr(self._calendar, "weekend_workdays", ())


_shared_holidays: _SharedHolidays | None = None
_shared_holidays_lock = threading.Lock()


def _vn_holidays() -> _SharedHolidays:
    global _shared_holidays
    with _shared_holidays_lock:
        if _shared_holidays is None:
            _shared_holidays = _SharedHolidays()
        return _shared_holidays


class WorkingCalendar:
    """Working days in Vietnam, with administrator adjustments ``{date: "working"|"day_off"}``."""

    def __init__(self, adjustments: dict[date, str] | None = None):
        self.adjustments = dict(adjustments or {})
        # Years are filled in on demand (the package expands as dates are looked up).
        self._holidays = _vn_holidays()

    def holiday_name(self, day: date) -> str | None:
        """The public holiday on ``day`` (Vietnamese name), or None."""
        return self._holidays.get(day)

    def is_working_day(self, day: date) -> bool:
        """Whether offices work on ``day``."""
        adjusted = self.adjustments.get(day)
        if adjusted is not None:
            return adjusted == WORKING
        if day in self._holidays:
            return False
        if day.weekday() >= 5:
            # Saturdays the Government swapped for a bridge day (known to the package).
            return day in getattr(self._holidays, "weekend_workdays", ())
        return True

    def next_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (counting starts the day after, as the
        law does: "7 ngày làm việc kể từ ngày nhận" ends on the 7th working day after receipt).

        A negative ``count`` counts backwards; 0 gives ``start``.
        """
        step = 1 if count >= 0 else -1
        day, left = start, abs(count)
        while left:
            day += timedelta(days=step)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative if ``end`` is
        earlier): how many working days are left from ``start`` until a deadline on ``end``."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(
            1 for offset in range(1, (end - start).days + 1)
            if self.is_working_day(start + timedelta(days=offset))
        )

    def holidays_in(self, year: int, language: str = "vi") -> list[tuple[date, str]]:
        """The package's public holidays of ``year``, in date order, named in ``language``
        ("vi" or "en") (for the admin page)."""
        language = "en_US" if language == "en" else "vi"
        listed = holidays.country_holidays("VN", years=year, language=language)
        return sorted(listed.items())


def local_date(moment: datetime) -> date:
    """The date in Vietnam at an aware ``moment``."""
    return moment.astimezone(VN_TZ).date()


def start_of_day(day: date) -> datetime:
    """Local midnight at the start of ``day``, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=VN_TZ)


def end_of_day(day: date) -> datetime:
    """The last second of ``day`` in Vietnam: a deadline counted in days ends then
    (BLTTHS 2015, Art. 137: "hết vào 24 giờ ngày cuối cùng")."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=VN_TZ)


def load_calendar() -> WorkingCalendar:
    """The calendar with the adjustments stored by administrators."""
    from portal.deadlines.models import CalendarAdjustment
    from portal.extensions import db

    rows = db.session.execute(select(CalendarAdjustment.day, CalendarAdjustment.kind)).all()
    return WorkingCalendar({row.day: row.kind for row in rows})


# Module-level helpers for callers that only need one answer (they read the database).

def is_working_day(day: date, calendar: WorkingCalendar | None = None) -> bool:
    """Whether ``day`` is a working day (with the stored adjustments)."""
    return (calendar or load_calendar()).is_working_day(day)


def add_working_days(start: date, count: int, calendar: WorkingCalendar | None = None) -> date:
    """See :meth:`WorkingCalendar.add_working_days`."""
    return (calendar or load_calendar()).add_working_days(start, count)


def working_days_between(start: date, end: date, calendar: WorkingCalendar | None = None) -> int:
    """See :meth:`WorkingCalendar.working_days_between`."""
    return (calendar or load_calendar()).working_days_between(start, end)
