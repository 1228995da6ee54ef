"""The PagerDuty Events v2 escalator, every event checked against the Events API description."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import respx

from feedbackloop import Severity
from feedbackloop.connectors import Escalator, Message
from feedbackloop.connectors.pagerduty import PagerDutyEscalator
from feedbackloop.errors import BadRequestError, ConfigurationError
from tests.connectors.contract import load, record_sleeps, vendor

pytestmark = pytest.mark.anyio

EVENTS = "https://events.pagerduty.com"
ROUTING_KEY = "R0123456789abcdef0123456789abcde"
SPEC = load("pagerduty-events")


@pytest.fixture
def pagerduty() -> Iterator[respx.MockRouter]:
    """A fake Events API; afterwards every event it received is checked against the spec."""
    with vendor("pagerduty-events", EVENTS) as router:
        yield router


def accepted() -> httpx.Response:
    return httpx.Response(202, json=SPEC.example("post", "/enqueue", 202))


def message(**options: object) -> Message:
    values: dict[str, object] = {
        "title": "checkout: timeout calling payments",
        "text": "5 in the last hour",
        "url": "https://sentry.io/organizations/acme/issues/42/",
        "severity": Severity.CRITICAL,
        "fields": {"service": "checkout", "rule": "prod-errors"},
    }
    return Message(**{**values, **options})  # type: ignore[arg-type]


def sent(route: respx.Route, index: int = -1) -> dict[str, object]:
    return dict(json.loads(route.calls[index].request.content))


def test_the_escalator_meets_the_escalator_protocol() -> None:
    """PagerDutyEscalator is an Escalator."""
    assert isinstance(PagerDutyEscalator(routing_key=ROUTING_KEY), Escalator)


async def test_trigger_acknowledge_and_resolve_share_the_dedup_key(
    pagerduty: respx.MockRouter,
) -> None:
    """The three actions of one alert are sent with the same dedup_key."""
    route = pagerduty.post("/v2/enqueue").mock(side_effect=lambda request: accepted())
    escalator = PagerDutyEscalator(routing_key=ROUTING_KEY)

    for action in ("trigger", "acknowledge", "resolve"):
        await escalator.escalate(message(), dedup_key="sentry:42", action=action)  # type: ignore[arg-type]
    await escalator.aclose()

    events = [sent(route, i) for i in range(3)]
    assert [e["event_action"] for e in events] == ["trigger", "acknowledge", "resolve"]
    assert {e["dedup_key"] for e in events} == {"sentry:42"}
    assert "payload" not in events[1]


async def test_a_trigger_carries_summary_source_severity_details_and_link(
    pagerduty: respx.MockRouter,
) -> None:
    """A trigger describes the alert: the title, the service, the mapped severity, the link."""
    route = pagerduty.post("/v2/enqueue").mock(return_value=accepted())

    await PagerDutyEscalator(routing_key=ROUTING_KEY).escalate(message(), dedup_key="k")

    event = sent(route)
    assert event["routing_key"] == ROUTING_KEY
    assert event["payload"] == {
        "summary": "checkout: timeout calling payments",
        "source": "checkout",
        "severity": "critical",
        "custom_details": {
            "service": "checkout",
            "rule": "prod-errors",
            "text": "5 in the last hour",
        },
    }
    assert event["links"] == [
        {"href": "https://sentry.io/organizations/acme/issues/42/", "text": "Open the signal"}
    ]


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.CRITICAL, "critical"),
        (Severity.HIGH, "error"),
        (Severity.MEDIUM, "warning"),
        (Severity.LOW, "info"),
        (Severity.INFO, "info"),
        (None, "error"),
    ],
)
def test_severities_map_onto_pagerdutys_four(severity: Severity | None, expected: str) -> None:
    """critical->critical, high->error, medium->warning, low and info->info; none->error."""
    event = PagerDutyEscalator(routing_key=ROUTING_KEY).event(
        message(severity=severity), dedup_key="k"
    )
    assert event["payload"]["severity"] == expected


async def test_a_400_is_not_retried(pagerduty: respx.MockRouter) -> None:
    """A malformed event fails at once with PagerDuty's reason."""
    route = pagerduty.post("/v2/enqueue").respond(
        400, json={"status": "invalid event", "message": "Event object is invalid", "errors": ["x"]}
    )

    with pytest.raises(BadRequestError, match="Event object is invalid"):
        await PagerDutyEscalator(routing_key=ROUTING_KEY).escalate(message(), dedup_key="k")

    assert route.call_count == 1


async def test_a_429_is_retried_then_succeeds(
    pagerduty: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Throttled: the HTTP layer backs off and sends the same event again."""
    waits = record_sleeps(monkeypatch)
    route = pagerduty.post("/v2/enqueue").mock(side_effect=[httpx.Response(429), accepted()])

    await PagerDutyEscalator(routing_key=ROUTING_KEY).escalate(message(), dedup_key="k")

    assert route.call_count == 2
    assert len(waits) == 1
    assert sent(route, 0) == sent(route, 1)


async def test_a_timeout_is_retried_because_the_dedup_key_makes_it_safe(
    pagerduty: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The enqueue POST is idempotent by dedup_key, so a lost answer is simply retried."""
    record_sleeps(monkeypatch)
    route = pagerduty.post("/v2/enqueue").mock(side_effect=[httpx.ReadTimeout("slow"), accepted()])

    await PagerDutyEscalator(routing_key=ROUTING_KEY).escalate(message(), dedup_key="k")

    assert route.call_count == 2


def test_a_long_dedup_key_is_replaced_by_its_digest() -> None:
    """Dedup keys over 255 characters become a stable SHA-256 digest."""
    escalator = PagerDutyEscalator(routing_key=ROUTING_KEY)
    first = escalator.event(message(), dedup_key="x" * 300, action="resolve")["dedup_key"]
    second = escalator.event(message(), dedup_key="x" * 300, action="resolve")["dedup_key"]
    assert first == second
    assert str(first).startswith("sha256:")


def test_the_routing_key_stays_out_of_the_repr() -> None:
    """The routing key is a credential: never in the repr."""
    assert ROUTING_KEY not in repr(PagerDutyEscalator(routing_key=ROUTING_KEY))


def test_from_env_needs_the_routing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without FEEDBACKLOOP_PAGERDUTY_ROUTING_KEY, from_env names it."""
    monkeypatch.delenv("FEEDBACKLOOP_PAGERDUTY_ROUTING_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="FEEDBACKLOOP_PAGERDUTY_ROUTING_KEY"):
        PagerDutyEscalator.from_env()
