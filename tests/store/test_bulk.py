"""Bulk: statements that go past SQLAlchemy's per-row work on SQLite, and fail like it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError

from feedbackloop.errors import StoreError
from feedbackloop.store import Store
from feedbackloop.store import _schema as s
from feedbackloop.store._bulk import Bulk

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

_RENAME = Bulk(lambda dialect: update(s.deliveries).where(s.deliveries.c.id == bindparam("b_id")))


def _two_deliveries(store: Store) -> int:
    """Deliveries d1 and d2; returns d2's row id."""
    [(_, _), (second, _)] = store.put_deliveries(
        [("sentry", "d1", {}, b"1"), ("sentry", "d2", {}, b"2")], now=NOW
    )
    return second


def test_a_database_error_is_raised_as_sqlalchemys(store: Store) -> None:
    """Callers handle one family of errors, whichever way a statement went."""
    second = _two_deliveries(store)
    with pytest.raises(IntegrityError), store.transaction() as tx:
        # d1 is taken: the unique (source, delivery id) refuses the rename.
        _RENAME.run(tx.connection, [{"b_id": second, "delivery_id": "d1"}])


def test_a_database_errors_message_holds_no_row_values(store: Store) -> None:
    """Row values (webhook bodies, ticket fields) stay out of messages that get logged."""
    second = _two_deliveries(store)
    with pytest.raises(IntegrityError) as raised, store.transaction() as tx:
        _RENAME.run(tx.connection, [{"b_id": second, "delivery_id": "d1", "body": b"hunter2"}])
    assert "hunter2" not in str(raised.value)


def test_a_value_its_column_cannot_take_is_a_store_error_on_every_backend(
    store: Store,
) -> None:
    """Text for a time column fails as SQLAlchemy's own statements fail (a StoreError
    out of the transaction), not as the bind processor's TypeError, naming no value."""
    second = _two_deliveries(store)
    with pytest.raises(StoreError) as raised, store.transaction() as tx:
        _RENAME.run(tx.connection, [{"b_id": second, "received_at": "hunter2"}])
    assert "hunter2" not in str(raised.value)


def test_a_failed_statement_rolls_its_transaction_back(store: Store) -> None:
    second = _two_deliveries(store)

    def change_then_fail() -> None:
        with store.transaction() as tx:
            _RENAME.run(tx.connection, [{"b_id": second, "body": b"changed"}])
            _RENAME.run(tx.connection, [{"b_id": second, "delivery_id": "d1"}])

    with pytest.raises(IntegrityError):
        change_then_fail()
    assert [d.body for d in store.deliveries()] == [b"1", b"2"]


def test_values_the_statement_sets_itself_are_written(store: Store) -> None:
    second = _two_deliveries(store)
    settle = Bulk(
        lambda dialect: (
            update(s.deliveries)
            .where(s.deliveries.c.id == bindparam("b_id"))
            .values(status="done", error="settled by hand")
        )
    )
    with store.transaction() as tx:
        settle.run(tx.connection, [{"b_id": second, "attempts": 2}])
    done = store.deliveries()[1]
    assert (done.status, done.attempts, done.error) == ("done", 2, "settled by hand")


@pytest.mark.parametrize(
    ("build", "row"),
    [
        (lambda dialect: _RENAME._build(dialect), {"delivery_id": "d3"}),  # no b_id
        (  # attempts has a default, which SQLAlchemy computes and Bulk does not
            lambda dialect: insert(s.deliveries),
            {"source": "s", "delivery_id": "d", "received_at": NOW, "headers": {}}
            | {"body": b"", "status": "pending"},
        ),
    ],
    ids=["a parameter", "a column default"],
)
def test_a_row_lacking_what_the_statement_needs_is_refused(
    memory_store: Store, build: object, row: dict[str, object]
) -> None:
    """Never a silent NULL: SQLAlchemy itself would refuse or fill these in."""
    with pytest.raises(KeyError), memory_store.transaction() as tx:
        Bulk(build).run(tx.connection, [row])  # type: ignore[arg-type]


def test_a_statement_outside_a_transaction_waits_for_the_commit(store: Store) -> None:
    """As with SQLAlchemy's own execute: nothing is written until the caller commits."""
    [(row_id, _)] = store.put_deliveries([("sentry", "d1", {}, b"1")], now=NOW)
    with store.engine.connect() as connection:
        _RENAME.run(connection, [{"b_id": row_id, "delivery_id": "renamed"}])
        connection.rollback()
    assert [d.delivery_id for d in store.deliveries()] == ["d1"]
