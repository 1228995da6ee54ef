"""The ticket lifecycle end to end, through the loop and the local tracker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest

from feedbackloop import FeedbackLoop, Signal, TicketChange
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def rules(**options: Any) -> RuleSet:
    action = OpenTicket(
        "local", update_every=HOUR, reopen_within=timedelta(days=1), labels=["ops"], **options
    )
    return RuleSet(Rule("errors", when=F.source == "sentry", then=action))


@pytest.fixture
def local() -> LocalTracker:
    return LocalTracker()


@pytest.fixture
def loop(local: LocalTracker) -> Iterator[FeedbackLoop]:
    with FeedbackLoop(rules(), trackers={"local": local}, store="sqlite://") as running:
        yield running


def error(at: timedelta, *, title: str = "timeout after 31ms", **fields: Any) -> Signal:
    return Signal(source="sentry", service="api", title=title, occurred_at=T0 + at, **fields)


def first_ticket(loop: FeedbackLoop) -> str:
    """The key of the ticket the first error (at T0) opens."""
    loop.ingest(error(timedelta(0)))
    [link] = loop.tickets()
    assert link.key is not None
    return link.key


def close(loop: FeedbackLoop, key: str, at: timedelta, resolution: str | None = None) -> None:
    loop.ingest(
        TicketChange(
            tracker="local", key=key, change="closed", occurred_at=T0 + at, resolution=resolution
        )
    )


def test_the_first_signal_of_a_group_creates_one_ticket(
    loop: FeedbackLoop, local: LocalTracker
) -> None:
    """A new problem gets a ticket with the labels and the standard body."""
    outcome = loop.ingest(error(timedelta(0)))
    [ticket] = local.tickets()
    assert [t.key for t in outcome.tickets] == [ticket.key]
    assert ticket.labels == ("ops",)
    assert "Occurrences: 1" in ticket.body


def test_recurrences_are_counted_not_ticketed(loop: FeedbackLoop, local: LocalTracker) -> None:
    """Signals with the same fingerprint count towards the one ticket."""
    for minute in range(5):
        loop.ingest(error(timedelta(minutes=minute), title=f"timeout after {minute}ms"))
    assert len(local.tickets()) == 1
    assert [link.occurrences for link in loop.tickets()] == [5]


def test_recurrence_comments_are_throttled_by_update_every(
    loop: FeedbackLoop, local: LocalTracker
) -> None:
    """At most one comment per update_every, counting from creation."""
    for minutes in (0, 10, 50, 61, 70, 130):
        loop.ingest(error(timedelta(minutes=minutes)))
    [ticket] = local.tickets()
    assert len(ticket.comments) == 2
    assert "**4** occurrences" in ticket.comments[0]


def test_closing_the_ticket_marks_the_link_closed(loop: FeedbackLoop) -> None:
    """An inbound TicketChange closes the link with its resolution."""
    key = first_ticket(loop)
    close(loop, key, HOUR, "completed")
    [closed] = loop.tickets()
    assert (closed.status, closed.resolution) == ("closed", "completed")


def test_a_regression_soon_after_closing_reopens_the_ticket(
    loop: FeedbackLoop, local: LocalTracker
) -> None:
    """Within reopen_within the same ticket is reopened with a 'regressed' comment."""
    key = first_ticket(loop)
    anyio.run(local.close, key)
    close(loop, key, HOUR)
    outcome = loop.ingest(error(3 * HOUR))
    [ticket] = local.tickets()
    assert [e.kind for e in outcome.effects] == ["reopen"]
    assert (ticket.status, loop.tickets()[0].status) == ("open", "open")
    assert "Regressed" in ticket.comments[-1]


def test_an_occurrence_from_before_the_closure_leaves_the_ticket_closed(
    loop: FeedbackLoop, local: LocalTracker
) -> None:
    """A retry or a backfill of an occurrence older than the fix counts, and reopens nothing."""
    key = first_ticket(loop)
    close(loop, key, 2 * HOUR)
    outcome = loop.ingest(error(HOUR))
    [after] = loop.tickets()
    assert (outcome.effects, after.status, after.occurrences) == ((), "closed", 2)
    assert local.tickets()[0].comments == ()


def test_an_occurrence_from_before_the_closure_opens_no_new_ticket(
    loop: FeedbackLoop, local: LocalTracker
) -> None:
    """Long after the closure too, an old occurrence arriving late is history, not news."""
    key = first_ticket(loop)
    close(loop, key, timedelta(days=10))
    loop.ingest(error(timedelta(days=5)))
    assert [t.status for t in loop.tickets()] == ["closed"]
    assert len(local.tickets()) == 1


def test_a_late_recurrence_opens_a_new_linked_ticket(
    loop: FeedbackLoop, local: LocalTracker
) -> None:
    """After reopen_within, a new ticket names the old one."""
    key = first_ticket(loop)
    close(loop, key, HOUR)
    loop.ingest(error(timedelta(days=5)))
    old, new = loop.tickets()
    assert (old.status, new.status, new.generation, new.previous_id) == (
        "closed",
        "open",
        2,
        old.id,
    )
    assert f"Previously: {old.key}" in local.tickets()[1].body


def test_a_wont_fix_closure_is_not_reopened(loop: FeedbackLoop, local: LocalTracker) -> None:
    """Tickets closed as not planned stay closed; the occurrence is still counted."""
    key = first_ticket(loop)
    close(loop, key, HOUR, "not_planned")
    outcome = loop.ingest(error(2 * HOUR))
    assert outcome.effects == ()
    [still] = loop.tickets()
    assert (still.status, still.occurrences, len(local.tickets())) == ("closed", 2, 1)


def test_a_wont_fix_closure_listed_in_reopen_closed_as_is_reopened(local: LocalTracker) -> None:
    """reopen_closed_as opts back in for chosen resolutions."""
    with FeedbackLoop(
        rules(reopen_closed_as={"duplicate"}), trackers={"local": local}, store="sqlite://"
    ) as loop:
        loop.ingest(error(timedelta(0)))
        key = loop.tickets()[0].key
        assert key is not None
        close(loop, key, HOUR, "Duplicate")
        outcome = loop.ingest(error(2 * HOUR))
    assert [e.kind for e in outcome.effects] == ["reopen"]


def test_resolved_signals_never_create_tickets(loop: FeedbackLoop, local: LocalTracker) -> None:
    """A 'recovered' signal for a group without a ticket opens nothing."""
    loop.ingest(error(timedelta(0), status="resolved"))
    assert local.tickets() == []


def test_different_fingerprints_get_different_tickets(
    loop: FeedbackLoop, local: LocalTracker
) -> None:
    """Two problems, two tickets."""
    loop.ingest(error(timedelta(0), title="timeout"))
    loop.ingest(error(timedelta(0), title="KeyError in checkout"))
    assert len(local.tickets()) == 2


def test_correlation_links_a_related_signal_to_the_open_ticket(local: LocalTracker) -> None:
    """With correlate=True, a support ticket about the same failure joins the Sentry ticket."""
    ruleset = RuleSet(
        Rule(
            "all",
            when=F.source.in_(["sentry", "zendesk"]),
            then=OpenTicket("local", correlate=True),
        )
    )
    with FeedbackLoop(ruleset, trackers={"local": local}, store="sqlite://") as loop:
        loop.ingest(error(timedelta(0), title="payment failed for order 1234"))
        loop.ingest(
            Signal(
                source="zendesk",
                kind="support",
                title="payment failed for order 9876",
                occurred_at=T0 + HOUR,
            )
        )
        assert len(local.tickets()) == 1
        assert loop.tickets()[0].occurrences == 2


def test_a_threshold_ticket_counts_every_occurrence(local: LocalTracker) -> None:
    """The ticket starts with the threshold's count, and later occurrences below it count."""
    from feedbackloop.rules import Threshold

    rule = Rule(
        "bursts",
        when=F.source == "sentry",
        threshold=Threshold(3, timedelta(minutes=10)),
        then=OpenTicket("local"),
    )
    with FeedbackLoop(RuleSet(rule), trackers={"local": local}, store="sqlite://") as loop:
        for minutes in (0, 1, 2):  # the third reaches the threshold: a ticket with 3
            loop.ingest(error(timedelta(minutes=minutes)))
        assert [link.occurrences for link in loop.tickets()] == [3]
        loop.ingest(error(timedelta(minutes=30)))  # alone in its window: held, still counted
        assert [link.occurrences for link in loop.tickets()] == [4]
        assert len(local.tickets()) == 1


def test_a_regression_reopen_keeps_the_closure_before_it(loop: FeedbackLoop) -> None:
    """Close, regress, close again: two closures, the first reopened by the regression."""
    loop.ingest(error(timedelta(0)))
    [link] = loop.tickets()
    assert link.key is not None
    close(loop, link.key, HOUR, "fixed")
    loop.ingest(error(3 * HOUR))
    close(loop, link.key, 5 * HOUR, "done")
    first, second = loop.store.closures(link_id=link.id)
    assert (first.closed_at, first.resolution, first.reopened_at, first.reopen_cause) == (
        T0 + HOUR,
        "fixed",
        T0 + 3 * HOUR,
        "regression",
    )
    assert (second.closed_at, second.resolution, second.reopened_at) == (
        T0 + 5 * HOUR,
        "done",
        None,
    )


def test_a_ticket_reopened_in_the_tracker_marks_its_closure(loop: FeedbackLoop) -> None:
    """An inbound reopen sets reopened_at on the closure, caused by the ticket."""
    key = first_ticket(loop)
    close(loop, key, HOUR)
    loop.ingest(
        TicketChange(tracker="local", key=key, change="reopened", occurred_at=T0 + 2 * HOUR)
    )
    [closure] = loop.store.closures()
    assert (closure.reopened_at, closure.reopen_cause) == (T0 + 2 * HOUR, "ticket")


def test_a_repeated_close_records_one_closure(loop: FeedbackLoop) -> None:
    """A second 'closed' change for a closed ticket adds no closure."""
    key = first_ticket(loop)
    close(loop, key, HOUR)
    close(loop, key, 2 * HOUR)
    assert [c.closed_at for c in loop.store.closures()] == [T0 + HOUR]


def test_a_regression_in_a_batch_marks_the_closure_reopened(loop: FeedbackLoop) -> None:
    """ingest_many reopens through its batch transaction and records the reopening."""
    key = first_ticket(loop)
    close(loop, key, HOUR)
    loop.ingest_many([error(2 * HOUR), error(3 * HOUR)])
    [closure] = loop.store.closures()
    assert (closure.reopened_at, closure.reopen_cause) == (T0 + 2 * HOUR, "regression")


@pytest.fixture
def loop_on_every_store(local: LocalTracker, store_url: str) -> Iterator[FeedbackLoop]:
    with FeedbackLoop(rules(), trackers={"local": local}, store=store_url) as running:
        yield running


def test_an_earlier_occurrence_arriving_later_becomes_first_seen(
    loop_on_every_store: FeedbackLoop,
) -> None:
    """Ingested at 15:05 then 15:00, the ticket was first seen at 15:00."""
    loop = loop_on_every_store
    loop.ingest(error(timedelta(minutes=5)))
    loop.ingest(error(timedelta(0)))
    [link] = loop.tickets()
    assert (link.first_seen_at, link.last_seen_at) == (T0, T0 + timedelta(minutes=5))


def test_an_earlier_occurrence_in_a_later_batch_becomes_first_seen(
    loop_on_every_store: FeedbackLoop,
) -> None:
    """The batch path widens first seen the same way as the one-by-one path."""
    loop = loop_on_every_store
    loop.ingest_many([error(timedelta(minutes=5))])
    loop.ingest_many([error(timedelta(minutes=2)), error(timedelta(minutes=1))])
    [link] = loop.tickets()
    assert (link.first_seen_at, link.occurrences) == (T0 + timedelta(minutes=1), 3)
