"""The Markdown postmortem parser on the layouts teams actually write."""
# ruff: noqa: E501  (real postmortem tables have long rows)

from __future__ import annotations

from datetime import date

import pytest

from feedbackloop import ActionItemStatus, Severity, TicketRef
from feedbackloop.errors import ValidationError
from feedbackloop.learnings import parse_postmortem

BULLETS = """\
# Checkout outage, 2026-11-03

**Incident:** PD-4711
Themes: config change, missing alert

## Summary

Checkout returned 500s for 42 minutes after a config push disabled the payment pool.

## Contributing factors

- The config change skipped canary.
- No alert on the payment pool size.

## Action items

- Add a canary stage for config pushes (owner: alice, due 2026-11-20, priority: high)
- Alert when the payment pool is empty @bob due: 2026-11-15 P2
  The pool metric exists; it needs a monitor.
- Write the runbook for pool exhaustion
"""

# The layout of the example postmortem in Google's SRE book.
GOOGLE_TABLE = """\
# Shakespeare Sonnet++ Postmortem (incident #465)

## Summary
Shakespeare Search down for 66 minutes during a period of very high interest.

## Root Causes
Cascading failure due to a combination of exceptionally high load and a resource leak.

## Action Items

| Action Item | Type | Owner | Bug |
|-------------|------|-------|-----|
| Update playbook with instructions for responding to cascading failure | mitigate | jennifer | n/a **DONE** |
| Use flux capacitor to balance load between clusters | prevent | martin | [acme/search#5554](https://github.com/acme/search/issues/5554) |
| Schedule cascading failure test during next DiRT | process | docbrown | n/a |
"""

CHECKBOXES = """\
## Incident Review: elevated 5xx on the API

### Summary

The API returned 5xx for 12% of requests after a dependency upgrade.

### Corrective actions

- [x] Roll back the dependency upgrade ~~today~~ (@carol)
- [ ] Pin transitive dependencies in the lock file — @dave — 2026-12-01
- [ ] Add contract tests for the HTTP client OPS-812
"""

ATLASSIAN_TABLE = """\
# Postmortem: search latency

Search p99 went above 4 s for two hours.

**Follow-up actions**

| Priority | Action | Owner | Due date | Status |
|---|---|---|---|---|
| P1 | Add a circuit breaker around the ranking service | @erin | Nov 20, 2026 | In progress |
| P3 | Document the cache warm-up | frank | 2026-12-15 | Done |
"""

NUMBERED = """\
# DB failover took too long

## TL;DR
A failover took 19 minutes instead of 2.

## Next steps
1. Lower the health-check interval to 5 s [high]
   - measured on staging first
2. Rehearse failover monthly, owner: grace
"""


class TestLists:
    def test_a_bullet_list_gives_titles_owners_dates_and_priorities(self) -> None:
        """Inline owner, due date and priority are read and removed from the title."""
        learning = parse_postmortem(BULLETS)
        first, second, third = learning.action_items
        assert (first.title, first.owner, first.due, first.priority) == (
            "Add a canary stage for config pushes",
            "alice",
            date(2026, 11, 20),
            Severity.HIGH,
        )
        assert (second.title, second.owner, second.due, second.priority) == (
            "Alert when the payment pool is empty",
            "bob",
            date(2026, 11, 15),
            Severity.MEDIUM,
        )
        assert second.description == "The pool metric exists; it needs a monitor."
        assert (third.title, third.owner, third.due) == (
            "Write the runbook for pool exhaustion",
            None,
            None,
        )

    def test_the_summary_factors_themes_and_incident_are_read(self) -> None:
        """Summary section, contributing factors, a Themes: line and an Incident: line."""
        learning = parse_postmortem(BULLETS)
        assert learning.summary.startswith("Checkout returned 500s for 42 minutes")
        assert learning.contributing_factors == (
            "The config change skipped canary.",
            "No alert on the payment pool size.",
        )
        assert learning.themes == ("config change", "missing alert")
        assert learning.incident_ids == ("PD-4711",)
        assert learning.action_items[0].origin == ("PD-4711",)

    def test_a_numbered_list_with_nested_details(self) -> None:
        """Numbered items; nested bullets become the description; [high] is the priority."""
        learning = parse_postmortem(NUMBERED)
        first, second = learning.action_items
        assert (first.title, first.priority, first.description) == (
            "Lower the health-check interval to 5 s",
            Severity.HIGH,
            "measured on staging first",
        )
        assert (second.title, second.owner) == ("Rehearse failover monthly", "grace")
        assert learning.summary == "A failover took 19 minutes instead of 2."


class TestCheckboxes:
    def test_checked_boxes_are_closed_and_tickets_are_recognised(self) -> None:
        """[x] is done; an em-dash separated owner and date; a Jira key is the ticket."""
        learning = parse_postmortem(CHECKBOXES, incident_ids=["INC-9"])
        done, pin, tests = learning.action_items
        assert (done.status, done.owner) == (ActionItemStatus.CLOSED, "carol")
        assert (pin.title, pin.owner, pin.due, pin.status) == (
            "Pin transitive dependencies in the lock file",
            "dave",
            date(2026, 12, 1),
            ActionItemStatus.OPEN,
        )
        assert tests.title == "Add contract tests for the HTTP client"
        assert tests.ticket == TicketRef(tracker="jira", key="OPS-812")
        assert learning.incident_ids == ("INC-9",)


class TestTables:
    def test_the_google_sre_table(self) -> None:
        """Action Item / Type / Owner / Bug columns; a GitHub issue link is the ticket."""
        learning = parse_postmortem(GOOGLE_TABLE)
        playbook, flux, dirt = learning.action_items
        assert (playbook.owner, playbook.description) == ("jennifer", "Type: mitigate")
        assert flux.title == "Use flux capacitor to balance load between clusters"
        assert flux.ticket == TicketRef(
            tracker="github",
            key="acme/search#5554",
            url="https://github.com/acme/search/issues/5554",
        )
        assert dirt.owner == "docbrown"
        assert learning.contributing_factors[0].startswith("Cascading failure")

    def test_a_table_with_priority_due_date_and_status_columns(self) -> None:
        """Columns in any order; P1 is high; 'Done' closes; textual dates are read."""
        learning = parse_postmortem(ATLASSIAN_TABLE)
        breaker, docs = learning.action_items
        assert (breaker.title, breaker.owner, breaker.due, breaker.priority, breaker.status) == (
            "Add a circuit breaker around the ranking service",
            "erin",
            date(2026, 11, 20),
            Severity.HIGH,
            ActionItemStatus.OPEN,
        )
        assert (docs.priority, docs.due, docs.status) == (
            Severity.LOW,
            date(2026, 12, 15),
            ActionItemStatus.CLOSED,
        )
        assert learning.summary == "Search p99 went above 4 s for two hours."


class TestBadInput:
    def test_a_postmortem_without_action_items_has_none(self) -> None:
        """No section, no items: still a learning."""
        assert parse_postmortem("# Blip\n\nNothing to do.\n").action_items == ()

    def test_an_empty_document_is_refused(self) -> None:
        """Without a title or a paragraph there is nothing to learn from."""
        with pytest.raises(ValidationError, match="no title and no summary"):
            parse_postmortem("\n\n")
