"""What the store hands back: plain frozen records, one per table row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feedbackloop._models import TicketRef, TicketStatus

__all__ = ["DeadLetter", "Delivery", "Effect", "TicketClosure", "TicketLink"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """A webhook delivery in the inbox, kept as received."""

    id: int
    source: str
    delivery_id: str
    received_at: datetime
    headers: dict[str, str]
    body: bytes = field(repr=False)
    status: str
    attempts: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Effect:
    """A planned effect in the outbox: create, comment, reopen, notify, escalate…"""

    id: int
    effect_key: str
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class TicketLink:
    """The link between a group of signals and its ticket.

    `status` is `pending` (claimed, not created yet), `open` or `closed`.
    `generation` counts the tickets this group had: a recurrence long after a close
    opens generation 2, linked to the first through `previous_id`.
    """

    id: int
    rule: str
    group_key: str
    generation: int
    tracker: str
    marker: str
    key: str | None
    url: str | None
    status: str
    resolution: str | None
    fingerprint: str
    theme: str
    title: str
    fields: dict[str, Any]
    origin_source: str | None
    origin_external_id: str | None
    sync_origin: bool
    previous_id: int | None
    occurrences: int
    first_seen_at: datetime
    last_seen_at: datetime
    created_at: datetime | None
    updated_at: datetime
    closed_at: datetime | None
    last_comment_at: datetime | None
    attempts: int

    def ref(self) -> TicketRef | None:
        """The ticket as a `TicketRef`, or None while it is not created yet."""
        if self.key is None:
            return None
        status = TicketStatus.CLOSED if self.status == "closed" else TicketStatus.OPEN
        return TicketRef(tracker=self.tracker, key=self.key, url=self.url, status=status)


@dataclass(frozen=True, slots=True)
class TicketClosure:
    """One closure of a linked ticket, kept when the ticket reopens.

    `reopened_at` is set once the ticket reopened after this closure, and `reopen_cause`
    says why: `regression` (its problem came back) or `ticket` (reopened in the tracker).
    """

    id: int
    link_id: int
    closed_at: datetime
    resolution: str | None
    reopened_at: datetime | None
    reopen_cause: str | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An effect that failed for good, with the vendor's error."""

    id: int
    outbox_id: int
    kind: str
    payload: dict[str, Any]
    error: str
    error_type: str
    status_code: int | None
    failed_at: datetime
    retried_at: datetime | None
