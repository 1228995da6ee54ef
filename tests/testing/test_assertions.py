"""Routing assertions that explain themselves."""

from __future__ import annotations

import pytest

from feedbackloop.rules import Drop, F, Notify, OpenTicket, Rule, RuleSet
from feedbackloop.testing import assert_dropped, assert_not_routed, assert_routes, make_signal

JIRA = OpenTicket("jira", project="OPS")


def rules() -> RuleSet:
    return RuleSet(
        Rule("prod-to-jira", when=F.environment == "production", then=JIRA),
        Rule("noise", when=F.severity <= "low", then=Drop()),
    )


def test_assert_routes_passes_and_returns_the_decision() -> None:
    """A met expectation returns the decision for further checks."""
    decision = assert_routes(rules(), make_signal(), to="jira", rule="prod-to-jira")
    assert decision.actions == (JIRA,)


def test_a_failed_expectation_carries_the_explanation() -> None:
    """The assertion message shows what was planned and why each rule did not match."""
    with pytest.raises(AssertionError) as caught:
        assert_routes(rules(), make_signal(environment="staging"), to="jira")
    message = str(caught.value)
    assert message.startswith("expected the signal to be routed to 'jira'\nplanned: nothing")
    assert "1. prod-to-jira: no match: environment == production: got staging" in message


def test_exact_actions_are_compared() -> None:
    """actions= compares the planned actions exactly."""
    with pytest.raises(AssertionError, match="expected the actions Notify"):
        assert_routes(rules(), make_signal(), actions=[Notify("slack")])


def test_a_drop_is_not_routing() -> None:
    """assert_routes without expectations fails when the signal is only dropped."""
    signal = make_signal(environment="staging", severity="low")
    with pytest.raises(AssertionError, match="expected the signal to be routed somewhere"):
        assert_routes(rules(), signal)
    assert_dropped(rules(), signal)
    assert_not_routed(rules(), signal)


def test_assert_not_routed_fails_on_a_ticket() -> None:
    """A planned ticket fails assert_not_routed, with the explanation."""
    with pytest.raises(AssertionError, match="prod-to-jira: matched"):
        assert_not_routed(rules(), make_signal())
