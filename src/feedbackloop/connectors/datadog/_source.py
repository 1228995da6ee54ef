"""Datadog as a source: monitor notifications through a webhook, and polling of monitors.

Datadog's webhook body is a template the user writes with `$VARIABLES`; the docs ship a
recommended one (docs/connectors/sources.md) and this module reads it, tolerating edits:
optional fields may be missing or left empty, required ones (`alert_id`, `transition`,
`title` or `event_title`, `date` or `last_updated`) give an error naming the field.

Datadog does not sign webhooks: a delivery is authenticated by a shared secret in the
`X-Feedbackloop-Token` header (a custom header of the webhook), or by basic auth.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import itertools
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

import httpx
from pydantic import SecretStr

from feedbackloop._models import Severity, Signal, SignalKind, SignalStatus
from feedbackloop.connectors import Event, Headers
from feedbackloop.connectors._http import HTTPClient
from feedbackloop.connectors._pagination import paginate_cursor
from feedbackloop.connectors._webhooks import (
    Payload,
    WebhookSource,
    compact,
    header,
    require_aware,
)
from feedbackloop.errors import ConfigurationError, SignatureError
from feedbackloop.settings import ConnectorSettings

__all__ = [
    "SEVERITY_BY_PRIORITY",
    "TOKEN_HEADER",
    "DatadogSource",
    "DatadogSourceSettings",
    "NoDataPolicy",
]

TOKEN_HEADER = "X-Feedbackloop-Token"  # noqa: S105 - a header name, not a secret
"""The custom header that carries the shared secret."""

SEVERITY_BY_PRIORITY: Mapping[str, Severity] = MappingProxyType(
    {
        "P1": Severity.CRITICAL,
        "P2": Severity.HIGH,
        "P3": Severity.MEDIUM,
        "P4": Severity.LOW,
        "P5": Severity.INFO,
    }
)
"""Monitor priority -> severity of a Triggered alert. No priority: high.

A Warn transition is one step lower (P2 warn: medium); Recovered keeps the priority's.
"""

NoDataPolicy = Literal["alert", "resolve", "ignore"]
"""What a No Data transition means: an alert (the default), a recovery, or nothing."""

_DEFAULT_SEVERITY = Severity.HIGH
_PAGE_SIZE = 100
_FIRING_STATES = frozenset({"Alert", "Warn"})
_SCALE = sorted(Severity, key=lambda severity: severity.rank)
# $ALERT_TRANSITION values, normalised (lower case, words), to what they mean.
_TRANSITIONS: Mapping[str, str] = MappingProxyType(
    {
        "triggered": "fire",
        "re triggered": "fire",
        "renotify": "fire",
        "re notify": "fire",
        "warn": "warn",
        "re warn": "warn",
        "recovered": "recover",
        "no data": "no_data",
        "re no data": "no_data",
    }
)


class DatadogSourceSettings(ConnectorSettings, connector="datadog"):
    """`FEEDBACKLOOP_DATADOG_*`: what `DatadogSource.from_env()` reads."""

    webhook_token: SecretStr | None = None
    webhook_username: str | None = None
    webhook_password: SecretStr | None = None
    no_data: NoDataPolicy = "alert"
    api_key: SecretStr | None = None
    app_key: SecretStr | None = None
    site: str = "datadoghq.com"


def _lower(severity: Severity) -> Severity:
    return _SCALE[max(0, severity.rank - 1)]


class DatadogSource(WebhookSource):
    """Receives Datadog monitor notifications sent by a webhook with the recommended template.

    Args:
        webhook_token: The shared secret Datadog sends in the `X-Feedbackloop-Token`
            header (set it as a custom header of the webhook).
        webhook_username: Basic-auth user name, when the webhook uses basic auth.
        webhook_password: Basic-auth password.
        no_data: What a No Data transition means: `"alert"` (a firing signal),
            `"resolve"` (a recovery) or `"ignore"` (nothing).
        api_key: An API key, for polling.
        app_key: An application key, for polling.
        site: The Datadog site (`datadoghq.com`, `datadoghq.eu`, `us3.datadoghq.com`…).
        verify: False accepts unauthenticated deliveries: for local experiments only.
        transport: The httpx transport polling sends through (tests pass a mock).
    """

    name = "datadog"
    configure_hint = (
        "set FEEDBACKLOOP_DATADOG_WEBHOOK_TOKEN (and send it in the X-Feedbackloop-Token "
        "header) or FEEDBACKLOOP_DATADOG_WEBHOOK_USERNAME and _PASSWORD for basic auth, "
        "or pass webhook_token=... or webhook_username=... and webhook_password=..."
    )
    settings = DatadogSourceSettings

    def __init__(
        self,
        *,
        webhook_token: str | SecretStr | None = None,
        webhook_username: str | None = None,
        webhook_password: str | SecretStr | None = None,
        no_data: NoDataPolicy = "alert",
        api_key: str | SecretStr | None = None,
        app_key: str | SecretStr | None = None,
        site: str = "datadoghq.com",
        verify: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(verify=verify)
        self._token = _secret(webhook_token)
        password = _secret(webhook_password)
        self._basic = (webhook_username, password) if webhook_username and password else None
        self.no_data: NoDataPolicy = no_data
        self.site = site.removeprefix("https://").removeprefix("app.").strip("/")
        self._keys = (_secret(api_key), _secret(app_key))
        self._transport = transport

    async def poll(self, since: datetime) -> AsyncIterator[Event]:
        """Yield a firing signal for every monitor in alert (or warn) that triggered since `since`.

        Pages through `GET /api/v1/monitor?group_states=alert` by page number. The
        signal is the one a Triggered (or Warn) notification would give, at the
        latest trigger time of the monitor's alerting groups; its external id is the
        monitor id (the API knows no alert cycle key).

        Raises:
            ConfigurationError: no API key and application key are configured.
            ConnectorError: Datadog failed (after retries) or refused the keys.
            PayloadError: a monitor in the answer cannot be read.
        """
        api_key, app_key = self._keys
        if api_key is None or app_key is None:
            raise ConfigurationError(
                "datadog: polling needs an API key and an application key; set "
                "FEEDBACKLOOP_DATADOG_API_KEY and FEEDBACKLOOP_DATADOG_APP_KEY "
                "or pass api_key=... and app_key=..."
            )
        start = require_aware(since, source=self.name)
        pages = itertools.count(1)

        def next_page(body: Any) -> str | None:
            full = isinstance(body, list) and len(body) >= _PAGE_SIZE
            return str(next(pages)) if full else None

        params = {"group_states": "alert", "page": 0, "page_size": _PAGE_SIZE}
        monitors = paginate_cursor(
            self._client(api_key, app_key),
            "/api/v1/monitor",
            next_cursor=next_page,
            params=params,
            cursor_param="page",
        )
        async for item in monitors:
            signal = self._monitor_signal(Payload(item, self.name, "monitors[]"), item)
            if signal is not None and signal.occurred_at >= start:
                yield signal

    def _monitor_signal(self, monitor: Payload, raw: Any) -> Signal | None:
        state = monitor.optional("overall_state", str)
        if state not in _FIRING_STATES:
            return None
        monitor_id = monitor.ident("id")
        priority = monitor.optional_ident("priority")
        severity = self._severity(monitor, priority)
        triggered = [
            group.optional_time("last_triggered_ts")
            for group in self._groups(monitor)
            if group.optional("status", str) in _FIRING_STATES
        ]
        occurred_at = max(
            (moment for moment in triggered if moment is not None),
            default=monitor.optional_time("overall_state_modified") or monitor.time("modified"),
        )
        tags = _tags(monitor)
        return monitor.build(
            Signal,
            source=self.name,
            kind=SignalKind.ALERT,
            title=monitor.require("name", str),
            service=tags.get("service"),
            environment=tags.get("env") or tags.get("environment"),
            severity=_lower(severity) if state == "Warn" else severity,
            fingerprint=f"datadog:{monitor_id}",
            occurred_at=occurred_at,
            url=f"https://app.{self.site}/monitors/{monitor_id}",
            external_id=monitor_id,
            labels=tags
            | compact(
                monitor_id=monitor_id,
                priority=f"P{priority}" if priority else None,
                alert_status=state,
            ),
            raw=raw,
        )

    @staticmethod
    def _groups(monitor: Payload) -> list[Payload]:
        # Group names ("host:a,env:prod") may hold dots: no dotted paths through them.
        groups = monitor.at("state.groups")
        return [
            Payload(group, monitor.source, f"{groups.path}[{name!r}]")
            for name, group in groups.value.items()
            if isinstance(group, dict)
        ]

    def _client(self, api_key: SecretStr, app_key: SecretStr) -> HTTPClient:
        return self._api(
            f"https://api.{self.site}",
            {
                "DD-API-KEY": api_key.get_secret_value(),
                "DD-APPLICATION-KEY": app_key.get_secret_value(),
            },
        )

    def _configured(self) -> bool:
        return self._token is not None or self._basic is not None

    def _check(self, headers: Headers, body: bytes) -> None:
        token = header(headers, TOKEN_HEADER)
        authorization = header(headers, "Authorization")
        if token is None and authorization is None:
            raise SignatureError(
                f"datadog: missing {TOKEN_HEADER} header (or Authorization for basic auth)",
                source=self.name,
            )
        matched = False
        if self._token is not None and token is not None:
            matched |= _same(token, self._token.get_secret_value())
        if self._basic is not None and authorization is not None:
            username, password = _basic_credentials(authorization)
            expected_user, expected_password = self._basic
            # Both compared, always, so the time does not say which one was wrong.
            matched |= _same(username, expected_user) & _same(
                password, expected_password.get_secret_value()
            )
        if not matched:
            raise SignatureError(
                "datadog: the webhook token or basic-auth credentials do not match",
                source=self.name,
            )

    def _read(self, headers: Headers, payload: Payload) -> list[Event]:
        transition = payload.require("transition", str)
        meaning = _TRANSITIONS.get(" ".join(transition.lower().replace("-", " ").split()))
        if meaning is None:
            known = ", ".join(["Triggered", "Re-Triggered", "Warn", "Re-Warn", "Recovered"])
            raise payload.error(
                "transition", f"unknown transition {transition[:60]!r}; expected {known}, No Data…"
            )
        if meaning == "no_data":
            if self.no_data == "ignore":
                return []
            meaning = "recover" if self.no_data == "resolve" else "fire"
        priority = payload.optional("priority", str)
        severity = self._severity(payload, priority)
        if meaning == "warn":
            severity = _lower(severity)
        monitor_id = payload.ident("alert_id")
        tags = _tags(payload)
        return [
            payload.build(
                Signal,
                source=self.name,
                kind=SignalKind.ALERT,
                title=payload.optional("title", str) or payload.require("event_title", str),
                service=tags.get("service"),
                environment=tags.get("env") or tags.get("environment"),
                severity=severity,
                fingerprint=f"datadog:{monitor_id}",
                occurred_at=payload.optional_time("date")
                or payload.optional_time("last_updated")
                or payload.time("date"),
                url=payload.optional("link", str),
                status=SignalStatus.RESOLVED if meaning == "recover" else SignalStatus.FIRING,
                external_id=payload.optional_ident("alert_cycle_key") or monitor_id,
                labels=tags
                | compact(
                    monitor_id=monitor_id,
                    transition=transition,
                    priority=priority,
                    scope=payload.optional("scope", str),
                    hostname=payload.optional("hostname", str),
                    alert_status=payload.optional("status", str),
                ),
                raw=payload.raw,
            )
        ]

    @staticmethod
    def _severity(payload: Payload, priority: str | None) -> Severity:
        if priority is None:
            return _DEFAULT_SEVERITY
        name = priority.strip().upper()
        severity = SEVERITY_BY_PRIORITY.get(name if name.startswith("P") else f"P{name}")
        if severity is None:
            raise payload.error("priority", f"expected P1 to P5, got {priority[:60]!r}")
        return severity

    def __repr__(self) -> str:
        methods = [name for name, on in (("token", self._token), ("basic", self._basic)) if on]
        return f"DatadogSource(verify={self._verify}, auth={'+'.join(methods) or None})"


def _secret(value: str | SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    secret = value if isinstance(value, SecretStr) else SecretStr(value)
    return secret if secret.get_secret_value() else None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _basic_credentials(authorization: str) -> tuple[str, str]:
    scheme, _, encoded = authorization.strip().partition(" ")
    try:
        if scheme.lower() != "basic":
            raise ValueError
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, binascii.Error):
        raise SignatureError(
            "datadog: malformed Authorization header: expected Basic <base64 user:password>",
            source="datadog",
        ) from None
    username, colon, password = decoded.partition(":")
    if not colon:
        raise SignatureError(
            "datadog: malformed Authorization header: no ':' between user and password",
            source="datadog",
        )
    return username, password


def _tags(payload: Payload) -> dict[str, str]:
    """`$TAGS` (`"env:prod,service:api,team:payments"`, or a list) as labels."""
    value = payload.optional("tags", object)
    if value is None:
        return {}
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = value
    else:
        raise payload.error("tags", "expected comma-separated key:value tags")
    tags: dict[str, str] = {}
    for item in items:
        key, _, tag_value = item.strip().partition(":")
        if key:
            tags[key] = tag_value
    return tags
