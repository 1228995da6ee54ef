"""Worker processes for concurrency and crash tests: `python -m tests._workers ...`.

`storm URL SEED`: ingest the shared storm of signals, in an order shuffled by SEED, into
the store at URL through a local tracker. Prints `done` when finished.

`deliveries URL KILL_AFTER`: accept the Sentry deliveries of `sentry_deliveries()` into
the inbox (redeliveries change nothing), then process the inbox; when KILL_AFTER > 0 the
process SIGKILLs itself right after the tracker created ticket number KILL_AFTER, before
the loop could save the link.
"""

from __future__ import annotations

import json
import os
import random
import signal as signals
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feedbackloop import FeedbackLoop, Signal, TicketRef
from feedbackloop.connectors import TicketDraft
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.connectors.sentry import SentrySource
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
GROUPS = 12
PER_GROUP = 15


def storm() -> list[Signal]:
    """GROUPS problems, PER_GROUP occurrences each, a second apart."""
    return [
        Signal(
            source="datadog",
            kind="alert",
            service=f"svc-{group}",
            title=f"disk full on host {occurrence}",
            occurred_at=T0 + timedelta(seconds=occurrence),
        )
        for group in range(GROUPS)
        for occurrence in range(PER_GROUP)
    ]


def rules() -> RuleSet:
    """Every alert keeps one ticket per fingerprint in the local tracker."""
    return RuleSet(Rule("alerts", when=F.kind == "alert", then=OpenTicket("local")))


def run_storm(url: str, seed: int) -> None:
    signals = storm()
    random.Random(seed).shuffle(signals)
    with FeedbackLoop(rules(), trackers={"local": LocalTracker()}, store=url) as loop:
        for signal in signals:
            loop.ingest(signal)
    print("done", flush=True)


SENTRY_EXAMPLE = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "vendor"
    / "sentry"
    / "webhook-examples"
    / "issues.created.json"
)
ISSUES = 6
LEASE = timedelta(seconds=1)


def sentry_deliveries() -> list[tuple[dict[str, str], bytes]]:
    """ISSUES distinct Sentry issues, two deliveries each (the second a redelivery)."""
    template = json.loads(SENTRY_EXAMPLE.read_text())
    deliveries = []
    for number in range(ISSUES):
        payload = json.loads(json.dumps(template))
        payload["data"]["issue"]["id"] = str(9000 + number)
        payload["data"]["issue"]["title"] = f"Crash number {number}"
        body = json.dumps(payload).encode()
        headers = {"Sentry-Hook-Resource": "issue", "Request-ID": f"req-{number}"}
        deliveries += [(headers, body), (headers, body)]
    return deliveries


class SuicidalTracker(LocalTracker):
    """A local tracker that kills its process right after its N-th ticket exists."""

    def __init__(self, kill_after: int) -> None:
        super().__init__()
        self.kill_after = kill_after
        self.created = 0

    async def create(self, draft: TicketDraft) -> TicketRef:
        ref = await super().create(draft)
        self.created += 1
        if self.created == self.kill_after:
            os.kill(os.getpid(), signals.SIGKILL)
        return ref


def run_deliveries(url: str, kill_after: int) -> None:
    rules = RuleSet(Rule("issues", when=F.source == "sentry", then=OpenTicket("local")))
    with FeedbackLoop(
        rules,
        trackers={"local": SuicidalTracker(kill_after)},
        sources=[SentrySource(verify=False)],
        store=url,
        lease=LEASE,
    ) as loop:
        for headers, body in sentry_deliveries():
            loop.core.accept_webhook("sentry", headers, body)
        while loop.process_pending():
            pass
    print("done", flush=True)


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "storm":
        run_storm(arguments[0], int(arguments[1]))
    elif command == "deliveries":
        run_deliveries(arguments[0], int(arguments[1]))
    else:
        raise SystemExit(f"unknown command {command!r}")
