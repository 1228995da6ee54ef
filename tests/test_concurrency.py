"""Several worker processes on one PostgreSQL database: one ticket per group, exact counts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from feedbackloop.connectors.local import LocalTracker
from feedbackloop.store import Store
from tests import _workers

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.postgres
def test_concurrent_workers_create_exactly_one_ticket_per_group(postgres_schema_url: str) -> None:
    """Three processes ingest the same storm in different orders: no duplicates, exact counts."""
    Store(postgres_schema_url).close()  # create the schema once, before the race
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests._workers", "storm", postgres_schema_url, str(seed)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(3)
    ]
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        assert out.strip() == "done"
    store = Store(postgres_schema_url)
    links = store.links()
    tickets = LocalTracker(store).tickets()
    store.close()
    assert len(links) == _workers.GROUPS
    assert len(tickets) == _workers.GROUPS
    assert {link.occurrences for link in links} == {_workers.PER_GROUP}
    assert len({link.key for link in links}) == _workers.GROUPS
