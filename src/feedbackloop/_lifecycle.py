"""The ticket lifecycle: what an `OpenTicket` means for a group, given its ticket link.

Planning happens inside the transaction that records the signal, so that the link and
its occurrence count change atomically with it, and the effects (create, comment,
reopen) are queued in the outbox of the same transaction:

1. No link for the group: claim one (status `pending`) and plan `create`.
2. Linked and open (or being created): count the occurrence; plan a `comment` at most
   once per `update_every`.
3. Linked and closed: count it; an occurrence from before the closure (arriving late)
   changes nothing else; a closure as won't-fix or duplicate stays closed
   (unless the action lists the resolution in `reopen_closed_as`); a recurrence within
   `reopen_within` of the closure plans `reopen` with a "regressed" comment; a later one
   claims the next generation and plans `create`, linked to the old ticket.

Resolved signals ("recovered", "resolved") count towards an existing link but never
create or reopen a ticket. Times are the signals' own (`occurred_at`), so replays and
backfills follow the timeline they describe.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from feedbackloop._models import Signal, SignalStatus
from feedbackloop.fingerprint import theme_of
from feedbackloop.rules import OpenTicket
from feedbackloop.store import StoreTransaction, TicketLink

__all__ = ["WONT_FIX_RESOLUTIONS", "TicketStep", "marker_for", "plan_ticket"]

WONT_FIX_RESOLUTIONS = frozenset(
    {
        "not_planned",
        "not planned",
        "won't do",
        "won't fix",
        "wont_fix",
        "wontfix",
        "duplicate",
        "declined",
        "cannot reproduce",
        "invalid",
    }
)
"""Resolutions (lower case) that mean "we decided not to fix this": not reopened."""

Step = Literal["create", "comment", "reopen", "recreate", "counted", "kept_closed"]


@dataclass(frozen=True, slots=True)
class TicketStep:
    """What planning decided for one `OpenTicket`: the link and the step taken."""

    link_id: int
    step: Step
    effect_id: int | None = None


def marker_for(rule: str, group_key: str, generation: int) -> str:
    """The hidden marker of a link: deterministic, so a lost answer can be reconciled."""
    digest = hashlib.sha256(f"{rule}\x1f{group_key}\x1f{generation}".encode()).hexdigest()
    return f"fl-{digest[:20]}"


def plan_ticket(
    tx: StoreTransaction,
    *,
    action: OpenTicket,
    rule: str,
    group_key: str,
    signal: Signal,
    effect_key: str,
    now: datetime,
    seen: int = 1,
) -> TicketStep | None:
    """Apply one `OpenTicket` to the group's link and queue the effect it needs.

    `seen` is how many occurrences a new ticket starts with: the threshold's count when
    the rule waited for several.

    Returns None when nothing was linked (a resolved signal for a group without a ticket).
    """
    at = signal.occurred_at
    link = tx.current_link(rule, group_key)
    if link is None and action.correlate:
        link = tx.open_link_for_theme(fingerprint=signal.fingerprint, theme=theme_of(signal.title))
    if link is None:
        if signal.status is SignalStatus.RESOLVED:
            return None
        return _claim(tx, action, rule, group_key, signal, effect_key, now, generation=1, seen=seen)

    tx.count_occurrence(link.id, at=at, now=now)
    if link.status in ("pending", "open"):
        # Creation counts as the first update: last_comment_at starts at the first signal.
        last_update = link.last_comment_at or link.first_seen_at
        if link.status == "open" and at - last_update >= action.update_every:
            tx.update_link(link.id, last_comment_at=at)
            effect = tx.add_effect(
                effect_key, "comment", {"link_id": link.id, "note": "recurrence"}, now=now
            )
            return TicketStep(link.id, "comment", effect)
        return TicketStep(link.id, "counted")

    closed_at = link.closed_at or link.updated_at
    before_closure = link.closed_at is not None and at <= link.closed_at
    if signal.status is SignalStatus.RESOLVED or before_closure:
        # An occurrence from before the closure (a retry, a replay, a backfill) is part
        # of the closed ticket's history, not a regression.
        return TicketStep(link.id, "counted")
    resolution = (link.resolution or "").strip().lower()
    if resolution in WONT_FIX_RESOLUTIONS and resolution not in action.reopen_closed_as:
        return TicketStep(link.id, "kept_closed")
    if at - closed_at <= action.reopen_within:
        tx.update_link(
            link.id,
            status="open",
            resolution=None,
            closed_at=None,
            last_comment_at=at,
            updated_at=now,
        )
        tx.record_reopening(link.id, at=at, cause="regression")
        effect = tx.add_effect(effect_key, "reopen", {"link_id": link.id}, now=now)
        return TicketStep(link.id, "reopen", effect)
    step = _claim(
        tx,
        action,
        rule,
        group_key,
        signal,
        effect_key,
        now,
        generation=link.generation + 1,
        previous=link,
        seen=seen,
    )
    return TicketStep(step.link_id, "recreate", step.effect_id)


def _claim(
    tx: StoreTransaction,
    action: OpenTicket,
    rule: str,
    group_key: str,
    signal: Signal,
    effect_key: str,
    now: datetime,
    *,
    generation: int,
    previous: TicketLink | None = None,
    seen: int = 1,
) -> TicketStep:
    claimed = tx.claim_link(
        rule=rule,
        group_key=group_key,
        generation=generation,
        tracker=action.tracker,
        marker=marker_for(rule, group_key, generation),
        status="pending",
        fingerprint=signal.fingerprint,
        theme=theme_of(signal.title),
        title=action.render_title(signal),
        fields=_fields_of(action, signal),
        origin_source=signal.source,
        origin_external_id=signal.external_id,
        sync_origin=int(action.sync_origin),
        previous_id=None if previous is None else previous.id,
        occurrences=seen,
        first_seen_at=signal.occurred_at,
        last_seen_at=signal.occurred_at,
        last_comment_at=signal.occurred_at,
        updated_at=now,
        attempts=0,
    )
    if claimed is None:
        # Another worker claimed this generation a moment ago: count towards its link.
        current = tx.current_link(rule, group_key)
        assert current is not None
        tx.count_occurrence(current.id, at=signal.occurred_at, now=now)
        return TicketStep(current.id, "counted")
    effect = tx.add_effect(effect_key, "create", {"link_id": claimed.id}, now=now)
    return TicketStep(claimed.id, "create", effect)


def _fields_of(action: OpenTicket, signal: Signal) -> dict[str, object]:
    fields: dict[str, object] = {
        key: value
        if isinstance(value, str | int | float | bool | list | dict)
        else list(value)
        if isinstance(value, tuple | set | frozenset)
        else str(value)
        for key, value in action.fields.items()
    }
    fields["labels"] = list(action.labels)
    body = action.render_body(signal)
    if body is not None:
        fields["body"] = body
    fields["severity"] = signal.severity.value
    fields["url"] = signal.url
    fields["service"] = signal.service
    fields["environment"] = signal.environment
    return fields
