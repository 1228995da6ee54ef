"""The local tracker: the Tracker protocol on the store's own tables."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from feedbackloop import TicketStatus
from feedbackloop.connectors import TicketDraft, TicketReader, Tracker
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.errors import ConfigurationError, NotFoundError
from feedbackloop.store import Store


@pytest.fixture
def tracker() -> Iterator[LocalTracker]:
    store = Store("sqlite://")
    yield LocalTracker(store)
    store.close()


def draft(marker: str = "fl-1") -> TicketDraft:
    return TicketDraft(
        title="Timeouts in checkout", body="It **times out**.", marker=marker, labels=("ops",)
    )


def test_it_implements_the_tracker_protocol(tracker: LocalTracker) -> None:
    """The loop can use it wherever a Tracker goes."""
    assert isinstance(tracker, Tracker)


def test_created_tickets_get_sequential_keys(tracker: LocalTracker) -> None:
    """Keys are the project prefix and a number."""
    first = anyio.run(tracker.create, draft("a"))
    second = anyio.run(tracker.create, draft("b"))
    assert (first.key, second.key) == ("LOCAL-1", "LOCAL-2")


def test_a_ticket_is_found_by_its_marker(tracker: LocalTracker) -> None:
    """find() returns the ticket carrying the marker, and None for unknown markers."""
    created = anyio.run(tracker.create, draft("fl-42"))
    assert anyio.run(lambda: tracker.find("fl-42", fields={})) == created
    assert anyio.run(lambda: tracker.find("fl-0", fields={})) is None


def test_comments_close_and_reopen_are_kept(tracker: LocalTracker) -> None:
    """The ticket shows its comments, status and resolution."""
    ref = anyio.run(tracker.create, draft())
    anyio.run(tracker.comment, ref.key, "seen 5 more times")
    anyio.run(lambda: tracker.close(ref.key, resolution="not_planned"))
    closed = tracker.ticket(ref.key)
    assert (closed.status, closed.resolution, closed.comments) == (
        TicketStatus.CLOSED,
        "not_planned",
        ("seen 5 more times",),
    )
    anyio.run(tracker.reopen, ref.key)
    state = anyio.run(tracker.state, ref.key)
    assert (state.ref.status, state.resolution) == (TicketStatus.OPEN, None)


def test_an_unknown_key_is_not_found(tracker: LocalTracker) -> None:
    """Commenting on a ticket that does not exist raises NotFoundError."""
    with pytest.raises(NotFoundError, match="no local ticket 'LOCAL-9'"):
        anyio.run(tracker.comment, "LOCAL-9", "x")


def test_a_tracker_without_a_store_says_how_to_get_one() -> None:
    """Using a detached local tracker is a configuration error."""
    with pytest.raises(ConfigurationError, match="give the tracker to a FeedbackLoop"):
        anyio.run(LocalTracker().state, "LOCAL-1")


def test_read_gives_the_title_as_a_heading_then_the_body(tracker: LocalTracker) -> None:
    """read() is the TicketReader view: `# title`, a blank line, the stored body."""
    ref = anyio.run(tracker.create, draft())
    assert isinstance(tracker, TicketReader)
    assert anyio.run(tracker.read, ref.key) == "# Timeouts in checkout\n\nIt **times out**.\n"


def test_reading_an_unknown_ticket_is_not_found(tracker: LocalTracker) -> None:
    """read() of a key with no ticket raises NotFoundError."""
    with pytest.raises(NotFoundError, match="LOCAL-3"):
        anyio.run(tracker.read, "LOCAL-3")
