"""Sentry as a source: integration-platform webhooks and polling of an organisation's issues.

Which webhook resources become what:

- `issue` (created, resolved, assigned, archived, unresolved): an error `Signal` about
  the Sentry issue; resolved and archived ones are `resolved`.
- `event_alert` (triggered): an error `Signal` about the event's issue.
- `metric_alert` (critical, warning, resolved): an alert `Signal` about the alert rule.
- `installation` and every other resource: nothing (answered, not routed).

Every signal of one Sentry issue shares the fingerprint `sentry:<issue id>`, so the issue
is one group in the loop whatever the title says; metric alerts group per alert rule
(`sentry:metric_alert:<rule id>`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

from pydantic import SecretStr

from feedbackloop._models import Severity, Signal, SignalKind, SignalStatus
from feedbackloop.connectors import Event, Headers
from feedbackloop.connectors._webhooks import HmacWebhookSource, Payload, compact, header

__all__ = ["METRIC_ALERT_SEVERITY", "SEVERITY_BY_LEVEL", "SentrySource"]

SEVERITY_BY_LEVEL: Mapping[str, Severity] = MappingProxyType(
    {
        "fatal": Severity.CRITICAL,
        "error": Severity.HIGH,
        "warning": Severity.MEDIUM,
        "info": Severity.LOW,
        "debug": Severity.INFO,
    }
)
"""Sentry event level -> severity. A missing or unknown level counts as `error`."""

METRIC_ALERT_SEVERITY: Mapping[str, Severity] = MappingProxyType(
    {
        "critical": Severity.CRITICAL,
        "warning": Severity.MEDIUM,
        "resolved": Severity.INFO,
    }
)
"""Sentry metric alert action -> severity (a resolution carries no severity: info)."""

_ISSUE_ACTIONS = frozenset({"created", "resolved", "assigned", "archived", "ignored", "unresolved"})
# Sentry's API still calls an archived issue "ignored".
_CLOSED_ACTIONS = frozenset({"resolved", "archived", "ignored"})
_CLOSED_STATUSES = frozenset({"resolved", "ignored", "archived"})
# An event's API url names its project: .../api/0/projects/<org>/<project>/events/<id>/
_PROJECT_IN_URL = re.compile(r"/projects/[^/]+/([^/]+)/events/")


def _severity(level: str | None) -> Severity:
    return SEVERITY_BY_LEVEL.get((level or "error").lower(), Severity.HIGH)


class SentrySource(HmacWebhookSource):
    """Receives Sentry integration-platform webhooks; polls an organisation's issues.

    Args:
        client_secret: The integration's client secret, which signs every delivery
            (`Sentry-Hook-Signature`). Without it deliveries are refused unless
            `verify=False`.
        service: The service every signal is about; default: the Sentry project slug.
        organization: The organisation slug: builds links back to issues and is
            required for polling.
        base_url: Sentry's address (self-hosted Sentry has its own).
        verify: False accepts unsigned deliveries: for local experiments only.
    """

    name = "sentry"
    delivery_header = "Request-ID"
    signature_header = "Sentry-Hook-Signature"
    configure_hint = "set FEEDBACKLOOP_SENTRY_CLIENT_SECRET or pass client_secret=..."

    def __init__(
        self,
        *,
        client_secret: str | SecretStr | None = None,
        service: str | None = None,
        organization: str | None = None,
        base_url: str = "https://sentry.io",
        verify: bool = True,
    ) -> None:
        super().__init__(secrets=client_secret, verify=verify)
        self.service = service
        self.organization = organization
        self.base_url = base_url.rstrip("/")

    def _read(self, headers: Headers, payload: Payload) -> list[Event]:
        resource = (header(headers, "Sentry-Hook-Resource") or "").strip()
        if not resource:
            raise payload.error("", "missing Sentry-Hook-Resource header, cannot tell its kind")
        hook_time = Payload(
            {"Sentry-Hook-Timestamp": header(headers, "Sentry-Hook-Timestamp")},
            self.name,
            "headers",
        ).optional_time("Sentry-Hook-Timestamp")
        action = payload.require("action", str)
        if resource == "issue" and action in _ISSUE_ACTIONS:
            return [self._issue(payload, action, hook_time)]
        if resource == "event_alert":
            return [self._event_alert(payload, action)]
        if resource == "metric_alert" and action in METRIC_ALERT_SEVERITY:
            return [self._metric_alert(payload, action, hook_time)]
        return []  # installation, comment, error…: nothing to route

    def _issue(self, payload: Payload, action: str, hook_time: datetime | None) -> Signal:
        issue = payload.at("data.issue")
        issue_id = issue.ident("id")
        level = issue.optional("level", str)
        status = issue.optional("status", str)
        if action == "created":
            occurred_at = issue.time("firstSeen")
        elif action == "unresolved":  # a regression: it happened when last seen
            occurred_at = issue.optional_time("lastSeen") or hook_time or issue.time("firstSeen")
        else:
            occurred_at = hook_time or issue.optional_time("lastSeen") or issue.time("firstSeen")
        closed = action in _CLOSED_ACTIONS or (action == "assigned" and status in _CLOSED_STATUSES)
        return payload.build(
            Signal,
            source=self.name,
            kind=SignalKind.ERROR,
            title=issue.require("title", str),
            service=self.service or issue.optional("project.slug", str),
            severity=_severity(level),
            fingerprint=f"sentry:{issue_id}",
            occurred_at=occurred_at,
            url=issue.optional("web_url", str)
            or issue.optional("permalink", str)
            or self._issue_url(issue_id),
            status=SignalStatus.RESOLVED if closed else SignalStatus.FIRING,
            external_id=issue_id,
            labels=compact(
                action=action,
                substatus=issue.optional("substatus", str),
                level=level,
                short_id=issue.optional("shortId", str),
                project=issue.optional("project.slug", str),
                assignee=issue.optional("assignedTo.name", str)
                or issue.optional("assignedTo.email", str),
            ),
            raw=payload.value,
        )

    def _event_alert(self, payload: Payload, action: str) -> Signal:
        event = payload.at("data.event")
        issue_id = event.ident("issue_id")
        tags = _tags(event)
        level = event.optional("level", str) or tags.get("level")
        api_url = event.optional("url", str) or ""
        project = _PROJECT_IN_URL.search(api_url)
        return payload.build(
            Signal,
            source=self.name,
            kind=SignalKind.ERROR,
            title=event.require("title", str),
            service=self.service or (project.group(1) if project else None),
            environment=event.optional("environment", str) or tags.get("environment"),
            severity=_severity(level),
            fingerprint=f"sentry:{issue_id}",
            occurred_at=event.optional_time("datetime") or event.time("timestamp"),
            url=event.optional("web_url", str) or self._issue_url(issue_id),
            external_id=issue_id,
            labels=compact(
                action=action,
                level=level,
                rule=payload.optional("data.triggered_rule", str),
                event_id=event.optional("event_id", str),
                release=event.optional("release", str) or tags.get("release"),
            ),
            raw=payload.value,
        )

    def _metric_alert(self, payload: Payload, action: str, hook_time: datetime | None) -> Signal:
        data = payload.at("data")
        alert = data.at("metric_alert")
        rule = alert.at("alert_rule")
        resolved = action == "resolved"
        started = alert.optional_time("date_detected") or alert.optional_time("date_started")
        occurred_at = (alert.optional_time("date_closed") or hook_time) if resolved else started
        projects = rule.optional("projects", list) or alert.optional("projects", list) or []
        project = projects[0] if projects and isinstance(projects[0], str) else None
        return payload.build(
            Signal,
            source=self.name,
            kind=SignalKind.ALERT,
            title=rule.optional("name", str)
            or data.optional("description_title", str)
            or alert.require("title", str),
            service=self.service or project,
            environment=rule.optional("environment", str),
            severity=METRIC_ALERT_SEVERITY[action],
            fingerprint=f"sentry:metric_alert:{rule.ident('id')}",
            occurred_at=occurred_at or started or alert.time("date_started"),
            url=data.optional("web_url", str),
            status=SignalStatus.RESOLVED if resolved else SignalStatus.FIRING,
            external_id=alert.ident("id"),
            labels=compact(
                action=action,
                alert_rule=rule.optional_ident("id"),
                description=data.optional("description_text", str),
            ),
            raw=payload.value,
        )

    def _issue_url(self, issue_id: str) -> str | None:
        if self.organization is None:
            return None
        return f"{self.base_url}/organizations/{self.organization}/issues/{issue_id}/"


def _tags(event: Payload) -> dict[str, str]:
    """An event's tags, sent as `[key, value]` pairs or `{"key", "value"}` objects."""
    tags: dict[str, str] = {}
    for tag in event.optional("tags", list) or []:
        pair = (tag.get("key"), tag.get("value")) if isinstance(tag, dict) else tag
        if isinstance(pair, list | tuple) and len(pair) == 2:
            key, value = pair
            if isinstance(key, str) and isinstance(value, str):
                tags[key] = value
    return tags
