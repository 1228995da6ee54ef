"""A source for Zendesk ticket webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime

from pydantic import SecretStr

from feedbackloop import Signal
from feedbackloop.errors import PayloadError, SignatureError
from feedbackloop.settings import ConnectorSettings

TOKEN_HEADER = "X-Zendesk-Token"  # noqa: S105 (a header name, not a secret)
INVOCATION_HEADER = "X-Zendesk-Webhook-Invocation-Id"

SEVERITY_BY_PRIORITY = {"urgent": "critical", "high": "high", "normal": "medium", "low": "low"}
RESOLVED_STATUSES = {"solved", "closed"}


class ZendeskSettings(ConnectorSettings, connector="zendesk"):
    """`FEEDBACKLOOP_ZENDESK_*`: what `ZendeskSource.from_env()` reads."""

    webhook_token: SecretStr | None = None  # FEEDBACKLOOP_ZENDESK_WEBHOOK_TOKEN
    service_tag_prefix: str = "service_"  # FEEDBACKLOOP_ZENDESK_SERVICE_TAG_PREFIX


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Header lookup that ignores case, as HTTP does."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


class ZendeskSource:
    """Zendesk ticket webhooks: each delivery becomes one signal of kind `support`.

    Args:
        webhook_token: The shared secret Zendesk sends in the `X-Zendesk-Token` header.
        service_tag_prefix: Tags starting with it name the service (`service_checkout`).
        verify: False accepts unauthenticated deliveries (local experiments only).
    """

    name = "zendesk"

    def __init__(
        self,
        *,
        webhook_token: str | SecretStr | None = None,
        service_tag_prefix: str = "service_",
        verify: bool = True,
    ) -> None:
        if isinstance(webhook_token, str):
            webhook_token = SecretStr(webhook_token)
        self._token = webhook_token
        self.service_tag_prefix = service_tag_prefix
        self._verify = verify

    @classmethod
    def from_env(cls, **overrides):
        """Build the source from `FEEDBACKLOOP_ZENDESK_*`; keyword arguments win."""
        settings = ZendeskSettings.load()
        return cls(**{**dict(settings), **overrides})

    def __repr__(self) -> str:
        return f"ZendeskSource(token {'set' if self._token else 'not set'})"

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Check the shared secret in `X-Zendesk-Token`, in constant time."""
        if not self._verify:
            return
        if self._token is None:
            raise SignatureError(
                "zendesk: no webhook token is configured, so deliveries are refused; "
                "set FEEDBACKLOOP_ZENDESK_WEBHOOK_TOKEN",
                source=self.name,
            )
        sent = _header(headers, TOKEN_HEADER)
        if sent is None:
            raise SignatureError(f"zendesk: missing {TOKEN_HEADER} header", source=self.name)
        expected = self._token.get_secret_value()
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            raise SignatureError(f"zendesk: wrong {TOKEN_HEADER}", source=self.name)

    def delivery_id(self, headers: Mapping[str, str], body: bytes) -> str:
        """Zendesk's invocation id, the same on a retry; else the body's SHA-256."""
        return _header(headers, INVOCATION_HEADER) or hashlib.sha256(body).hexdigest()

    def parse(self, headers: Mapping[str, str], body: bytes) -> list[Signal]:
        """Read a ticket webhook into one `support` signal."""
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise PayloadError(f"zendesk: body is not JSON: {exc}", source=self.name) from None
        ticket = document.get("ticket") if isinstance(document, dict) else None
        if not isinstance(ticket, dict):
            raise PayloadError("zendesk: ticket is missing", source=self.name, field="ticket")
        tags = str(ticket.get("tags") or "").split()
        services = [
            t.removeprefix(self.service_tag_prefix)
            for t in tags
            if t.startswith(self.service_tag_prefix)
        ]
        priority = str(ticket.get("priority") or "normal").lower()
        status = str(ticket.get("status") or "new").lower()
        labels = {"priority": priority, "zendesk_status": status}
        if ticket.get("group"):
            labels["group"] = str(ticket["group"])
        return [
            Signal(
                source=self.name,
                kind="support",
                title=self._require(ticket, "title"),
                service=services[0] if services else None,
                severity=SEVERITY_BY_PRIORITY.get(priority, "medium"),
                status="resolved" if status in RESOLVED_STATUSES else "firing",
                occurred_at=self._time(ticket),
                external_id=self._require(ticket, "id"),
                url=self._url(ticket),
                labels=labels,
                raw=document,
            )
        ]

    def _require(self, ticket: dict, field: str) -> str:
        value = ticket.get(field)
        if value in (None, ""):
            raise PayloadError(
                f"zendesk: ticket.{field} is missing", source=self.name, field=f"ticket.{field}"
            )
        return str(value)

    def _url(self, ticket: dict) -> str | None:
        url = ticket.get("url")
        if not url:
            return None
        # Zendesk's {{ticket.url}} placeholder comes without a scheme.
        return url if "://" in str(url) else f"https://{url}"

    def _time(self, ticket: dict) -> datetime:
        text = self._require(ticket, "updated_at")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise PayloadError(
                f"zendesk: ticket.updated_at is not an ISO 8601 time: {text!r}",
                source=self.name,
                field="ticket.updated_at",
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
