"""Actions as frozen data, with templates checked at definition."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from feedbackloop import Severity
from feedbackloop.errors import RuleError
from feedbackloop.rules import Action, Comment, Drop, Escalate, Notify, OpenTicket
from feedbackloop.testing import make_signal


class TestOpenTicket:
    def test_defaults_follow_the_ticket_lifecycle(self) -> None:
        """Daily updates, two-week reopen window, no reopening of won't-fix closures."""
        action = OpenTicket("jira")
        assert action.update_every == timedelta(hours=24)
        assert action.reopen_within == timedelta(days=14)
        assert action.reopen_closed_as == frozenset()
        assert (action.sync_origin, action.correlate) == (False, False)

    def test_extra_keywords_become_tracker_fields(self) -> None:
        """project=, components= … land in `fields` for the tracker."""
        action = OpenTicket("jira", project="OPS", components=["api"], labels=["ops"])
        assert dict(action.fields) == {"project": "OPS", "components": ["api"]}
        assert action.labels == ("ops",)

    def test_it_is_frozen(self) -> None:
        """Actions cannot be changed after they are planned."""
        with pytest.raises(dataclasses.FrozenInstanceError):
            OpenTicket("jira").tracker = "github"  # type: ignore[misc]

    def test_title_templates_render_signal_fields_and_labels(self) -> None:
        """`{service}` and `{labels[team]}` come from the signal; missing labels are empty."""
        action = OpenTicket("jira", title="[{service}/{labels[team]}] {title}")
        signal = make_signal(title="boom", labels={"team": "core"})
        assert action.render_title(signal) == "[checkout/core] boom"
        assert action.render_title(make_signal(title="boom")) == "[checkout/] boom"

    def test_a_callable_title(self) -> None:
        """A callable gets the signal."""
        action = OpenTicket("jira", title=lambda s: s.title.upper())
        assert action.render_title(make_signal(title="boom")) == "BOOM"

    def test_the_default_title_is_the_signals(self) -> None:
        """Without a template the ticket is titled like the signal."""
        assert OpenTicket("jira").render_title(make_signal(title="boom")) == "boom"

    def test_a_template_with_an_unknown_field_fails_at_definition(self) -> None:
        """`{servce}` is a typo caught when the action is built."""
        with pytest.raises(RuleError, match=r"unknown field \{servce\}; valid fields"):
            OpenTicket("jira", title="{servce}")

    def test_an_empty_tracker_name(self) -> None:
        """The tracker must be named."""
        with pytest.raises(RuleError, match="tracker must be a non-empty name"):
            OpenTicket("")

    def test_a_non_positive_period(self) -> None:
        """update_every must be positive."""
        with pytest.raises(RuleError, match="update_every must be a positive timedelta"):
            OpenTicket("jira", update_every=timedelta(0))

    def test_equal_actions_compare_equal(self) -> None:
        """Equality covers the fields too."""
        assert OpenTicket("jira", project="OPS") == OpenTicket("jira", project="OPS")
        assert OpenTicket("jira", project="OPS") != OpenTicket("jira", project="DEV")


class TestOtherActions:
    def test_escalate_defaults_to_pagerduty_and_coerces_severity(self) -> None:
        """Escalate('pagerduty') by default; severity names become Severity."""
        assert Escalate().escalator == "pagerduty"
        assert Escalate(severity="critical").severity is Severity.CRITICAL  # type: ignore[arg-type]

    def test_escalate_rejects_unknown_severities(self) -> None:
        """An unknown severity name fails at definition."""
        with pytest.raises(RuleError, match="unknown severity 'urgent'"):
            Escalate(severity="urgent")  # type: ignore[arg-type]

    def test_comment_and_notify_render_templates(self) -> None:
        """Comment bodies and notification texts are templates too."""
        signal = make_signal(title="boom")
        assert Comment("jira", "seen again: {title}").render_body(signal) == "seen again: boom"
        assert Notify("slack", text="{severity}: {title}").render_text(signal) == "high: boom"

    def test_drop_describes_itself_briefly(self) -> None:
        """Drop('noise') reads as such in explanations."""
        assert Drop("noise").describe() == "Drop('noise')"

    def test_a_plugin_action_is_an_action(self) -> None:
        """Subclassing Action (frozen) makes a new action usable in rules."""

        @dataclasses.dataclass(frozen=True)
        class CreateZendeskTicket(Action):
            group: str

        from feedbackloop.rules import Rule, RuleSet

        rules = RuleSet(Rule("z", then=CreateZendeskTicket("support")))
        assert rules.evaluate(make_signal()).actions == (CreateZendeskTicket("support"),)
