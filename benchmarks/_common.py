"""What every scenario shares: timing, fake trackers, the Sentry bodies, reporting."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from feedbackloop import TicketRef
from feedbackloop.connectors import TicketDraft, TicketState
from feedbackloop.connectors.local import LocalTracker

__all__ = [
    "SENTRY_EXAMPLES",
    "SENTRY_SECRET",
    "T0",
    "CountingTracker",
    "LatencyLocalTracker",
    "Scenario",
    "best_time",
    "sentry_deliveries",
]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SENTRY_SECRET = "benchmark-client-secret"
SENTRY_EXAMPLES = (
    Path(__file__).resolve().parents[2] / "shared" / "vendor" / "sentry" / "webhook-examples"
)


def best_time(run: Callable[[], object], repeat: int) -> float:
    """The best of `repeat` wall times of `run()`, in seconds (best shrugs off noise)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


@dataclass
class Scenario:
    """One scenario's figures: values with units, and ratios against its baseline."""

    name: str
    title: str
    baseline: str
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)

    def figure(self, name: str, value: float, unit: str, ratio: float | None = None) -> None:
        """Record a figure; `ratio` is against the scenario's baseline (higher is better
        for throughputs, lower for costs: the unit says which)."""
        self.figures[name] = {"value": value, "unit": unit, "ratio": ratio}

    def print(self) -> None:
        """Print the figures, one a line, with their ratios."""
        print(f"{self.name}: {self.title} (baseline: {self.baseline})")
        for name, figure in self.figures.items():
            ratio = "" if figure["ratio"] is None else f"   ratio {figure['ratio']:.2f}x"
            print(f"  {name:<46} {figure['value']:>14,.1f} {figure['unit']:<12}{ratio}")
        for name, value in self.facts.items():
            print(f"  {name:<46} {value}")
        for name, ok in self.checks.items():
            print(f"  {name:<46} {'ok' if ok else 'FAILED'}")

    def as_json(self) -> dict[str, Any]:
        """The scenario as the JSON result stores it."""
        return {
            "title": self.title,
            "baseline": self.baseline,
            "figures": self.figures,
            "facts": self.facts,
            "checks": self.checks,
        }


class CountingTracker:
    """A tracker in memory that takes `latency` seconds per call and counts its calls."""

    def __init__(self, name: str = "bench", *, latency: float = 0.0) -> None:
        self.name = name
        self.latency = latency
        self.calls: Counter[str] = Counter()
        self.comments: Counter[str] = Counter()
        self._tickets: dict[str, TicketRef] = {}
        self._by_marker: dict[str, str] = {}
        self._numbers = itertools.count(1)

    async def _call(self, kind: str) -> None:
        self.calls[kind] += 1
        if self.latency:
            await asyncio.sleep(self.latency)

    async def find(self, marker: str, *, fields: Mapping[str, Any]) -> TicketRef | None:
        await self._call("find")
        key = self._by_marker.get(marker)
        return None if key is None else self._tickets[key]

    async def create(self, draft: TicketDraft) -> TicketRef:
        await self._call("create")
        key = f"BENCH-{next(self._numbers)}"
        ref = TicketRef(tracker=self.name, key=key, url=f"https://tracker.test/{key}")
        self._tickets[key] = ref
        self._by_marker[draft.marker] = key
        return ref

    async def comment(self, key: str, body: str) -> None:
        await self._call("comment")
        self.comments[key] += 1

    async def close(self, key: str, *, resolution: str | None = None) -> None:
        await self._call("close")

    async def reopen(self, key: str) -> None:
        await self._call("reopen")

    async def state(self, key: str) -> TicketState:
        await self._call("state")
        return TicketState(self._tickets[key])


class LatencyLocalTracker(LocalTracker):
    """The local tracker (tickets in the shared store) with `latency` seconds per write."""

    def __init__(self, *, latency: float, **options: Any) -> None:
        super().__init__(**options)
        self.latency = latency

    async def create(self, draft: TicketDraft) -> TicketRef:
        await asyncio.sleep(self.latency)
        return await super().create(draft)

    async def comment(self, key: str, body: str) -> None:
        await asyncio.sleep(self.latency)
        await super().comment(key, body)


def _sign(body: bytes) -> str:
    return hmac.new(SENTRY_SECRET.encode(), body, hashlib.sha256).hexdigest()


def sentry_deliveries(
    count: int, *, groups: int, projects: int
) -> list[tuple[dict[str, str], bytes]]:
    """`count` signed Sentry deliveries shaped like the vendor's examples.

    Seven in ten are `issue` webhooks (created), three in ten `event_alert` (triggered,
    the biggest body: a full event with its stack trace); `groups` Sentry issues spread
    over `projects` projects, one second apart.
    """
    issue = json.loads((SENTRY_EXAMPLES / "issues.created.json").read_text())
    alert = json.loads((SENTRY_EXAMPLES / "issue-alerts.event_alert.triggered.json").read_text())
    deliveries = []
    for n in range(count):
        group = n % groups
        project = f"project-{group % projects}"
        at = (T0 + timedelta(seconds=n)).isoformat().replace("+00:00", "Z")
        if n % 10 < 7:
            payload = copy.deepcopy(issue)
            data = payload["data"]["issue"]
            data.update(id=str(100_000 + group), firstSeen=at, lastSeen=at)
            data["title"] = f"ReferenceError: handler {group} is not defined"
            data["project"]["slug"] = project
            resource = "issue"
        else:
            payload = copy.deepcopy(alert)
            event = payload["data"]["event"]
            event.update(issue_id=str(100_000 + group), datetime=at, event_id=f"{n:032x}")
            event["title"] = f"ReferenceError: handler {group} is not defined"
            event["url"] = f"https://sentry.io/api/0/projects/acme/{project}/events/{n:032x}/"
            resource = "event_alert"
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "Request-ID": f"delivery-{n}",
            "Sentry-Hook-Resource": resource,
            "Sentry-Hook-Timestamp": str(int((T0 + timedelta(seconds=n)).timestamp())),
            "Sentry-Hook-Signature": _sign(body),
        }
        deliveries.append((headers, body))
    return deliveries
