"""Recording learnings and following their action items through their tickets.

Each action item of a recorded learning becomes a `Signal` of kind `action_item`
from source `postmortem`, routed by the loop's rules like any other signal, so the
team's rules decide where postmortem work lands (`F.kind == "action_item"`). When
the rules open a ticket for it, the item follows that ticket: closed when it closes,
open again when it reopens, updated when it is commented. Items that name a ticket
filed already (`OPS-12`, `acme/api#42`) are not routed; they follow that ticket.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from feedbackloop._models import (
    ActionItem,
    ActionItemStatus,
    Incident,
    Learning,
    Signal,
    SignalKind,
    TicketChange,
    TicketChangeKind,
    TicketRef,
    TicketStatus,
)
from feedbackloop.errors import ConfigurationError
from feedbackloop.rules import Notify
from feedbackloop.store import Store, StoreTransaction, TicketLink

if TYPE_CHECKING:
    from feedbackloop._loop import AsyncFeedbackLoop

__all__ = [
    "POSTMORTEM_SOURCE",
    "RecordedLearning",
    "TrackedActionItem",
    "action_item_signal",
    "follow_ticket_change",
    "nudge_action_items",
    "record_learning",
    "tracked_action_items",
]

POSTMORTEM_SOURCE = "postmortem"
"""The `source` of the signals that carry action items."""


@dataclass(frozen=True, slots=True)
class TrackedActionItem:
    """An action item as the loop tracks it.

    Attributes:
        id: Its id in the store.
        learning_id: The learning it came from.
        item: The item, with its current `status` and `ticket`.
        created_at: When it was recorded (the learning's `recorded_at`).
        updated_at: Its last change: recorded, or its ticket moved or was commented.
        closed_at: When its ticket closed, if it is closed.
    """

    id: int
    learning_id: int | None
    item: ActionItem
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None

    @property
    def status(self) -> ActionItemStatus:
        """open or closed."""
        return self.item.status

    @property
    def ticket(self) -> TicketRef | None:
        """Its ticket, once filed."""
        return self.item.ticket

    def overdue(self, at: datetime) -> bool:
        """Open, with a due date before `at`'s (UTC) date."""
        due = self.item.due
        return self.status is ActionItemStatus.OPEN and due is not None and due < at.date()

    def stale(self, at: datetime, after: timedelta) -> bool:
        """Open, with no update for `after` at `at`."""
        return self.status is ActionItemStatus.OPEN and at - self.updated_at >= after


@dataclass(frozen=True, slots=True)
class RecordedLearning:
    """A learning in the store, with its action items as tracked.

    `new` is False when the same learning had been recorded before (nothing changed
    but routing items that had not been routed yet).
    """

    id: int
    learning: Learning
    action_items: tuple[TrackedActionItem, ...]
    new: bool


def _tracked(row: Mapping[str, Any]) -> TrackedActionItem:
    data = dict(row["data"] or {})
    data["status"] = row["status"]
    if row.get("link_key"):
        data["ticket"] = TicketRef(
            tracker=row["link_tracker"],
            key=row["link_key"],
            url=row["link_url"],
            status=TicketStatus.CLOSED if row["link_status"] == "closed" else TicketStatus.OPEN,
        ).model_dump(mode="json")
    return TrackedActionItem(
        id=int(row["id"]),
        learning_id=row["learning_id"],
        item=ActionItem.model_validate(data),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        closed_at=row["closed_at"],
    )


def tracked_action_items(
    store: Store, *, learning_id: int | None = None, status: str | None = None
) -> list[TrackedActionItem]:
    """Action items in the store, oldest first."""
    return [_tracked(r) for r in store.action_item_rows(learning_id=learning_id, status=status)]


def action_item_signal(
    item: ActionItem,
    *,
    item_id: int,
    learning_id: int,
    learning: Learning,
    at: datetime,
    incidents: Sequence[Incident] = (),
) -> Signal:
    """The signal that carries an action item through the rules.

    Its fingerprint is the item's own (`action-item:<id>`), so every item gets its
    own ticket; its service and `team` label come from the first incident it is
    about; labels carry the owner, due date, incident, learning and themes.
    """
    incident = incidents[0] if incidents else None
    labels = {"learning": str(learning_id), "action_item": str(item_id)}
    if item.owner:
        labels["owner"] = item.owner
    if item.due:
        labels["due"] = item.due.isoformat()
    if incident is not None:
        labels["incident"] = incident.id
        if "team" in incident.labels:
            labels["team"] = incident.labels["team"]
    if learning.themes:
        labels["themes"] = ", ".join(learning.themes)
    return Signal(
        source=POSTMORTEM_SOURCE,
        kind=SignalKind.ACTION_ITEM,
        title=item.title,
        service=incident.service if incident else None,
        environment=None,
        severity=item.priority,
        fingerprint=f"action-item:{item_id}",
        occurred_at=at,
        labels=labels,
        external_id=f"action-item-{item_id}",
    )


def _learning_data(learning: Learning) -> dict[str, Any]:
    return learning.model_dump(mode="json", exclude={"recorded_at"})


async def record_learning(loop: AsyncFeedbackLoop, learning: Learning) -> RecordedLearning:
    """Record `learning` and route each of its open, unfiled action items through the rules.

    Recording the same learning again (same content) returns the stored one and only
    routes items that were not routed yet (after a crash, say).
    """
    at = learning.recorded_at or loop.clock()
    items = [
        {
            "title": item.title,
            "owner": item.owner,
            "due": item.due.isoformat() if item.due else None,
            "status": item.status.value,
            "data": item.model_dump(mode="json"),
        }
        for item in learning.action_items
    ]
    learning_id, new = loop.store.save_learning(_learning_data(learning), items, at=at)
    with loop.store.transaction() as tx:
        incidents = [
            found
            for ref in dict.fromkeys(
                [*learning.incident_ids, *(o for i in learning.action_items for o in i.origin)]
            )
            if (found := tx.incident(ref)) is not None
        ]
    for row in loop.store.action_item_rows(learning_id=learning_id):
        tracked = _tracked(row)
        if row["link_id"] is not None or tracked.ticket is not None or row["status"] != "open":
            continue
        own = [i for i in incidents if i.id in tracked.item.origin] or incidents
        signal = action_item_signal(
            tracked.item,
            item_id=tracked.id,
            learning_id=learning_id,
            learning=learning,
            at=tracked.created_at,
            incidents=own,
        )
        outcome = await loop.ingest(signal)
        link_id = loop.store.signal_link(outcome.event_key)
        if link_id is not None:
            loop.store.update_action_item(tracked.id, link_id=link_id)
    return RecordedLearning(
        id=learning_id,
        learning=learning.model_copy(update={"recorded_at": at}),
        action_items=tuple(tracked_action_items(loop.store, learning_id=learning_id)),
        new=new,
    )


def follow_ticket_change(
    tx: StoreTransaction, change: TicketChange, link: TicketLink | None
) -> int:
    """Move the action items whose ticket moved; returns how many changed.

    Closed: the item closes (whatever the resolution). Reopened: it opens again.
    Anything else (a comment, say) counts as an update, so the item is not stale.
    """
    moved = 0
    link_id = None if link is None else link.id
    for row in tx.action_items_for_ticket(link_id):
        ticket = (row["data"] or {}).get("ticket") or {}
        filed = ticket.get("tracker") == change.tracker and ticket.get("key") == change.key
        if not ((link_id is not None and row["link_id"] == link_id) or filed):
            continue
        at = max(row["updated_at"], change.occurred_at)
        data = dict(row["data"] or {})
        values: dict[str, Any] = {"updated_at": at}
        if change.change is TicketChangeKind.CLOSED and row["status"] != "closed":
            values |= {"status": "closed", "closed_at": change.occurred_at}
            data["status"] = "closed"
        elif change.change is TicketChangeKind.REOPENED and row["status"] == "closed":
            values |= {"status": "open", "closed_at": None}
            data["status"] = "open"
        values["data"] = data
        tx.update_action_item(int(row["id"]), **values)
        moved += 1
    return moved


def _nudge_payload(
    item: TrackedActionItem, notify: Notify, reason: str, at: datetime
) -> dict[str, Any]:
    ticket = item.ticket
    fields = {"reason": reason}
    if item.item.owner:
        fields["owner"] = item.item.owner
    if item.item.due:
        fields["due"] = item.item.due.isoformat()
    if ticket is not None:
        fields["ticket"] = ticket.key
    idle = (at - item.updated_at).days
    why = (
        f"was due {item.item.due.isoformat()}"
        if reason == "overdue" and item.item.due
        else f"has had no update for {idle} days"
    )
    return {
        "notifier": notify.notifier,
        "channel": notify.channel,
        "title": f"Action item {reason}: {item.item.title}",
        "text": f"The postmortem action item *{item.item.title}* {why}.",
        "url": ticket.url if ticket else None,
        "severity": item.item.priority.value,
        "fields": fields,
    }


async def nudge_action_items(
    loop: AsyncFeedbackLoop,
    notify: Notify | str,
    *,
    stale_after: timedelta = timedelta(days=14),
    at: datetime | None = None,
) -> list[TrackedActionItem]:
    """Send a nudge for each overdue or stale open action item; returns those nudged.

    Each nudge is a notify effect through the outbox (retried, dead-lettered like
    any other), planned at most once per item and day, so a scheduler may run this
    as often as it likes.

    Raises:
        ConfigurationError: the notifier is not one of the loop's.
    """
    action = Notify(notify) if isinstance(notify, str) else notify
    if action.notifier not in loop.notifiers:
        known = ", ".join(sorted(loop.notifiers)) or "none"
        raise ConfigurationError(
            f"no notifier named {action.notifier!r} in this loop (configured: {known})"
        )
    now = at or loop.clock()
    nudged: list[TrackedActionItem] = []
    effect_ids: list[int] = []
    day: date = now.date()
    candidates = tracked_action_items(loop.store, status="open")
    with loop.store.transaction() as tx:
        for item in candidates:
            reason = (
                "overdue"
                if item.overdue(now)
                else "stale"
                if item.stale(now, stale_after)
                else None
            )
            if reason is None:
                continue
            nudged.append(item)
            effect_id = tx.add_effect(
                f"nudge:{item.id}:{day.isoformat()}",
                "notify",
                _nudge_payload(item, action, reason, now),
                now=now,
            )
            if effect_id is not None:
                effect_ids.append(effect_id)
    await loop._run(effect_ids)
    return nudged
