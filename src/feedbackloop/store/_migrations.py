"""Schema versions and the steps between them.

The database records its version in `feedbackloop_meta`. Opening a store upgrades an
older database in place, one step at a time, each step in its own transaction; a
database written by a newer feedbackloop is refused (`SchemaVersionError`).

Steps are history: never edit a released step. To change a table, add a step (and, if
an older step creates that table from `_schema`, first freeze the old definition into
that step).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Table,
    column,
    func,
    inspect,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy import table as frozen_table

from feedbackloop.errors import SchemaVersionError
from feedbackloop.store import _schema as s

__all__ = ["STEPS", "current_version", "upgrade"]


def _create(connection: Connection, *tables: Table) -> None:
    for table in tables:
        table.create(connection, checkfirst=True)


def _v1(connection: Connection) -> None:
    """The loop: inbox, window counters, signals, ticket links, outbox, dead letters."""
    _create(
        connection,
        s.meta,
        s.deliveries,
        s.occurrences,
        s.signals,
        s.ticket_links,
        s.outbox,
        s.dead_letters,
    )


def _v2(connection: Connection) -> None:
    """Insights: incidents, learnings and action items; signals searchable by theme."""
    _create(connection, s.incidents, s.learnings, s.action_items)
    connection.execute(text("CREATE INDEX IF NOT EXISTS ix_signals_theme ON signals (theme)"))


def _v3(connection: Connection) -> None:
    """The built-in local tracker's tickets and comments."""
    _create(connection, s.local_tickets, s.local_comments)


def _v4(connection: Connection) -> None:
    """Every closure of a ticket, kept across reopenings; closed links keep theirs."""
    _create(connection, s.ticket_closures)
    # The tables as they are at version 4 (raw microseconds), so this step stays history.
    links = frozen_table(
        "ticket_links",
        column("id"),
        column("status"),
        column("resolution"),
        column("closed_at"),
        column("updated_at"),
    )
    closures = frozen_table(
        "ticket_closures", column("link_id"), column("closed_at"), column("resolution")
    )
    connection.execute(
        closures.insert().from_select(
            ["link_id", "closed_at", "resolution"],
            select(
                links.c.id,
                func.coalesce(links.c.closed_at, links.c.updated_at),
                links.c.resolution,
            )
            .where(links.c.status == "closed")
            .order_by(links.c.id),
        )
    )


def _v5(connection: Connection) -> None:
    """Window counters rolled up by the minute and the hour, filled from the seconds."""
    _create(connection, s.occurrence_rollups)
    # The tables as they are at version 5, so this step stays history.
    seconds = frozen_table(
        "occurrences", column("rule"), column("group_key"), column("bucket"), column("count")
    )
    rollups = frozen_table(
        "occurrence_rollups",
        column("rule"),
        column("group_key"),
        column("width"),
        column("bucket"),
        column("count"),
    )
    rolled_up = []
    for width in (60, 3600):
        span = literal_column(str(width * 1_000_000), BigInteger())
        # Floor division on both backends, whose `%` truncates towards zero.
        rolled = (seconds.c.bucket - (seconds.c.bucket % span + span) % span).label("rolled")
        rolled_up.append(
            select(
                seconds.c.rule,
                seconds.c.group_key,
                literal_column(str(width)),
                rolled,
                func.sum(seconds.c.count),
            ).group_by(seconds.c.rule, seconds.c.group_key, rolled)
        )
    # One statement, so both widths sum the same snapshot of the seconds.
    connection.execute(
        rollups.insert().from_select(
            ["rule", "group_key", "width", "bucket", "count"], union_all(*rolled_up)
        )
    )


STEPS: tuple[Callable[[Connection], None], ...] = (_v1, _v2, _v3, _v4, _v5)
"""Step N (1-based) brings a database from version N-1 to version N."""

assert len(STEPS) == s.SCHEMA_VERSION


def current_version(connection: Connection) -> int:
    """The schema version of the database; 0 for an empty one."""
    if not inspect(connection).has_table(s.meta.name):
        return 0
    value = connection.execute(
        select(s.meta.c.value).where(s.meta.c.key == "schema_version")
    ).scalar_one_or_none()
    return int(value) if value is not None else 0


def upgrade(engine: Engine, *, target: int = s.SCHEMA_VERSION) -> int:
    """Bring the database up to `target` (the latest by default); return the old version.

    Raises:
        SchemaVersionError: the database is newer than this code understands.
    """
    with engine.connect() as connection:
        found = current_version(connection)
    if found > s.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"the database has schema version {found}, but this feedbackloop supports "
            f"up to {s.SCHEMA_VERSION}: upgrade feedbackloop",
            found=found,
            supported=s.SCHEMA_VERSION,
        )
    for version in range(found + 1, target + 1):
        with engine.begin() as connection:
            # Several workers may start at once: on PostgreSQL a lock serialises them.
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(7340721)"))
            if current_version(connection) >= version:
                continue
            STEPS[version - 1](connection)
            _set_version(connection, version)
    return found


def _set_version(connection: Connection, version: int) -> None:
    updated = connection.execute(
        s.meta.update().where(s.meta.c.key == "schema_version").values(value=str(version))
    )
    if updated.rowcount == 0:
        connection.execute(s.meta.insert().values(key="schema_version", value=str(version)))
