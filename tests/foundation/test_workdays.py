"""Due dates on the Vietnamese calendar: weekends, lunar Tết, 30/4–1/5, swapped days."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from portal.workdays import VN_TZ, WorkCalendar

CAL = WorkCalendar()


def vn(y, m, d, hh=9):
    return datetime(y, m, d, hh, 0, tzinfo=VN_TZ)


def due_day(received, days, calendar=CAL):
    return calendar.due_at(received, days).astimezone(VN_TZ)


@pytest.mark.parametrize(
    "received,days,expected",
    [
        # Tết Ất Tỵ 2025: off Sat 25 Jan to Sun 2 Feb.
        (vn(2025, 1, 24), 1, date(2025, 2, 3)),
        (vn(2025, 1, 24), 0, date(2025, 1, 24)),
        (vn(2025, 1, 23), 3, date(2025, 2, 4)),
        (vn(2025, 1, 29), 1, date(2025, 2, 4)),  # filed online on Tết: received Mon 3 Feb
        # Tết Bính Ngọ 2026: off Sat 14 Feb to Sun 22 Feb.
        (vn(2026, 2, 13), 1, date(2026, 2, 23)),
        (vn(2026, 2, 12), 5, date(2026, 2, 26)),
        # 30/4–1/5 2025: Wed 30, Thu 1, Fri 2 May off; Sat 26 April worked in exchange.
        (vn(2025, 4, 25), 1, date(2025, 4, 26)),
        (vn(2025, 4, 25), 3, date(2025, 4, 29)),
        (vn(2025, 4, 25), 4, date(2025, 5, 5)),
        # 30/4–1/5 2026: Thu 30 April and Fri 1 May off.
        (vn(2026, 4, 29), 1, date(2026, 5, 4)),
        # An ordinary week: Friday + 1 is Monday.
        (vn(2025, 11, 14), 1, date(2025, 11, 17)),
    ],
)
def test_due_dates_skip_weekends_and_public_holidays(received, days, expected):
    due = due_day(received, days)
    assert due.date() == expected
    assert (due.hour, due.minute) == (17, 0)


def test_received_late_in_the_evening_counts_from_that_vietnamese_day():
    # 23:30 in Hà Nội on Friday is 16:30 UTC the same day.
    received_utc = datetime(2025, 11, 14, 16, 30, tzinfo=ZoneInfo("UTC"))
    assert due_day(received_utc, 1).date() == date(2025, 11, 17)


def test_configured_days_off_and_working_saturdays_change_due_dates():
    calendar = WorkCalendar(
        extra_days_off=frozenset({date(2025, 11, 17)}), extra_working_days=frozenset({date(2025, 11, 15)})
    )
    assert due_day(vn(2025, 11, 14), 1, calendar).date() == date(2025, 11, 15)
    assert due_day(vn(2025, 11, 14), 2, calendar).date() == date(2025, 11, 18)


def test_calendar_reads_its_extra_days_from_configuration():
    calendar = WorkCalendar.from_config(
        {"WORKDAYS_EXTRA_DAYS_OFF": "2025-11-17, 2025-11-18", "WORKDAYS_EXTRA_WORKING_DAYS": ""}
    )
    assert not calendar.is_working_day(date(2025, 11, 18))


def test_working_days_between_counts_only_working_days():
    assert CAL.working_days_between(date(2025, 1, 24), date(2025, 2, 3)) == 1


@pytest.mark.parametrize("days", [-1, 10_000])
def test_out_of_range_day_counts_are_refused(days):
    with pytest.raises(ValueError):
        CAL.due_at(vn(2025, 1, 2), days)


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        CAL.due_at(datetime(2025, 1, 2, 9), 1)
