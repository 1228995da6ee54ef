"""Thresholds and the in-memory window counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedbackloop.errors import RuleError
from feedbackloop.rules import InMemoryWindowCounts, Threshold, WindowCounts

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


class TestThreshold:
    @pytest.mark.parametrize("count", [0, -1])
    def test_a_count_below_one_is_rejected(self, count: int) -> None:
        """Zero or negative counts fail when the threshold is defined."""
        with pytest.raises(RuleError, match="count must be an int of at least 1"):
            Threshold(count=count, within=HOUR)

    def test_a_non_positive_window_is_rejected(self) -> None:
        """A window of zero length would never hold an occurrence."""
        with pytest.raises(RuleError, match="within must be a positive timedelta"):
            Threshold(count=3, within=timedelta(0))

    def test_it_reads_as_words(self) -> None:
        """str() reads `5 within 1h`."""
        assert str(Threshold(count=5, within=HOUR)) == "5 within 1h"


class TestInMemoryWindowCounts:
    def test_it_implements_the_protocol(self) -> None:
        """The in-memory counts satisfy WindowCounts."""
        assert isinstance(InMemoryWindowCounts(), WindowCounts)

    def test_record_returns_the_count_in_the_window(self) -> None:
        """Each record returns the running count, this occurrence included."""
        counts = InMemoryWindowCounts()
        assert [counts.record("r", "g", T0 + timedelta(minutes=i), HOUR) for i in range(3)] == [
            1,
            2,
            3,
        ]

    def test_groups_and_rules_are_counted_apart(self) -> None:
        """Counts are per (rule, group key)."""
        counts = InMemoryWindowCounts()
        counts.record("r", "a", T0, HOUR)
        counts.record("r", "b", T0, HOUR)
        counts.record("s", "a", T0, HOUR)
        assert counts.count("r", "a", T0, HOUR) == 1

    def test_an_occurrence_exactly_one_window_old_no_longer_counts(self) -> None:
        """The window is (at - within, at]."""
        counts = InMemoryWindowCounts()
        counts.record("r", "g", T0, HOUR)
        assert counts.record("r", "g", T0 + HOUR, HOUR) == 1

    def test_count_records_nothing(self) -> None:
        """count() is read-only."""
        counts = InMemoryWindowCounts()
        counts.count("r", "g", T0, HOUR)
        assert counts.count("r", "g", T0, HOUR) == 0

    def test_old_buckets_are_pruned(self) -> None:
        """After a long quiet spell only the recent buckets are kept."""
        counts = InMemoryWindowCounts()
        for i in range(100):
            counts.record("r", "g", T0 + timedelta(minutes=i), timedelta(minutes=10))
        assert len(counts._series["r", "g"].buckets) == 10

    def test_a_late_arrival_counts_in_its_own_window(self) -> None:
        """An out-of-order occurrence is placed in its bucket."""
        counts = InMemoryWindowCounts()
        counts.record("r", "g", T0 + timedelta(minutes=30), HOUR)
        assert counts.record("r", "g", T0 + timedelta(minutes=10), HOUR) == 1
        assert counts.count("r", "g", T0 + timedelta(minutes=30), HOUR) == 2

    @given(
        gaps=st.lists(st.integers(min_value=0, max_value=7200), min_size=1, max_size=40),
        window=st.integers(min_value=1, max_value=3600),
    )
    def test_the_count_equals_the_occurrences_inside_the_sliding_window(
        self, gaps: list[int], window: int
    ) -> None:
        """For in-order whole-second times, record() counts exactly (at - within, at]."""
        counts = InMemoryWindowCounts()
        within = timedelta(seconds=window)
        times: list[datetime] = []
        at = T0
        for gap in gaps:
            at += timedelta(seconds=gap)
            times.append(at)
            expected = sum(1 for t in times if at - within < t <= at)
            assert counts.record("r", "g", at, within) == expected
