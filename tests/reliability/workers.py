"""A worker process for the concurrency test: `python -m tests.reliability.workers URL SEED`.

Each worker plays, in an order shuffled by SEED, the same storm of signals (ingested
from code) and the same webhook deliveries (accepted into the shared inbox, each one
twice, and processed with `process_pending` as it goes). Several workers on one
PostgreSQL database race for the same groups, the same deliveries and the same
effects. Prints `done` when finished.
"""

from __future__ import annotations

import random
import sys
from datetime import timedelta

from feedbackloop import FeedbackLoop, Signal
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.connectors.sentry import SentrySource
from feedbackloop.demo import SECRETS
from feedbackloop.demo._vendor import Delivery
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet
from tests.reliability import stream

STORM_GROUPS = 10
PER_GROUP = 12
DELIVERIES = 80


def storm() -> list[Signal]:
    """STORM_GROUPS problems, PER_GROUP occurrences each, a second apart."""
    return [
        Signal(
            source="datadog",
            kind="alert",
            service=f"db-{group}",
            title=f"replication lag {occurrence}s",
            occurred_at=stream.T0 + timedelta(seconds=occurrence),
        )
        for group in range(STORM_GROUPS)
        for occurrence in range(PER_GROUP)
    ]


def deliveries() -> list[Delivery]:
    """The shared webhook stream (the same bytes in every worker)."""
    return stream.scripted(DELIVERIES, seed=4)


def rules() -> RuleSet:
    """Alerts and errors keep one local ticket per fingerprint."""
    return RuleSet(Rule("problems", when=F.kind.in_(("alert", "error")), then=OpenTicket("local")))


def run(url: str, seed: int) -> None:
    work: list[Signal | Delivery] = [*storm(), *deliveries(), *deliveries()]
    random.Random(seed).shuffle(work)
    with FeedbackLoop(
        rules(),
        trackers={"local": LocalTracker()},
        sources=[SentrySource(client_secret=SECRETS["sentry"])],
        store=url,
        lease=timedelta(seconds=2),
    ) as loop:
        for index, item in enumerate(work):
            if isinstance(item, Signal):
                loop.ingest(item)
                continue
            loop.core.accept_webhook(item.source, item.headers, item.body)
            if index % 5 == 0:
                loop.process_pending(limit=5)
        while loop.process_pending():
            pass
    print("done", flush=True)


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]))
