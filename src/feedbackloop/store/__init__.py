"""The store: durable state of the loop, on SQLite or PostgreSQL.

One implementation over SQLAlchemy Core serves both databases. It holds the inbox of
webhook deliveries (idempotent by source and delivery id), the sliding-window counters
the rules read, ticket links, incidents, learnings and action items, the outbox of
planned effects and the dead letters. The schema upgrades itself when a store opens.
"""

from feedbackloop.store._records import (
    DeadLetter,
    Delivery,
    Effect,
    TicketClosure,
    TicketLink,
)
from feedbackloop.store._schema import SCHEMA_VERSION
from feedbackloop.store._store import DEFAULT_STORE_URL, Store, StoreTransaction

__all__ = [
    "DEFAULT_STORE_URL",
    "SCHEMA_VERSION",
    "DeadLetter",
    "Delivery",
    "Effect",
    "Store",
    "StoreTransaction",
    "TicketClosure",
    "TicketLink",
]
