"""Reading the history from the store: the loop's closures feed the figures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from feedbackloop import FeedbackLoop, Signal, TicketChange
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def loop() -> Iterator[FeedbackLoop]:
    rules = RuleSet(
        Rule(
            "errors",
            when=F.source == "sentry",
            then=OpenTicket("local", reopen_within=timedelta(days=1)),
        )
    )
    with FeedbackLoop(rules, trackers={"local": LocalTracker()}, store="sqlite://") as running:
        yield running


def error(at: timedelta) -> Signal:
    return Signal(source="sentry", service="api", title="timeout", occurred_at=T0 + at)


def close(loop: FeedbackLoop, key: str, at: timedelta) -> None:
    loop.ingest(
        TicketChange(
            tracker="local", key=key, change="closed", occurred_at=T0 + at, resolution="fixed"
        )
    )


def test_time_to_close_after_a_regression_reopen_runs_to_the_first_closure(
    loop: FeedbackLoop,
) -> None:
    """Closed after 2 h, reopened by a regression, closed again at 10 h: 2 h to close."""
    loop.ingest(error(timedelta(0)))
    [link] = loop.tickets()
    assert link.key is not None
    close(loop, link.key, 2 * HOUR)
    loop.ingest(error(4 * HOUR))
    close(loop, link.key, 10 * HOUR)
    figures = loop.insights(since=T0, until=T0 + timedelta(days=1)).figures
    assert (figures.tickets.closed, figures.tickets.time_to_close.median) == (1, 7200)
    assert figures.recurrence.fingerprints == (link.fingerprint,)


def test_a_ticket_reopened_in_the_tracker_still_counts_its_closure(loop: FeedbackLoop) -> None:
    """A ticket closed then reopened by hand was closed in the period, and timed."""
    loop.ingest(error(timedelta(0)))
    [link] = loop.tickets()
    assert link.key is not None
    close(loop, link.key, HOUR)
    loop.ingest(
        TicketChange(tracker="local", key=link.key, change="reopened", occurred_at=T0 + 2 * HOUR)
    )
    tickets = loop.insights(since=T0, until=T0 + timedelta(days=1)).figures.tickets
    assert (tickets.closed, tickets.time_to_close.median) == (1, 3600)
