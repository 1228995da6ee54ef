"""Schema versions: a database made by an older version upgrades in place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, inspect

from feedbackloop.errors import SchemaVersionError
from feedbackloop.store import SCHEMA_VERSION, Store
from feedbackloop.store import _migrations as migrations
from feedbackloop.store import _schema as schema
from feedbackloop.store._store import _engine_for

NOW = datetime(2026, 11, 2, tzinfo=UTC)


def test_a_version_1_database_upgrades_to_the_latest_version(store_url: str) -> None:
    """A database written by schema version 1 opens, upgrades, and gains the new tables."""
    if store_url == "sqlite://":
        pytest.skip("an in-memory database does not outlive its engine")
    engine = _engine_for(store_url)
    migrations.upgrade(engine, target=1)
    with engine.connect() as connection:
        assert migrations.current_version(connection) == 1
        assert not inspect(connection).has_table("incidents")
    engine.dispose()
    store = Store(store_url)
    with store.engine.connect() as connection:
        assert migrations.current_version(connection) == SCHEMA_VERSION
        assert inspect(connection).has_table("incidents")
    store.close()


def test_upgrading_keeps_rows_written_before(tmp_path: object) -> None:
    """Rows written under version 1 are still there under the latest version."""
    url = f"sqlite:///{tmp_path}/old.db"
    engine = _engine_for(url)
    migrations.upgrade(engine, target=1)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO deliveries (source, delivery_id, received_at, headers, body, status,"
            " attempts) VALUES ('github', 'g1', 0, '{}', x'7b7d', 'pending', 0)"
        )
    engine.dispose()
    store = Store(url)
    assert [(d.source, d.delivery_id) for d in store.deliveries()] == [("github", "g1")]
    store.close()


def test_a_version_3_database_keeps_its_closed_links_as_closures(store_url: str) -> None:
    """Upgrading to version 4 records the current closure of every closed link, only those."""
    if store_url == "sqlite://":
        pytest.skip("an in-memory database does not outlive its engine")
    engine = _engine_for(store_url)
    migrations.upgrade(engine, target=3)
    base = {
        "rule": "r",
        "tracker": "local",
        "fingerprint": "abc",
        "theme": "boom",
        "title": "boom",
        "fields": {},
        "first_seen_at": NOW,
        "last_seen_at": NOW,
        "updated_at": NOW,
    }
    with engine.begin() as connection:
        assert not inspect(connection).has_table("ticket_closures")
        connection.execute(
            insert(schema.ticket_links),
            [
                base
                | {
                    "group_key": "closed",
                    "generation": 1,
                    "marker": "m-1",
                    "status": "closed",
                    "resolution": "fixed",
                    "closed_at": NOW + timedelta(hours=2),
                },
                base
                | {
                    "group_key": "open",
                    "generation": 1,
                    "marker": "m-2",
                    "status": "open",
                    "resolution": None,
                    "closed_at": None,
                },
            ],
        )
    engine.dispose()
    store = Store(store_url)
    [closed] = store.links(status="closed")
    [closure] = store.closures()
    assert (closure.link_id, closure.closed_at, closure.resolution, closure.reopened_at) == (
        closed.id,
        NOW + timedelta(hours=2),
        "fixed",
        None,
    )
    store.close()


def test_a_version_4_database_rolls_up_its_window_counters(store_url: str) -> None:
    """Upgrading to version 5 fills the minute and hour rollups from the seconds: counts
    over long windows, which read them, are what they were."""
    if store_url == "sqlite://":
        pytest.skip("an in-memory database does not outlive its engine")
    engine = _engine_for(store_url)
    migrations.upgrade(engine, target=4)
    # A second every 7 minutes for 3 days, at seconds that fall all over the minute.
    seconds = [NOW + timedelta(minutes=7 * n, seconds=n % 60) for n in range(620)]
    with engine.begin() as connection:
        connection.execute(
            insert(schema.occurrences),
            [
                {"rule": "r", "group_key": "g", "bucket": schema.to_micros(at), "count": 2}
                for at in seconds
            ],
        )
    engine.dispose()
    store = Store(store_url)
    at = NOW + timedelta(days=2, hours=7, seconds=31)
    with store.transaction() as tx:
        for within in (timedelta(days=1), timedelta(hours=30, minutes=3), timedelta(hours=2)):
            inside = [moment for moment in seconds if at - within < moment <= at]
            assert tx.count("r", "g", at, within) == 2 * len(inside)
    store.close()


def test_a_newer_database_is_refused(tmp_path: object) -> None:
    """A schema from a newer feedbackloop is not touched, and the error says what to do."""
    url = f"sqlite:///{tmp_path}/new.db"
    Store(url).close()
    engine = _engine_for(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE feedbackloop_meta SET value = ? WHERE key = 'schema_version'",
            (str(SCHEMA_VERSION + 1),),
        )
    engine.dispose()
    with pytest.raises(SchemaVersionError, match="upgrade feedbackloop"):
        Store(url)
