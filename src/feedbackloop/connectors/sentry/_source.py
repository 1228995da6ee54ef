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
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import httpx
from pydantic import SecretStr

from feedbackloop._models import Severity, Signal, SignalKind, SignalStatus
from feedbackloop.connectors import Event, Headers
from feedbackloop.connectors._http import HTTPClient
from feedbackloop.connectors._pagination import paginate_link
from feedbackloop.connectors._webhooks import (
    HmacWebhookSource,
    Payload,
    compact,
    header,
    require_aware,
)
from feedbackloop.connectors.sentry._api import SentryIssues
from feedbackloop.errors import ConfigurationError
from feedbackloop.settings import ConnectorSettings

__all__ = [
    "METRIC_ALERT_SEVERITY",
    "SEVERITY_BY_LEVEL",
    "SentrySource",
    "SentrySourceSettings",
]

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


class SentrySourceSettings(ConnectorSettings, connector="sentry"):
    """`FEEDBACKLOOP_SENTRY_*`: what `SentrySource.from_env()` reads."""

    client_secret: SecretStr | None = None
    token: SecretStr | None = None
    organization: str | None = None
    project: str | None = None
    service: str | None = None
    base_url: str = "https://sentry.io"


def _severity(level: str | None) -> Severity:
    return SEVERITY_BY_LEVEL.get((level or "error").lower(), Severity.HIGH)


class SentrySource(HmacWebhookSource):
    """Receives Sentry integration-platform webhooks; polls an organisation's issues.

    Args:
        client_secret: The integration's client secret, which signs every delivery
            (`Sentry-Hook-Signature`). Without it deliveries are refused unless
            `verify=False`.
        token: An API token (scope `event:read`), for polling.
        organization: The organisation slug: builds links back to issues and is
            required for polling.
        project: Poll only this project (slug or id); default: every project.
        service: The service every signal is about; default: the Sentry project slug.
        base_url: Sentry's address (self-hosted Sentry has its own).
        query: The search polling uses, before the `lastSeen` filter.
        verify: False accepts unsigned deliveries: for local experiments only.
        transport: The httpx transport polling sends through (tests pass a mock).
    """

    name = "sentry"
    delivery_header = "Request-ID"
    signature_header = "Sentry-Hook-Signature"
    configure_hint = "set FEEDBACKLOOP_SENTRY_CLIENT_SECRET or pass client_secret=..."
    settings = SentrySourceSettings

    def __init__(
        self,
        *,
        client_secret: str | SecretStr | None = None,
        token: str | SecretStr | None = None,
        organization: str | None = None,
        project: str | None = None,
        service: str | None = None,
        base_url: str = "https://sentry.io",
        query: str = "is:unresolved",
        verify: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(secrets=client_secret, verify=verify)
        self.organization = organization
        self.project = project
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.query = query
        self._token = SecretStr(token) if isinstance(token, str) else token
        self._transport = transport

    async def poll(self, since: datetime) -> AsyncIterator[Event]:
        """Yield a signal for every issue seen since `since`, following the `Link` cursor.

        Lists `GET /api/0/organizations/{organization}/issues/` with the query
        `<query> lastSeen:>=<since>`; each issue becomes the signal its webhook would
        give (action `polled`, seen at `lastSeen`).

        Raises:
            ConfigurationError: no token or organization is configured.
            ConnectorError: Sentry failed (after retries) or refused the token.
            PayloadError: an issue in the answer cannot be read.
        """
        if self._token is None or not self.organization:
            raise ConfigurationError(
                "sentry: polling needs an API token and an organization; set "
                "FEEDBACKLOOP_SENTRY_TOKEN and FEEDBACKLOOP_SENTRY_ORGANIZATION "
                "or pass token=... and organization=..."
            )
        start = require_aware(since, source=self.name).strftime("%Y-%m-%dT%H:%M:%S")
        params: dict[str, Any] = {
            "query": f"{self.query} lastSeen:>={start}".strip(),
            "sort": "date",
            "limit": 100,
        }
        if self.project:
            params["project"] = self.project
        url = f"/api/0/organizations/{self.organization}/issues/"
        async for item in paginate_link(self._client(), url, params=params):
            issue = Payload(item, self.name, "issues[]")
            yield self._issue_signal(issue, "polled", issue.time("lastSeen"), raw=item)

    # --- two-way sync (OriginSync): the outbound side, in _api.py ---------------------------

    async def resolve_origin(self, external_id: str, *, note: str | None = None) -> None:
        """Resolve Sentry issue `external_id` (its ticket closed).

        `note` is not sent: Sentry's issue API has no comment field.

        Raises:
            ConfigurationError: no token or organization is configured.
            ConnectorError: Sentry refused (the token needs the `event:write` scope).
        """
        await self._issues().resolve(external_id)

    async def reopen_origin(self, external_id: str, *, note: str | None = None) -> None:
        """Unresolve Sentry issue `external_id` (its ticket was reopened).

        Raises:
            ConfigurationError: no token or organization is configured.
            ConnectorError: Sentry refused (the token needs the `event:write` scope).
        """
        await self._issues().unresolve(external_id)

    def _issues(self) -> SentryIssues:
        if self._token is None or not self.organization:
            raise ConfigurationError(
                "sentry: resolving issues needs an API token (scope event:write) and an "
                "organization; set FEEDBACKLOOP_SENTRY_TOKEN and "
                "FEEDBACKLOOP_SENTRY_ORGANIZATION or pass token=... and organization=..."
            )
        return SentryIssues(self._client(), organization=self.organization)

    def _client(self) -> HTTPClient:
        token = self._token.get_secret_value() if self._token else ""
        return self._api(self.base_url, {"Authorization": f"Bearer {token}"})

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
            issue = payload.at("data.issue")
            if action == "created":
                occurred_at = issue.time("firstSeen")
            elif action == "unresolved":  # a regression: it happened when last seen
                occurred_at = (
                    issue.optional_time("lastSeen") or hook_time or issue.time("firstSeen")
                )
            else:
                occurred_at = (
                    hook_time or issue.optional_time("lastSeen") or issue.time("firstSeen")
                )
            return [self._issue_signal(issue, action, occurred_at, raw=payload.raw)]
        if resource == "event_alert":
            return [self._event_alert(payload, action)]
        if resource == "metric_alert" and action in METRIC_ALERT_SEVERITY:
            return [self._metric_alert(payload, action, hook_time)]
        return []  # installation, comment, error…: nothing to route

    def _issue_signal(
        self, issue: Payload, action: str, occurred_at: datetime, *, raw: Any
    ) -> Signal:
        issue_id = issue.ident("id")
        level = issue.optional("level", str)
        status = issue.optional("status", str)
        closed = action in _CLOSED_ACTIONS or (
            action in ("assigned", "polled") and status in _CLOSED_STATUSES
        )
        return issue.build(
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
            raw=raw,
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
            raw=payload.raw,
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
            raw=payload.raw,
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
