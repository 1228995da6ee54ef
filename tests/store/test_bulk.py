"""Bulk: statements that go past SQLAlchemy's per-row work on SQLite, and fail like it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError

from feedbackloop.store import Store
from feedbackloop.store import _schema as s
from feedbackloop.store._bulk import Bulk

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

_RENAME = Bulk(lambda dialect: update(s.deliveries).where(s.deliveries.c.id == bindparam("b_id")))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)
    yield opened
    opened.close()


def test_a_driver_error_is_raised_as_sqlalchemys_without_the_parameters(store: Store) -> None:
    store.put_delivery("sentry", "d1", {}, b"1", now=NOW)
    [(second, _)] = store.put_deliveries([("sentry", "d2", {}, b"2")], now=NOW)
    with pytest.raises(IntegrityError) as raised, store.transaction() as tx:
        # d1 is taken: the unique (source, delivery id) refuses the rename.
        _RENAME.run(tx.connection, [{"b_id": second, "delivery_id": "d1", "body": b"hunter2"}])
    assert "hunter2" not in str(raised.value)
    assert [d.delivery_id for d in store.deliveries()] == ["d1", "d2"]


def test_values_the_statement_sets_itself_are_passed_along(store: Store) -> None:
    [(row_id, _)] = store.put_deliveries([("sentry", "d1", {}, b"1")], now=NOW)
    processed = Bulk(
        lambda dialect: (
            update(s.deliveries)
            .where(s.deliveries.c.id == bindparam("b_id"))
            .values(status="done", error=None)
        )
    )
    with store.transaction() as tx:
        processed.run(tx.connection, [{"b_id": row_id, "attempts": 2}])
    [delivery] = store.deliveries()
    assert (delivery.status, delivery.attempts, delivery.error) == ("done", 2, None)
