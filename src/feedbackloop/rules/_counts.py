"""Thresholds and the window-count protocol they read through.

A rule with `Threshold(count=5, within=timedelta(hours=1))` fires once its group has
seen 5 occurrences in the last hour. Rules never store anything themselves: they
record occurrences through a `WindowCounts`, so the same rules run against the
in-memory counter here or the store's shared, persistent one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from feedbackloop.errors import RuleError

__all__ = ["InMemoryWindowCounts", "Threshold", "WindowCounts", "format_duration"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_duration(period: timedelta) -> str:
    """A period as explanations print it: `1h`, `90s`, `1d12h`, `1h30m`."""
    seconds = int(period.total_seconds())
    if seconds <= 0 or period != timedelta(seconds=seconds):
        return str(period)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)


@dataclass(frozen=True)
class Threshold:
    """Fire when a group reaches `count` occurrences within the sliding window `within`.

    Args:
        count: How many occurrences it takes (at least 1).
        within: The window's length (positive).

    Raises:
        RuleError: count below 1 or a window that is not a positive timedelta.
    """

    count: int
    within: timedelta

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise RuleError(f"Threshold count must be an int of at least 1; got {self.count!r}")
        if not isinstance(self.within, timedelta) or self.within <= timedelta(0):
            raise RuleError(f"Threshold within must be a positive timedelta; got {self.within!r}")

    def __str__(self) -> str:
        return f"{self.count} within {format_duration(self.within)}"


@runtime_checkable
class WindowCounts(Protocol):
    """Occurrence counts per (rule, group key) over sliding windows.

    Implementations are synchronous and must be safe to call from the thread that
    evaluates rules. An occurrence at `at` counts for a window ending at `now` when
    `now - within < at <= now`; implementations may count at a coarser resolution
    (the in-memory one uses whole seconds by default) and must document it.
    """

    def record(self, rule: str, group_key: str, at: datetime, within: timedelta) -> int:
        """Record one occurrence at `at` and return the count in the window ending at `at`.

        Args:
            rule: The rule's name.
            group_key: The group key (`"fingerprint=abc|service=api"`).
            at: When the occurrence happened (timezone-aware).
            within: The window's length; occurrences older than this may be discarded.

        Returns:
            The number of occurrences in `(at - within, at]`, this one included.
        """
        ...

    def count(self, rule: str, group_key: str, at: datetime, within: timedelta) -> int:
        """The number of occurrences in `(at - within, at]`, recording nothing."""
        ...


class _Series:
    """One group's buckets, oldest first, with their running total."""

    __slots__ = ("buckets", "total")

    def __init__(self) -> None:
        # A list, not a deque: an empty deque costs ~600 bytes, which for a million
        # groups is most of the memory; pruning drops expired buckets in one slice.
        self.buckets: list[list[int]] = []  # [bucket index, occurrences]
        self.total = 0


class InMemoryWindowCounts:
    """A `WindowCounts` in a dict: for one process, tests, and the default `RuleSet`.

    Occurrences are counted in buckets of `resolution` (one second by default); buckets
    that slid out of the window are dropped as new occurrences arrive, so memory is
    bounded by the window's length over the resolution per group. An occurrence
    arriving later than the window of the newest one is counted in its bucket but can no
    longer push a window over its threshold retroactively.

    Args:
        resolution: The bucket width; smaller is more exact and uses more memory.
    """

    def __init__(self, *, resolution: timedelta = timedelta(seconds=1)) -> None:
        if not isinstance(resolution, timedelta) or resolution <= timedelta(0):
            raise RuleError(f"resolution must be a positive timedelta; got {resolution!r}")
        self._resolution = resolution
        self._series: dict[tuple[str, str], _Series] = {}

    def _span(self, at: datetime, within: timedelta) -> tuple[int, int]:
        """The current bucket and the oldest bucket inside the window: the one after the
        bucket holding `at - within` (times compare by their bucket, as the store's do)."""
        bucket = (at - _EPOCH) // self._resolution
        return bucket, (at - within - _EPOCH) // self._resolution + 1

    def record(self, rule: str, group_key: str, at: datetime, within: timedelta) -> int:
        """Record one occurrence; see `WindowCounts.record`."""
        series = self._series.get((rule, group_key))
        if series is None:
            series = self._series[rule, group_key] = _Series()
        bucket, oldest = self._span(at, within)
        buckets = series.buckets
        if not buckets or buckets[-1][0] < bucket:
            buckets.append([bucket, 1])
        elif buckets[-1][0] == bucket:
            buckets[-1][1] += 1
        else:  # a late arrival: find its bucket (rare, so a linear walk is fine)
            for index, entry in enumerate(buckets):
                if entry[0] == bucket:
                    entry[1] += 1
                    break
                if entry[0] > bucket:
                    buckets.insert(index, [bucket, 1])
                    break
        series.total += 1
        # Prune against the newest bucket, keeping what any window of this length ending
        # in it or later may count (the widest: ceil(within) buckets); in-order traffic
        # keeps this O(1) amortised.
        span = -(-within // self._resolution)
        newest_oldest = buckets[-1][0] - span + 1
        if buckets[0][0] < newest_oldest:
            expired = 0
            while buckets[expired][0] < newest_oldest:
                series.total -= buckets[expired][1]
                expired += 1
            del buckets[:expired]
        if buckets[-1][0] == bucket and oldest == newest_oldest:
            return series.total
        return sum(n for b, n in buckets if oldest <= b <= bucket)

    def count(self, rule: str, group_key: str, at: datetime, within: timedelta) -> int:
        """The occurrences in the window ending at `at`; see `WindowCounts.count`."""
        series = self._series.get((rule, group_key))
        if series is None:
            return 0
        bucket, oldest = self._span(at, within)
        return sum(n for b, n in series.buckets if oldest <= b <= bucket)

    def clear(self) -> None:
        """Forget every count."""
        self._series.clear()
