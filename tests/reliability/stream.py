"""A scripted stream of signed Sentry deliveries, and what it must leave behind.

The stream mixes new deliveries about a few Sentry issues with redeliveries (the same
delivery sent again, as vendors do when an answer is lost). Whatever happens to the
server in between, the store must end with one ticket per issue and, on each ticket,
one occurrence per distinct delivery about its issue.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from feedbackloop.demo._vendor import Delivery, Vendors
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
ISSUES = 9
REDELIVERED = 0.15
"""Share of the stream that is a redelivery of an earlier delivery."""


def rules() -> RuleSet:
    """Every Sentry error keeps one ticket per issue (fingerprint) in the "jira" tracker."""
    return RuleSet(Rule("errors", when=F.kind == "error", then=OpenTicket("jira")))


def issue(number: int) -> dict[str, object]:
    """The Sentry issue `number`, as `Vendors.sentry_event_alert` takes it."""
    return {
        "id": str(7000 + number),
        "short_id": f"API-{number}",
        "project": "api",
        "project_id": 1,
        "title": f"KeyError in handler {number}",
        "culprit": "api.handlers",
        "level": "error",
        "environment": "production",
        "release": "api@2",
    }


def scripted(length: int, seed: int) -> list[Delivery]:
    """`length` deliveries: events of random issues, a second apart, some redelivered."""
    rng = random.Random(seed)
    vendors = Vendors(random.Random(seed + 1))
    stream: list[Delivery] = []
    for second in range(length):
        if stream and rng.random() < REDELIVERED:
            stream.append(rng.choice(stream))
            continue
        number = rng.randrange(ISSUES)
        at = T0 + timedelta(seconds=second)
        stream.append(vendors.sentry_event_alert(issue(number), at, f"KeyError: 'user' {second}"))
    return stream


def delivery_id(delivery: Delivery) -> str:
    """The delivery id the Sentry source keys the inbox by."""
    return delivery.headers["Request-ID"]


def expected_occurrences(stream: list[Delivery]) -> Counter[str]:
    """Fingerprint -> distinct deliveries about that issue (redeliveries do not count)."""
    seen: dict[str, str] = {}
    for delivery in stream:
        issue_id = delivery.body.split(b'"issue_id":"', 1)[1].split(b'"', 1)[0].decode()
        seen[delivery_id(delivery)] = f"sentry:{issue_id}"
    return Counter(seen.values())
