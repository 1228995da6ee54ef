"""Every vendor example payload in ../shared/vendor parses, or is ignored on purpose.

The folders are globbed, so a file added there is picked up by this one test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from feedbackloop import Incident, Signal, TicketChange
from feedbackloop.connectors import Source
from feedbackloop.connectors.github import GitHubSource
from feedbackloop.connectors.pagerduty import PagerDutySource
from feedbackloop.connectors.sentry import SentrySource
from tests.connectors.payloads import VENDOR

# Sentry examples are named after their docs page; the page says which resource it is.
SENTRY_RESOURCES = {
    "issues": "issue",
    "issue-alerts": "event_alert",
    "metric-alerts": "metric_alert",
    "installation": "installation",
}
# `event-data.*` PagerDuty files are an event's `data` only: each is wrapped in the
# envelope of the event type that carries that data type.
PAGERDUTY_EVENT_TYPES = {
    "incident": "incident.triggered",
    "incident_note": "incident.annotated",
    "incident_action_invocation": "incident.action_invocation.created",
    "incident_conference_bridge": "incident.conference_bridge.updated",
    "incident_field_values": "incident.custom_field_values.updated",
    "incident_responder": "incident.responder.added",
    "incident_role_assignment": "incident.role.assigned",
    "incident_status_update": "incident.status_update_published",
    "incident_task": "incident.task.created",
    "incident_workflow_instance": "incident.workflow.started",
    "service": "service.updated",
    "service_field_values": "service.custom_field_values.updated",
}
NOT_DELIVERIES = {
    "create-webhook-subscription-request.json": "a request to create a subscription, "
    "sent to PagerDuty's API, not a delivery",
}


def _sentry(path: Path) -> tuple[Source, dict[str, str], bytes, set[type]]:
    resource = SENTRY_RESOURCES[path.name.split(".")[0]]
    produced = set() if resource == "installation" else {Signal}
    return (
        SentrySource(verify=False),
        {"Sentry-Hook-Resource": resource},
        path.read_bytes(),
        produced,
    )


def _github(path: Path) -> tuple[Source, dict[str, str], bytes, set[type]]:
    event = path.parent.name
    action = json.loads(path.read_bytes()).get("action")
    routed = {("issues", "closed"), ("issues", "reopened"), ("issue_comment", "created")}
    produced = {TicketChange} if (event, action) in routed else set()
    return GitHubSource(verify=False), {"X-GitHub-Event": event}, path.read_bytes(), produced


def _pagerduty(path: Path) -> tuple[Source, dict[str, str], bytes, set[type]]:
    document: Any = json.loads(path.read_bytes())
    if path.name.startswith("event-data."):
        event_type = PAGERDUTY_EVENT_TYPES[document["type"]]
        document = {
            "event": {
                "id": "01DEN5ZWZ4XGP0S2IFWKFJJVNF",
                "event_type": event_type,
                "resource_type": event_type.split(".")[0],
                "occurred_at": "2020-10-02T18:45:22.169Z",
                "agent": None,
                "client": None,
                "data": document,
            }
        }
    event_type = document["event"]["event_type"]
    produced: set[type] = set()
    if event_type in ("incident.triggered", "incident.priority_updated", "incident.annotated"):
        produced.add(Incident)
    if event_type == "incident.triggered":
        produced.add(Signal)
    return PagerDutySource(verify=False), {}, json.dumps(document).encode(), produced


READERS = {
    "sentry/webhook-examples": _sentry,
    "github/webhook-examples": _github,
    "pagerduty/webhook-v3-examples": _pagerduty,
}


def _examples() -> list[Any]:
    cases = []
    for folder, reader in READERS.items():
        for path in sorted((VENDOR / folder).rglob("*.json")):
            name = str(path.relative_to(VENDOR))
            marks = []
            if path.name in NOT_DELIVERIES:
                marks.append(pytest.mark.skip(reason=NOT_DELIVERIES[path.name]))
            cases.append(pytest.param(reader, path, id=name, marks=marks))
    return cases


def test_the_vendor_folder_is_found() -> None:
    """The examples exist where the tests look, so the parametrised test cannot pass empty."""
    assert len(_examples()) >= 30


@pytest.mark.parametrize(("reader", "path"), _examples())
def test_every_vendor_example_parses_into_the_model_or_is_ignored(reader: Any, path: Path) -> None:
    """Each example yields the events its kind calls for, each keeping the raw payload."""
    source, headers, payload, produced = reader(path)
    events = source.parse(headers, payload)
    assert {type(event) for event in events} == produced
    for event in events:
        assert event.raw == json.loads(payload)
