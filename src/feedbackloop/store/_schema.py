"""The store's tables, as SQLAlchemy Core metadata: the current schema version.

Times are stored as integer microseconds since the Unix epoch (UTC): exact, portable
between SQLite and PostgreSQL, and cheap to compare in window queries.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql, sqlite

__all__ = [
    "SCHEMA_VERSION",
    "DeliveryHeaders",
    "UtcMicros",
    "action_items",
    "dead_letters",
    "deliveries",
    "from_micros",
    "incidents",
    "insert_for",
    "learnings",
    "local_comments",
    "local_tickets",
    "meta",
    "metadata",
    "occurrence_rollups",
    "occurrences",
    "outbox",
    "signals",
    "ticket_closures",
    "ticket_links",
    "to_micros",
]

SCHEMA_VERSION = 5
"""The schema version this code reads and writes (see `_migrations`)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Made once: building a timedelta from keywords costs more than the arithmetic, and
# both conversions run several times for every signal routed.
_MICROSECOND = timedelta(microseconds=1)


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    return (value - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    """The aware UTC datetime of a microsecond timestamp."""
    return _EPOCH + _MICROSECOND * value


def insert_for(dialect: str, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT on both backends."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


class UtcMicros(TypeDecorator[datetime]):
    """An aware datetime stored as BIGINT microseconds since the epoch."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        return None if value is None else to_micros(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else from_micros(int(value))


_CREDENTIAL_HEADER = re.compile(r"authorization|cookie|token|secret|api[-_]?key|password", re.I)


@functools.lru_cache(maxsize=512)
def _is_credential(name: str) -> bool:
    """Whether header `name` carries a credential (asked per delivery of the same few names)."""
    return _CREDENTIAL_HEADER.search(name) is not None


class DeliveryHeaders(TypeDecorator[dict[str, str]]):
    """A delivery's headers as JSON, without the credential headers.

    A vendor that authenticates with a shared secret sends the secret itself (Datadog's
    `X-Feedbackloop-Token`, basic auth): it is checked when the delivery arrives and
    must never be stored. Signatures (HMACs of the body) and the headers parsing reads
    are kept.
    """

    impl = JSON
    cache_ok = True

    def process_bind_param(
        self, value: Mapping[str, str] | None, dialect: Dialect
    ) -> dict[str, str] | None:
        if value is None:
            return None
        return {k: v for k, v in value.items() if not _is_credential(k)}


metadata = MetaData()

meta = Table(
    "feedbackloop_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# The inbox: raw deliveries, persisted before a webhook is acknowledged.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),
    Column("delivery_id", String(200), nullable=False),
    Column("received_at", UtcMicros, nullable=False),
    Column("headers", DeliveryHeaders, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),  # pending, done, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_until", UtcMicros),
    Column("processed_at", UtcMicros),
    Column("error", Text),
    UniqueConstraint("source", "delivery_id", name="uq_deliveries_source_delivery"),
    Index("ix_deliveries_status", "status", "id"),
)

# Sliding-window counters: occurrences per rule and group key, in time buckets.
occurrences = Table(
    "occurrences",
    metadata,
    Column("rule", String(200), primary_key=True),
    Column("group_key", String(500), primary_key=True),
    Column("bucket", BigInteger, primary_key=True),  # bucket start, epoch microseconds
    Column("count", Integer, nullable=False),
)

# The same counts rolled up by the minute and by the hour, so that a long window sums a
# few hundred rows instead of one per second (`_windows.tiles`).
occurrence_rollups = Table(
    "occurrence_rollups",
    metadata,
    Column("rule", String(200), primary_key=True),
    Column("group_key", String(500), primary_key=True),
    Column("width", Integer, primary_key=True),  # seconds: 60 or 3600
    Column("bucket", BigInteger, primary_key=True),  # bucket start, epoch microseconds
    Column("count", BigInteger, nullable=False),  # an hour holds more than a second
    sqlite_with_rowid=False,
)

# Every event the loop recorded, with what the rules decided: the history insights read.
signals = Table(
    "signals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_key", String(300), nullable=False, unique=True),
    Column("source", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("title", Text, nullable=False),
    Column("service", String(200)),
    Column("environment", String(100)),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("fingerprint", String(200), nullable=False),
    Column("theme", Text, nullable=False),
    Column("external_id", String(200)),
    Column("url", Text),
    Column("labels", JSON, nullable=False),
    Column("occurred_at", UtcMicros, nullable=False),
    Column("recorded_at", UtcMicros, nullable=False),
    Column("rules", JSON, nullable=False),  # names of the matched rules
    Column("outcome", String(32), nullable=False),  # routed, held, dropped, silenced, ...
    Column("link_id", Integer),  # the ticket link it counted towards, if any
    Index("ix_signals_fingerprint", "fingerprint"),
    Index("ix_signals_occurred", "occurred_at"),
)

# Ticket links: one current ticket per (rule, group key); generations chain reopenings.
ticket_links = Table(
    "ticket_links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(200), nullable=False),
    Column("group_key", String(500), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("tracker", String(64), nullable=False),
    Column("marker", String(100), nullable=False),
    Column("key", String(200)),
    Column("url", Text),
    # pending (claimed, not created yet), open, closed
    Column("status", String(16), nullable=False),
    Column("resolution", String(100)),
    Column("fingerprint", String(200), nullable=False),
    Column("theme", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("fields", JSON, nullable=False),
    Column("origin_source", String(64)),
    Column("origin_external_id", String(200)),
    Column("sync_origin", Integer, nullable=False, default=0),
    Column("previous_id", Integer),
    Column("occurrences", Integer, nullable=False, default=0),
    Column("first_seen_at", UtcMicros, nullable=False),
    Column("last_seen_at", UtcMicros, nullable=False),
    Column("created_at", UtcMicros),
    Column("updated_at", UtcMicros, nullable=False),
    Column("closed_at", UtcMicros),
    Column("last_comment_at", UtcMicros),
    Column("attempts", Integer, nullable=False, default=0),
    UniqueConstraint("rule", "group_key", "generation", name="uq_links_generation"),
    UniqueConstraint("marker", name="uq_links_marker"),
    Index("ix_links_ticket", "tracker", "key"),
    Index("ix_links_theme", "theme"),
)

# Every closure of a ticket link, kept when it reopens (the link keeps only the current
# one): what insights count as closed, and the first closure time to close is timed to.
ticket_closures = Table(
    "ticket_closures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("link_id", Integer, nullable=False),
    Column("closed_at", UtcMicros, nullable=False),
    Column("resolution", String(100)),
    Column("reopened_at", UtcMicros),
    # regression (the problem came back) or ticket (reopened in the tracker)
    Column("reopen_cause", String(16)),
    Index("ix_ticket_closures_link", "link_id", "closed_at"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("source", String(64)),
    Column("title", Text, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("service", String(200)),
    Column("created_at", UtcMicros, nullable=False),
    Column("acknowledged_at", UtcMicros),
    Column("resolved_at", UtcMicros),
    Column("data", JSON, nullable=False),
    Column("updated_at", UtcMicros, nullable=False),
)

learnings = Table(
    "learnings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("summary", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Column("recorded_at", UtcMicros, nullable=False),
)

action_items = Table(
    "action_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("learning_id", Integer),
    Column("title", Text, nullable=False),
    Column("owner", String(200)),
    Column("due", String(10)),  # ISO date
    Column("status", String(16), nullable=False),
    Column("data", JSON, nullable=False),
    Column("link_id", Integer),
    Column("created_at", UtcMicros, nullable=False),
    Column("updated_at", UtcMicros, nullable=False),
    Column("closed_at", UtcMicros),
)

# Planned effects, executed after the plan is committed; failures end in dead letters.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("effect_key", String(400), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),  # create, comment, reopen, notify, ...
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending, done, dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_until", UtcMicros),
    Column("created_at", UtcMicros, nullable=False),
    Column("updated_at", UtcMicros, nullable=False),
    Column("last_error", Text),
    Index("ix_outbox_status", "status", "id"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outbox_id", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("error", Text, nullable=False),
    Column("error_type", String(100), nullable=False),
    Column("status_code", Integer),
    Column("failed_at", UtcMicros, nullable=False),
    Column("retried_at", UtcMicros),
)

# The built-in local tracker keeps its tickets here (the demo, and teams without Jira).
local_tickets = Table(
    "local_tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("labels", JSON, nullable=False),
    Column("fields", JSON, nullable=False),
    Column("marker", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("resolution", String(100)),
    Column("created_at", UtcMicros, nullable=False),
    Column("updated_at", UtcMicros, nullable=False),
    Column("closed_at", UtcMicros),
    Index("ix_local_tickets_marker", "marker"),
)

local_comments = Table(
    "local_comments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcMicros, nullable=False),
    Index("ix_local_comments_ticket", "ticket_id"),
)
