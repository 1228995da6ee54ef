"""The built-in local tracker: tickets kept in feedbackloop's own store.

For the demo, for tests, and for teams that want the loop's lifecycle before they
connect Jira or GitHub. It behaves like any tracker (same protocol, same lifecycle);
its tickets are keyed `LOCAL-1`, `LOCAL-2`… and live in the store's database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from feedbackloop._models import TicketRef, TicketStatus
from feedbackloop.connectors import TicketDraft, TicketState
from feedbackloop.connectors._markdown import ticket_markdown
from feedbackloop.errors import ConfigurationError, NotFoundError
from feedbackloop.store import Store
from feedbackloop.store import _schema as s

__all__ = ["LocalTicket", "LocalTracker"]


@dataclass(frozen=True, slots=True)
class LocalTicket:
    """A ticket of the local tracker, with its comments."""

    key: str
    title: str
    body: str
    labels: tuple[str, ...]
    status: TicketStatus
    resolution: str | None
    marker: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    comments: tuple[str, ...]


class LocalTracker:
    """A tracker whose tickets live in the store.

    Args:
        store: the store to keep tickets in; by default the store of the loop the
            tracker is given to.
        project: the key prefix (`LOCAL` gives `LOCAL-1`).
        separator: between prefix and number: `-` (Jira-like `OPS-1`), or `#` with a
            repository as project for GitHub-like keys (`acme/postmortems#1`).
        name: the tracker's name in the loop.
        clock: returns the current time (for tests); UTC now by default.
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        project: str = "LOCAL",
        separator: str = "-",
        name: str = "local",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.name = name
        self.project = project
        self.separator = separator
        self._store = store
        self._clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"LocalTracker(project={self.project!r}, name={self.name!r})"

    def attach(self, store: Store) -> None:
        """Use `store` unless the tracker was given one (the loop calls this)."""
        if self._store is None:
            self._store = store

    @property
    def store(self) -> Store:
        """The store the tickets live in."""
        if self._store is None:
            raise ConfigurationError(
                "LocalTracker has no store: pass one, or give the tracker to a FeedbackLoop"
            )
        return self._store

    # --- the Tracker protocol ---------------------------------------------------------

    async def find(self, marker: str, *, fields: Mapping[str, Any]) -> TicketRef | None:
        """The newest ticket carrying `marker`."""
        t = s.local_tickets
        with self.store.transaction() as tx:
            row = tx.connection.execute(
                select(t.c.id, t.c.status)
                .where(t.c.marker == marker, t.c.project == self.project)
                .order_by(t.c.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return self._ref(row.id, row.status)

    async def create(self, draft: TicketDraft) -> TicketRef:
        """Create a ticket from the draft."""
        now = self._clock()
        with self.store.transaction() as tx:
            ticket_id = tx.connection.execute(
                insert(s.local_tickets)
                .values(
                    project=self.project,
                    title=draft.title,
                    body=draft.body,
                    labels=list(draft.labels),
                    fields=_jsonable(draft.fields),
                    marker=draft.marker,
                    status="open",
                    created_at=now,
                    updated_at=now,
                )
                .returning(s.local_tickets.c.id)
            ).scalar_one()
        return self._ref(int(ticket_id), "open")

    async def comment(self, key: str, body: str) -> None:
        """Add a comment."""
        ticket_id = self._id(key)
        now = self._clock()
        with self.store.transaction() as tx:
            self._require(tx.connection, ticket_id, key)
            tx.connection.execute(
                insert(s.local_comments).values(ticket_id=ticket_id, body=body, created_at=now)
            )
            tx.connection.execute(
                update(s.local_tickets)
                .where(s.local_tickets.c.id == ticket_id)
                .values(updated_at=now)
            )

    async def close(self, key: str, *, resolution: str | None = None) -> None:
        """Close the ticket, with `resolution` (default `completed`)."""
        now = self._clock()
        self._set(key, status="closed", resolution=resolution or "completed", closed_at=now)

    async def reopen(self, key: str) -> None:
        """Reopen the ticket."""
        self._set(key, status="open", resolution=None, closed_at=None)

    async def state(self, key: str) -> TicketState:
        """The ticket's status and resolution."""
        ticket = self.ticket(key)
        ref = TicketRef(tracker=self.name, key=key, status=ticket.status)
        return TicketState(ref=ref, resolution=ticket.resolution)

    # --- reading tickets --------------------------------------------------------------

    async def read(self, key: str) -> str:
        """The ticket's title as a `# ` heading, then its body (`TicketReader`).

        Raises:
            NotFoundError: no ticket has this key.
        """
        ticket = self.ticket(key)
        return ticket_markdown(ticket.title, ticket.body)

    def ticket(self, key: str) -> LocalTicket:
        """One ticket with its comments.

        Raises:
            NotFoundError: no ticket has this key.
        """
        ticket_id = self._id(key)
        with self.store.transaction() as tx:
            row = self._require(tx.connection, ticket_id, key)
            comments = tx.connection.execute(
                select(s.local_comments.c.body)
                .where(s.local_comments.c.ticket_id == ticket_id)
                .order_by(s.local_comments.c.id)
            ).scalars()
            return _ticket(key, row, tuple(comments))

    def tickets(self) -> list[LocalTicket]:
        """Every ticket of this tracker's project, oldest first."""
        t = s.local_tickets
        with self.store.transaction() as tx:
            rows = tx.connection.execute(
                select(t).where(t.c.project == self.project).order_by(t.c.id)
            ).all()
            counts: dict[int, list[str]] = {}
            for ticket_id, body in tx.connection.execute(
                select(s.local_comments.c.ticket_id, s.local_comments.c.body).order_by(
                    s.local_comments.c.id
                )
            ):
                counts.setdefault(ticket_id, []).append(body)
        return [_ticket(self._key(row.id), row, tuple(counts.get(row.id, ()))) for row in rows]

    # --- helpers ------------------------------------------------------------------------

    def _ref(self, ticket_id: int, status: str) -> TicketRef:
        return TicketRef(
            tracker=self.name,
            key=self._key(ticket_id),
            url=f"local://{self._key(ticket_id)}",
            status=TicketStatus(status),
        )

    def _key(self, ticket_id: int) -> str:
        return f"{self.project}{self.separator}{ticket_id}"

    def _id(self, key: str) -> int:
        prefix, _, number = key.rpartition(self.separator)
        if prefix != self.project or not number.isdigit():
            raise NotFoundError(
                f"no local ticket {key!r}: keys look like {self._key(1)}",
                status_code=404,
                connector=self.name,
            )
        return int(number)

    def _require(self, connection: Any, ticket_id: int, key: str) -> Any:
        row = connection.execute(
            select(s.local_tickets).where(
                s.local_tickets.c.id == ticket_id, s.local_tickets.c.project == self.project
            )
        ).first()
        if row is None:
            raise NotFoundError(f"no local ticket {key!r}", status_code=404, connector=self.name)
        return row

    def _set(self, key: str, **values: Any) -> None:
        ticket_id = self._id(key)
        with self.store.transaction() as tx:
            self._require(tx.connection, ticket_id, key)
            tx.connection.execute(
                update(s.local_tickets)
                .where(s.local_tickets.c.id == ticket_id)
                .values(updated_at=self._clock(), **values)
            )


def _ticket(key: str, row: Any, comments: tuple[str, ...]) -> LocalTicket:
    return LocalTicket(
        key=key,
        title=row.title,
        body=row.body,
        labels=tuple(row.labels),
        status=TicketStatus(row.status),
        resolution=row.resolution,
        marker=row.marker,
        created_at=row.created_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
        comments=comments,
    )


def _jsonable(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value
        if isinstance(value, str | int | float | bool | None | list | dict)
        else str(value)
        for key, value in fields.items()
    }
