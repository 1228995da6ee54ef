"""Assertions about routing that explain themselves when they fail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from feedbackloop._models import Signal
from feedbackloop.rules._actions import Action, Comment, Drop, Escalate, Notify, OpenTicket
from feedbackloop.rules._counts import WindowCounts
from feedbackloop.rules._decision import Decision
from feedbackloop.rules._rules import RuleSet
from feedbackloop.rules._silences import ActiveSignals

__all__ = ["assert_dropped", "assert_not_routed", "assert_routes", "target_of"]


def target_of(action: Action) -> str | None:
    """The tracker, notifier or escalator an action goes to; None for `Drop`."""
    if isinstance(action, OpenTicket | Comment):
        return action.tracker
    if isinstance(action, Notify):
        return action.notifier
    if isinstance(action, Escalate):
        return action.escalator
    return None


def _fail(expectation: str, decision: Decision) -> AssertionError:
    planned = ", ".join(action.describe() for action in decision.actions) or "nothing"
    return AssertionError(f"{expectation}\nplanned: {planned}\n\nwhy:\n{decision.explain()}")


def assert_routes(
    rules: RuleSet,
    signal: Signal,
    *,
    to: str | None = None,
    rule: str | None = None,
    actions: Sequence[Action] | None = None,
    counts: WindowCounts | None = None,
    now: datetime | None = None,
    active: ActiveSignals | None = None,
) -> Decision:
    """Evaluate `signal` and assert it is routed as expected; return the decision.

    With no expectation it asserts that some action other than `Drop` is planned.

    Args:
        rules: The rule set under test.
        signal: The signal.
        to: A tracker, notifier or escalator some planned action must go to.
        rule: The name of a rule that must have fired.
        actions: The exact planned actions, in order.
        counts: Passed to `RuleSet.evaluate`.
        now: Passed to `RuleSet.evaluate`.
        active: Passed to `RuleSet.evaluate`.

    Raises:
        AssertionError: the expectation failed; the message carries the explanation.
    """
    __tracebackhide__ = True
    decision = rules.evaluate(signal, counts=counts, now=now, active=active)
    fired = [m.rule for m in decision.matches if m.outcome == "fired"]
    if actions is not None and tuple(actions) != decision.actions:
        expected = ", ".join(action.describe() for action in actions) or "nothing"
        raise _fail(f"expected the actions {expected}", decision)
    if rule is not None and rule not in fired:
        raise _fail(f"expected rule {rule!r} to fire", decision)
    if to is not None and to not in {target_of(action) for action in decision.actions}:
        raise _fail(f"expected the signal to be routed to {to!r}", decision)
    if actions is None and not any(not isinstance(a, Drop) for a in decision.actions):
        raise _fail("expected the signal to be routed somewhere", decision)
    return decision


def assert_not_routed(
    rules: RuleSet,
    signal: Signal,
    *,
    counts: WindowCounts | None = None,
    now: datetime | None = None,
    active: ActiveSignals | None = None,
) -> Decision:
    """Assert that no action other than `Drop` is planned for `signal`.

    Raises:
        AssertionError: something was planned; the message carries the explanation.
    """
    __tracebackhide__ = True
    decision = rules.evaluate(signal, counts=counts, now=now, active=active)
    if any(not isinstance(action, Drop) for action in decision.actions):
        raise _fail("expected the signal not to be routed", decision)
    return decision


def assert_dropped(
    rules: RuleSet,
    signal: Signal,
    *,
    counts: WindowCounts | None = None,
    now: datetime | None = None,
    active: ActiveSignals | None = None,
) -> Decision:
    """Assert that a rule deliberately drops `signal` (plans `Drop`).

    Raises:
        AssertionError: nothing dropped it; the message carries the explanation.
    """
    __tracebackhide__ = True
    decision = rules.evaluate(signal, counts=counts, now=now, active=active)
    if not decision.dropped:
        raise _fail("expected the signal to be dropped", decision)
    return decision
