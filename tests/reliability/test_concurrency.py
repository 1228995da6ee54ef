"""Four worker processes on one PostgreSQL database: the same storm and redeliveries.

The invariants are checked in the database itself, with SQL, after the race.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import sqlalchemy

from feedbackloop.store import Store
from tests.reliability import stream, workers
from tests.reliability.servers import ROOT

WORKERS = 4


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    """The rows of a SQL query on the test schema."""
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.exec_driver_sql(query)]
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_four_workers_racing_on_one_database_leave_exact_invariants(
    postgres_schema_url: str, figures: dict[str, Any]
) -> None:
    """No duplicate link, ticket, marker or delivery; occurrences equal distinct signals."""
    Store(postgres_schema_url).close()  # create the schema once, before the race
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.workers", postgres_schema_url, str(seed)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(WORKERS)
    ]
    for process in processes:
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err[-3000:]
        assert out.strip() == "done"
    url = postgres_schema_url
    webhook = stream.expected_occurrences(workers.deliveries())
    groups = workers.STORM_GROUPS + len(webhook)

    # One link per group (one generation here), and no two links share a marker.
    assert (
        rows(url, "SELECT rule, group_key FROM ticket_links GROUP BY 1, 2 HAVING count(*) > 1")
        == []
    )
    assert rows(url, "SELECT count(*), count(DISTINCT marker) FROM ticket_links") == [
        (groups, groups)
    ]
    # One ticket per link, created once: the tracker holds each marker once.
    assert rows(url, "SELECT marker FROM local_tickets GROUP BY marker HAVING count(*) > 1") == []
    assert rows(
        url,
        "SELECT count(*) FROM ticket_links l JOIN local_tickets t ON t.marker = l.marker "
        "WHERE l.status = 'open' AND l.key IS NOT NULL",
    ) == [(groups,)]
    # Occurrences equal the distinct signals counted towards each link.
    assert (
        rows(
            url,
            "SELECT l.id FROM ticket_links l LEFT JOIN signals s ON s.link_id = l.id "
            "GROUP BY l.id, l.occurrences HAVING l.occurrences <> count(s.id)",
        )
        == []
    )
    counts = dict(rows(url, "SELECT fingerprint, occurrences FROM ticket_links"))
    storm_counts = [n for fp, n in counts.items() if not fp.startswith("sentry:")]
    assert storm_counts == [workers.PER_GROUP] * workers.STORM_GROUPS
    assert {fp: n for fp, n in counts.items() if fp.startswith("sentry:")} == dict(webhook)
    # Every delivery stored once, processed, and its event recorded once.
    distinct = len({stream.delivery_id(d) for d in workers.deliveries()})
    assert rows(url, "SELECT count(*), count(DISTINCT delivery_id) FROM deliveries") == [
        (distinct, distinct)
    ]
    assert rows(url, "SELECT DISTINCT status FROM deliveries") == [("done",)]
    assert rows(url, "SELECT count(*) FROM signals WHERE event_key LIKE 'sentry:%%'") == [
        (distinct,)
    ]
    # Every planned effect ran, once.
    assert rows(url, "SELECT DISTINCT status FROM outbox") == [("done",)]
    assert rows(url, "SELECT count(*) FROM dead_letters") == [(0,)]
    claims = rows(url, "SELECT sum(attempts), count(*) FROM deliveries")[0]
    figures.update(
        workers=WORKERS,
        signals=len(workers.storm()) * WORKERS,
        deliveries_posted=2 * len(workers.deliveries()) * WORKERS,
        distinct_deliveries=distinct,
        delivery_claims=claims[0],
        groups=groups,
        duplicates=0,
    )
