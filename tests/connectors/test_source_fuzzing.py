"""Fuzzing every source's parser with mutated real payloads: only PayloadError escapes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedbackloop.connectors import Source
from feedbackloop.connectors.datadog import DatadogSource
from feedbackloop.connectors.github import GitHubSource
from feedbackloop.connectors.jira import JiraSource
from feedbackloop.connectors.pagerduty import PagerDutySource
from feedbackloop.connectors.sentry import SentrySource
from feedbackloop.errors import PayloadError
from tests.connectors.payloads import (
    datadog_notification,
    github_closed,
    jira_comment_created,
    jira_status_changed,
    load,
)
from tests.strategies import mutated_json

PD = load("pagerduty/webhook-v3-examples/payload.incident.priority_updated.json")
PD_NOTE = {
    "event": {
        **PD["event"],
        "event_type": "incident.annotated",
        "data": load("pagerduty/webhook-v3-examples/event-data.incident_note.json"),
    }
}


def pd(event_type: str, status: str) -> dict[str, Any]:
    return {
        "event": {
            **PD["event"],
            "event_type": event_type,
            "data": {**PD["event"]["data"], "status": status},
        }
    }


def sentry(resource: str) -> dict[str, str]:
    return {"Sentry-Hook-Resource": resource, "Sentry-Hook-Timestamp": "1700000000"}


# (source, headers, a real or spec-shaped payload the source routes)
SEEDS: dict[str, tuple[Source, dict[str, str], Any]] = {
    "sentry-issue": (
        SentrySource(verify=False),
        sentry("issue"),
        load("sentry/webhook-examples/issues.created.json"),
    ),
    "sentry-event-alert": (
        SentrySource(verify=False),
        sentry("event_alert"),
        load("sentry/webhook-examples/issue-alerts.event_alert.triggered.json"),
    ),
    "sentry-metric-alert": (
        SentrySource(verify=False),
        sentry("metric_alert"),
        load("sentry/webhook-examples/metric-alerts.resolved.json"),
    ),
    "datadog-triggered": (DatadogSource(verify=False), {}, datadog_notification()),
    "datadog-warn": (DatadogSource(verify=False), {}, datadog_notification(transition="Warn")),
    "pagerduty-priority": (PagerDutySource(verify=False), {}, PD),
    "pagerduty-resolved": (PagerDutySource(verify=False), {}, pd("incident.resolved", "resolved")),
    "pagerduty-acknowledged": (
        PagerDutySource(verify=False),
        {},
        pd("incident.acknowledged", "acknowledged"),
    ),
    "pagerduty-annotated": (PagerDutySource(verify=False), {}, PD_NOTE),
    "jira-closed": (JiraSource(verify=False), {}, jira_status_changed()),
    "jira-reopened": (
        JiraSource(verify=False),
        {},
        jira_status_changed("Done", "To Do", category="new", resolution=None),
    ),
    "jira-comment": (JiraSource(verify=False), {}, jira_comment_created()),
    "github-closed": (GitHubSource(verify=False), {"X-GitHub-Event": "issues"}, github_closed()),
    "github-comment": (
        GitHubSource(verify=False),
        {"X-GitHub-Event": "issue_comment"},
        load("github/webhook-examples/issue_comment/created.payload.json"),
    ),
}


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_every_seed_routes_before_mutation(seed: str) -> None:
    """The unmutated seeds produce events, so the fuzzing starts from the interesting path."""
    source, headers, document = SEEDS[seed]
    assert source.parse(headers, json.dumps(document).encode())


@pytest.mark.parametrize("seed", sorted(SEEDS))
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_mutated_payloads_raise_nothing_but_payload_errors(seed: str, data: st.DataObject) -> None:
    """Fields removed, types changed, huge or odd text: a list of events, or a PayloadError."""
    source, headers, document = SEEDS[seed]
    mutated = data.draw(mutated_json(document), label="payload")
    sent = json.dumps(mutated)
    failure: PayloadError | None = None
    try:
        events = source.parse(headers, sent.encode())
    except PayloadError as error:
        failure, events = error, []
    if failure is not None:
        assert failure.source == source.name
        assert str(failure).startswith(f"{source.name}: ")
    # NaN is not equal to itself: compare the raw payload as JSON text.
    assert all(json.dumps(event.raw) == sent for event in events)
