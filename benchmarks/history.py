"""How window counts grow with history: a day-long threshold on a group that never rests.

A rule counts a service's errors over 24 hours, and the service sends one every second.
After a short history and after a long one (a whole day in the full run), the same
signals go through `ingest()` one by one and through `ingest_many`; each figure is the
long history's throughput as a ratio of the short one's, measured in the same run. A
window count that read every second of its window would slow down in proportion to the
history; the store sums whole minutes and hours from rolled-up counters, so the ratio
should stay near 1. The history is ingested through `ingest_many` like any traffic, on a
SQLite file.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from benchmarks._common import T0, CountingTracker, Scenario
from feedbackloop import AsyncFeedbackLoop, Signal
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet, Threshold

TARGET = 0.5
"""The long history's throughput at least this share of the short one's, one by one."""


def _signals(start: int, count: int) -> list[Signal]:
    return [
        Signal(
            source="sentry",
            title="Timeout talking to the payments gateway",
            service="checkout",
            severity="high",
            occurred_at=T0 + timedelta(seconds=second),
        )
        for second in range(start, start + count)
    ]


def _loop(url: str) -> AsyncFeedbackLoop:
    rule = Rule(
        "checkout-errors",
        when=F.service == "checkout",
        threshold=Threshold(count=5, within=timedelta(hours=24)),
        then=OpenTicket("bench", project="OPS"),
    )
    return AsyncFeedbackLoop(RuleSet(rule), trackers={"bench": CountingTracker()}, store=url)


async def _rates(url: str, history: int, measured: int) -> tuple[float, float]:
    """Signals/s one by one and in a batch, after `history` seconds of signals."""
    loop = _loop(url)
    try:
        await loop.ingest_many(_signals(0, history))
        started = time.perf_counter()
        for signal in _signals(history, measured):
            await loop.ingest(signal)
        one_by_one = measured / (time.perf_counter() - started)
        batch = _signals(history + measured, measured * 10)
        started = time.perf_counter()
        await loop.ingest_many(batch)
        many = len(batch) / (time.perf_counter() - started)
    finally:
        await loop.aclose()
    return one_by_one, many


def run(*, quick: bool = False) -> Scenario:
    """Both paths after a short and a long history, as ratios long over short."""
    short, long, measured = (600, 7_200, 100) if quick else (3_600, 86_400, 500)
    scenario = Scenario(
        "history",
        f"a 24-hour threshold, one signal a second: after {long:,} s of history",
        f"the same after {short:,} s of history",
    )
    with tempfile.TemporaryDirectory() as tmp:
        found = {
            size: asyncio.run(_rates(f"sqlite:///{Path(tmp) / f'h{size}.db'}", size, measured))
            for size in (short, long)
        }
    for index, path in enumerate(("ingest() one by one", "ingest_many")):
        ratio = found[long][index] / found[short][index]
        scenario.figure(path, found[long][index], "signals/s", ratio)
        if index == 0:
            scenario.checks[f"one by one >= {TARGET}x after {long:,} s"] = ratio >= TARGET
    return scenario


if __name__ == "__main__":
    run().print()
