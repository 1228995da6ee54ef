"""Reading a `History` from the store: the only place insights touch the database."""

from __future__ import annotations

from bisect import bisect_left
from datetime import date, datetime

from feedbackloop._models import Incident
from feedbackloop.insights._figures import Options
from feedbackloop.insights._records import (
    ActionItemRecord,
    Closure,
    History,
    IncidentRecord,
    SignalRecord,
    TicketRecord,
)
from feedbackloop.store import Store, TicketLink

__all__ = ["read_history"]


def read_history(store: Store, *, since: datetime, until: datetime, options: Options) -> History:
    """What the figures for `[since, until)` need, read from `store`.

    Signals are read from `since` to a little past `until`, so that an alert near the
    end of the period can still be seen resolving by itself. Incidents, tickets, their
    closures and action items are read whole: the figures choose among them.
    """
    incidents = store.incidents()
    escalated = {key for key, _, _ in store.signal_effects("escalate")}
    signals = tuple(
        SignalRecord(
            occurred_at=row["occurred_at"],
            fingerprint=row["fingerprint"],
            theme=row["theme"],
            kind=row["kind"],
            status=row["status"],
            source=row["source"],
            service=row["service"],
            team=(row["labels"] or {}).get("team"),
            link_id=row["link_id"],
            escalated=row["event_key"] in escalated,
        )
        for row in store.signal_rows(since=since, until=until + options.self_resolve_within)
    )
    return History(
        incidents=tuple(_incident(incident) for incident in incidents),
        signals=signals,
        tickets=_tickets(store),
        action_items=_action_items(store, {i.id: i for i in incidents}),
        # Every closure, the ones before a reopening included (a link keeps its last).
        closures=tuple(Closure(c.link_id, c.closed_at, c.resolution) for c in store.closures()),
    )


def _incident(incident: Incident) -> IncidentRecord:
    return IncidentRecord(
        id=incident.id,
        created_at=incident.created_at,
        acknowledged_at=incident.acknowledged_at,
        resolved_at=incident.resolved_at,
        service=incident.service,
        team=incident.labels.get("team"),
        source=incident.source,
    )


def _tickets(store: Store) -> tuple[TicketRecord, ...]:
    links = store.links()
    by_id = {link.id: link for link in links}
    origins = store.link_origins()
    times = store.signal_times([link.fingerprint for link in links if link.closed_at])
    found = []
    for link in links:
        origin = origins.get(link.id, {})
        found.append(
            TicketRecord(
                id=link.id,
                fingerprint=link.fingerprint,
                theme=link.theme,
                opened_at=link.first_seen_at,
                closed_at=link.closed_at,
                resolution=link.resolution,
                created=link.key is not None,
                key=link.key,
                first_signal_at=_first_signal(link, by_id, times.get(link.fingerprint, [])),
                service=origin.get("service", link.fields.get("service")),
                team=origin.get("labels", {}).get("team"),
                source=origin.get("source", link.origin_source),
            )
        )
    return tuple(found)


def _first_signal(
    link: TicketLink, by_id: dict[int, TicketLink], times: list[datetime]
) -> datetime:
    """The problem's first signal since the previous ticket of its group closed."""
    previous = by_id.get(link.previous_id) if link.previous_id is not None else None
    after = previous.closed_at if previous is not None else None
    index = 0 if after is None else bisect_left(times, after)
    first = times[index] if index < len(times) else link.first_seen_at
    return min(first, link.first_seen_at)


def _action_items(store: Store, incidents: dict[str, Incident]) -> tuple[ActionItemRecord, ...]:
    found = []
    for row in store.action_item_rows():
        data = row["data"] or {}
        origin = next((incidents[ref] for ref in data.get("origin", ()) if ref in incidents), None)
        ticket = row["link_key"] or (data.get("ticket") or {}).get("key")
        found.append(
            ActionItemRecord(
                id=int(row["id"]),
                title=row["title"],
                created_at=row["created_at"],
                updated_at=row["updated_at"],
                closed_at=row["closed_at"],
                due=date.fromisoformat(row["due"]) if row["due"] else None,
                owner=row["owner"],
                ticket=ticket,
                service=origin.service if origin else None,
                team=origin.labels.get("team") if origin else None,
                source=origin.source if origin else None,
            )
        )
    return tuple(found)
