"""The working-day calendar: weekends, public holidays (Tết and Giỗ Tổ from the lunar calendar,
through the `holidays` package), the Government's swaps, and the admin's adjustments."""

from datetime import date

import pytest

from portal.deadlines import calendar
from portal.deadlines.calendar import DAY_OFF, WORKING, WorkingCalendar
from portal.deadlines.models import CalendarAdjustment
from portal.extensions import db

CAL = WorkingCalendar()


@pytest.mark.parametrize("day", [
    # Tết Bính Ngọ 2026: 16–20/02/2026 (giao thừa to mùng 4).
    date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18), date(2026, 2, 19), date(2026, 2, 20),
    # Tết Đinh Mùi 2027: 29 Tết (Thu 04/02) to mùng 5 (Wed 10/02), Tết falling on a weekend.
    date(2027, 2, 4), date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10),
    # Giỗ Tổ Hùng Vương (10/3 âm lịch): Sunday 26/04/2026, so Monday 27/04 off; 16/04/2027.
    date(2026, 4, 27), date(2027, 4, 16),
    # 30/4 and 1/5.
    date(2026, 4, 30), date(2026, 5, 1), date(2027, 4, 30),
    # Quốc khánh 2/9 with the day next to it, and 31/08/2026 swapped for Saturday 22/08.
    date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2), date(2027, 9, 2), date(2027, 9, 3),
    # Tết Dương lịch.
    date(2027, 1, 1),
])
def test_public_holidays_are_not_working_days(day):
    assert not CAL.is_working_day(day), day
    assert CAL.holiday_name(day)


def test_tet_comes_from_the_lunar_calendar():
    assert "Tết Nguyên Đán" in CAL.holiday_name(date(2026, 2, 17))
    assert "Tết Nguyên Đán" in CAL.holiday_name(date(2027, 2, 6))
    # The day before and after the break are ordinary working days.
    assert CAL.is_working_day(date(2026, 2, 13)) and CAL.is_working_day(date(2026, 2, 23))
    assert CAL.is_working_day(date(2027, 2, 3)) and CAL.is_working_day(date(2027, 2, 11))


def test_weekends_are_days_off_except_a_swapped_saturday():
    assert not CAL.is_working_day(date(2026, 9, 5))  # Saturday
    assert not CAL.is_working_day(date(2026, 9, 6))  # Sunday
    assert CAL.is_working_day(date(2026, 9, 7))  # Monday
    # The Government moved Monday 31/08/2026 off by working Saturday 22/08/2026.
    assert CAL.is_working_day(date(2026, 8, 22))


def test_add_working_days_counts_from_the_next_day_and_skips_days_off():
    # Received Friday 13/02/2026, just before Tết: the next working day is Monday 23/02.
    assert CAL.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 23)
    # Wednesday 03/02/2027: Tết 2027 runs to Wednesday 10/02.
    assert CAL.add_working_days(date(2027, 2, 3), 1) == date(2027, 2, 11)
    # Across 30/4–1/5 2026 and a weekend.
    assert CAL.add_working_days(date(2026, 4, 29), 1) == date(2026, 5, 4)
    # Across 31/8–2/9 2026.
    assert CAL.add_working_days(date(2026, 8, 28), 5) == date(2026, 9, 9)
    assert CAL.add_working_days(date(2026, 9, 9), 0) == date(2026, 9, 9)
    assert CAL.add_working_days(date(2026, 9, 3), -1) == date(2026, 8, 28)


def test_working_days_between():
    assert CAL.working_days_between(date(2026, 9, 11), date(2026, 9, 14)) == 1
    assert CAL.working_days_between(date(2026, 9, 11), date(2026, 9, 11)) == 0
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 23)) == 1
    assert CAL.working_days_between(date(2026, 9, 14), date(2026, 9, 11)) == -1


def test_next_working_day():
    assert CAL.next_working_day(date(2026, 4, 30)) == date(2026, 5, 4)
    assert CAL.next_working_day(date(2026, 5, 4)) == date(2026, 5, 4)


def test_an_admin_make_up_saturday_and_an_extra_day_off():
    saturday, monday = date(2027, 1, 9), date(2027, 1, 4)
    cal = WorkingCalendar({saturday: WORKING, monday: DAY_OFF})
    assert cal.is_working_day(saturday) and not CAL.is_working_day(saturday)
    assert not cal.is_working_day(monday) and CAL.is_working_day(monday)
    assert cal.add_working_days(date(2027, 1, 8), 1) == saturday
    # 31/12/2026 → (01/01 holiday, weekend) Monday 04/01 normally; Tuesday 05/01 with the day off.
    assert CAL.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert cal.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 5)
    # An adjustment wins over the package too: a holiday made a working day.
    assert WorkingCalendar({date(2027, 9, 3): WORKING}).is_working_day(date(2027, 9, 3))


def test_stored_adjustments_are_read_from_the_database(ctx):
    db.session.add(CalendarAdjustment(day=date(2027, 1, 9), kind=WORKING, note="Thông báo 1"))
    db.session.add(CalendarAdjustment(day=date(2027, 1, 4), kind=DAY_OFF, note=""))
    db.session.commit()
    assert calendar.is_working_day(date(2027, 1, 9))
    assert not calendar.is_working_day(date(2027, 1, 4))
    assert calendar.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 5)
    assert calendar.working_days_between(date(2027, 1, 8), date(2027, 1, 11)) == 2


def test_holidays_of_a_year_for_the_admin_page():
    listed = dict(CAL.holidays_in(2027))
    assert date(2027, 2, 6) in listed and date(2027, 9, 2) in listed
    english = dict(CAL.holidays_in(2027, "en"))
    assert "Lunar New Year" in english[date(2027, 2, 6)]
