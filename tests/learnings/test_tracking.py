"""Learnings through the loop: items routed by the rules, following their tickets, nudged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from feedbackloop import ActionItem, FeedbackLoop, Incident, Learning, TicketChange, TicketRef
from feedbackloop.connectors import Message
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.errors import ConfigurationError
from feedbackloop.rules import F, Notify, OpenTicket, Rule, RuleSet

T0 = datetime(2026, 11, 2, tzinfo=UTC)
DAY = timedelta(days=1)


class Inbox:
    """A notifier that keeps what it was sent."""

    name = "inbox"

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send(self, message: Message) -> None:
        self.messages.append(message)


RULES = RuleSet(
    Rule(
        "postmortem-work",
        when=(F.kind == "action_item") & (F.labels["team"] == "payments"),
        then=OpenTicket("local", labels=["postmortem"]),
    ),
)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def local() -> LocalTracker:
    return LocalTracker()


@pytest.fixture
def loop(local: LocalTracker, inbox: Inbox) -> Iterator[FeedbackLoop]:
    with FeedbackLoop(
        RULES,
        trackers={"local": local},
        notifiers={"inbox": inbox},
        store="sqlite://",
        clock=lambda: T0 + 20 * DAY,
    ) as running:
        running.ingest(
            Incident(
                id="PD-1",
                title="checkout down",
                service="checkout",
                created_at=T0,
                labels={"team": "payments"},
            )
        )
        yield running


def learning(*items: ActionItem) -> Learning:
    return Learning(
        incident_ids=("PD-1",),
        summary="Checkout was down",
        themes=("config",),
        action_items=items,
        recorded_at=T0 + DAY,
    )


def close(loop: FeedbackLoop, key: str, at: timedelta, change: str = "closed") -> None:
    loop.ingest(TicketChange(tracker="local", key=key, change=change, occurred_at=T0 + at))  # type: ignore[arg-type]


def test_each_action_item_is_routed_by_the_rules_into_a_ticket(
    loop: FeedbackLoop, local: LocalTracker
) -> None:
    """The team's rule matches the item's signal (team from the incident) and opens a ticket."""
    recorded = loop.record_learning(
        learning(ActionItem(title="Add a canary"), ActionItem(title="Alert"))
    )
    assert [t.title for t in local.tickets()] == ["Add a canary", "Alert"]
    assert [i.ticket.key for i in recorded.action_items if i.ticket] == ["LOCAL-1", "LOCAL-2"]
    assert local.tickets()[0].labels == ("postmortem",)


def test_an_item_the_rules_do_not_route_stays_open_without_a_ticket(local: LocalTracker) -> None:
    """No rule matches items of learnings without a payments incident: no ticket."""
    with FeedbackLoop(RULES, trackers={"local": local}, store="sqlite://") as loop:
        recorded = loop.record_learning(
            Learning(summary="x", action_items=(ActionItem(title="Do it"),), recorded_at=T0)
        )
        assert recorded.action_items[0].ticket is None
        assert local.tickets() == []


def test_an_item_closes_when_its_ticket_closes(loop: FeedbackLoop) -> None:
    """A closed TicketChange closes the item, and a reopen opens it again."""
    loop.record_learning(learning(ActionItem(title="Add a canary")))
    close(loop, "LOCAL-1", 3 * DAY)
    [item] = loop.action_items()
    assert (item.status, item.closed_at) == ("closed", T0 + 3 * DAY)
    close(loop, "LOCAL-1", 4 * DAY, "reopened")
    assert loop.action_items()[0].status == "open"


def test_an_item_with_a_ticket_filed_already_follows_that_ticket(
    loop: FeedbackLoop, local: LocalTracker
) -> None:
    """Not routed again; a TicketChange on its Jira key closes it."""
    filed = ActionItem(title="Pin deps", ticket=TicketRef(tracker="jira", key="OPS-9"))
    loop.record_learning(learning(filed))
    assert local.tickets() == []
    loop.ingest(
        TicketChange(tracker="jira", key="OPS-9", change="closed", occurred_at=T0 + 2 * DAY)
    )
    assert loop.action_items(status="closed")[0].item.title == "Pin deps"


def test_recording_the_same_learning_twice_changes_nothing(
    loop: FeedbackLoop, local: LocalTracker
) -> None:
    """Same content, same learning: no second ticket."""
    first = loop.record_learning(learning(ActionItem(title="Add a canary")))
    second = loop.record_learning(learning(ActionItem(title="Add a canary")))
    assert (first.id, first.new, second.new, len(local.tickets())) == (first.id, True, False, 1)


def test_closed_items_count_towards_the_wins(loop: FeedbackLoop) -> None:
    """One of two items closed: the digest says so."""
    loop.record_learning(learning(ActionItem(title="A"), ActionItem(title="B")))
    close(loop, "LOCAL-1", 3 * DAY)
    report = loop.insights(since=T0, until=T0 + 7 * DAY)
    assert "1 of 2 action items closed" in report.wins
    assert report.figures.action_items.opened == 2


def test_overdue_and_stale_items_are_nudged_once_a_day(loop: FeedbackLoop, inbox: Inbox) -> None:
    """An overdue and a stale item get one nudge each; a second run the same day sends none."""
    loop.record_learning(
        learning(
            ActionItem(title="Overdue", owner="alice", due=date(2026, 11, 10)),
            ActionItem(title="Stale"),
            ActionItem(title="Fine", due=date(2026, 12, 30)),
        )
    )
    close(loop, "LOCAL-3", 19 * DAY, "commented")
    nudged = loop.nudge_action_items(Notify("inbox", channel="#payments"))
    assert [i.item.title for i in nudged] == ["Overdue", "Stale"]
    assert [m.title for m in inbox.messages] == [
        "Action item overdue: Overdue",
        "Action item stale: Stale",
    ]
    assert inbox.messages[0].channel == "#payments"
    assert inbox.messages[0].fields["owner"] == "alice"
    loop.nudge_action_items("inbox")
    assert len(inbox.messages) == 2


def test_nudging_through_an_unknown_notifier_is_refused(loop: FeedbackLoop) -> None:
    """The error names the notifiers the loop has."""
    with pytest.raises(ConfigurationError, match=r"no notifier named 'slack'.*inbox"):
        loop.nudge_action_items("slack")
