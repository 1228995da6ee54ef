"""PagerDuty as a source: webhooks v3 and polling of incidents.

Every `incident.*` status event (triggered, acknowledged, unacknowledged, resolved,
reopened, escalated, priority_updated, reassigned, delegated) yields the `Incident` as
the event shows it, with one timeline entry for the event. The events that change
whether the problem is happening also yield a `Signal` of kind incident: triggered and
reopened (firing), resolved (resolved). `incident.annotated` yields the incident with the
note in its timeline. `service.*` and the other incident events (responders, workflows,
custom fields, status updates…) yield nothing.

An incident event is an update: the loop merges it with what it knows (the earliest
`created_at`, acknowledge and resolve times once known, timelines appended). The event
type is in the `event_type` label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType

from pydantic import SecretStr

from feedbackloop._models import (
    Incident,
    IncidentStatus,
    Severity,
    Signal,
    SignalKind,
    SignalStatus,
    TimelineEntry,
)
from feedbackloop.connectors import Event, Headers
from feedbackloop.connectors._webhooks import HmacWebhookSource, Payload, compact

__all__ = ["SEVERITY_BY_PRIORITY", "SEVERITY_BY_URGENCY", "PagerDutySource"]

SEVERITY_BY_PRIORITY: Mapping[str, Severity] = MappingProxyType(
    {
        "P1": Severity.CRITICAL,
        "P2": Severity.HIGH,
        "P3": Severity.MEDIUM,
        "P4": Severity.LOW,
        "P5": Severity.INFO,
    }
)
"""Incident priority (its name, as PagerDuty's default scheme spells it) -> severity."""

SEVERITY_BY_URGENCY: Mapping[str, Severity] = MappingProxyType(
    {"high": Severity.HIGH, "low": Severity.LOW}
)
"""Incident urgency -> severity, when the incident has no priority (or a custom one).

Neither priority nor urgency: high.
"""

_STATUS_EVENTS = frozenset(
    {
        "incident.triggered",
        "incident.acknowledged",
        "incident.unacknowledged",
        "incident.resolved",
        "incident.reopened",
        "incident.escalated",
        "incident.priority_updated",
        "incident.reassigned",
        "incident.delegated",
    }
)
_SIGNAL_STATUS: Mapping[str, SignalStatus] = MappingProxyType(
    {
        "incident.triggered": SignalStatus.FIRING,
        "incident.reopened": SignalStatus.FIRING,
        "incident.resolved": SignalStatus.RESOLVED,
    }
)
_STATUS_BY_EVENT: Mapping[str, IncidentStatus] = MappingProxyType(
    {
        "incident.acknowledged": IncidentStatus.ACKNOWLEDGED,
        "incident.resolved": IncidentStatus.RESOLVED,
    }
)


def _severity_of(incident: Payload) -> Severity:
    """An incident's severity from its priority name, else its urgency, else high."""
    priority = incident.optional("priority.summary", str) or incident.optional("priority.name", str)
    if priority is not None and priority.strip().upper() in SEVERITY_BY_PRIORITY:
        return SEVERITY_BY_PRIORITY[priority.strip().upper()]
    urgency = incident.optional("urgency", str)
    return SEVERITY_BY_URGENCY.get((urgency or "").lower(), Severity.HIGH)


def _status_of(incident: Payload, event_type: str) -> IncidentStatus:
    """The incident's status as sent, else what the event type implies."""
    status = incident.optional("status", str)
    if status is None:
        return _STATUS_BY_EVENT.get(event_type, IncidentStatus.TRIGGERED)
    try:
        return IncidentStatus(status)
    except ValueError:
        raise incident.error(
            "status", f"expected triggered, acknowledged or resolved, got {status[:40]!r}"
        ) from None


def _incident_labels(incident: Payload, **more: str | None) -> dict[str, str]:
    """The labels every incident and its signals carry."""
    teams = [team.optional("summary", str) for team in incident.each("teams")]
    return compact(
        number=incident.optional_ident("number"),
        urgency=incident.optional("urgency", str),
        priority=incident.optional("priority.summary", str),
        incident_key=incident.optional("incident_key", str),
        escalation_policy=incident.optional("escalation_policy.summary", str),
        teams=",".join(team for team in teams if team) or None,
        **more,
    )


class PagerDutySource(HmacWebhookSource):
    """Receives PagerDuty webhooks v3; polls incidents and their log entries.

    Args:
        webhook_secrets: The subscription's signing secret; several (a list, or one
            comma-separated string) while rotating: a delivery signed with any passes.
        verify: False accepts unsigned deliveries: for local experiments only.
    """

    name = "pagerduty"
    delivery_header = "X-Webhook-Id"
    signature_header = "X-PagerDuty-Signature"
    signature_prefix = "v1="
    configure_hint = (
        "set FEEDBACKLOOP_PAGERDUTY_WEBHOOK_SECRETS (comma-separated while rotating) "
        "or pass webhook_secrets=..."
    )

    def __init__(
        self,
        *,
        webhook_secrets: str | SecretStr | Iterable[str | SecretStr] | None = None,
        verify: bool = True,
    ) -> None:
        super().__init__(secrets=_split(webhook_secrets), verify=verify)

    def _read(self, headers: Headers, payload: Payload) -> list[Event]:
        event = payload.at("event")
        event_type = event.require("event_type", str)
        if event_type == "incident.annotated":
            return [self._annotated(payload, event)]
        if event_type in _STATUS_EVENTS:
            return self._status_change(payload, event, event_type)
        return []  # service.*, responders, workflows, custom fields…

    def _status_change(self, payload: Payload, event: Payload, event_type: str) -> list[Event]:
        data = event.at("data")
        occurred_at = event.time("occurred_at")
        status = _status_of(data, event_type)
        incident_id = data.ident("id")
        title = data.optional("title", str) or data.require("summary", str)
        severity = _severity_of(data)
        labels = _incident_labels(data, event_type=event_type)
        incident = payload.build(
            Incident,
            id=incident_id,
            title=title,
            severity=severity,
            status=status,
            service=data.optional("service.summary", str),
            source=self.name,
            url=data.optional("html_url", str),
            created_at=data.time("created_at"),
            acknowledged_at=occurred_at if event_type == "incident.acknowledged" else None,
            resolved_at=occurred_at if status is IncidentStatus.RESOLVED else None,
            timeline=(self._entry(payload, event, occurred_at, event_type),),
            labels=labels,
            raw=payload.value,
        )
        events: list[Event] = [incident]
        if event_type in _SIGNAL_STATUS:
            signal = payload.build(
                Signal,
                source=self.name,
                kind=SignalKind.INCIDENT,
                title=title,
                service=incident.service,
                severity=severity,
                fingerprint=f"pagerduty:{incident_id}",
                occurred_at=occurred_at,
                url=incident.url,
                status=_SIGNAL_STATUS[event_type],
                external_id=incident_id,
                labels=labels,
                raw=payload.value,
            )
            events.append(signal)
        return events

    def _annotated(self, payload: Payload, event: Payload) -> Incident:
        note = event.at("data")
        incident = note.at("incident")
        incident_id = incident.ident("id")
        occurred_at = event.time("occurred_at")
        entry = self._entry(payload, event, occurred_at, "incident.annotated")
        return payload.build(
            Incident,
            id=incident_id,
            title=incident.optional("summary", str) or incident_id,
            source=self.name,
            url=incident.optional("html_url", str),
            created_at=occurred_at,  # unknown here: the loop keeps the earliest it knows
            timeline=(entry.model_copy(update={"message": note.optional("content", str) or ""}),),
            labels={"event_type": "incident.annotated"},
            raw=payload.value,
        )

    @staticmethod
    def _entry(
        payload: Payload, event: Payload, occurred_at: datetime, event_type: str
    ) -> TimelineEntry:
        return payload.build(
            TimelineEntry,
            at=occurred_at,
            kind=event_type.removeprefix("incident."),
            actor=event.optional("agent.summary", str),
        )


def _split(
    secrets: str | SecretStr | Iterable[str | SecretStr] | None,
) -> list[SecretStr] | Iterable[str | SecretStr] | None:
    """One comma-separated string (the environment's form) becomes a list of secrets."""
    if isinstance(secrets, SecretStr):
        secrets = secrets.get_secret_value()
    if isinstance(secrets, str):
        return [SecretStr(part) for part in secrets.split(",")]
    return secrets
