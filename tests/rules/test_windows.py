"""Recurring time windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feedbackloop.errors import RuleError
from feedbackloop.rules import Drop, Rule, RuleSet, TimeWindow
from feedbackloop.testing import make_signal

MONDAY_10 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
SATURDAY_10 = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)


class TestTimeWindow:
    def test_business_hours(self) -> None:
        """mon-fri 09:00-17:00 contains Monday 10:00, not Saturday or 17:00."""
        window = TimeWindow(weekdays="mon-fri", hours=("09:00", "17:00"))
        assert window.contains(MONDAY_10)
        assert not window.contains(SATURDAY_10)
        assert not window.contains(MONDAY_10.replace(hour=17))

    def test_hours_wrap_past_midnight(self) -> None:
        """22:00-06:00 contains 23:00 and 05:00."""
        window = TimeWindow(hours=(22, 6))
        assert window.contains(MONDAY_10.replace(hour=23))
        assert window.contains(MONDAY_10.replace(hour=5))
        assert not window.contains(MONDAY_10)

    def test_the_window_is_read_in_its_time_zone(self) -> None:
        """09:00 UTC is 10:00 in Berlin in winter: inside a Berlin 10-11 window."""
        window = TimeWindow(hours=("10:00", "11:00"), tz="Europe/Berlin")
        assert window.contains(MONDAY_10.replace(hour=9))
        assert not window.contains(MONDAY_10)

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"weekdays": ["funday"]}, "unknown weekday 'funday'"),
            ({"hours": ("25:00", "26:00")}, "unknown time of day '25:00'"),
            ({"hours": (9, 9)}, "is an empty range"),
            ({"tz": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ],
    )
    def test_bad_windows_fail_at_definition(self, kwargs: dict[str, object], message: str) -> None:
        """Unknown weekdays, clock times, time zones and empty ranges are RuleErrors."""
        with pytest.raises(RuleError, match=message):
            TimeWindow(**kwargs)  # type: ignore[arg-type]


class TestRuleWindows:
    def test_a_rule_acts_only_inside_its_active_window(self) -> None:
        """Outside active_during the rule matches but is muted."""
        rules = RuleSet(Rule("r", then=Drop(), active_during=TimeWindow(weekdays="mon-fri")))
        assert rules.evaluate(make_signal(occurred_at=MONDAY_10)).actions == (Drop(),)
        assert rules.evaluate(make_signal(occurred_at=SATURDAY_10)).matches[0].outcome == "muted"

    def test_a_muted_window_mutes(self) -> None:
        """Inside muted_during the rule holds its actions."""
        rules = RuleSet(Rule("r", then=Drop(), muted_during=TimeWindow(weekdays=["sat", "sun"])))
        assert rules.evaluate(make_signal(occurred_at=SATURDAY_10)).actions == ()

    def test_now_overrides_the_signals_time(self) -> None:
        """Windows are judged at `now` when it is given."""
        rules = RuleSet(Rule("r", then=Drop(), active_during=TimeWindow(weekdays="mon-fri")))
        decision = rules.evaluate(make_signal(occurred_at=MONDAY_10), now=SATURDAY_10)
        assert decision.actions == ()
