"""Window counts: the buckets a window reads, and counts over windows of any length."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from feedbackloop.rules import InMemoryWindowCounts
from feedbackloop.store import Store, StoreTransaction
from feedbackloop.store import _schema as schema
from feedbackloop.store._windows import ROLLUPS, SECOND, seconds_of, tiles

T0 = datetime(2026, 11, 2, 9, 0, 17, 250_000, tzinfo=UTC)
DAY = 86_400 * SECOND


def micros(lowest: int, highest: int) -> st.SearchStrategy[int]:
    """Microseconds from `lowest` to `highest` seconds, often on a second, a minute or an
    hour, or a microsecond off one: where the tiles change."""
    whole = st.one_of(
        st.integers(lowest, highest),
        st.integers(lowest // 60, highest // 60).map(lambda minutes: minutes * 60),
        st.integers(lowest // 3600, highest // 3600).map(lambda hours: hours * 3600),
    )
    part = st.sampled_from([0, 1, SECOND - 1]) | st.integers(0, SECOND - 1)
    return st.builds(lambda seconds, rest: seconds * SECOND + rest, whole, part)


# From a little before 1970 to far ahead.
lows = micros(-86_400, 10**11)
spans = micros(0, 3 * 86_400)


def covered(low: int, high: int) -> Counter[int]:
    """How often each second's bucket is held by the tiles of `[low, high]`."""
    held: Counter[int] = Counter()
    for width, first, last in tiles(low, high):
        for start in range(first, last + 1, width):
            held.update(range(start, start + width, SECOND))
    return held


class TestTiles:
    @given(low=lows, span=micros(0, 2 * 3600))
    def test_the_tiles_hold_each_second_starting_in_the_range_once(
        self, low: int, span: int
    ) -> None:
        """Every second whose bucket starts in the range, each once, and nothing else."""
        first, last = seconds_of(low, low + span)
        assert covered(low, low + span) == Counter(range(first, last + 1, SECOND))

    @given(low=lows, span=spans)
    def test_the_tiles_run_in_time_order_without_gaps(self, low: int, span: int) -> None:
        """Each tile starts where the one before it ended, on a start of its own width."""
        found = tiles(low, low + span)
        first, last = seconds_of(low, low + span)
        ends = [first]
        for width, start, end in found:
            assert start % width == 0
            assert end % width == 0
            assert start <= end
            assert start == ends[-1]
            ends.append(end + width)
        assert ends[-1] == (last + SECOND if found else first)

    @given(low=lows, span=spans)
    def test_there_are_at_most_two_tiles_of_a_width_and_one_of_the_widest(
        self, low: int, span: int
    ) -> None:
        """The shape `count` has a place for: seconds, minutes, hours, minutes, seconds."""
        widths = Counter(width for width, _, _ in tiles(low, low + span))
        assert all(widths[width] <= 2 for width in (SECOND, *ROLLUPS[:-1]))
        assert widths[ROLLUPS[-1]] <= 1

    def test_a_day_long_window_reads_a_few_hundred_buckets(self) -> None:
        """At most 59 seconds and 59 minutes at each edge, and the hours between."""
        low = 1_800_000_000 * SECOND + 1
        read = sum((last - first) // width + 1 for width, first, last in tiles(low, low + DAY))
        assert read <= 2 * 59 + 2 * 59 + 24

    def test_a_range_holding_no_start_of_a_second_has_no_tiles(self) -> None:
        """Less than a second, between two of them."""
        assert tiles(SECOND + 1, 2 * SECOND - 1) == []


def expected(occurrences: list[datetime], at: datetime, within: timedelta) -> int:
    """The occurrences in `(at - within, at]`, every time compared by its second (as
    `InMemoryWindowCounts` compares them): exact for times on whole seconds."""
    start, end = (schema.to_micros(moment) // SECOND for moment in (at - within, at))
    seconds = [schema.to_micros(moment) // SECOND for moment in occurrences]
    return sum(1 for second in seconds if start < second <= end)


moments = st.integers(min_value=0, max_value=2 * DAY).map(
    lambda us: T0 + timedelta(microseconds=us)
)
lengths = st.integers(min_value=1, max_value=2 * DAY).map(lambda us: timedelta(microseconds=us))


counted_windows = given(
    occurrences=st.lists(moments, max_size=30),
    asked=st.lists(st.tuples(moments, lengths), min_size=1, max_size=6),
)
"""Occurrences over two days, and windows of any length ending anywhere in them."""


@contextmanager
def counting(occurrences: list[datetime]) -> Iterator[StoreTransaction]:
    """A transaction of a store in memory holding `occurrences`, in time order."""
    store = Store("sqlite://")
    try:
        with store.transaction() as tx:
            for moment in sorted(occurrences):
                tx.record("r", "g", moment, timedelta(days=3))
            yield tx
    finally:
        store.close()


class TestCounts:
    @settings(max_examples=60, deadline=None)
    @counted_windows
    def test_a_count_is_the_occurrences_whose_second_falls_in_the_window(
        self, occurrences: list[datetime], asked: list[tuple[datetime, timedelta]]
    ) -> None:
        """However long the window, and wherever in a second or a minute it ends."""
        with counting(occurrences) as tx:
            for at, within in asked:
                assert tx.count("r", "g", at, within) == expected(occurrences, at, within)

    @settings(max_examples=60, deadline=None)
    @counted_windows
    def test_the_store_counts_as_the_rules_in_memory_counts_do(
        self, occurrences: list[datetime], asked: list[tuple[datetime, timedelta]]
    ) -> None:
        """A rule tested with in-memory counts fires at the same signal in production."""
        memory = InMemoryWindowCounts()
        for moment in sorted(occurrences):
            memory.record("r", "g", moment, timedelta(days=3))
        with counting(occurrences) as tx:
            for at, within in asked:
                assert tx.count("r", "g", at, within) == memory.count("r", "g", at, within)

    @settings(max_examples=60, deadline=None)
    @given(occurrences=st.lists(moments, max_size=30), within=lengths)
    def test_recording_answers_as_the_rules_in_memory_counts_do(
        self, occurrences: list[datetime], within: timedelta
    ) -> None:
        """Each occurrence's count, in time order, over a window of any length (not
        only whole seconds: the in-memory counts keep what such a window needs)."""
        memory = InMemoryWindowCounts()
        with counting([]) as tx:
            for moment in sorted(occurrences):
                assert tx.record("r", "g", moment, within) == memory.record(
                    "r", "g", moment, within
                )

    @pytest.mark.parametrize(
        "seconds", [(20.7, 19.9), (19.5, 20.7, 20.2)], ids=["late", "late-in-the-same-second"]
    )
    def test_a_late_occurrence_is_counted_as_the_store_counts_it(
        self, seconds: tuple[float, ...]
    ) -> None:
        """A window of 1.5 s: what a late arrival sees, in memory and in the store."""
        memory, within = InMemoryWindowCounts(), timedelta(seconds=1.5)
        with counting([]) as tx:
            for second in seconds:
                at = T0 + timedelta(seconds=second)
                assert memory.record("r", "g", at, within) == tx.record("r", "g", at, within)

    def test_an_occurrence_exactly_a_window_ago_is_outside_it(self, store: Store) -> None:
        """`(at - within, at]`: on whole seconds, the opening instant is out."""
        with store.transaction() as tx:
            tx.record("r", "g", T0, timedelta(seconds=10))
            assert tx.record("r", "g", T0 + timedelta(seconds=10), timedelta(seconds=10)) == 1
            assert tx.record("r", "g", T0 + timedelta(seconds=9), timedelta(seconds=10)) == 2

    def test_a_day_of_occurrences_counts_on_every_backend(self, store: Store) -> None:
        """One occurrence every 7 minutes for a day, counted over windows of all lengths."""
        occurrences = [T0 + timedelta(minutes=7 * n) for n in range(206)]
        with store.transaction() as tx:
            for moment in occurrences:
                tx.record("r", "g", moment, timedelta(days=1))
        at = T0 + timedelta(hours=23, minutes=59, seconds=30)
        with store.transaction() as tx:
            for within in (timedelta(days=1), timedelta(hours=5, seconds=1), timedelta(minutes=61)):
                assert tx.count("r", "g", at, within) == expected(occurrences, at, within)

    def test_pruning_keeps_the_counts_of_windows_after_the_horizon(self, store: Store) -> None:
        """Windows that start after the horizon count what they counted before."""
        occurrences = [T0 + timedelta(seconds=97 * n) for n in range(100)]
        at, within = T0 + timedelta(hours=3), timedelta(hours=1, minutes=29)
        with store.transaction() as tx:
            for moment in occurrences:
                tx.record("r", "g", moment, within)
            assert tx.prune_occurrences(T0 + timedelta(hours=1, minutes=30)) > 0
            assert tx.count("r", "g", at, within) == expected(occurrences, at, within)

    def test_a_window_reaching_into_pruned_hours_counts_what_is_left(self, store: Store) -> None:
        """Whole hours go, seconds and rollups alike: however its tiles fall, a window
        counts the occurrences of the hours kept."""
        hour = T0.replace(minute=0, second=0, microsecond=0)
        occurrences = [hour + timedelta(minutes=5), hour + timedelta(minutes=65)]
        with store.transaction() as tx:
            for moment in occurrences:
                tx.record("r", "g", moment, timedelta(hours=1))
            assert tx.prune_occurrences(hour + timedelta(minutes=90)) == 1
            for at in (hour + timedelta(hours=2), hour + timedelta(hours=2, seconds=1)):
                assert tx.count("r", "g", at, timedelta(hours=2, minutes=5)) == 1

    def test_pruning_leaves_no_rollup_of_a_pruned_hour(self, store: Store) -> None:
        """Rolled-up buckets do not pile up: those of the pruned hours go too."""
        horizon = T0 + timedelta(hours=2, minutes=10)
        with store.transaction() as tx:
            for n in range(40):
                tx.record("r", "g", T0 + timedelta(minutes=5 * n), timedelta(hours=1))
            tx.prune_occurrences(horizon)
            rollups = schema.occurrence_rollups
            starts = list(tx.connection.execute(select(rollups.c.bucket)).scalars())
        assert starts
        assert min(starts) >= schema.to_micros(horizon.replace(minute=0, second=0, microsecond=0))
