"""The public surface of feedbackloop.rules is pinned."""

from __future__ import annotations

import feedbackloop.rules


def test_the_rules_exports_are_pinned() -> None:
    """Adding or removing a public name is a deliberate change to this list."""
    assert sorted(feedbackloop.rules.__all__) == sorted(
        [
            "F", "Action", "ActiveSignals", "All", "Any", "Check", "Comment", "Decision",
            "Drop", "Escalate", "FieldRef", "InMemoryActiveSignals", "InMemoryWindowCounts",
            "Inhibition", "Not", "Notify", "OpenTicket", "Outcome", "Predicate", "Rule",
            "RuleContext", "RuleFunction", "RuleMatch", "RuleSet", "Silence", "Template",
            "Threshold", "TimeWindow", "WindowCounts", "render",
        ]
    )  # fmt: skip


def test_exported_classes_say_they_live_in_the_package() -> None:
    """Reprs and docs show `feedbackloop.rules.Rule`, not a private module."""
    for name in feedbackloop.rules.__all__:
        value = getattr(feedbackloop.rules, name)
        if isinstance(value, type):
            assert value.__module__ == "feedbackloop.rules", name
