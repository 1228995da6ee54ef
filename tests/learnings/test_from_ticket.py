"""Learnings from a ticket: the postmortem written in a tracker's ticket, read and recorded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from feedbackloop import FeedbackLoop, TicketRef
from feedbackloop.connectors import TicketDraft, TicketState
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.errors import ConfigurationError, NotFoundError
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet

POSTMORTEM = """\
## Summary
Checkout was down for 42 minutes after a config push.

Incident: PD-42

## Action items
| Action item | Owner | Due | Status |
| --- | --- | --- | --- |
| Add a canary stage | @alice | 2026-11-20 | open |
| Roll back the config | @bob | 2026-11-03 | done |
"""

RULES = RuleSet(
    Rule("postmortem-work", when=F.kind == "action_item", then=OpenTicket("work", labels=["pm"]))
)


class WriteOnly:
    """A tracker that keeps tickets but cannot read them back (no TicketReader)."""

    name = "write-only"

    async def find(self, marker: str, *, fields: Any) -> TicketRef | None:
        return None

    async def create(self, draft: TicketDraft) -> TicketRef:
        raise AssertionError("not used")

    async def comment(self, key: str, body: str) -> None: ...

    async def close(self, key: str, *, resolution: str | None = None) -> None: ...

    async def reopen(self, key: str) -> None: ...

    async def state(self, key: str) -> TicketState:
        raise AssertionError("not used")


@pytest.fixture
def loop() -> Iterator[FeedbackLoop]:
    with FeedbackLoop(
        RULES,
        trackers={
            "postmortems": LocalTracker(project="PM"),
            "work": LocalTracker(project="WORK"),
            "write-only": WriteOnly(),
        },
        sources=[],
        store="sqlite://",
    ) as running:
        yield running


def _postmortem_ticket(loop: FeedbackLoop) -> str:
    """File the postmortem as a ticket of the `postmortems` tracker; its key."""
    tracker = loop.core.trackers["postmortems"]
    draft = TicketDraft(title="Postmortem: checkout outage", body=POSTMORTEM, marker="fl-pm")
    return anyio.run(tracker.create, draft).key


def _work(loop: FeedbackLoop) -> LocalTracker:
    work = loop.core.trackers["work"]
    assert isinstance(work, LocalTracker)
    return work


def test_a_ticket_postmortem_is_recorded_and_its_open_items_routed(loop: FeedbackLoop) -> None:
    """The table's open item gets a ticket through the rules; the done one does not."""
    key = _postmortem_ticket(loop)

    recorded = loop.learn_from_ticket("postmortems", key, incident_ids=["INC-7"])

    assert recorded.learning.summary == "Checkout was down for 42 minutes after a config push."
    assert recorded.learning.incident_ids == ("INC-7", "PD-42")
    canary, rollback = recorded.action_items
    assert (canary.item.title, canary.item.owner, str(canary.item.due)) == (
        "Add a canary stage",
        "alice",
        "2026-11-20",
    )
    (filed,) = _work(loop).tickets()
    assert filed.title.endswith("Add a canary stage")
    assert canary.item.ticket is not None
    assert canary.item.ticket.key == filed.key
    assert (rollback.item.status, rollback.item.ticket) == ("closed", None)


def test_learning_from_the_same_ticket_twice_changes_nothing(loop: FeedbackLoop) -> None:
    """The second reading is recognised as the same learning; no second work ticket."""
    key = _postmortem_ticket(loop)
    first = loop.learn_from_ticket("postmortems", key)
    second = loop.learn_from_ticket("postmortems", key)
    assert (first.new, second.new, second.id) == (True, False, first.id)
    assert len(_work(loop).tickets()) == 1


def test_a_tracker_that_cannot_read_tickets_is_named(loop: FeedbackLoop) -> None:
    """A tracker without TicketReader.read is a configuration error naming it."""
    with pytest.raises(ConfigurationError, match=r"'write-only'.*TicketReader"):
        loop.learn_from_ticket("write-only", "X-1")


def test_an_unknown_tracker_is_named_with_the_known_ones(loop: FeedbackLoop) -> None:
    """A tracker name the loop does not have is a configuration error listing its trackers."""
    with pytest.raises(ConfigurationError, match=r"no tracker 'jira'.*postmortems"):
        loop.learn_from_ticket("jira", "OPS-1")


def test_an_unknown_ticket_is_not_found(loop: FeedbackLoop) -> None:
    """The tracker's NotFoundError comes through."""
    with pytest.raises(NotFoundError, match="PM-9"):
        loop.learn_from_ticket("postmortems", "PM-9")


def test_read_ticket_gives_the_text_parse_postmortem_reads(loop: FeedbackLoop) -> None:
    """read_ticket returns the ticket as Markdown: its title as a heading, then its body."""
    key = _postmortem_ticket(loop)
    assert loop.read_ticket("postmortems", key) == f"# Postmortem: checkout outage\n\n{POSTMORTEM}"
