"""How window counts grow with history: a day-long threshold on a group that never rests.

A rule counts a service's errors over 24 hours, and the service sends one every second.
After a short history and after a long one (a whole day in the full run), the same
signals go through `ingest()` one by one and through `ingest_many`; each figure is the
long history's best throughput as a ratio of the short one's, the two taking turns
round by round (this machine's speed drifts over minutes). A
window count that read every second of its window would slow down in proportion to the
history; the store sums whole minutes and hours from rolled-up counters, so the ratio
should stay near 1. The history is ingested through `ingest_many` like any traffic, on a
SQLite file.

A second pair of timelines adds a rule counting over five minutes beside the day-long
one, as a team's rules often do: a batch then holds windows that open a day apart, and
each must still be summed from its own edge (`ingest_many` only).
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


def _loop(url: str, *, burst: bool) -> AsyncFeedbackLoop:
    """The day-long rule; with `burst`, a five-minute one beside it (both count)."""
    rules = [
        Rule(
            "checkout-errors",
            when=F.service == "checkout",
            threshold=Threshold(count=5, within=timedelta(hours=24)),
            then=OpenTicket("bench", project="OPS"),
            continue_=burst,
        )
    ]
    if burst:
        rules.append(
            Rule(
                "checkout-burst",
                when=F.service == "checkout",
                threshold=Threshold(count=50, within=timedelta(minutes=5)),
                then=OpenTicket("bench", project="OPS"),
            )
        )
    return AsyncFeedbackLoop(RuleSet(*rules), trackers={"bench": CountingTracker()}, store=url)


class _Timeline:
    """A loop whose group has `history` seconds of signals, and the signals that follow."""

    def __init__(self, url: str, history: int, *, burst: bool = False) -> None:
        self.loop = _loop(url, burst=burst)
        self.history = history
        self.next = 0

    def take(self, count: int) -> list[Signal]:
        taken = _signals(self.next, count)
        self.next += count
        return taken


async def _one_by_one(timeline: _Timeline, count: int) -> float:
    signals = timeline.take(count)
    started = time.perf_counter()
    for signal in signals:
        await timeline.loop.ingest(signal)
    return count / (time.perf_counter() - started)


async def _many(timeline: _Timeline, count: int) -> float:
    signals = timeline.take(count)
    started = time.perf_counter()
    await timeline.loop.ingest_many(signals)
    return count / (time.perf_counter() - started)


async def _rates(
    urls: dict[tuple[int, bool], str], measured: int, rounds: int
) -> dict[tuple[int, str], list[float]]:
    """Signals/s, by (history, path), of each round: the histories take turns, so both
    see the same machine. `urls` by (history, with the five-minute rule beside)."""
    timelines = {
        (size, burst): _Timeline(url, size, burst=burst) for (size, burst), url in urls.items()
    }
    rates: dict[tuple[int, str], list[float]] = {}
    try:
        for timeline in timelines.values():
            await timeline.loop.ingest_many(timeline.take(timeline.history))
        for _ in range(rounds):
            for (size, burst), timeline in timelines.items():
                if burst:
                    rates.setdefault((size, MIXED), []).append(await _many(timeline, measured * 10))
                    continue
                rates.setdefault((size, ONE_BY_ONE), []).append(
                    await _one_by_one(timeline, measured)
                )
                rates.setdefault((size, MANY), []).append(await _many(timeline, measured * 10))
    finally:
        for timeline in timelines.values():
            await timeline.loop.aclose()
    return rates


ONE_BY_ONE, MANY = "ingest() one by one", "ingest_many"
MIXED = "ingest_many, a 5-minute rule beside"


def run(*, quick: bool = False) -> Scenario:
    """Both paths after a short and a long history, as ratios long over short."""
    short, long, measured, rounds = (600, 7_200, 100, 2) if quick else (3_600, 86_400, 300, 4)
    scenario = Scenario(
        "history",
        f"a 24-hour threshold, one signal a second: after {long:,} s of history",
        f"the same after {short:,} s of history, in alternating rounds (best of each)",
    )
    with tempfile.TemporaryDirectory() as tmp:
        urls = {
            (size, burst): f"sqlite:///{Path(tmp) / f'h{size}-{burst}.db'}"
            for size in (short, long)
            for burst in (False, True)
        }
        rates = asyncio.run(_rates(urls, measured, rounds))
    for path in (ONE_BY_ONE, MANY, MIXED):
        best = max(rates[long, path])
        scenario.figure(path, best, "signals/s", best / max(rates[short, path]))
    ratio = scenario.figures[ONE_BY_ONE]["ratio"]
    scenario.checks[f"one by one >= {TARGET}x after {long:,} s"] = ratio >= TARGET
    return scenario


if __name__ == "__main__":
    run().print()
