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

from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

import httpx
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
from feedbackloop.connectors._http import HTTPClient
from feedbackloop.connectors._pagination import paginate_offset
from feedbackloop.connectors._webhooks import HmacWebhookSource, Payload, compact, require_aware
from feedbackloop.errors import ConfigurationError
from feedbackloop.settings import ConnectorSettings, SecretList

__all__ = [
    "SEVERITY_BY_PRIORITY",
    "SEVERITY_BY_URGENCY",
    "PagerDutySource",
    "PagerDutySourceSettings",
]

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


class PagerDutySourceSettings(ConnectorSettings, connector="pagerduty"):
    """`FEEDBACKLOOP_PAGERDUTY_*`: what `PagerDutySource.from_env()` reads."""

    webhook_secrets: SecretList = ()
    api_token: SecretStr | None = None
    from_email: str | None = None
    api_url: str = "https://api.pagerduty.com"


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
        number=incident.optional_ident("number") or incident.optional_ident("incident_number"),
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
        api_token: A REST API token (read access), for polling.
        api_url: The REST API's address (`https://api.eu.pagerduty.com` in the EU).
        verify: False accepts unsigned deliveries: for local experiments only.
        transport: The httpx transport polling sends through (tests pass a mock).
    """

    name = "pagerduty"
    delivery_header = "X-Webhook-Id"
    signature_header = "X-PagerDuty-Signature"
    signature_prefix = "v1="
    configure_hint = (
        "set FEEDBACKLOOP_PAGERDUTY_WEBHOOK_SECRETS (comma-separated while rotating) "
        "or pass webhook_secrets=..."
    )
    settings = PagerDutySourceSettings

    def __init__(
        self,
        *,
        webhook_secrets: str | SecretStr | Iterable[str | SecretStr] | None = None,
        api_token: str | SecretStr | None = None,
        api_url: str = "https://api.pagerduty.com",
        from_email: str | None = None,
        verify: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(secrets=_split(webhook_secrets), verify=verify)
        self._api_token = SecretStr(api_token) if isinstance(api_token, str) else api_token
        self.api_url = api_url.rstrip("/")
        self.from_email = from_email
        self._transport = transport

    async def poll(self, since: datetime) -> AsyncIterator[Event]:
        """Yield the incidents created since `since`, with their acknowledge and resolve times.

        Pages through `GET /incidents?since=...` (offset paging while `more`). For an
        incident that is acknowledged or resolved, the times come from its
        `/incidents/{id}/log_entries` (the first acknowledgement, the last resolution),
        so MTTA and MTTR are right even when the webhook missed those events. Each
        incident is followed by a firing signal and, once resolved, a resolved one.

        Raises:
            ConfigurationError: no API token is configured.
            ConnectorError: PagerDuty failed (after retries) or refused the token.
            PayloadError: an incident or log entry in the answer cannot be read.
        """
        if self._api_token is None:
            raise ConfigurationError(
                "pagerduty: polling needs a REST API token; set "
                "FEEDBACKLOOP_PAGERDUTY_API_TOKEN or pass api_token=..."
            )
        start = require_aware(since, source=self.name)
        client = self._client(self._api_token)
        params = {"since": start.isoformat(), "sort_by": "created_at:asc"}
        async for item in paginate_offset(client, "/incidents", items="incidents", params=params):
            for event in await self._polled(client, Payload(item, self.name, "incidents[]"), item):
                yield event

    async def _polled(self, client: HTTPClient, data: Payload, raw: Any) -> list[Event]:
        incident_id = data.ident("id")
        status = _status_of(data, "")
        acknowledged_at: datetime | None = None
        resolved_at = data.optional_time("resolved_at")
        timeline: list[TimelineEntry] = []
        if status is not IncidentStatus.TRIGGERED:
            url = f"/incidents/{incident_id}/log_entries"
            async for entry in paginate_offset(client, url, items="log_entries"):
                log = Payload(entry, self.name, "log_entries[]")
                kind = (log.optional("type", str) or "").removesuffix("_log_entry")
                at = log.optional_time("created_at")
                if kind not in ("acknowledge", "resolve") or at is None:
                    continue
                if kind == "acknowledge" and acknowledged_at is None:
                    acknowledged_at = at
                if kind == "resolve":
                    resolved_at = at
                actor = log.optional("agent.summary", str)
                timeline.append(log.build(TimelineEntry, at=at, kind=kind, actor=actor))
        if status is not IncidentStatus.RESOLVED:
            resolved_at = None
        incident = self._incident(
            data,
            status=status,
            acknowledged_at=acknowledged_at,
            resolved_at=resolved_at,
            timeline=tuple(timeline),
            labels=_incident_labels(data),
            raw=raw,
        )
        events: list[Event] = [incident]
        events.append(self._signal(data, incident, incident.created_at, SignalStatus.FIRING, raw))
        if resolved_at is not None:
            events.append(self._signal(data, incident, resolved_at, SignalStatus.RESOLVED, raw))
        return events

    # --- two-way sync (OriginSync): a note on the incident when its ticket moves -----------

    async def resolve_origin(self, external_id: str, *, note: str | None = None) -> None:
        """Add a note to incident `external_id` saying its ticket closed.

        The incident itself is left as it is: resolving is the responders' call.

        Raises:
            ConfigurationError: no API token or `From` e-mail is configured.
            ConnectorError: PagerDuty refused or failed.
        """
        await self._add_note(external_id, note or "The follow-up ticket was closed.")

    async def reopen_origin(self, external_id: str, *, note: str | None = None) -> None:
        """Add a note to incident `external_id` saying its ticket was reopened."""
        await self._add_note(external_id, note or "The follow-up ticket was reopened.")

    async def _add_note(self, incident_id: str, content: str) -> None:
        if self._api_token is None or not self.from_email:
            raise ConfigurationError(
                "pagerduty: notes on incidents need a REST API token and the e-mail of a "
                "PagerDuty user to write as; set FEEDBACKLOOP_PAGERDUTY_API_TOKEN and "
                "FEEDBACKLOOP_PAGERDUTY_FROM_EMAIL or pass api_token=... and from_email=..."
            )
        client = self._client(self._api_token)
        await client.post(
            f"/incidents/{quote(incident_id, safe='')}/notes",
            json={"note": {"content": content}},
            headers={"From": self.from_email},
        )

    def _client(self, token: SecretStr) -> HTTPClient:
        return self._api(
            self.api_url,
            {
                "Authorization": f"Token token={token.get_secret_value()}",
                "Accept": "application/vnd.pagerduty+json;version=2",
            },
        )

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
        incident = self._incident(
            data,
            status=status,
            acknowledged_at=occurred_at if event_type == "incident.acknowledged" else None,
            resolved_at=occurred_at if status is IncidentStatus.RESOLVED else None,
            timeline=(self._entry(payload, event, occurred_at, event_type),),
            labels=_incident_labels(data, event_type=event_type),
            raw=payload.raw,
        )
        events: list[Event] = [incident]
        if event_type in _SIGNAL_STATUS:
            signal_status = _SIGNAL_STATUS[event_type]
            events.append(self._signal(data, incident, occurred_at, signal_status, payload.value))
        return events

    def _incident(self, data: Payload, **fields: Any) -> Incident:
        """The incident an incident object (webhook `data`, or the REST API's) describes."""
        return data.build(
            Incident,
            id=data.ident("id"),
            title=data.optional("title", str) or data.require("summary", str),
            severity=_severity_of(data),
            service=data.optional("service.summary", str),
            source=self.name,
            url=data.optional("html_url", str),
            created_at=data.time("created_at"),
            **fields,
        )

    def _signal(
        self,
        data: Payload,
        incident: Incident,
        occurred_at: datetime,
        status: SignalStatus,
        raw: Any,
    ) -> Signal:
        return data.build(
            Signal,
            source=self.name,
            kind=SignalKind.INCIDENT,
            title=incident.title,
            service=incident.service,
            severity=incident.severity,
            fingerprint=f"pagerduty:{incident.id}",
            occurred_at=occurred_at,
            url=incident.url,
            status=status,
            external_id=incident.id,
            labels=incident.labels,
            raw=raw,
        )

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
            raw=payload.raw,
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
        return [SecretStr(part.strip()) for part in secrets.split(",") if part.strip()]
    return secrets
