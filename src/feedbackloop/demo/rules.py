"""The demo's rules: what a team's first `feedback.py` typically says.

Read it as an example: noise is dropped on purpose (staging, low severity), errors and
monitors open a ticket only once they recur (a threshold), and a critical PagerDuty
incident always gets a postmortem issue, whose action items land in Jira.
"""

from __future__ import annotations

from datetime import timedelta

from feedbackloop.rules import Drop, F, OpenTicket, Rule, RuleSet, Threshold

__all__ = ["build_rules"]


def build_rules() -> RuleSet:
    """A fresh rule set (rule sets keep in-memory state: one per loop)."""
    return RuleSet(
        Rule("staging-is-not-backlog", when=F.environment == "staging", then=Drop("staging")),
        Rule("low-severity-noise", when=F.severity <= "low", then=Drop("low severity")),
        Rule(
            "critical-incidents-get-a-postmortem",
            when=(F.source == "pagerduty") & (F.severity >= "critical") & (F.status == "firing"),
            then=OpenTicket(
                "github",
                repo="acme/postmortems",
                title="Postmortem: {title}",
                labels=["postmortem"],
            ),
        ),
        Rule(
            "postmortem-action-items-to-jira",
            when=F.kind == "action_item",
            then=OpenTicket("jira", project="OPS", labels=["action-item"]),
        ),
        Rule(
            "critical-monitors-to-jira",
            when=(F.source == "datadog") & (F.severity >= "critical") & (F.status == "firing"),
            then=OpenTicket("jira", project="OPS", labels=["ops-feedback", "monitor"]),
        ),
        Rule(
            "recurring-errors-to-jira",
            when=(F.source == "sentry") & (F.kind == "error") & (F.severity >= "high"),
            threshold=Threshold(count=3, within=timedelta(hours=1)),
            then=OpenTicket("jira", project="OPS", labels=["ops-feedback", "error"]),
        ),
        Rule(
            "flapping-monitors-to-jira",
            when=(F.source == "datadog") & (F.severity >= "high") & (F.status == "firing"),
            threshold=Threshold(count=3, within=timedelta(hours=1)),
            then=OpenTicket("jira", project="OPS", labels=["ops-feedback", "flapping"]),
        ),
    )
