"""PagerDutySource: webhooks v3 into incident updates and signals; polling incidents."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
import pytest
import respx

from feedbackloop import Incident, IncidentStatus, Severity, Signal, SignalStatus
from feedbackloop.connectors.pagerduty import PagerDutySource
from feedbackloop.errors import PayloadError, SignatureError
from tests.connectors.payloads import body, hub_signature, load

DELIVERY = load("pagerduty/webhook-v3-examples/payload.incident.priority_updated.json")
SOURCE = PagerDutySource(verify=False)
OLD, NEW = "old-secret", "new-secret"


def delivery(event_type: str, **data: Any) -> dict[str, Any]:
    document = copy.deepcopy(DELIVERY)
    document["event"]["event_type"] = event_type
    document["event"]["data"].update(data)
    return document


def test_a_delivery_signed_during_rotation_passes_with_either_secret() -> None:
    """PagerDuty signs with every active secret; a source knowing one of them accepts."""
    payload = body(DELIVERY)
    entries = ",".join(f"v1={hub_signature(secret, payload)}" for secret in (OLD, NEW))
    header = {"X-PagerDuty-Signature": entries}
    PagerDutySource(webhook_secrets=[OLD]).verify(header, payload)
    PagerDutySource(webhook_secrets=[NEW]).verify(header, payload)


@pytest.mark.parametrize("separator", [",", ", "])
def test_a_source_with_two_secrets_accepts_a_delivery_signed_with_either(separator: str) -> None:
    """Configured with old and new (comma-separated, as in the environment), both pass."""
    payload = body(DELIVERY)
    source = PagerDutySource(webhook_secrets=f"{OLD}{separator}{NEW}")
    for secret in (OLD, NEW):
        source.verify({"X-PagerDuty-Signature": f"v1={hub_signature(secret, payload)}"}, payload)
    with pytest.raises(SignatureError, match="does not match"):
        source.verify({"X-PagerDuty-Signature": f"v1={hub_signature('other', payload)}"}, payload)


def test_a_malformed_entry_beside_a_matching_one_is_skipped() -> None:
    """The delivery is accepted when any well-formed entry matches."""
    payload = body(DELIVERY)
    header = {"X-PagerDuty-Signature": f"v1=abc, v1={hub_signature(NEW, payload)}"}
    PagerDutySource(webhook_secrets=[NEW]).verify(header, payload)


def test_the_webhook_id_is_the_delivery_id() -> None:
    """X-Webhook-Id identifies a delivery across PagerDuty's retries."""
    assert SOURCE.delivery_id({"X-Webhook-Id": "wh-1"}, body(DELIVERY)) == "wh-1"


def test_a_triggered_incident_yields_the_incident_and_a_firing_signal() -> None:
    """The incident id is the Incident's id and the signal's fingerprint."""
    incident, signal = SOURCE.parse({}, body(delivery("incident.triggered")))
    assert isinstance(incident, Incident)
    assert isinstance(signal, Signal)
    assert (incident.id, incident.status, incident.service) == (
        "PGR0VU2",
        IncidentStatus.TRIGGERED,
        "API Service",
    )
    assert (signal.fingerprint, signal.external_id) == ("pagerduty:PGR0VU2", "PGR0VU2")
    assert signal.status is SignalStatus.FIRING
    assert signal.kind == "incident"


def test_an_acknowledgement_sets_the_acknowledge_time() -> None:
    """incident.acknowledged: an update with acknowledged_at, and no new signal."""
    (incident,) = SOURCE.parse({}, body(delivery("incident.acknowledged", status="acknowledged")))
    assert isinstance(incident, Incident)
    assert incident.acknowledged_at == datetime(2020, 10, 2, 18, 45, 22, 169000, tzinfo=UTC)
    assert incident.time_to_acknowledge is not None


def test_a_resolution_yields_a_resolved_incident_and_a_resolved_signal() -> None:
    """incident.resolved closes the incident and resolves its group."""
    incident, signal = SOURCE.parse({}, body(delivery("incident.resolved", status="resolved")))
    assert isinstance(incident, Incident)
    assert isinstance(signal, Signal)
    assert incident.resolved_at is not None
    assert signal.status is SignalStatus.RESOLVED


@pytest.mark.parametrize(
    "event_type",
    [
        "incident.unacknowledged",
        "incident.escalated",
        "incident.priority_updated",
        "incident.reopened",
    ],
)
def test_other_status_events_are_incident_updates_with_a_timeline_entry(event_type: str) -> None:
    """Each event lands in the incident's timeline under its own kind, with its actor."""
    incident = SOURCE.parse({}, body(delivery(event_type)))[0]
    assert isinstance(incident, Incident)
    (entry,) = incident.timeline
    assert (entry.kind, entry.actor) == (event_type.removeprefix("incident."), "Tenex Engineer")


@pytest.mark.parametrize(
    ("priority", "urgency", "severity"),
    [
        ("P1", "high", Severity.CRITICAL),
        ("P2", "high", Severity.HIGH),
        ("P3", "low", Severity.MEDIUM),
        ("P4", "high", Severity.LOW),
        ("P5", "high", Severity.INFO),
        ("SEV-1", "low", Severity.LOW),
        (None, "high", Severity.HIGH),
        (None, "low", Severity.LOW),
    ],
)
def test_priority_wins_over_urgency_for_the_severity(
    priority: str | None, urgency: str, severity: Severity
) -> None:
    """P1..P5 map by name; custom priorities and no priority fall back to urgency."""
    document = delivery("incident.triggered", urgency=urgency)
    document["event"]["data"]["priority"] = None if priority is None else {"summary": priority}
    assert SOURCE.parse({}, body(document))[0].severity is severity


def test_an_annotation_lands_in_the_timeline() -> None:
    """incident.annotated: the note's content is the timeline entry's message."""
    note = load("pagerduty/webhook-v3-examples/event-data.incident_note.json")
    document = {"event": {**DELIVERY["event"], "event_type": "incident.annotated", "data": note}}
    (incident,) = SOURCE.parse({}, body(document))
    assert isinstance(incident, Incident)
    assert incident.timeline[0].message == "I sure am glad we are using PagerDuty!"
    assert incident.labels["event_type"] == "incident.annotated"


def test_service_events_are_ignored() -> None:
    """service.* deliveries are answered with nothing to route."""
    document = load("pagerduty/webhook-v3-examples/payload.service.updated.json")
    assert SOURCE.parse({}, body(document)) == []


def test_an_unknown_status_is_named() -> None:
    """A status outside triggered/acknowledged/resolved is an error naming the field."""
    with pytest.raises(PayloadError, match=r"event\.data\.status: expected triggered"):
        SOURCE.parse({}, body(delivery("incident.triggered", status="exploded")))


def test_a_resolution_before_creation_is_a_payload_error() -> None:
    """Times the model cannot accept are reported as an unreadable payload."""
    document = delivery("incident.resolved", status="resolved", created_at="2030-01-01T00:00:00Z")
    with pytest.raises(PayloadError, match="resolved_at is before created_at"):
        SOURCE.parse({}, body(document))


# --- polling ------------------------------------------------------------------------------

API = "https://api.pagerduty.com"


def rest_incident(incident_id: str, status: str) -> dict[str, Any]:
    """An incident as `GET /incidents` returns it (the spec's example, varied)."""
    return {
        "id": incident_id,
        "type": "incident",
        "summary": f"[#{incident_id}] The server is on fire.",
        "html_url": f"https://subdomain.pagerduty.com/incidents/{incident_id}",
        "incident_number": 1234,
        "title": "The server is on fire.",
        "created_at": "2024-05-01T10:00:00Z",
        "status": status,
        "incident_key": "baf7cf21b1da41b4b0221008339ff357",
        "service": {"id": "PIJ90N7", "type": "service_reference", "summary": "My Mail Service"},
        "urgency": "high",
        "priority": None,
    }


def log_entry(kind: str, at: str) -> dict[str, Any]:
    return {
        "id": f"Q{kind}",
        "type": f"{kind}_log_entry",
        "created_at": at,
        "agent": {"id": "PXPGF42", "type": "user_reference", "summary": "Earline Greenholt"},
    }


def incidents_pages(request: httpx.Request) -> httpx.Response:
    offset = int(request.url.params["offset"])
    pages = {
        0: ([rest_incident("P1", "resolved"), rest_incident("P2", "acknowledged")], True),
        2: ([rest_incident("P3", "triggered")], False),
    }
    items, more = pages[offset]
    return httpx.Response(
        200, json={"incidents": items, "limit": 2, "offset": offset, "more": more}
    )


def log_pages(request: httpx.Request) -> httpx.Response:
    incident_id = request.url.path.split("/")[2]
    offset = int(request.url.params["offset"])
    entries = {
        ("P1", 0): (
            [
                log_entry("trigger", "2024-05-01T10:00:00Z"),
                log_entry("acknowledge", "2024-05-01T10:05:00Z"),
            ],
            True,
        ),
        ("P1", 2): ([log_entry("resolve", "2024-05-01T11:00:00Z")], False),
        ("P2", 0): ([log_entry("acknowledge", "2024-05-01T10:02:00Z")], False),
    }
    items, more = entries[(incident_id, offset)]
    return httpx.Response(200, json={"log_entries": items, "offset": offset, "more": more})


def collect(source: PagerDutySource, since: datetime) -> list[Any]:
    async def run() -> list[Any]:
        try:
            return [event async for event in source.poll(since)]
        finally:
            await source.aclose()

    return anyio.run(run)


@respx.mock
def test_polling_pages_incidents_and_reads_times_from_log_entries() -> None:
    """Offset paging while `more`; acknowledge and resolve times come from the log."""
    incidents = respx.get(f"{API}/incidents").mock(side_effect=incidents_pages)
    logs = respx.get(url__regex=rf"{API}/incidents/\w+/log_entries").mock(side_effect=log_pages)
    events = collect(PagerDutySource(api_token="pd-token"), datetime(2024, 5, 1, tzinfo=UTC))
    by_id = {event.id: event for event in events if isinstance(event, Incident)}
    assert list(by_id) == ["P1", "P2", "P3"]
    assert by_id["P1"].time_to_acknowledge is not None
    assert by_id["P1"].time_to_acknowledge.total_seconds() == 300
    assert by_id["P1"].time_to_resolve is not None
    assert by_id["P1"].time_to_resolve.total_seconds() == 3600
    assert by_id["P2"].acknowledged_at == datetime(2024, 5, 1, 10, 2, tzinfo=UTC)
    assert by_id["P3"].acknowledged_at is None
    statuses = [(e.external_id, e.status) for e in events if isinstance(e, Signal)]
    assert statuses == [
        ("P1", SignalStatus.FIRING),
        ("P1", SignalStatus.RESOLVED),
        ("P2", SignalStatus.FIRING),
        ("P3", SignalStatus.FIRING),
    ]
    assert incidents.call_count == 2
    assert logs.call_count == 3  # no log read for the triggered incident
    first = incidents.calls[0].request
    assert first.headers["Authorization"] == "Token token=pd-token"
    assert first.headers["Accept"] == "application/vnd.pagerduty+json;version=2"
    assert first.url.params["since"] == "2024-05-01T00:00:00+00:00"


def test_polling_refuses_a_naive_since() -> None:
    """A datetime without a zone is ambiguous: a ValidationError says so."""
    with pytest.raises(ValueError, match="timezone-aware"):
        collect(PagerDutySource(api_token="pd-token"), datetime(2024, 5, 1))
