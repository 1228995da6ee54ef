"""Silences, inhibitions and the active-signal view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedbackloop.errors import RuleError
from feedbackloop.rules import (
    ActiveSignals,
    F,
    Inhibition,
    InMemoryActiveSignals,
    OpenTicket,
    Rule,
    RuleSet,
    Silence,
)
from feedbackloop.testing import DEFAULT_TIME, make_signal

JIRA = OpenTicket("jira")
HOUR = timedelta(hours=1)


def silence(**kwargs: object) -> Silence:
    fields: dict[str, object] = {
        "starts_at": DEFAULT_TIME - HOUR,
        "ends_at": DEFAULT_TIME + HOUR,
    }
    fields.update(kwargs)
    return Silence(F.service == "checkout", **fields)  # type: ignore[arg-type]


class TestSilence:
    def test_a_naive_start_is_rejected(self) -> None:
        """Silences need timezone-aware datetimes."""
        with pytest.raises(RuleError, match="starts_at 2026-01-05T08:00:00 is a naive datetime"):
            silence(starts_at=datetime(2026, 1, 5, 8, 0))

    def test_an_end_before_the_start_is_rejected(self) -> None:
        """A silence must last."""
        with pytest.raises(RuleError, match="is not after starts_at"):
            silence(ends_at=DEFAULT_TIME - 2 * HOUR)

    def test_a_matching_signal_inside_the_range_is_silenced(self) -> None:
        """No actions while the silence is in force."""
        rules = RuleSet(Rule("r", then=JIRA), silences=[silence()])
        assert rules.evaluate(make_signal()).actions == ()

    def test_outside_the_range_or_not_matching_acts(self) -> None:
        """The end is excluded, and other services are not silenced."""
        rules = RuleSet(Rule("r", then=JIRA), silences=[silence()])
        assert rules.evaluate(make_signal(occurred_at=DEFAULT_TIME + HOUR)).actions == (JIRA,)
        assert rules.evaluate(make_signal(service="search")).actions == (JIRA,)

    def test_silences_can_be_added_later(self) -> None:
        """RuleSet.silence() adds one at run time."""
        rules = RuleSet(Rule("r", then=JIRA))
        rules.silence(silence())
        assert rules.evaluate(make_signal()).actions == ()


class TestInhibition:
    def rules(self) -> RuleSet:
        return RuleSet(
            Rule("r", then=JIRA),
            inhibitions=[
                Inhibition(
                    source=(F.kind == "incident") & (F.severity >= "critical"),
                    target=F.kind == "alert",
                    equal=("service",),
                )
            ],
        )

    def test_an_active_source_inhibits_targets_with_equal_fields(self) -> None:
        """A critical incident on checkout mutes checkout alerts, not search alerts."""
        rules = self.rules()
        rules.evaluate(make_signal(kind="incident", severity="critical", title="down"))
        assert rules.evaluate(make_signal(kind="alert")).actions == ()
        assert rules.evaluate(make_signal(kind="alert", service="search")).actions == (JIRA,)

    def test_a_resolved_source_no_longer_inhibits(self) -> None:
        """Once the incident resolves, alerts act again."""
        rules = self.rules()
        incident = {"kind": "incident", "severity": "critical", "title": "down"}
        rules.evaluate(make_signal(**incident))
        rules.evaluate(make_signal(**incident, status="resolved"))
        assert rules.evaluate(make_signal(kind="alert")).actions == (JIRA,)

    def test_an_unknown_equal_field_fails(self) -> None:
        """equal= names are checked at definition."""
        with pytest.raises(RuleError, match="unknown signal field 'servce'"):
            Inhibition(source=F.kind == "incident", target=F.kind == "alert", equal=["servce"])

    def test_supplied_active_signals_are_used_and_left_alone(self) -> None:
        """With active= the rule set reads the caller's view and does not feed it."""
        active = InMemoryActiveSignals([make_signal(kind="incident", severity="critical")])
        assert isinstance(active, ActiveSignals)
        rules = self.rules()
        assert rules.evaluate(make_signal(kind="alert"), active=active).actions == ()
        rules.evaluate(
            make_signal(kind="incident", severity="critical", service="x"), active=active
        )
        assert len(active) == 1


def test_the_active_view_keeps_the_newest_firing_signal() -> None:
    """Firing signals replace their predecessor; resolved ones remove it."""
    active = InMemoryActiveSignals()
    active.observe(make_signal(title="a"))
    active.observe(make_signal(title="a", occurred_at=datetime(2026, 2, 1, tzinfo=UTC)))
    assert len(active) == 1
    active.observe(make_signal(title="a", status="resolved"))
    assert list(active.firing()) == []
