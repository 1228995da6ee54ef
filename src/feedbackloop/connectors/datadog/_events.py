"""Datadog events as a notifier: the loop made visible on the ops side.

`POST https://api.<site>/api/v1/events` with the `DD-API-KEY` header. A message becomes
an event: its title, its text as Markdown (between Datadog's `%%%` markers) with the
link back, its fields as `key:value` tags, and an `alert_type` from its severity
(critical and high: `error`, medium: `warning`, low, info and none: `info`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

import httpx
from pydantic import SecretStr

from feedbackloop._models import Severity
from feedbackloop.connectors import Message
from feedbackloop.connectors._http import HTTPClient, RetryPolicy
from feedbackloop.connectors._outbound import HTTPConnector, truncate
from feedbackloop.settings import ConnectorSettings, NameList

__all__ = ["DATADOG_ALERT_TYPE", "DatadogEventNotifier", "DatadogEventSettings"]

DATADOG_ALERT_TYPE: Final[Mapping[Severity, str]] = MappingProxyType(
    {
        Severity.CRITICAL: "error",
        Severity.HIGH: "error",
        Severity.MEDIUM: "warning",
        Severity.LOW: "info",
        Severity.INFO: "info",
    }
)
"""feedbackloop severity -> Datadog event `alert_type`."""

_TEXT_LIMIT: Final = 4000
_AGGREGATION_LIMIT: Final = 100
_OPEN, _CLOSE = "%%% \n", "\n %%%"


class DatadogEventSettings(ConnectorSettings, connector="datadog"):
    """`FEEDBACKLOOP_DATADOG_*`: what `DatadogEventNotifier.from_env()` reads."""

    api_key: SecretStr
    site: str = "datadoghq.com"
    event_tags: NameList = ()


class DatadogEventNotifier(HTTPConnector):
    """Posts messages as Datadog events.

    Args:
        api_key: A Datadog API key (no application key is needed to post events).
        site: The Datadog site: `datadoghq.com`, `datadoghq.eu`, `us3.datadoghq.com`...
        event_tags: Tags added to every event (`team:payments`).
        name: The notifier's name in the loop.
        retry: How hard the HTTP layer tries.
        transport: The httpx transport (tests pass a mock).
    """

    settings = DatadogEventSettings
    auth_hint = "Check FEEDBACKLOOP_DATADOG_API_KEY and FEEDBACKLOOP_DATADOG_SITE"

    def __init__(
        self,
        *,
        api_key: str | SecretStr,
        site: str = "datadoghq.com",
        event_tags: Iterable[str] = (),
        name: str = "datadog",
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self.name = name
        self.site = site.removeprefix("https://").removeprefix("app.").removeprefix("api.")
        self.event_tags = tuple(event_tags)
        self.http = HTTPClient(
            connector=name,
            base_url=f"https://api.{self.site.strip('/')}",
            headers={"DD-API-KEY": key, "Accept": "application/json"},
            retry=retry,
            transport=transport,
        )

    async def send(self, message: Message) -> None:
        """Post `message` as an event.

        Raises:
            AuthenticationError: the API key is refused (403).
            BadRequestError: Datadog refused the event.
        """
        await self.call("POST", "/api/v1/events", json=self.event(message))

    def event(self, message: Message) -> dict[str, Any]:
        """The `POST /api/v1/events` body `send` posts for `message`."""
        lines = [message.text] if message.text else []
        if message.url:
            lines.append(f"[Open]({message.url})")
        text = truncate("\n\n".join(lines), _TEXT_LIMIT - len(_OPEN) - len(_CLOSE))
        severity = Severity.coerce(message.severity) if message.severity else Severity.INFO
        tags = [*self.event_tags, *(f"{k}:{v}" for k, v in message.fields.items())]
        event: dict[str, Any] = {
            "title": message.title,
            "text": f"{_OPEN}{text}{_CLOSE}",
            "alert_type": DATADOG_ALERT_TYPE[severity],
            "tags": list(dict.fromkeys(tags)),
        }
        group = message.fields.get("group_key")
        if group:
            event["aggregation_key"] = group[:_AGGREGATION_LIMIT]
        return event
