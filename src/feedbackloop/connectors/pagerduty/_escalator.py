"""PagerDuty Events API v2 as an escalator: trigger, acknowledge and resolve alerts.

`POST https://events.pagerduty.com/v2/enqueue` with the integration's routing key. The
`dedup_key` ties the trigger, acknowledge and resolve of one alert together, which also
makes the call safe to repeat: it is retried after timeouts and 5xx, and on 429 (about
120 events a minute per routing key) after the wait PagerDuty asks for; a 400 (a
malformed event) is not retried.

Severities map onto PagerDuty's four:

| feedbackloop | PagerDuty  |
|--------------|------------|
| critical     | `critical` |
| high         | `error`    |
| medium       | `warning`  |
| low, info    | `info`     |
| none given   | `error`    |
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, Literal

import httpx
from pydantic import SecretStr

from feedbackloop._models import Severity
from feedbackloop.connectors import Message
from feedbackloop.connectors._http import HTTPClient, RetryPolicy
from feedbackloop.connectors._outbound import HTTPConnector, truncate
from feedbackloop.errors import ConfigurationError
from feedbackloop.settings import ConnectorSettings

__all__ = ["PAGERDUTY_SEVERITY", "PagerDutyEscalator", "PagerDutyEscalatorSettings"]

PAGERDUTY_SEVERITY: Final[Mapping[Severity, str]] = MappingProxyType(
    {
        Severity.CRITICAL: "critical",
        Severity.HIGH: "error",
        Severity.MEDIUM: "warning",
        Severity.LOW: "info",
        Severity.INFO: "info",
    }
)
"""feedbackloop severity -> Events API v2 `payload.severity`."""

_SUMMARY_LIMIT: Final = 1024
_DEDUP_LIMIT: Final = 255


class PagerDutyEscalatorSettings(ConnectorSettings, connector="pagerduty"):
    """`FEEDBACKLOOP_PAGERDUTY_*`: what `PagerDutyEscalator.from_env()` reads."""

    routing_key: SecretStr
    events_url: str = "https://events.pagerduty.com"
    source: str = "feedbackloop"


class PagerDutyEscalator(HTTPConnector):
    """Pages through an Events API v2 integration.

    Args:
        routing_key: The integration key of an Events API v2 integration (a credential:
            never logged).
        events_url: The Events API host.
        source: `payload.source` when the message names no `service` field.
        name: The escalator's name in the loop.
        retry: How hard the HTTP layer tries.
        transport: The httpx transport (tests pass a mock).
    """

    settings = PagerDutyEscalatorSettings
    auth_hint = "Check FEEDBACKLOOP_PAGERDUTY_ROUTING_KEY: an Events API v2 integration key"

    def __init__(
        self,
        *,
        routing_key: str | SecretStr,
        events_url: str = "https://events.pagerduty.com",
        source: str = "feedbackloop",
        name: str = "pagerduty",
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        key = routing_key.get_secret_value() if isinstance(routing_key, SecretStr) else routing_key
        if not key.strip():
            raise ConfigurationError("pagerduty: the routing key is empty")
        self._routing_key = key
        self.name = name
        self.source = source
        self.http = HTTPClient(
            connector=name,
            base_url=events_url.rstrip("/"),
            retry=retry,
            transport=transport,
            secrets=[key],
        )

    async def escalate(
        self,
        message: Message,
        *,
        dedup_key: str,
        action: Literal["trigger", "acknowledge", "resolve"] = "trigger",
    ) -> None:
        """Send a trigger, acknowledge or resolve event for the alert `dedup_key`.

        Args:
            message: What the alert says: its title is the summary, its fields the
                custom details (`service`, `component`, `group`, `class` also fill the
                payload fields of those names), its url a link.
            dedup_key: The alert's identity (longer than 255 characters: its SHA-256).
            action: `trigger`, `acknowledge` or `resolve`.

        Raises:
            BadRequestError: PagerDuty refused the event (400); not retried.
            RateLimitError: still throttled after the retries.
        """
        await self.call(
            "POST",
            "/v2/enqueue",
            json=self.event(message, dedup_key=dedup_key, action=action),
            idempotent=True,
        )

    def event(
        self,
        message: Message,
        *,
        dedup_key: str,
        action: Literal["trigger", "acknowledge", "resolve"] = "trigger",
    ) -> dict[str, Any]:
        """The Events API v2 body `escalate` sends."""
        if action not in ("trigger", "acknowledge", "resolve"):
            raise ConfigurationError(
                f"pagerduty: action must be trigger, acknowledge or resolve, got {action!r}"
            )
        if len(dedup_key) > _DEDUP_LIMIT:
            dedup_key = "sha256:" + hashlib.sha256(dedup_key.encode()).hexdigest()
        event: dict[str, Any] = {
            "routing_key": self._routing_key,
            "event_action": action,
            "dedup_key": dedup_key,
        }
        if action != "trigger":
            return event  # acknowledge and resolve carry only the key
        fields = dict(message.fields)
        severity = message.severity or Severity.HIGH
        payload: dict[str, Any] = {
            "summary": _summary(message),
            "source": fields.get("service") or self.source,
            "severity": PAGERDUTY_SEVERITY[Severity.coerce(severity)],
        }
        for name in ("component", "group", "class"):
            if fields.get(name):
                payload[name] = fields[name]
        details = {**fields, **({"text": message.text} if message.text else {})}
        if details:
            payload["custom_details"] = details
        event["payload"] = payload
        event["client"] = "feedbackloop"
        if message.url:
            event["client_url"] = message.url
            event["links"] = [{"href": message.url, "text": "Open the signal"}]
        return event


def _summary(message: Message) -> str:
    summary = " ".join(message.title.split()) or "feedbackloop alert"
    return truncate(summary, _SUMMARY_LIMIT)
