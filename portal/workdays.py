"""The Vietnamese working-day calendar: due dates of dossiers and of support tickets.

A working day is Monday to Friday, minus public holidays (the ``holidays`` package knows
the lunar Tết days and the days off the government swaps for working Saturdays), minus
extra days off from configuration, plus working Saturdays (the package's and configured).

Due dates follow the one-stop rule: a dossier received on a day that is not a working day is
taken as received on the next working day; the result is due at the end of the working day
(17:00 in Vietnam) that comes N working days after that.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
END_OF_DAY = time(17, 0)
MAX_WORKING_DAYS = 3660  # ten years: anything longer is an error in the source data


def _parse_dates(raw: str | None) -> frozenset[date]:
    if not raw:
        return frozenset()
    return frozenset(date.fromisoformat(part.strip()) for part in raw.split(",") if part.strip())


@lru_cache(maxsize=64)
def _official(year: int) -> tuple[frozenset[date], frozenset[date]]:
    calendar = holidays.country_holidays("VN", years=year)
    days_off = frozenset(calendar)
    working_weekend = frozenset(d for d in getattr(calendar, "weekend_workdays", ()) if d.year == year)
    return days_off, working_weekend


class WorkCalendar:
    def __init__(
        self, extra_days_off: frozenset[date] = frozenset(), extra_working_days: frozenset[date] = frozenset()
    ) -> None:
        self.extra_days_off = frozenset(extra_days_off)
        self.extra_working_days = frozenset(extra_working_days)

    @classmethod
    def from_config(cls, config) -> WorkCalendar:
        """Built from WORKDAYS_EXTRA_DAYS_OFF and WORKDAYS_EXTRA_WORKING_DAYS (ISO dates, commas)."""
        return cls(
            _parse_dates(config.get("WORKDAYS_EXTRA_DAYS_OFF")),
            _parse_dates(config.get("WORKDAYS_EXTRA_WORKING_DAYS")),
        )

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_days_off:
            return False
        days_off, working_weekend = _official(day.year)
        if day in working_weekend:
            return True
        return day.weekday() < 5 and day not in days_off

    def next_working_day(self, day: date) -> date:
        """``day`` itself when it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: date, days: int) -> date:
        """The working day ``days`` working days after ``start`` (``start`` if days is 0).

        :raises ValueError: a negative or absurdly large number of days.
        """
        if days < 0 or days > MAX_WORKING_DAYS:
            raise ValueError("working days must be between 0 and 3660")
        current = self.next_working_day(start)
        for _ in range(days):
            current = self.next_working_day(current + timedelta(days=1))
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many a clock running from start has used by end."""
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count

    def due_at(self, received_at: datetime, working_days: int) -> datetime:
        """When a result is due: end of the working day N working days after receipt (UTC).

        :raises ValueError: ``received_at`` is naive, or ``working_days`` is out of range.
        """
        if received_at.tzinfo is None:
            raise ValueError("received_at must carry its time zone")
        received_day = received_at.astimezone(VN_TZ).date()
        due_day = self.add_working_days(received_day, working_days)
        return datetime.combine(due_day, END_OF_DAY, tzinfo=VN_TZ).astimezone(ZoneInfo("UTC"))
