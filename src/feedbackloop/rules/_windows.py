"""Recurring time windows: business hours, weekends, maintenance nights.

A rule can be *active during* some windows (only then does it act) or *muted during*
others (then it holds its actions). Windows are read in their own time zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feedbackloop.errors import RuleError

__all__ = ["TimeWindow"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?")


def _day(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    if isinstance(value, str) and value.strip().lower()[:3] in _DAYS:
        return _DAYS.index(value.strip().lower()[:3])
    raise RuleError(f"unknown weekday {value!r}; use mon, tue, … sun or 0 (Monday) to 6")


def _days(weekdays: str | Iterable[str | int]) -> frozenset[int]:
    if isinstance(weekdays, str):
        first, _, last = weekdays.partition("-")
        if not last:
            return frozenset({_day(first)})
        start, end = _day(first), _day(last)
        return frozenset(day % 7 for day in range(start, end + 1 + (7 if end < start else 0)))
    days = frozenset(_day(day) for day in weekdays)
    if not days:
        raise RuleError("weekdays is empty; leave it out to mean every day")
    return days


def _clock(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 24:
        return time(value % 24)
    if isinstance(value, str) and (found := _CLOCK.fullmatch(value.strip())):
        hour, minute = int(found[1]), int(found[2] or 0)
        if hour <= 24 and minute < 60 and (hour, minute) <= (24, 0):
            return time(hour % 24, minute)
    raise RuleError(f"unknown time of day {value!r}; use 9, '09:00' or datetime.time(9)")


class TimeWindow:
    """A recurring window: some weekdays, some hours of the day, in one time zone.

    `TimeWindow(weekdays="mon-fri", hours=("09:00", "17:00"), tz="Europe/Berlin")` is
    business hours in Berlin. Hours run from start (included) to end (excluded); an end
    before the start wraps past midnight (`("22:00", "06:00")`), and the weekday is the
    local date of the moment being tested.

    Args:
        weekdays: `"mon-fri"`, `["sat", "sun"]` or ints 0 (Monday) to 6; None: every day.
        hours: `(start, end)` as ints, `"HH:MM"` strings or `datetime.time`; None: all day.
        tz: An IANA time zone name.

    Raises:
        RuleError: an unknown weekday, time of day or time zone, or an empty range.
    """

    __slots__ = ("_days", "_end", "_start", "_tz", "_zone")

    def __init__(
        self,
        *,
        weekdays: str | Iterable[str | int] | None = None,
        hours: tuple[int | str | time, int | str | time] | None = None,
        tz: str = "UTC",
    ) -> None:
        try:
            self._zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise RuleError(
                f"unknown time zone {tz!r}; use an IANA name like 'Europe/Berlin'"
            ) from None
        self._tz = tz
        self._days = None if weekdays is None else _days(weekdays)
        self._start: time | None = None
        self._end: time | None = None
        if hours is not None:
            if not isinstance(hours, tuple | list) or len(hours) != 2:
                raise RuleError(f"hours must be a (start, end) pair; got {hours!r}")
            self._start, self._end = _clock(hours[0]), _clock(hours[1])
            if self._start == self._end:
                raise RuleError(f"hours {hours!r} is an empty range; leave it out for all day")

    def contains(self, at: datetime) -> bool:
        """Whether the aware datetime `at` falls inside the window.

        Raises:
            RuleError: `at` is naive.
        """
        if at.tzinfo is None or at.utcoffset() is None:
            raise RuleError(f"naive datetime {at.isoformat()}; pass a timezone-aware one")
        local = at.astimezone(self._zone)
        if self._days is not None and local.weekday() not in self._days:
            return False
        if self._start is None or self._end is None:
            return True
        now = local.time().replace(tzinfo=None)
        if self._start < self._end:
            return self._start <= now < self._end
        return now >= self._start or now < self._end

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TimeWindow):
            return NotImplemented
        return (self._tz, self._days, self._start, self._end) == (
            other._tz,
            other._days,
            other._start,
            other._end,
        )

    def __hash__(self) -> int:
        return hash((self._tz, self._days, self._start, self._end))

    def __repr__(self) -> str:
        parts = []
        if self._days is not None:
            parts.append(f"weekdays={[_DAYS[day] for day in sorted(self._days)]!r}")
        if self._start is not None and self._end is not None:
            start, end = f"{self._start:%H:%M}", f"{self._end:%H:%M}"
            parts.append(f"hours=({start!r}, {end!r})")
        parts.append(f"tz={self._tz!r}")
        return f"TimeWindow({', '.join(parts)})"

    def describe(self) -> str:
        """The window in words: `mon-fri 09:00-17:00 Europe/Berlin`."""
        days = "every day"
        if self._days is not None:
            days = ",".join(_DAYS[day] for day in sorted(self._days))
        hours = ""
        if self._start is not None and self._end is not None:
            hours = f" {self._start:%H:%M}-{self._end:%H:%M}"
        return f"{days}{hours} {self._tz}"
