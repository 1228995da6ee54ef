"""Scenario 5, several workers on PostgreSQL: 1 and 2 worker processes on the same storm.

A smaller storm than scenario 3 (20,000 alerts over 100 groups; 1,000 over 20 with
`--quick`), because every worker is a process of its own on the shared database. Each
worker ingests every n-th alert (so the workers race on every group) by `ingest_many`
into the local tracker, whose tickets live in the same database, with 20 ms per tracker
call. Figures: alerts per second with 1 and 2 workers (the baseline is 1 worker);
checks: every alert recorded once and exactly one ticket per group, no duplicate.

PostgreSQL comes from `FEEDBACKLOOP_BENCH_DATABASE_URL` (default
`postgresql://postgres@127.0.0.1:5432/test`); each run uses a fresh schema.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy

from benchmarks._common import Scenario

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The PostgreSQL server to use."""
    return os.environ.get("FEEDBACKLOOP_BENCH_DATABASE_URL") or DEFAULT_URL


def _engine(url: str) -> sqlalchemy.Engine:
    return sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


@contextmanager
def fresh_schema(base: str) -> Iterator[str]:
    """A URL to a new schema, dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    engine = _engine(base)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


def _run_workers(url: str, workers: int, alerts: int, groups: int) -> dict[str, object]:
    # Open the store once first, so the workers do not race to create the schema.
    from feedbackloop.store import Store

    Store(url).close()
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks._worker",
                url,
                str(i),
                str(workers),
                str(alerts),
                str(groups),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(workers)
    ]
    reports = []
    for process in processes:
        out, _ = process.communicate(timeout=900)
        if process.returncode != 0:
            raise RuntimeError(f"a worker failed with exit code {process.returncode}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    started = min(float(r["started"]) for r in reports)
    ended = max(float(r["ended"]) for r in reports)
    engine = _engine(url)
    with engine.connect() as connection:

        def count(sql: str) -> int:
            return int(connection.exec_driver_sql(sql).scalar_one())

        found = {
            "signals": count("SELECT count(*) FROM signals"),
            "links": count("SELECT count(*) FROM ticket_links"),
            "tickets": count("SELECT count(*) FROM local_tickets"),
            "duplicate tickets": count(
                "SELECT coalesce(sum(n - 1), 0) FROM "
                "(SELECT count(*) AS n FROM local_tickets GROUP BY marker) AS m"
            ),
        }
    engine.dispose()
    return {"rate": alerts / (ended - started), "seconds": ended - started, **found}


def run(*, quick: bool = False) -> Scenario:
    """Run the storm with one worker, then two."""
    alerts, groups = (1_000, 20) if quick else (20_000, 100)
    scenario = Scenario(
        "workers",
        f"{alerts:,} alerts over {groups} groups, worker processes on PostgreSQL",
        "1 worker",
    )
    base = database_url()
    try:
        _engine(base).connect().close()
    except sqlalchemy.exc.OperationalError as exc:
        scenario.facts["skipped"] = f"no PostgreSQL at {base}: {exc.orig}"
        return scenario
    results = {}
    for workers in (1, 2):
        with fresh_schema(base) as url:
            results[workers] = _run_workers(url, workers, alerts, groups)
    one = float(results[1]["rate"])  # type: ignore[arg-type]
    for workers, found in results.items():
        rate = float(found["rate"])  # type: ignore[arg-type]
        scenario.figure(
            f"{workers} worker{'s' if workers > 1 else ''}", rate, "alerts/s", rate / one
        )
        scenario.facts[f"{workers} worker(s): rows"] = {
            k: v for k, v in found.items() if k not in ("rate", "seconds")
        }
        scenario.checks[f"{workers} worker(s): every alert recorded once"] = (
            found["signals"] == alerts
        )
        scenario.checks[f"{workers} worker(s): one ticket per group, no duplicate"] = (
            found["tickets"] == found["links"] == groups and found["duplicate tickets"] == 0
        )
    return scenario


if __name__ == "__main__":
    run().print()
