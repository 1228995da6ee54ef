"""The pytest plugin's fixtures, used as a rule author would."""

from __future__ import annotations

from datetime import timedelta

from feedbackloop.rules import (
    F,
    Inhibition,
    InMemoryActiveSignals,
    InMemoryWindowCounts,
    OpenTicket,
    Rule,
    RuleSet,
    Threshold,
)
from feedbackloop.testing import SignalFactory, assert_not_routed, assert_routes


def test_the_fixtures_are_fresh_instances(
    signal_factory: SignalFactory,
    window_counts: InMemoryWindowCounts,
    active_signals: InMemoryActiveSignals,
) -> None:
    """The plugin is registered through its entry point and provides the fixtures."""
    assert isinstance(signal_factory, SignalFactory)
    assert isinstance(window_counts, InMemoryWindowCounts)
    assert len(active_signals) == 0


def test_a_threshold_test_reads_naturally(
    signal_factory: SignalFactory, window_counts: InMemoryWindowCounts
) -> None:
    """The third occurrence within the hour opens a ticket."""
    rules = RuleSet(Rule("r", threshold=Threshold(3, timedelta(hours=1)), then=OpenTicket("jira")))
    for signal in signal_factory.many(2):
        assert_not_routed(rules, signal, counts=window_counts)
    assert_routes(rules, signal_factory(), to="jira", counts=window_counts)


def test_inhibition_with_supplied_active_signals(
    signal_factory: SignalFactory, active_signals: InMemoryActiveSignals
) -> None:
    """An active incident for the service inhibits its errors."""
    rules = RuleSet(
        Rule("r", then=OpenTicket("jira")),
        inhibitions=[
            Inhibition(source=F.kind == "incident", target=F.kind == "error", equal=["service"])
        ],
    )
    active_signals.observe(signal_factory(kind="incident", title="checkout down"))
    assert_not_routed(rules, signal_factory(), active=active_signals)
    assert_routes(rules, signal_factory(service="search"), active=active_signals)
