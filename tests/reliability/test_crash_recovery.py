"""Crash recovery: `feedbackloop serve` SIGKILLed and restarted at random moments.

A sender thread plays the scripted stream to the server like a vendor: each delivery
is sent again until it gets a 2xx. Meanwhile the driver kills the server with SIGKILL
at seeded random moments (while requests are in flight and the worker is mid-way
through deliveries and ticket creation) and starts it again on the same port and the
same SQLite file. Afterwards the store must hold exactly what the stream implies.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from feedbackloop.connectors.local import LocalTracker
from feedbackloop.demo._vendor import Delivery
from feedbackloop.store import Store
from feedbackloop.store import _schema as s
from tests.reliability import stream
from tests.reliability.servers import Served

SEED = 20260504
KILLS = 21
STREAM = 420


class Sender(threading.Thread):
    """Plays the stream; every delivery is retried until the server answers 2xx."""

    def __init__(self, url: str, deliveries: list[Delivery]) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.deliveries = deliveries
        self.allowed = 0
        """How many deliveries the driver lets out so far: the stream outlasts the kills."""
        self.acked: list[str] = []
        self.answers: Counter[str] = Counter()
        self.attempts = 0
        self.failure: str | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.url, timeout=10) as http:
                for index, delivery in enumerate(self.deliveries):
                    while index >= self.allowed:
                        time.sleep(0.005)
                    self._deliver(http, delivery)
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.failure = f"{type(exc).__name__}: {exc}"
        finally:
            self.done.set()

    def _deliver(self, http: httpx.Client, delivery: Delivery) -> None:
        while True:
            self.attempts += 1
            try:
                answer = http.post(
                    f"/webhooks/{delivery.source}", content=delivery.body, headers=delivery.headers
                )
            except httpx.TransportError as exc:
                self.answers[type(exc).__name__] += 1
                time.sleep(0.02)  # the server is down: a vendor retries later
                continue
            self.answers[str(answer.status_code)] += 1
            if answer.status_code == 202:
                self.answers["duplicate" if answer.json()["duplicate"] else "new"] += 1
                self.acked.append(stream.delivery_id(delivery))
                return
            raise AssertionError(f"unexpected answer {answer.status_code}: {answer.text}")


def wait_until_settled(store: Store, deliveries: int, timeout: float = 60.0) -> None:
    """Wait until every delivery and effect is done (the restarted worker catches up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inbox = store.deliveries()
        if (
            len(inbox) == deliveries
            and all(d.status == "done" for d in inbox)
            and all(e.status == "done" for e in store.effects())
            and not store.links(status="pending")
        ):
            return
        time.sleep(0.1)
    raise AssertionError("the restarted server did not settle the inbox and the outbox")


@pytest.mark.slow
def test_a_server_killed_at_random_moments_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, figures: dict[str, object]
) -> None:
    """After 20+ SIGKILLs mid-stream, every 2xx delivery counted once; one ticket per issue."""
    rng = random.Random(SEED)
    deliveries = stream.scripted(STREAM, SEED)
    db = tmp_path / "crash.db"
    server = Served(
        "tests.reliability.apps:crash_loop",
        env={"FEEDBACKLOOP_RELIABILITY_DB": str(db)},
        log=tmp_path / "serve.log",
    )
    sender = Sender(server.url, deliveries)
    kills = 0
    started = time.monotonic()
    try:
        server.start()
        sender.start()
        while kills < KILLS and not sender.done.is_set():
            # Kill after a random number of acknowledged deliveries, then a random delay
            # during which requests keep flowing: the kill lands mid-request, mid-batch,
            # or between a ticket's creation and its link being saved.
            grant = rng.randint(6, 26)
            sender.allowed += grant
            target = len(sender.acked) + rng.randint(0, grant)
            while len(sender.acked) < target and not sender.done.is_set():
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.2))
            server.kill()
            kills += 1
            if rng.random() < 0.3:
                time.sleep(rng.uniform(0.0, 0.5))  # down for a while: the sender retries
            server.start()
        sender.allowed = len(deliveries)
        sender.done.wait(120)
        assert sender.failure is None, sender.failure
        store = Store(f"sqlite:///{db}")
        try:
            wait_until_settled(store, len({stream.delivery_id(d) for d in deliveries}))
            server.stop()
            inbox = store.deliveries()
            links = store.links()
            tickets = LocalTracker(store, name="jira", project="OPS").tickets()
            with store.transaction() as tx:
                recorded = tx.connection.execute(select(func.count()).select_from(s.signals))
                signals = recorded.scalar_one()
            dead = store.dead_letters()
        finally:
            store.close()
    finally:
        server.stop()
    expected = stream.expected_occurrences(deliveries)
    acked = set(sender.acked)
    figures.update(
        kills=kills,
        starts=server.starts,
        seconds=round(time.monotonic() - started, 1),
        stream=len(deliveries),
        distinct_deliveries=len(acked),
        posts=sender.attempts,
        answers=dict(sender.answers),
        tickets=len(tickets),
        creates_retried_after_a_kill=sum(link.attempts > 1 for link in links),
        duplicates=len(tickets) - len({t.marker for t in tickets}),
    )
    assert kills >= 20
    assert acked == {stream.delivery_id(d) for d in deliveries}
    assert sorted(d.delivery_id for d in inbox) == sorted(acked)
    assert signals == len(acked)
    assert {link.fingerprint: link.occurrences for link in links} == dict(expected)
    assert len(tickets) == len(expected) == len(links)
    assert len({t.marker for t in tickets}) == len(tickets)
    assert sorted(t.key for t in tickets) == sorted(link.key or "" for link in links)
    assert dead == []
