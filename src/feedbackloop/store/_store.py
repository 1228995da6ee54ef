"""The store: one implementation over SQLAlchemy Core for SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Integer,
    Row,
    and_,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.elements import ColumnElement

from feedbackloop._models import Incident, Signal
from feedbackloop.errors import ConfigurationError, StoreError
from feedbackloop.fingerprint import theme_of
from feedbackloop.store import _schema as s
from feedbackloop.store import _windows as windows
from feedbackloop.store._bulk import Bulk
from feedbackloop.store._migrations import upgrade
from feedbackloop.store._records import DeadLetter, Delivery, Effect, TicketClosure, TicketLink

__all__ = ["DEFAULT_STORE_URL", "Store", "StoreTransaction"]

DEFAULT_STORE_URL = "sqlite:///feedbackloop.db"
"""Where the store lives when no URL is given: a SQLite file in the working directory."""


_SUPPORTED_URLS = (
    "sqlite:///path.db, sqlite:// (in memory), or postgresql://user@host/db "
    "(also spelled postgres:// or postgresql+psycopg://)"
)
"""The store URLs `Store` accepts, for error messages."""

_POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "postgresql+psycopg"})
"""PostgreSQL URL schemes opened with psycopg 3: `postgres://` is how Heroku, Render
and Supabase hand out their URLs (SQLAlchemy itself no longer knows it)."""


def _engine_for(url: str) -> Engine:
    # hide_parameters: a database error's message never carries row values (webhook
    # bodies, ticket fields) into the logs.
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(f"not a store URL: {url!r}; use {_SUPPORTED_URLS}") from None
    if parsed.drivername in _POSTGRES_SCHEMES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+pysqlite")
        in_memory = parsed.database in (None, "", ":memory:")
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
            poolclass=StaticPool if in_memory else None,
            hide_parameters=True,
        )
        _use_immediate_transactions(engine, wal=not in_memory)
        return engine
    if backend == "postgresql":
        engine = create_engine(
            parsed, pool_pre_ping=True, pool_size=5, max_overflow=5, hide_parameters=True
        )
        event.listen(engine, "before_cursor_execute", _without_nul, retval=True)
        return engine
    raise ConfigurationError(
        f"unsupported store {backend!r} in {parsed.render_as_string(hide_password=True)}; "
        f"feedbackloop stores in SQLite or PostgreSQL: {_SUPPORTED_URLS}"
    )


def _without_nul(
    connection: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> tuple[str, Any]:
    """PostgreSQL's text cannot hold NUL, which vendor JSON can (`"\\u0000"`): a NUL in
    a text parameter is stored as U+FFFD, so that such a value cannot fail its whole
    batch (lookups are replaced alike, so they still find it)."""
    if executemany and isinstance(parameters, list | tuple):
        return statement, [_nul_free(row) for row in parameters]
    return statement, _nul_free(parameters)


def _nul_free(parameters: Any) -> Any:
    values = parameters.values() if isinstance(parameters, dict) else parameters
    if not isinstance(values, Iterable) or not any(
        isinstance(value, str) and "\x00" in value for value in values
    ):
        return parameters  # the usual case: nothing copied
    if isinstance(parameters, dict):
        return {key: _replace_nul(value) for key, value in parameters.items()}
    return type(parameters)(_replace_nul(value) for value in parameters)


def _replace_nul(value: Any) -> Any:
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


_CASELESS_KEY = re.compile(r"[\w.-]+/[\w.-]+#\d+|[A-Za-z][A-Za-z0-9_]*-\d+")
"""Ticket keys as GitHub (`owner/repo#7`) and Jira (`OPS-12`) write them: caseless."""


def _as_stored(dialect: str, text: str) -> str:
    """`text` as the database gives it back (what `RETURNING` answers is matched with)."""
    return _replace_nul(text) if dialect == "postgresql" else text  # see _without_nul


def _use_immediate_transactions(engine: Engine, *, wal: bool) -> None:
    # pysqlite's deferred transactions deadlock when two writers upgrade their locks;
    # BEGIN IMMEDIATE takes the write lock up front, and busy_timeout waits for it.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _signal_row(
    event_key: str,
    signal: Signal,
    now: datetime,
    *,
    rules: Sequence[str] = (),
    outcome: str = "pending",
    link_id: int | None = None,
) -> dict[str, Any]:
    """The `signals` row of a recorded signal."""
    return {
        "event_key": event_key,
        "source": signal.source,
        "kind": signal.kind.value,
        "title": signal.title,
        "service": signal.service,
        "environment": signal.environment,
        "severity": signal.severity.value,
        "status": signal.status.value,
        "fingerprint": signal.fingerprint,
        "theme": theme_of(signal.title),
        "external_id": signal.external_id,
        "url": signal.url,
        "labels": dict(signal.labels),
        "occurred_at": signal.occurred_at,
        "recorded_at": now,
        "rules": list(rules),
        "outcome": outcome,
        "link_id": link_id,
    }


class Store:
    """Durable state of the loop: inbox, window counters, ticket links, outbox, history.

    Args:
        url: `sqlite:///path.db` (the default, a file), `sqlite://` (in memory, for
            tests and experiments) or `postgresql://user@host/db` (several workers;
            `postgres://` and `postgresql+psycopg://` are the same).

    The schema is created or upgraded when the store opens. Every method is one
    transaction; `transaction()` groups several steps into one.
    """

    def __init__(self, url: str = DEFAULT_STORE_URL) -> None:
        self.url = url
        self.engine = _engine_for(url)
        self.dialect = self.engine.dialect.name
        # SQLite allows one writer; serialising in-process writers avoids busy waits.
        self._lock: Any = threading.RLock() if self.dialect == "sqlite" else nullcontext()
        try:
            upgrade(self.engine)
        except DBAPIError as exc:  # unreachable, or a file that is not a database
            raise StoreError(f"cannot open the store at {self._safe_url}: {_reason(exc)}") from exc

    @property
    def _safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"Store({self._safe_url!r})"

    def close(self) -> None:
        """Release the store's connections."""
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        """Run several steps in one transaction: all of them happen, or none."""
        with self._lock:
            try:
                with self.engine.begin() as connection:
                    yield StoreTransaction(connection)
            except (OperationalError, IntegrityError):
                raise
            except SQLAlchemyError as exc:
                raise StoreError(f"store error: {_reason(exc)}") from exc

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            with self._lock, self.engine.connect() as connection:
                connection.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    # --- the inbox ------------------------------------------------------------------

    def put_delivery(
        self,
        source: str,
        delivery_id: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        now: datetime,
    ) -> tuple[int, bool]:
        """Persist a delivery; returns its row id and whether it is new.

        A redelivery (same source and delivery id) changes nothing.
        """
        [result] = self.put_deliveries([(source, delivery_id, headers, body)], now=now)
        return result

    def put_deliveries(
        self,
        deliveries: Sequence[tuple[str, str, Mapping[str, str], bytes]],
        *,
        now: datetime,
    ) -> list[tuple[int, bool]]:
        """Persist (source, delivery id, headers, body) deliveries in one transaction.

        Returns each one's row id and whether it is new, in order. A redelivery (the same
        source and delivery id, before or within the batch) changes nothing. One commit
        for many deliveries is what lets the webhook app answer many vendors at once.

        A delivery id longer than the inbox keeps (200 characters) is kept as its
        SHA-256, which still tells redeliveries apart.

        Raises:
            StoreError: the database failed (locked past its timeout, full, broken).
        """
        d = s.deliveries
        # In the form the database answers with, so that its answers match the rows.
        deliveries = [
            (_as_stored(self.dialect, src), _as_stored(self.dialect, _fitting(i)), headers, body)
            for src, i, headers, body in deliveries
        ]
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for source, delivery_id, headers, body in deliveries:
            rows.setdefault(
                (source, delivery_id),
                {
                    "source": source,
                    "delivery_id": delivery_id,
                    "received_at": now,
                    "headers": dict(headers),
                    "body": body,
                    "status": "pending",
                    "attempts": 0,
                },
            )
        try:
            with self.transaction() as tx:
                fresh = {
                    (source, delivery_id): int(row_id)
                    for row_id, source, delivery_id in _INSERT_DELIVERIES.returning(
                        tx.connection, list(rows.values())
                    )
                }
                known = dict(fresh)
                for source, delivery_id in [key for key in rows if key not in known]:
                    known[source, delivery_id] = int(
                        tx.connection.execute(
                            select(d.c.id).where(
                                d.c.source == source, d.c.delivery_id == delivery_id
                            )
                        ).scalar_one()
                    )
        except (OperationalError, IntegrityError) as exc:
            # Nobody retries a delivery here but the vendor: say the store failed.
            raise StoreError(f"cannot save the deliveries: {_reason(exc)}") from exc
        results = []
        for source, delivery_id, _, _ in deliveries:
            key = (source, delivery_id)
            results.append((known[key], fresh.pop(key, None) is not None))
        return results

    def claim_deliveries(
        self,
        *,
        now: datetime,
        lease: timedelta,
        limit: int = 50,
        ids: Sequence[int] | None = None,
    ) -> list[Delivery]:
        """Lease up to `limit` pending deliveries (all, or only `ids`), oldest first.

        A leased delivery is invisible to other workers until the lease ends, so a
        worker that dies mid-way leaves its deliveries to be claimed again.
        """
        values: dict[str, Any] = {"b_now": now, "b_until": now + lease, "b_limit": limit}
        statement = _CLAIM_DELIVERIES
        if ids is not None:
            statement, values["b_ids"] = _CLAIM_DELIVERIES_BY_ID, list(ids)
        with self.transaction() as tx:
            rows = tx.connection.execute(statement, values).all()
        return sorted((_delivery(row) for row in rows), key=lambda delivery: delivery.id)

    def finish_deliveries(self, delivery_ids: Sequence[int], *, now: datetime) -> None:
        """Mark deliveries processed (`done`), in one statement."""
        if delivery_ids:
            self._finish_deliveries(delivery_ids, now=now, error=None)

    def finish_delivery(self, delivery_id: int, *, now: datetime, error: str | None = None) -> None:
        """Mark a delivery processed (`done`), or `failed` with the reason."""
        self._finish_deliveries([delivery_id], now=now, error=error)

    def _finish_deliveries(
        self, delivery_ids: Sequence[int], *, now: datetime, error: str | None
    ) -> None:
        values = {"status": "failed" if error else "done", "processed_at": now, "error": error}
        with self.transaction() as tx:
            tx.connection.execute(_FINISH_DELIVERIES, {"b_ids": list(delivery_ids), **values})

    def deliveries(self, *, status: str | None = None, source: str | None = None) -> list[Delivery]:
        """Deliveries in the inbox, oldest first, optionally filtered."""
        d = s.deliveries
        query = select(d).order_by(d.c.id)
        if status is not None:
            query = query.where(d.c.status == status)
        if source is not None:
            query = query.where(d.c.source == source)
        with self.transaction() as tx:
            return [_delivery(row) for row in tx.connection.execute(query)]

    def inbox_backlog(self) -> tuple[int, datetime | None]:
        """How many deliveries wait, and when the oldest of them arrived."""
        d = s.deliveries
        with self.transaction() as tx:
            count, oldest = tx.connection.execute(
                select(func.count(), func.min(d.c.received_at)).where(d.c.status == "pending")
            ).one()
        # min() keeps the column's type: `oldest` is already an aware datetime.
        return int(count), oldest

    # --- the outbox -----------------------------------------------------------------

    def claim_effects(
        self,
        *,
        now: datetime,
        lease: timedelta,
        limit: int = 50,
        ids: Sequence[int] | None = None,
    ) -> list[Effect]:
        """Lease pending effects (all, or only `ids`), oldest first."""
        values = {"b_now": now, "b_until": now + lease, "b_limit": limit, "b_updated": now}
        statement = _CLAIM_EFFECTS
        if ids is not None:
            statement, values["b_ids"] = _CLAIM_EFFECTS_BY_ID, list(ids)
        with self.transaction() as tx:
            rows = tx.connection.execute(statement, values).all()
        return sorted((_effect(row) for row in rows), key=lambda effect: effect.id)

    def finish_effect(self, effect_id: int, *, now: datetime) -> None:
        """Mark an effect done."""
        with self.transaction() as tx:
            tx.finish_effect(effect_id, now=now)

    def release_effect(
        self, effect_id: int, *, now: datetime, error: str, retry_at: datetime | None = None
    ) -> None:
        """Give an effect back to the queue after a failure worth retrying later.

        With `retry_at` (the wait a vendor asked for), no worker claims it before then.
        """
        with self.transaction() as tx:
            tx.connection.execute(
                update(s.outbox)
                .where(s.outbox.c.id == effect_id)
                .values(lease_until=retry_at, updated_at=now, last_error=error)
            )

    def bury_effect(
        self,
        effect: Effect,
        *,
        now: datetime,
        error: str,
        error_type: str,
        status_code: int | None = None,
    ) -> int:
        """Move an effect that failed for good to the dead letters; returns the letter id."""
        with self.transaction() as tx:
            tx.connection.execute(
                update(s.outbox)
                .where(s.outbox.c.id == effect.id)
                .values(status="dead", lease_until=None, updated_at=now, last_error=error)
            )
            letter = tx.connection.execute(
                insert(s.dead_letters)
                .values(
                    outbox_id=effect.id,
                    kind=effect.kind,
                    payload=effect.payload,
                    error=error,
                    error_type=error_type,
                    status_code=status_code,
                    failed_at=now,
                )
                .returning(s.dead_letters.c.id)
            ).scalar_one()
        return int(letter)

    def effects(self, *, status: str | None = None) -> list[Effect]:
        """Effects in the outbox, oldest first."""
        query = select(s.outbox).order_by(s.outbox.c.id)
        if status is not None:
            query = query.where(s.outbox.c.status == status)
        with self.transaction() as tx:
            return [_effect(row) for row in tx.connection.execute(query)]

    def dead_letters(self, *, include_retried: bool = False) -> list[DeadLetter]:
        """Effects that failed for good, newest last; retried ones only when asked."""
        query = select(s.dead_letters).order_by(s.dead_letters.c.id)
        if not include_retried:
            query = query.where(s.dead_letters.c.retried_at.is_(None))
        with self.transaction() as tx:
            return [_dead_letter(row) for row in tx.connection.execute(query)]

    def requeue_dead_letter(self, letter_id: int, *, now: datetime) -> int | None:
        """Put a dead letter's effect back in the outbox; returns the effect id.

        None when the letter does not exist or was already retried.
        """
        letters = s.dead_letters
        with self.transaction() as tx:
            outbox_id = tx.connection.execute(
                update(letters)
                .where(letters.c.id == letter_id, letters.c.retried_at.is_(None))
                .values(retried_at=now)
                .returning(letters.c.outbox_id)
            ).scalar_one_or_none()
            if outbox_id is None:
                return None
            tx.connection.execute(
                update(s.outbox)
                .where(s.outbox.c.id == outbox_id)
                .values(status="pending", lease_until=None, attempts=0, updated_at=now)
            )
        return int(outbox_id)

    # --- ticket links ---------------------------------------------------------------

    def links(
        self,
        *,
        status: str | None = None,
        tracker: str | None = None,
        rule: str | None = None,
    ) -> list[TicketLink]:
        """Ticket links, oldest first, optionally filtered."""
        t = s.ticket_links
        query = select(t).order_by(t.c.id)
        for column, value in ((t.c.status, status), (t.c.tracker, tracker), (t.c.rule, rule)):
            if value is not None:
                query = query.where(column == value)
        with self.transaction() as tx:
            return [_link(row) for row in tx.connection.execute(query)]

    def link(self, link_id: int) -> TicketLink | None:
        """One ticket link by id."""
        with self.transaction() as tx:
            return tx.link(link_id)

    def link_for_ticket(self, tracker: str, key: str) -> TicketLink | None:
        """The link of ticket `key` in `tracker`, if the loop made it."""
        with self.transaction() as tx:
            return tx.link_for_ticket(tracker, key)

    def closures(self, *, link_id: int | None = None) -> list[TicketClosure]:
        """Every closure of the linked tickets (or of one link), oldest first.

        A link's `closed_at` is only its current closure; these rows keep the earlier
        ones across reopenings.
        """
        c = s.ticket_closures
        query = select(c).order_by(c.c.closed_at, c.c.id)
        if link_id is not None:
            query = query.where(c.c.link_id == link_id)
        with self.transaction() as tx:
            return [TicketClosure(**row._mapping) for row in tx.connection.execute(query)]

    # --- history --------------------------------------------------------------------

    def incidents(self) -> list[Incident]:
        """Every incident recorded, oldest first."""
        query = select(s.incidents.c.data).order_by(s.incidents.c.created_at)
        with self.transaction() as tx:
            return [Incident.model_validate(row.data) for row in tx.connection.execute(query)]

    def signal_rows(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Recorded signals with their outcome, oldest first, as dicts."""
        t = s.signals
        query = select(t).order_by(t.c.occurred_at, t.c.id)
        if since is not None:
            query = query.where(t.c.occurred_at >= since)
        if until is not None:
            query = query.where(t.c.occurred_at < until)
        with self.transaction() as tx:
            return [dict(row._mapping) for row in tx.connection.execute(query)]

    # --- insights -------------------------------------------------------------------

    def signal_effects(self, kind: str) -> list[tuple[str, datetime, dict[str, Any]]]:
        """Effects of `kind` planned for recorded signals: (event key, occurred_at, payload).

        An effect planned for a signal has the key `<event key>:<rule>:<index>`.
        """
        with self.transaction() as tx:
            effects = tx.connection.execute(
                select(s.outbox.c.effect_key, s.outbox.c.payload).where(s.outbox.c.kind == kind)
            ).all()
            prefixes = {
                effect_key: [effect_key[:i] for i, c in enumerate(effect_key) if c == ":"]
                for effect_key, _ in effects
            }
            wanted = {prefix for found in prefixes.values() for prefix in found}
            times: dict[str, datetime] = {}
            candidates = sorted(wanted)
            for start in range(0, len(candidates), 500):
                chunk = candidates[start : start + 500]
                times.update(
                    tx.connection.execute(
                        select(s.signals.c.event_key, s.signals.c.occurred_at).where(
                            s.signals.c.event_key.in_(chunk)
                        )
                    ).all()
                )
        found = []
        for effect_key, payload in effects:
            for prefix in reversed(prefixes[effect_key]):
                if prefix in times:
                    found.append((prefix, times[prefix], dict(payload)))
                    break
        return found

    def link_origins(self) -> dict[int, dict[str, Any]]:
        """The first signal counted towards each link: its source, service and labels."""
        t = s.signals
        first = (
            select(func.min(t.c.id)).where(t.c.link_id.is_not(None)).group_by(t.c.link_id)
        ).scalar_subquery()
        query = select(t.c.link_id, t.c.source, t.c.service, t.c.labels).where(t.c.id.in_(first))
        with self.transaction() as tx:
            return {
                int(row.link_id): {
                    "source": row.source,
                    "service": row.service,
                    "labels": dict(row.labels or {}),
                }
                for row in tx.connection.execute(query)
            }

    def signal_times(self, fingerprints: Sequence[str]) -> dict[str, list[datetime]]:
        """When signals of each fingerprint occurred, oldest first."""
        t = s.signals
        found: dict[str, list[datetime]] = {}
        unique = sorted(set(fingerprints))
        with self.transaction() as tx:
            for start in range(0, len(unique), 500):
                query = (
                    select(t.c.fingerprint, t.c.occurred_at)
                    .where(t.c.fingerprint.in_(unique[start : start + 500]))
                    .order_by(t.c.occurred_at)
                )
                for fingerprint, at in tx.connection.execute(query):
                    found.setdefault(fingerprint, []).append(at)
        return found

    def signal_link(self, event_key: str) -> int | None:
        """The ticket link a recorded signal counted towards, if any."""
        with self.transaction() as tx:
            found = tx.connection.execute(
                select(s.signals.c.link_id).where(s.signals.c.event_key == event_key)
            ).scalar_one_or_none()
        return None if found is None else int(found)

    # --- learnings and action items -------------------------------------------------

    def save_learning(
        self, data: Mapping[str, Any], items: Sequence[Mapping[str, Any]], *, at: datetime
    ) -> tuple[int, bool]:
        """Record a learning and its action items once; returns its id and whether it is new.

        `data` is the learning as JSON; a learning with the same summary and data is
        the same learning, so recording it again changes nothing. Each item in `items`
        carries `title`, `owner`, `due` (ISO date or None), `status` and `data`.
        """
        learnings = s.learnings
        with self.transaction() as tx:
            for row in tx.connection.execute(
                select(learnings.c.id, learnings.c.data).where(
                    learnings.c.summary == data["summary"]
                )
            ):
                if row.data == dict(data):
                    return int(row.id), False
            learning_id = int(
                tx.connection.execute(
                    insert(learnings)
                    .values(summary=data["summary"], data=dict(data), recorded_at=at)
                    .returning(learnings.c.id)
                ).scalar_one()
            )
            for item in items:
                closed = item["status"] == "closed"
                tx.connection.execute(
                    insert(s.action_items).values(
                        learning_id=learning_id,
                        title=item["title"],
                        owner=item.get("owner"),
                        due=item.get("due"),
                        status=item["status"],
                        data=dict(item["data"]),
                        created_at=at,
                        updated_at=at,
                        closed_at=at if closed else None,
                    )
                )
        return learning_id, True

    def action_item_rows(
        self, *, learning_id: int | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Action items, oldest first, with their link's tracker, key, url and status."""
        a, t = s.action_items, s.ticket_links
        query = (
            select(
                a,
                t.c.tracker.label("link_tracker"),
                t.c.key.label("link_key"),
                t.c.url.label("link_url"),
                t.c.status.label("link_status"),
            )
            .select_from(a.outerjoin(t, a.c.link_id == t.c.id))
            .order_by(a.c.id)
        )
        if learning_id is not None:
            query = query.where(a.c.learning_id == learning_id)
        if status is not None:
            query = query.where(a.c.status == status)
        with self.transaction() as tx:
            return [dict(row._mapping) for row in tx.connection.execute(query)]

    def update_action_item(self, item_id: int, **values: Any) -> None:
        """Change fields of an action item."""
        with self.transaction() as tx:
            tx.update_action_item(item_id, **values)


class StoreTransaction:
    """The steps the loop takes inside one transaction.

    Also the store-backed implementation of the rule engine's window counts.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # --- window counters ----------------------------------------------------------------

    def record(self, rule: str, group_key: str, at: datetime, within: timedelta) -> int:
        """Record one occurrence at `at` and return the count in `(at - within, at]`."""
        micros = s.to_micros(at)
        windows.add_counts(self.connection, {(rule, group_key, windows.bucket_of(micros)): 1})
        return self.count(rule, group_key, at, within)

    def count(self, rule: str, group_key: str, at: datetime, within: timedelta) -> int:
        """Occurrences recorded in `(at - within, at]`, to the second."""
        return windows.count(self.connection, rule, group_key, *windows.window(at, within))

    def prune_occurrences(self, before: datetime) -> int:
        """Delete the counter buckets of the hours wholly before `before`; returns how
        many one-second buckets went.

        Whole hours, so that no minute or hour rollup outlives some of its seconds: a
        window reaching back past the pruned hours counts what is left the same way
        whichever buckets it reads. Up to an hour of seconds before `before` is kept.
        """
        horizon = windows.bucket_of(s.to_micros(before), windows.ROLLUPS[-1])
        seconds, rollups = s.occurrences, s.occurrence_rollups
        went = self.connection.execute(seconds.delete().where(seconds.c.bucket < horizon))
        self.connection.execute(rollups.delete().where(rollups.c.bucket < horizon))
        return int(went.rowcount or 0)

    # --- signals and incidents --------------------------------------------------------

    def record_signal(
        self,
        event_key: str,
        signal: Signal,
        *,
        rules: Sequence[str],
        outcome: str,
        now: datetime,
        link_id: int | None = None,
    ) -> bool:
        """Record a signal once; False when `event_key` was recorded before."""
        row = _signal_row(event_key, signal, now, rules=rules, outcome=outcome, link_id=link_id)
        found = self.connection.execute(_insert_new(self.connection.dialect.name)["signal"], row)
        return found.scalar_one_or_none() is not None

    def set_signal_outcome(
        self, event_key: str, *, rules: Sequence[str], outcome: str, link_id: int | None
    ) -> None:
        """Record what the rules decided for a recorded signal."""
        self.connection.execute(
            _SET_OUTCOME,
            {"b_key": event_key, "rules": list(rules), "outcome": outcome, "link_id": link_id},
        )

    def incident(self, incident_id: str) -> Incident | None:
        """The stored incident, or None."""
        data = self.connection.execute(
            select(s.incidents.c.data).where(s.incidents.c.id == incident_id)
        ).scalar_one_or_none()
        return None if data is None else Incident.model_validate(data)

    def save_incident(self, incident: Incident, *, now: datetime) -> None:
        """Insert or replace an incident."""
        values = {
            "source": incident.source,
            "title": incident.title,
            "severity": incident.severity.value,
            "status": incident.status.value,
            "service": incident.service,
            "created_at": incident.created_at,
            "acknowledged_at": incident.acknowledged_at,
            "resolved_at": incident.resolved_at,
            "data": incident.model_dump(mode="json"),
            "updated_at": now,
        }
        statement = s.insert_for(self.connection.dialect.name, s.incidents).values(
            id=incident.id, **values
        )
        self.connection.execute(statement.on_conflict_do_update(index_elements=["id"], set_=values))

    # --- ticket links -------------------------------------------------------------------

    def current_link(self, rule: str, group_key: str) -> TicketLink | None:
        """The newest link of a group, locked for this transaction on PostgreSQL."""
        row = self.connection.execute(
            _CURRENT_LINK, {"b_rule": rule, "b_group_key": group_key}
        ).first()
        return None if row is None else _link(row)

    def claim_link(self, **values: Any) -> TicketLink | None:
        """Insert a new link generation; None when another worker claimed it first."""
        row = self.connection.execute(
            _insert_new(self.connection.dialect.name)["link"], values
        ).first()
        return None if row is None else _link(row)

    def update_link(self, link_id: int, **values: Any) -> None:
        """Change fields of a link."""
        # Without .values(), the SET clause follows the parameters' keys.
        _UPDATE_LINK.run(self.connection, [{"b_id": link_id, **values}])

    def count_occurrence(self, link_id: int, *, at: datetime, now: datetime) -> None:
        """Add one occurrence to a link, atomically."""
        micros = s.to_micros(at)
        self.connection.execute(
            _count_link_occurrences(self.connection.dialect.name),
            {"b_id": link_id, "b_n": 1, "b_first": micros, "b_last": micros, "b_now": now},
        )

    def link(self, link_id: int) -> TicketLink | None:
        """One link by id."""
        row = self.connection.execute(_LINK, {"b_id": link_id}).first()
        return None if row is None else _link(row)

    def links_by_id(self, link_ids: Iterable[int]) -> dict[int, TicketLink]:
        """The links of `link_ids` that exist, by id, read in one query."""
        wanted = sorted(set(link_ids))
        if not wanted:
            return {}
        rows = self.connection.execute(_LINKS, {"b_ids": wanted})
        return {link.id: link for link in map(_link, rows)}

    def link_for_ticket(self, tracker: str, key: str) -> TicketLink | None:
        """The link of ticket `key` in `tracker`. Keys shaped as GitHub's and Jira's
        match whatever their letter case (GitHub reports `Acme/API#7` for the issue
        filed in `acme/api`; both vendors ignore case); other trackers' keys exactly."""
        t = s.ticket_links
        newest = select(t).where(t.c.tracker == tracker).order_by(t.c.id.desc()).limit(1)
        row = self.connection.execute(newest.where(t.c.key == key)).first()
        if row is None and _CASELESS_KEY.fullmatch(key):
            row = self.connection.execute(newest.where(func.lower(t.c.key) == key.lower())).first()
        return None if row is None else _link(row)

    def open_link_for_theme(self, *, fingerprint: str, theme: str) -> TicketLink | None:
        """An open (or pending) link whose group shares the fingerprint or the theme."""
        t = s.ticket_links
        row = self.connection.execute(
            select(t)
            .where(
                t.c.status.in_(("open", "pending")),
                or_(t.c.fingerprint == fingerprint, t.c.theme == theme),
            )
            .order_by(and_(t.c.fingerprint == fingerprint).desc(), t.c.id)
            .limit(1)
        ).first()
        return None if row is None else _link(row)

    def record_closure(self, link_id: int, *, closed_at: datetime, resolution: str | None) -> None:
        """Remember that a link's ticket closed at `closed_at`, as `resolution`."""
        self.connection.execute(
            insert(s.ticket_closures).values(
                link_id=link_id, closed_at=closed_at, resolution=resolution
            )
        )

    def record_reopening(
        self, link_id: int, *, at: datetime, cause: Literal["regression", "ticket"]
    ) -> None:
        """Mark the newest closure of a link not yet reopened as reopened at `at`.

        `cause` is `regression` (the problem came back) or `ticket` (reopened in the
        tracker). A link with no such closure (closed before closures were recorded,
        say) is left as it is.
        """
        c = s.ticket_closures
        newest = (
            select(c.c.id)
            .where(c.c.link_id == link_id, c.c.reopened_at.is_(None))
            .order_by(c.c.closed_at.desc(), c.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        self.connection.execute(
            update(c).where(c.c.id == newest).values(reopened_at=at, reopen_cause=cause)
        )

    # --- the outbox ---------------------------------------------------------------------

    def add_effect(
        self, effect_key: str, kind: str, payload: Mapping[str, Any], *, now: datetime
    ) -> int | None:
        """Plan an effect once; None when `effect_key` was planned before."""
        values = {
            "effect_key": effect_key,
            "kind": kind,
            "payload": dict(payload),
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        found = _INSERT_EFFECT.returning(self.connection, [values])
        return int(found[0][0]) if found else None

    def finish_effect(self, effect_id: int, *, now: datetime) -> None:
        """Mark an effect done (with what it changed, when done in this transaction)."""
        _FINISH_EFFECT.run(self.connection, [{"b_id": effect_id, "b_now": now}])

    # --- action items -------------------------------------------------------------------

    def action_items_for_ticket(self, link_id: int | None) -> list[dict[str, Any]]:
        """Action items linked to `link_id`, and those filed without the loop (no link)."""
        a = s.action_items
        condition: ColumnElement[bool] = a.c.link_id.is_(None)
        if link_id is not None:
            condition = or_(condition, a.c.link_id == link_id)
        query = select(a).where(condition).order_by(a.c.id)
        return [dict(row._mapping) for row in self.connection.execute(query)]

    def update_action_item(self, item_id: int, **values: Any) -> None:
        """Change fields of an action item."""
        self.connection.execute(
            update(s.action_items).where(s.action_items.c.id == item_id).values(**values)
        )


# Statements the hot path runs for every signal or effect, built once: SQLAlchemy then
# finds their compiled form by a cheap cache key instead of rebuilding the expression.
_links_table = s.ticket_links
_CURRENT_LINK = (
    select(_links_table)
    .where(
        _links_table.c.rule == bindparam("b_rule"),
        _links_table.c.group_key == bindparam("b_group_key"),
    )
    .order_by(_links_table.c.generation.desc())
    .limit(1)
    .with_for_update()
)
_LINK = select(_links_table).where(_links_table.c.id == bindparam("b_id"))
_LINKS = select(_links_table).where(_links_table.c.id.in_(bindparam("b_ids", expanding=True)))
# One row at a time, but through `Bulk`: on SQLite the driver's cursor costs a fraction
# of SQLAlchemy's execution of a single statement (a ticket creation runs four).
_UPDATE_LINK = Bulk(
    lambda dialect: update(_links_table).where(_links_table.c.id == bindparam("b_id"))
)
_FINISH_EFFECT = Bulk(
    lambda dialect: (
        update(s.outbox)
        .where(s.outbox.c.id == bindparam("b_id"))
        .values(
            status="done",
            lease_until=None,
            updated_at=bindparam("b_now", type_=s.UtcMicros()),
            last_error=None,
        )
    )
)


def _lease(table: Any, *, by_id: bool = False, **values: Any) -> Any:
    """Lease up to `b_limit` pending rows (of `b_ids`) whose lease ran out by `b_now`."""
    c = table.c
    candidates = select(c.id).where(
        c.status == "pending", or_(c.lease_until.is_(None), c.lease_until < bindparam("b_now"))
    )
    if by_id:
        candidates = candidates.where(c.id.in_(bindparam("b_ids", expanding=True)))
    candidates = candidates.order_by(c.id).limit(bindparam("b_limit"))
    return (
        update(table)
        .where(c.id.in_(candidates.with_for_update(skip_locked=True).scalar_subquery()))
        .values(lease_until=bindparam("b_until"), attempts=c.attempts + 1, **values)
        .returning(*c)
    )


_d = s.deliveries
_CLAIM_DELIVERIES = _lease(_d)
_CLAIM_DELIVERIES_BY_ID = _lease(_d, by_id=True)
_CLAIM_EFFECTS = _lease(s.outbox, updated_at=bindparam("b_updated"))
_CLAIM_EFFECTS_BY_ID = _lease(s.outbox, by_id=True, updated_at=bindparam("b_updated"))
_FINISH_DELIVERIES = (
    update(_d).where(_d.c.id.in_(bindparam("b_ids", expanding=True))).values(lease_until=None)
)
_SET_OUTCOME = update(s.signals).where(s.signals.c.event_key == bindparam("b_key"))


@functools.cache
def _count_link_occurrences(dialect: str) -> Any:
    """Add `b_n` occurrences to link `b_id`, seen between `b_first` and `b_last`.

    Occurrences arrive in any order (a retry, a backfill): the link's first and last
    seen times widen to include them, never narrow.
    """
    t = _links_table
    sqlite = dialect == "sqlite"
    greatest, least = (func.max, func.min) if sqlite else (func.greatest, func.least)
    return (
        update(t)
        .where(t.c.id == bindparam("b_id"))
        .values(
            occurrences=t.c.occurrences + bindparam("b_n", type_=Integer()),
            first_seen_at=least(t.c.first_seen_at, bindparam("b_first", type_=BigInteger())),
            last_seen_at=greatest(t.c.last_seen_at, bindparam("b_last", type_=BigInteger())),
            updated_at=bindparam("b_now", type_=s.UtcMicros()),
        )
    )


@functools.cache
def _insert_new(dialect: str) -> dict[str, Any]:
    """INSERTs that skip a row whose unique key is taken, returning what they inserted."""

    def new(table: Any, unique: list[str], *returning: Any) -> Any:
        statement = s.insert_for(dialect, table).on_conflict_do_nothing(index_elements=unique)
        return statement.returning(*returning)

    return {
        "signal": new(s.signals, ["event_key"], s.signals.c.event_key),
        "link": new(_links_table, ["rule", "group_key", "generation"], *_links_table.c),
        "effect": new(s.outbox, ["effect_key"], s.outbox.c.id),
        "delivery": new(_d, ["source", "delivery_id"], _d.c.id, _d.c.source, _d.c.delivery_id),
    }


_INSERT_DELIVERIES = Bulk(lambda dialect: _insert_new(dialect)["delivery"])
_INSERT_EFFECT = Bulk(lambda dialect: _insert_new(dialect)["effect"])


_DELIVERY_ID_LENGTH: int = s.deliveries.c.delivery_id.type.length  # type: ignore[attr-defined]


def _fitting(delivery_id: str) -> str:
    """`delivery_id`, or its digest when it is longer than the column holds."""
    if len(delivery_id) <= _DELIVERY_ID_LENGTH:
        return delivery_id
    return f"sha256:{hashlib.sha256(delivery_id.encode()).hexdigest()}"


def _reason(error: BaseException) -> str:
    """The database's own message, first line only: PostgreSQL's detail lines quote the
    row's values, which must not reach the logs."""
    message = str(getattr(error, "orig", None) or error).strip()
    return message.splitlines()[0] if message else type(error).__name__


def _delivery(row: Row[Any]) -> Delivery:
    m = row._mapping
    return Delivery(
        id=m["id"],
        source=m["source"],
        delivery_id=m["delivery_id"],
        received_at=m["received_at"],
        headers=dict(m["headers"]),
        body=bytes(m["body"]),
        status=m["status"],
        attempts=m["attempts"],
        error=m["error"],
    )


def _effect(row: Row[Any]) -> Effect:
    m = row._mapping
    return Effect(
        id=m["id"],
        effect_key=m["effect_key"],
        kind=m["kind"],
        payload=dict(m["payload"]),
        status=m["status"],
        attempts=m["attempts"],
        last_error=m["last_error"],
    )


# A link row's columns are TicketLink's fields, in order: rows convert by position,
# without building a mapping per row (the hot path reads thousands of links).
_LINK_FIELDS = [field.name for field in dataclasses.fields(TicketLink)]
if [column.name for column in s.ticket_links.c] != _LINK_FIELDS:  # pragma: no cover
    raise RuntimeError("TicketLink's fields must be the ticket_links columns, in order")
_SYNC_ORIGIN = _LINK_FIELDS.index("sync_origin")
_FIELDS = _LINK_FIELDS.index("fields")


def _link(row: Row[Any]) -> TicketLink:
    values = list(row)
    values[_SYNC_ORIGIN] = bool(values[_SYNC_ORIGIN])
    values[_FIELDS] = dict(values[_FIELDS] or {})
    return TicketLink(*values)


def _dead_letter(row: Row[Any]) -> DeadLetter:
    m = dict(row._mapping)
    m["payload"] = dict(m["payload"])
    return DeadLetter(**m)
