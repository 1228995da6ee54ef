"""Fault injection: the loop against a fake Jira that fails in every way a vendor does.

Signals of many groups go through the loop into `JiraTracker` pointed at the fake
(short timeouts, fast retries). Every ticket the rules plan must exist exactly once
on the fake's side, or its action must wait in the dead letters with the reason; no
action may vanish, and retries stay bounded. Once the vendor is healthy again,
retrying the dead letters completes everything, still without a duplicate.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest

from feedbackloop import AsyncFeedbackLoop, Signal
from feedbackloop.connectors._http import RetryPolicy
from feedbackloop.connectors.jira import JiraTracker
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet
from feedbackloop.store import Effect
from tests.reliability.canary import canary, captured_logs, forms, leaks
from tests.reliability.fake_jira import FakeJira, serving

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
GROUPS = 40
PER_GROUP = 4
TIMEOUT = 0.25
RETRY = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05, max_wait=1.0)
MAX_ATTEMPTS = 4
SECRET_TOKEN = canary("jira-api-token")
EMAIL = "ops@example.com"


def signals() -> list[Signal]:
    """GROUPS problems, each seen PER_GROUP times 15 minutes apart, interleaved."""
    return [
        Signal(
            source="sentry",
            kind="error",
            service=f"svc-{group}",
            title=f"TimeoutError in worker {group}",
            environment="production",
            severity="high",
            occurred_at=T0 + timedelta(minutes=15 * seen, seconds=group),
        )
        for seen in range(PER_GROUP)
        for group in range(GROUPS)
    ]


def rules() -> RuleSet:
    """One Jira ticket per problem, and a comment at most every 10 minutes."""
    return RuleSet(
        Rule(
            "errors",
            when=F.kind == "error",
            then=OpenTicket("jira", project="OPS", update_every=timedelta(minutes=10)),
        )
    )


def tracker(url: str) -> JiraTracker:
    """The Jira tracker pointed at the fake, with short timeouts and fast retries."""
    return JiraTracker(
        url=url,
        email=EMAIL,
        api_token=SECRET_TOKEN,
        project="OPS",
        retry=RETRY,
        timeout=TIMEOUT,
    )


async def drain(loop: AsyncFeedbackLoop, rounds: int = 40) -> int:
    """Run due effects until none is pending; returns the rounds it took."""
    for round_ in range(1, rounds + 1):
        if not loop.store.effects(status="pending"):
            return round_ - 1
        if not await loop.run_effects():
            await anyio.sleep(0.05)  # what waits is deferred by a Retry-After
    raise AssertionError(f"effects still pending after {rounds} rounds")


def check_no_duplicates(fake: FakeJira, loop: AsyncFeedbackLoop) -> None:
    """At most one issue per marker; a link with a key points at the one issue."""
    markers = Counter(label for i in fake.issues.values() for label in i.fields["labels"])
    duplicated = {m: n for m, n in markers.items() if m.startswith("fl-") and n > 1}
    assert duplicated == {}
    for link in loop.tickets():
        found = fake.by_marker(link.marker)
        if link.key is not None:
            assert [issue.key for issue in found] == [link.key]


def check_nothing_lost(effects: list[Effect], loop: AsyncFeedbackLoop) -> None:
    """Every effect is done, or dead with a dead letter carrying the vendor's reason."""
    letters = {letter.outbox_id: letter for letter in loop.dead_letters()}
    for effect in effects:
        assert effect.status in ("done", "dead"), effect
        assert effect.attempts <= MAX_ATTEMPTS
        if effect.status == "dead":
            assert effect.id in letters
            assert letters[effect.id].error.startswith(letters[effect.id].error_type)
            assert "jira" in letters[effect.id].error


@pytest.mark.slow
def test_faults_at_the_vendor_create_no_duplicate_and_lose_no_action(
    figures: dict[str, Any],
) -> None:
    """Under 429s, 5xx, resets and lost or late answers: one issue per group, nothing lost."""
    fake = FakeJira(seed=1206, delay=TIMEOUT * 2.5)

    async def scenario() -> None:
        with serving(fake) as url:
            async with AsyncFeedbackLoop(
                rules(),
                trackers={"jira": tracker(url)},
                sources=[],
                store="sqlite://",
                max_attempts=MAX_ATTEMPTS,
            ) as loop:
                for signal in signals():
                    await loop.ingest(signal)
                rounds = await drain(loop)
                await anyio.sleep(fake.delay)  # late applies land
                effects = loop.store.effects()
                texts.extend(f"{e.last_error} {e.payload}" for e in effects)
                texts.extend(f"{d.error} {d.payload}" for d in loop.dead_letters())
                texts.extend([repr(loop), *map(repr, loop.trackers.values())])
                check_no_duplicates(fake, loop)
                check_nothing_lost(effects, loop)
                dead = len(loop.dead_letters())
                faulty_requests = sum(fake.requests.values())

                fake.enabled = False  # the vendor recovers: the dead letters go through
                await loop.retry()
                await drain(loop)
                check_no_duplicates(fake, loop)
                links = loop.tickets()
                assert len(links) == GROUPS
                assert {link.status for link in links} == {"open"}
                assert len(fake.issues) == GROUPS
                done = Counter(
                    e.payload["link_id"] for e in loop.store.effects() if e.kind == "comment"
                )
                for link in links:
                    # A comment whose answer was lost may have landed twice: at least once.
                    assert len(fake.issues[link.key or ""].comments) >= done[link.id]
                assert {e.status for e in loop.store.effects()} == {"done"}
                assert loop.dead_letters() == []
        planned = len(effects)
        # Retries are bounded: each try of an effect makes at most a find, a create and
        # a find, each tried RETRY.attempts times.
        assert faulty_requests <= planned * MAX_ATTEMPTS * 3 * RETRY.attempts
        assert fake.retried_too_early() == []  # Retry-After honoured, by retries and outbox
        figures.update(
            groups=GROUPS,
            effects=planned,
            requests=faulty_requests,
            requests_per_effect=round(faulty_requests / planned, 2),
            faults=dict(fake.injected),
            faults_total=sum(fake.injected.values()),
            drain_rounds=rounds,
            dead_letters_then_retried=dead,
            issues=len(fake.issues),
            duplicates=0,
        )

    texts: list[str] = []
    with captured_logs() as logs:
        anyio.run(scenario)
    # The fault suite runs with a canary API token: no log, error or repr shows it.
    assert leaks([*texts, *logs], forms(SECRET_TOKEN, user=EMAIL)) == []
    figures.update(log_records=len(logs), leaks=0)


def test_an_effect_rate_limited_for_long_waits_for_the_vendor_before_its_next_try() -> None:
    """A 429 asking for longer than the HTTP layer waits defers the effect; no hammering."""
    fake = FakeJira(seed=1, delay=TIMEOUT, faults={"429": 1.0}, retry_after=("30",))

    async def scenario() -> None:
        with serving(fake) as url:
            async with AsyncFeedbackLoop(
                rules(), trackers={"jira": tracker(url)}, sources=[], store="sqlite://"
            ) as loop:
                await loop.ingest(signals()[0])
                again = await loop.run_effects()
                (effect,) = loop.store.effects()
                assert again == []
                assert sum(fake.requests.values()) == 1
                assert (effect.status, effect.attempts) == ("pending", 1)
                assert "429" in (effect.last_error or "")
                assert loop.dead_letters() == []

    anyio.run(scenario)
