"""Scenario 6, memory: peak RSS of the storm, and bytes per tracked group.

Each measurement runs in a child process of its own (`python -m benchmarks.memory
CASE SIZE`), so peak RSS (`ru_maxrss`) belongs to that case alone:

- `idle`: the interpreter with feedbackloop imported: the baseline for peak RSS;
- `storm`: scenario 3's storm through the loop (SQLite file, tracker without latency);
- `counts`: SIZE distinct fingerprints in `InMemoryWindowCounts` (the rule set's
  in-memory window state); bytes per group against a plain `dict` of the same keys
  to an int (the least a Python mapping of them costs);
- `occurrences`: SIZE distinct groups in the store's window counters, a one-second
  bucket and its minute and hour rollups each (SQLite file size per group).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from benchmarks._common import T0, Scenario

ROOT = Path(__file__).resolve().parents[1]


def _rss() -> int:
    """Current resident set size in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _child(case: str, size: int) -> dict[str, float]:
    import feedbackloop  # noqa: F401  (the baseline includes the library)

    found: dict[str, float] = {}
    if case == "storm":
        from benchmarks._common import CountingTracker
        from benchmarks.storm import rules, storm
        from feedbackloop import AsyncFeedbackLoop

        signals = storm(size, 500 if size >= 10_000 else 50)

        async def go() -> None:
            with tempfile.TemporaryDirectory() as tmp:
                async with AsyncFeedbackLoop(
                    rules(),
                    trackers={"bench": CountingTracker()},
                    store=f"sqlite:///{Path(tmp) / 'storm.db'}",
                ) as loop:
                    await loop.ingest_many(signals)

        asyncio.run(go())
    elif case in ("counts", "dict"):
        from feedbackloop.rules import InMemoryWindowCounts

        keys = [f"fingerprint=sentry:{n:012d}" for n in range(size)]
        before = _rss()
        if case == "counts":
            counts = InMemoryWindowCounts()
            for key in keys:
                counts.record("errors", key, T0, timedelta(hours=1))
            found["bytes per group"] = (_rss() - before) / size
        else:
            plain = {("errors", key): 1 for key in keys}
            found["bytes per group"] = (_rss() - before) / size
            del plain
    elif case == "occurrences":
        from feedbackloop.store import Store
        from feedbackloop.store import _schema as s
        from feedbackloop.store._windows import add_counts

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "occurrences.db"
            store = Store(f"sqlite:///{path}")
            empty = path.stat().st_size
            bucket = s.to_micros(T0)
            with store.transaction() as tx:
                # As recording does: the second's bucket and its minute and hour rollups.
                add_counts(
                    tx.connection,
                    {("errors", f"fingerprint=sentry:{n:012d}", bucket): 1 for n in range(size)},
                )
            store.close()  # checkpoints the WAL into the file
            found["bytes per group"] = (path.stat().st_size - empty) / size
    found["peak rss"] = _peak_rss()
    return found


def _peak_rss() -> int:
    """This process's peak RSS in bytes (`VmHWM`; unlike `ru_maxrss`, not inherited
    from the parent across fork and exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _measure(case: str, size: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", case, str(size)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(*, quick: bool = False) -> Scenario:
    """Measure every case in a child process."""
    alerts, groups = (2_000, 20_000) if quick else (100_000, 1_000_000)
    scenario = Scenario(
        "memory",
        f"peak RSS of the storm ({alerts:,} alerts); {groups:,} distinct fingerprints",
        "an idle interpreter with feedbackloop imported; a dict of the same keys",
    )
    idle = _measure("idle", 0)["peak rss"]
    scenario.figure("idle: peak RSS", idle / 2**20, "MiB", 1.0)
    peak = _measure("storm", alerts)["peak rss"]
    scenario.figure("storm: peak RSS", peak / 2**20, "MiB", peak / idle)
    plain = _measure("dict", groups)["bytes per group"]
    scenario.figure("dict entry (baseline)", plain, "bytes/group", 1.0)
    counts = _measure("counts", groups)
    scenario.figure(
        "InMemoryWindowCounts",
        counts["bytes per group"],
        "bytes/group",
        counts["bytes per group"] / plain,
    )
    scenario.figure(
        "InMemoryWindowCounts: peak RSS",
        counts["peak rss"] / 2**20,
        "MiB",
        counts["peak rss"] / idle,
    )
    table = _measure("occurrences", groups)["bytes per group"]
    scenario.figure("window counters (SQLite file)", table, "bytes/group", table / plain)
    return scenario


if __name__ == "__main__":
    if len(sys.argv) == 3:
        print(json.dumps(_child(sys.argv[1], int(sys.argv[2]))))
    else:
        run().print()
