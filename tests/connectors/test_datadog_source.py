"""DatadogSource: the recommended webhook template into alert signals; polling monitors."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

from feedbackloop import Severity, Signal, SignalKind, SignalStatus
from feedbackloop.connectors.datadog import DatadogSource
from feedbackloop.errors import PayloadError, SignatureError
from tests.connectors.payloads import body, datadog_notification

SOURCE = DatadogSource(verify=False)
DOCS = Path(__file__).parents[2] / "docs" / "connectors" / "sources.md"


def parse(document: Any, source: DatadogSource = SOURCE) -> Signal:
    (signal,) = source.parse({}, body(document))
    assert isinstance(signal, Signal)
    return signal


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class TestAuthentication:
    def test_the_shared_token_header_passes(self) -> None:
        """The secret sent as X-Feedbackloop-Token authenticates the delivery."""
        DatadogSource(webhook_token="dd-token").verify({"x-feedbackloop-token": "dd-token"}, b"{}")

    def test_a_wrong_token_is_rejected(self) -> None:
        """Any other value is refused."""
        with pytest.raises(SignatureError, match="do not match"):
            DatadogSource(webhook_token="dd-token").verify({"X-Feedbackloop-Token": "nope"}, b"{}")

    def test_a_delivery_without_credentials_is_rejected(self) -> None:
        """No token header and no Authorization: the error names what to send."""
        with pytest.raises(SignatureError, match="missing X-Feedbackloop-Token header"):
            DatadogSource(webhook_token="dd-token").verify({}, b"{}")

    def test_basic_auth_passes_with_the_right_credentials(self) -> None:
        """Basic auth is the alternative to the token header."""
        source = DatadogSource(webhook_username="datadog", webhook_password="pw")
        source.verify({"Authorization": basic("datadog", "pw")}, b"{}")
        with pytest.raises(SignatureError, match="do not match"):
            source.verify({"Authorization": basic("datadog", "wrong")}, b"{}")

    @pytest.mark.parametrize("value", ["Bearer abc", "Basic !!!", "Basic " + "bm9jb2xvbg=="])
    def test_a_malformed_authorization_header_is_rejected(self, value: str) -> None:
        """Not basic, not base64, or no colon: malformed, and said so."""
        source = DatadogSource(webhook_username="datadog", webhook_password="pw")
        with pytest.raises(SignatureError, match="malformed Authorization header"):
            source.verify({"Authorization": value}, b"{}")

    def test_credentials_stay_out_of_the_repr(self) -> None:
        """The repr names the methods configured, never their values."""
        source = DatadogSource(
            webhook_token="dd-token", webhook_username="u", webhook_password="pw"
        )
        assert "dd-token" not in repr(source)
        assert "pw" not in repr(source)
        assert "token+basic" in repr(source)


def test_the_documented_template_renders_into_a_readable_delivery() -> None:
    """The JSON block in the docs, with Datadog's variables filled in, parses."""
    template = re.search(r"```json\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert template is not None
    values = {
        "ID": "1", "ALERT_ID": "42", "ALERT_CYCLE_KEY": "c-1", "ALERT_TRANSITION": "Triggered",
        "ALERT_PRIORITY": "P1", "ALERT_STATUS": "Alert", "ALERT_TITLE": "Disk full",
        "EVENT_TITLE": "[Triggered] Disk full", "EVENT_MSG": "Disk is full", "ALERT_SCOPE": "",
        "ALERT_QUERY": "q", "DATE": "1700000000000", "LAST_UPDATED": "1700000000000",
        "LINK": "https://app.datadoghq.com/monitors/42", "TAGS": "service:db,env:prod",
        "HOSTNAME": "db-1", "ORG_ID": "1", "ORG_NAME": "Acme",
    }  # fmt: skip
    rendered = re.sub(r"\$([A-Z_]+)", lambda match: values[match.group(1)], template.group(1))
    signal = parse(json.loads(rendered))
    assert (signal.title, signal.severity, signal.service) == ("Disk full", Severity.CRITICAL, "db")
    assert (signal.fingerprint, signal.external_id) == ("datadog:42", "c-1")


def test_a_triggered_alert_becomes_a_firing_alert_signal() -> None:
    """Monitor id groups it, the cycle key identifies the alert, tags label it."""
    signal = parse(datadog_notification())
    assert signal.kind is SignalKind.ALERT
    assert signal.status is SignalStatus.FIRING
    assert signal.fingerprint == "datadog:12345678"
    assert signal.external_id == "7403815463536128453"
    assert (signal.service, signal.environment) == ("checkout", "prod")
    assert signal.labels["team"] == "payments"
    assert signal.labels["monitor"] == ""
    assert signal.occurred_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert signal.url == "https://app.datadoghq.com/event/event?id=7403815463536128453"


@pytest.mark.parametrize(
    ("priority", "severity"),
    [
        ("P1", Severity.CRITICAL),
        ("P2", Severity.HIGH),
        ("P3", Severity.MEDIUM),
        ("P4", Severity.LOW),
        ("P5", Severity.INFO),
        ("", Severity.HIGH),
    ],
)
def test_the_priority_maps_onto_the_severity_scale(priority: str, severity: Severity) -> None:
    """The documented priority table; no priority is high."""
    assert parse(datadog_notification(priority=priority)).severity is severity


@pytest.mark.parametrize(("priority", "severity"), [("P1", Severity.HIGH), ("P5", Severity.INFO)])
def test_a_warning_is_one_step_lower(priority: str, severity: Severity) -> None:
    """Warn fires at the severity below the priority's, never below info."""
    signal = parse(datadog_notification(transition="Warn", priority=priority))
    assert (signal.severity, signal.status) == (severity, SignalStatus.FIRING)


def test_a_recovery_resolves() -> None:
    """Recovered is a resolved signal of the same group."""
    signal = parse(datadog_notification(transition="Recovered"))
    assert (signal.status, signal.fingerprint) == (SignalStatus.RESOLVED, "datadog:12345678")


@pytest.mark.parametrize("transition", ["Re-Triggered", "Renotify"])
def test_a_retrigger_fires_again(transition: str) -> None:
    """Re-Triggered and Renotify are firing signals."""
    assert parse(datadog_notification(transition=transition)).status is SignalStatus.FIRING


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("alert", SignalStatus.FIRING), ("resolve", SignalStatus.RESOLVED), ("ignore", None)],
)
def test_no_data_does_what_is_configured(policy: Any, expected: SignalStatus | None) -> None:
    """No Data fires, resolves or is ignored, as `no_data=` says."""
    events = DatadogSource(verify=False, no_data=policy).parse(
        {}, body(datadog_notification(transition="No Data"))
    )
    assert [event.status for event in events if isinstance(event, Signal)] == (
        [] if expected is None else [expected]
    )


def test_an_edited_template_without_optional_fields_still_parses() -> None:
    """Only alert_id, transition, a title and a date are required."""
    minimal = {"alert_id": 7, "transition": "Triggered", "event_title": "CPU", "date": 1700000000}
    signal = parse(minimal)
    assert (signal.title, signal.severity, signal.labels) == (
        "CPU",
        Severity.HIGH,
        {"monitor_id": "7", "transition": "Triggered"},
    )


@pytest.mark.parametrize("field", ["alert_id", "transition"])
def test_a_missing_required_field_is_named(field: str) -> None:
    """The error names the template field that is missing."""
    document = datadog_notification()
    del document[field]
    with pytest.raises(PayloadError, match=f"datadog: {field}: is missing"):
        parse(document)


def test_a_missing_title_is_named() -> None:
    """Neither title nor event_title: the error names event_title, the fallback."""
    document = datadog_notification()
    del document["title"], document["event_title"]
    with pytest.raises(PayloadError, match="event_title: is missing"):
        parse(document)


@pytest.mark.parametrize(("field", "value"), [("transition", "Exploded"), ("priority", "urgent")])
def test_a_value_outside_the_known_ones_is_named(field: str, value: str) -> None:
    """An unknown transition or priority is refused, naming the field."""
    with pytest.raises(PayloadError, match=f"datadog: {field}: "):
        parse(datadog_notification(**{field: value}))


# --- polling ------------------------------------------------------------------------------

API = "https://api.datadoghq.com/api/v1/monitor"


def monitor(
    monitor_id: int, state: str, triggered: int, priority: int | None = 2
) -> dict[str, Any]:
    """A monitor as `GET /api/v1/monitor?group_states=alert` returns it."""
    return {
        "id": monitor_id,
        "name": f"Monitor {monitor_id}",
        "type": "query alert",
        "query": "avg(last_5m):sum:system.net.bytes_rcvd{host:host0} > 100",
        "tags": ["service:api", "env:prod", "team:core"],
        "priority": priority,
        "overall_state": state,
        "modified": "2024-01-01T00:00:00+00:00",
        "state": {
            "groups": {
                "host:host0": {
                    "name": "host:host0",
                    "status": state,
                    "last_triggered_ts": triggered,
                    "last_notified_ts": triggered,
                }
            }
        },
    }


MAY_1 = 1714521600  # 2024-05-01T00:00:00Z


def monitor_pages(request: httpx.Request) -> httpx.Response:
    page = int(request.url.params["page"])
    size = int(request.url.params["page_size"])
    everything = [monitor(i, "OK", MAY_1 + 60) for i in range(size)] + [
        monitor(1001, "Alert", MAY_1 + 3600, priority=1),
        monitor(1002, "Warn", MAY_1 + 7200, priority=None),
        monitor(1003, "Alert", MAY_1 - 3600),  # triggered before `since`
    ]
    everything[5] = monitor(5, "Alert", MAY_1 + 60, priority=3)
    return httpx.Response(200, json=everything[page * size : (page + 1) * size])


def collect(source: DatadogSource, since: datetime) -> list[Any]:
    async def run() -> list[Any]:
        try:
            return [event async for event in source.poll(since)]
        finally:
            await source.aclose()

    return anyio.run(run)


@respx.mock
def test_polling_pages_monitors_and_yields_those_alerting_since() -> None:
    """Pages by number until a short page; Alert and Warn monitors triggered since fire."""
    route = respx.get(API).mock(side_effect=monitor_pages)
    source = DatadogSource(api_key="api-k", app_key="app-k", site="datadoghq.com")
    signals = collect(source, datetime(2024, 5, 1, tzinfo=UTC))
    assert [(s.external_id, s.severity) for s in signals] == [
        ("5", Severity.MEDIUM),
        ("1001", Severity.CRITICAL),
        ("1002", Severity.MEDIUM),
    ]
    assert signals[0].url == "https://app.datadoghq.com/monitors/5"
    assert signals[0].service == "api"
    assert route.call_count == 2
    first = route.calls[0].request
    assert (first.url.params["group_states"], first.url.params["page"]) == ("alert", "0")
    assert first.headers["DD-API-KEY"] == "api-k"
    assert first.headers["DD-APPLICATION-KEY"] == "app-k"
