"""SentrySource: issue, issue-alert and metric-alert webhooks into signals; polling issues."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
import pytest
import respx

from feedbackloop import Severity, Signal, SignalKind, SignalStatus
from feedbackloop.connectors.sentry import SentrySource
from feedbackloop.errors import ConfigurationError, PayloadError
from tests.connectors.payloads import body, hub_signature, load

ISSUE = load("sentry/webhook-examples/issues.created.json")
EVENT_ALERT = load("sentry/webhook-examples/issue-alerts.event_alert.triggered.json")
METRIC_ALERT = load("sentry/webhook-examples/metric-alerts.resolved.json")
SOURCE = SentrySource(verify=False, organization="test-org")


def issue(action: str, **changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(ISSUE)
    document["action"] = action
    document["data"]["issue"].update(changes)
    return document


def parse(resource: str, document: Any, source: SentrySource = SOURCE, **headers: str) -> Signal:
    events = source.parse({"Sentry-Hook-Resource": resource, **headers}, body(document))
    assert len(events) == 1
    assert isinstance(events[0], Signal)
    return events[0]


def test_a_signature_over_the_raw_body_with_the_client_secret_passes() -> None:
    """Sentry signs the bytes it sends, hex HMAC-SHA256 without a prefix."""
    payload = body(ISSUE)
    source = SentrySource(client_secret="client-secret")
    source.verify({"Sentry-Hook-Signature": hub_signature("client-secret", payload)}, payload)


def test_a_created_issue_becomes_a_firing_error_signal_grouped_by_issue_id() -> None:
    """The issue's id is the fingerprint and external id; first seen is when it happened."""
    signal = parse("issue", ISSUE)
    assert signal.kind is SignalKind.ERROR
    assert signal.title == "ReferenceError: blooopy is not defined"
    assert (signal.fingerprint, signal.external_id) == ("sentry:1170820242", "1170820242")
    assert signal.status is SignalStatus.FIRING
    assert signal.occurred_at == datetime(2019, 8, 19, 20, 58, 37, 391000, tzinfo=UTC)
    assert signal.url == "https://sentry.io/organizations/test-org/issues/1170820242/"
    assert signal.labels["substatus"] == "escalating"


def test_the_service_is_the_project_slug_unless_overridden() -> None:
    """By default the project names the service; a source-wide service wins."""
    assert parse("issue", ISSUE).service == "front-end"
    assert parse("issue", ISSUE, SentrySource(verify=False, service="web")).service == "web"


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        ("fatal", Severity.CRITICAL),
        ("error", Severity.HIGH),
        ("warning", Severity.MEDIUM),
        ("info", Severity.LOW),
        ("debug", Severity.INFO),
        (None, Severity.HIGH),
    ],
)
def test_the_level_maps_onto_the_severity_scale(level: str | None, severity: Severity) -> None:
    """The documented level table; no level counts as error."""
    assert parse("issue", issue("created", level=level)).severity is severity


@pytest.mark.parametrize("action", ["resolved", "archived"])
def test_resolved_and_archived_issues_are_resolved_signals(action: str) -> None:
    """An issue that stopped being worked on in Sentry resolves its group."""
    signal = parse(
        "issue", issue(action, status="resolved"), **{"Sentry-Hook-Timestamp": "1700000000"}
    )
    assert signal.status is SignalStatus.RESOLVED
    assert signal.occurred_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert signal.fingerprint == "sentry:1170820242"


@pytest.mark.parametrize("substatus", ["regressed", "escalating"])
def test_an_unresolved_issue_fires_again_at_its_last_seen_time(substatus: str) -> None:
    """A regression is an occurrence: firing, when last seen, with its substatus."""
    document = issue("unresolved", substatus=substatus, lastSeen="2024-01-02T03:04:05Z")
    signal = parse("issue", document)
    assert signal.status is SignalStatus.FIRING
    assert signal.labels["substatus"] == substatus
    assert signal.occurred_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_an_assignment_keeps_the_issue_status_and_names_the_assignee() -> None:
    """Assigned is not an occurrence of a new state: it follows the issue's status."""
    document = issue("assigned", assignedTo={"type": "user", "id": "1", "name": "Ana"})
    signal = parse("issue", document)
    assert (signal.status, signal.labels["assignee"]) == (SignalStatus.FIRING, "Ana")


def test_an_event_alert_is_grouped_with_its_issue() -> None:
    """An issue alert's event shares the issue's fingerprint, with its project and link."""
    signal = parse("event_alert", EVENT_ALERT)
    assert signal.fingerprint == "sentry:1117540176"
    assert signal.service == "front-end"
    assert signal.labels["rule"] == "Very Important Alert Rule!"
    assert str(signal.url).endswith("/events/e4874d664c3540c1a32eab185f12c5ab/")


def test_an_event_alert_reads_its_environment_from_the_event_or_its_tags() -> None:
    """`environment` when sent, else the environment tag."""
    document = copy.deepcopy(EVENT_ALERT)
    document["data"]["event"]["tags"].append(["environment", "production"])
    assert parse("event_alert", document).environment == "production"
    document["data"]["event"]["environment"] = "staging"
    assert parse("event_alert", document).environment == "staging"


@pytest.mark.parametrize(
    ("action", "severity", "status"),
    [
        ("critical", Severity.CRITICAL, SignalStatus.FIRING),
        ("warning", Severity.MEDIUM, SignalStatus.FIRING),
        ("resolved", Severity.INFO, SignalStatus.RESOLVED),
    ],
)
def test_metric_alerts_map_their_action(
    action: str, severity: Severity, status: SignalStatus
) -> None:
    """critical and warning fire, resolved resolves; one group per alert rule."""
    document = copy.deepcopy(METRIC_ALERT)
    document["action"] = action
    signal = parse("metric_alert", document)
    assert (signal.severity, signal.status, signal.kind) == (severity, status, SignalKind.ALERT)
    assert signal.fingerprint == "sentry:metric_alert:7"
    assert signal.title == "Too many errors"


def test_an_installation_delivery_is_answered_with_nothing_to_route() -> None:
    """The installation resource is not an error signal."""
    document = load("sentry/webhook-examples/installation.created.json")
    assert SOURCE.parse({"Sentry-Hook-Resource": "installation"}, body(document)) == []


def test_a_delivery_without_its_resource_header_is_a_payload_error() -> None:
    """Without Sentry-Hook-Resource the kind of body is unknown: said so."""
    with pytest.raises(PayloadError, match="missing Sentry-Hook-Resource header"):
        SOURCE.parse({}, body(ISSUE))


def test_a_missing_issue_id_is_named() -> None:
    """A payload without the issue id is rejected, naming the field."""
    document = issue("created")
    del document["data"]["issue"]["id"]
    with pytest.raises(PayloadError, match=r"sentry: data\.issue\.id: is missing"):
        parse("issue", document)


# --- polling ------------------------------------------------------------------------------

API = "https://sentry.io/api/0/organizations/test-org/issues/"


def polled_issue(issue_id: str, status: str = "unresolved") -> dict[str, Any]:
    item = copy.deepcopy(ISSUE["data"]["issue"])
    item.update(id=issue_id, status=status, lastSeen="2024-05-01T10:00:00Z")
    item["permalink"] = f"https://test-org.sentry.io/issues/{issue_id}/"
    return item


def collect(source: SentrySource, since: datetime) -> list[Any]:
    async def run() -> list[Any]:
        try:
            return [event async for event in source.poll(since)]
        finally:
            await source.aclose()

    return anyio.run(run)


def sentry_pages(request: httpx.Request) -> httpx.Response:
    """The list endpoint as the spec shapes it: a JSON list and a `Link` header."""
    cursor = request.url.params.get("cursor")
    if cursor is None:
        return httpx.Response(
            200,
            json=[polled_issue("1"), polled_issue("2")],
            headers={
                "Link": f'<{API}?cursor=0:0:1>; rel="previous"; results="false"; '
                f'cursor="0:0:1", <{API}?cursor=0:100:0>; rel="next"; results="true"; '
                'cursor="0:100:0"'
            },
        )
    assert cursor == "0:100:0"
    return httpx.Response(
        200,
        json=[polled_issue("3", status="resolved")],
        headers={"Link": f'<{API}?cursor=0:200:0>; rel="next"; results="false"; cursor="0:200:0"'},
    )


@respx.mock
def test_polling_follows_the_link_cursor_until_results_run_out() -> None:
    """Every page is read once; the last `next` link says results="false"."""
    route = respx.get(API).mock(side_effect=sentry_pages)
    source = SentrySource(token="tok-123", organization="test-org", project="front-end")
    signals = collect(source, datetime(2024, 5, 1, tzinfo=UTC))
    assert [signal.external_id for signal in signals] == ["1", "2", "3"]
    assert signals[-1].status is SignalStatus.RESOLVED
    assert route.call_count == 2
    first = route.calls[0].request
    assert first.headers["Authorization"] == "Bearer tok-123"
    assert first.url.params["query"] == "is:unresolved lastSeen:>=2024-05-01T00:00:00"
    assert first.url.params["project"] == "front-end"


def test_polling_without_a_token_says_what_to_configure() -> None:
    """No token or organization: a ConfigurationError naming the variables."""
    with pytest.raises(ConfigurationError, match="FEEDBACKLOOP_SENTRY_TOKEN"):
        collect(SentrySource(organization="test-org"), datetime(2024, 5, 1, tzinfo=UTC))


def test_from_env_reads_the_documented_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """FEEDBACKLOOP_SENTRY_CLIENT_SECRET configures verification; the secret stays hidden."""
    monkeypatch.setenv("FEEDBACKLOOP_SENTRY_CLIENT_SECRET", "from-env-secret")
    monkeypatch.setenv("FEEDBACKLOOP_SENTRY_ORGANIZATION", "acme")
    source = SentrySource.from_env()
    payload = body(ISSUE)
    source.verify({"Sentry-Hook-Signature": hub_signature("from-env-secret", payload)}, payload)
    assert source.organization == "acme"
    assert "from-env-secret" not in repr(source)
