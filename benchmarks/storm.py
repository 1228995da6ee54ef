"""Scenario 3, the storm: 100,000 alerts over 500 groups in ten minutes of simulated time.

Every alert goes through `OpenTicket` (a comment at most every 5 minutes) into a fake
tracker that takes 20 ms per call, on a SQLite file, by `ingest_many`. Checks: exactly
one ticket per group, at most one create per group, and comments bounded by
`update_every` (at most ten minutes / five minutes = 2 per group). Baselines, from the
same run: the same alerts through `RuleSet.evaluate` alone (in memory, no store, no
tracker), and the tracker's own latency (calls x 20 ms, the floor for sequential calls).
The one-by-one path (`ingest` per alert) runs on a tenth of the storm, for comparison.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from benchmarks._common import T0, CountingTracker, Scenario
from feedbackloop import AsyncFeedbackLoop, Signal
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet

LATENCY = 0.020
DURATION = timedelta(minutes=10)
UPDATE_EVERY = timedelta(minutes=5)


def storm(alerts: int, groups: int) -> list[Signal]:
    """`alerts` alerts spread evenly over `DURATION`, round-robin over `groups` groups."""
    step = DURATION / alerts
    return [
        Signal(
            source="datadog",
            kind="alert",
            service=f"svc-{n % groups % 50}",
            environment="production",
            severity="high",
            title=f"disk full on host-{n % groups}",
            fingerprint=f"storm-{n % groups}",
            occurred_at=T0 + n * step,
        )
        for n in range(alerts)
    ]


def rules() -> RuleSet:
    """One rule: every alert keeps its group's ticket up to date."""
    return RuleSet(
        Rule("alerts", when=F.kind == "alert", then=OpenTicket("bench", update_every=UPDATE_EVERY))
    )


async def through_loop(
    signals: list[Signal], url: str, *, one_by_one: bool = False
) -> tuple[float, CountingTracker, int]:
    """Ingest the storm; returns the wall time, the tracker and the tickets linked."""
    tracker = CountingTracker(latency=LATENCY)
    async with AsyncFeedbackLoop(rules(), trackers={"bench": tracker}, store=url) as loop:
        started = time.perf_counter()
        if one_by_one:
            for signal in signals:
                await loop.ingest(signal)
        else:
            await loop.ingest_many(signals)
        elapsed = time.perf_counter() - started
        tickets = len(loop.tickets())
    return elapsed, tracker, tickets


def run(*, quick: bool = False) -> Scenario:
    """Run the storm and its baselines."""
    alerts, groups = (2_000, 50) if quick else (100_000, 500)
    signals = storm(alerts, groups)
    scenario = Scenario(
        "storm",
        f"{alerts:,} alerts over {groups} groups in 10 simulated minutes, tracker 20 ms/call",
        "RuleSet.evaluate alone on the same alerts; tracker latency x calls",
    )
    ruleset = rules()
    started = time.perf_counter()
    for signal in signals:
        ruleset.evaluate(signal)
    evaluate_rate = alerts / (time.perf_counter() - started)
    scenario.figure("RuleSet.evaluate alone", evaluate_rate, "alerts/s", 1.0)
    with tempfile.TemporaryDirectory() as tmp:
        elapsed, tracker, tickets = asyncio.run(
            through_loop(signals, f"sqlite:///{Path(tmp) / 'storm.db'}")
        )
        tenth = signals[: max(alerts // 10, 1)]
        slow, _, _ = asyncio.run(
            through_loop(tenth, f"sqlite:///{Path(tmp) / 'slow.db'}", one_by_one=True)
        )
    rate = alerts / elapsed
    calls = sum(tracker.calls.values())
    floor = calls * LATENCY
    scenario.figure("ingest_many (SQLite file)", rate, "alerts/s", rate / evaluate_rate)
    scenario.figure(
        "ingest one by one, first tenth",
        len(tenth) / slow,
        "alerts/s",
        len(tenth) / slow / evaluate_rate,
    )
    scenario.figure("wall time", elapsed, "s")
    scenario.figure("tracker latency floor", floor, "s")
    scenario.figure("wall time over the tracker floor", elapsed / floor, "x", elapsed / floor)
    scenario.facts["tickets"] = tickets
    scenario.facts["tracker calls"] = dict(sorted(tracker.calls.items()))
    bound = groups * math.floor(DURATION / UPDATE_EVERY)
    scenario.facts["comment bound (groups x duration / update_every)"] = bound
    scenario.checks[f"exactly {groups} tickets"] = tickets == groups
    scenario.checks["at most one create per group"] = tracker.calls["create"] <= groups
    scenario.checks["comments within the update_every bound"] = tracker.calls["comment"] <= bound
    return scenario


if __name__ == "__main__":
    run().print()
