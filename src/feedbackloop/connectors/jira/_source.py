"""Jira as a source: issue webhooks into ticket changes.

- `jira:issue_updated` with a status change in `changelog.items`: **closed** when the
  new status is done (its status category is `done`; without one, the issue has a
  resolution or the status is one of `done_statuses`), with the resolution's name or
  else the new status as resolution; **reopened** when it leaves a done status (the old
  status is one of `done_statuses`, or the resolution was cleared). Other status moves
  (To Do -> In Progress) are ignored.
- `comment_created`: **commented**, with the comment's text.
- Everything else: ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr

from feedbackloop._models import TicketChange, TicketChangeKind
from feedbackloop.connectors import Event, Headers
from feedbackloop.connectors._webhooks import HmacWebhookSource, Payload
from feedbackloop.settings import ConnectorSettings

__all__ = ["DONE_STATUSES", "JiraSource", "JiraSourceSettings"]

DONE_STATUSES = frozenset({"done", "closed", "resolved", "won't do", "cancelled", "canceled"})
"""Status names (case-insensitive) taken as done when a payload carries no status category."""


class JiraSourceSettings(ConnectorSettings, connector="jira"):
    """`FEEDBACKLOOP_JIRA_*`: what `JiraSource.from_env()` reads."""

    webhook_secret: SecretStr | None = None
    url: str | None = None


class JiraSource(HmacWebhookSource):
    """Receives Jira Cloud issue webhooks (`jira:issue_updated`, `comment_created`).

    Args:
        webhook_secret: The webhook's secret, which signs every delivery
            (`X-Hub-Signature: sha256=...`).
        url: The site's address (`https://acme.atlassian.net`), for links to tickets;
            default: taken from the issue's API address.
        tracker: The tracker's name in the loop that these tickets belong to.
        done_statuses: Status names that mean done, for payloads without a status
            category (case-insensitive).
        verify: False accepts unsigned deliveries: for local experiments only.
    """

    name = "jira"
    delivery_header = "X-Atlassian-Webhook-Identifier"
    signature_header = "X-Hub-Signature"
    signature_prefix = "sha256="
    configure_hint = "set FEEDBACKLOOP_JIRA_WEBHOOK_SECRET or pass webhook_secret=..."
    settings = JiraSourceSettings

    def __init__(
        self,
        *,
        webhook_secret: str | SecretStr | None = None,
        url: str | None = None,
        tracker: str = "jira",
        done_statuses: Iterable[str] = DONE_STATUSES,
        verify: bool = True,
    ) -> None:
        super().__init__(secrets=webhook_secret, verify=verify)
        self.url = url.rstrip("/") if url else None
        self.tracker = tracker
        self.done_statuses = frozenset(status.casefold() for status in done_statuses)

    def _read(self, headers: Headers, payload: Payload) -> list[Event]:
        webhook_event = payload.require("webhookEvent", str)
        if webhook_event == "jira:issue_updated":
            return self._status_change(payload)
        if webhook_event == "comment_created":
            return [self._comment(payload)]
        return []

    def _status_change(self, payload: Payload) -> list[Event]:
        items = payload.each("changelog.items")
        status = next((item for item in items if _field(item) == "status"), None)
        if status is None:
            return []  # an edit that did not move the ticket
        resolution = next((item for item in items if _field(item) == "resolution"), None)
        fields = payload.at("issue.fields")
        new_status = status.optional("toString", str)
        if self._is_done(fields, new_status):
            change = TicketChangeKind.CLOSED
            reason = (
                (resolution and resolution.optional("toString", str))
                or fields.optional("resolution.name", str)
                or new_status
            )
        elif self._was_done(status, resolution):
            change, reason = TicketChangeKind.REOPENED, None
        else:
            return []
        return [self._change(payload, change, resolution=reason)]

    def _is_done(self, fields: Payload, new_status: str | None) -> bool:
        category = fields.optional("status.statusCategory.key", str)
        if category is not None:
            return category == "done"
        if fields.optional("resolution", dict) is not None:
            return True
        return (new_status or "").casefold() in self.done_statuses

    def _was_done(self, status: Payload, resolution: Payload | None) -> bool:
        cleared = (
            resolution is not None
            and resolution.optional("fromString", str) is not None
            and resolution.optional("toString", str) is None
        )
        return (
            cleared or (status.optional("fromString", str) or "").casefold() in self.done_statuses
        )

    def _comment(self, payload: Payload) -> TicketChange:
        comment = payload.at("comment")
        return self._change(
            payload,
            TicketChangeKind.COMMENTED,
            comment=_text(comment.optional("body", object)),
            actor=comment.optional("author.displayName", str),
            occurred_at=comment.optional_time("created"),
        )

    def _change(
        self,
        payload: Payload,
        change: TicketChangeKind,
        *,
        resolution: str | None = None,
        comment: str | None = None,
        actor: str | None = None,
        occurred_at: Any = None,
    ) -> TicketChange:
        issue = payload.at("issue")
        key = issue.require("key", str)
        return payload.build(
            TicketChange,
            tracker=self.tracker,
            key=key,
            change=change,
            occurred_at=occurred_at or payload.time("timestamp"),
            url=self._browse_url(issue, key),
            resolution=resolution,
            actor=actor or payload.optional("user.displayName", str),
            comment=comment,
            raw=payload.raw,
        )

    def _browse_url(self, issue: Payload, key: str) -> str | None:
        api_url = issue.optional("self", str)
        base = self.url or (api_url.partition("/rest/api/")[0] if api_url else None)
        return f"{base}/browse/{key}" if base else None


def _field(item: Payload) -> str | None:
    return item.optional("fieldId", str) or (item.optional("field", str) or "").lower() or None


def _text(body: Any) -> str:
    """A comment body as text: wiki markup as it is, or the text of an ADF document."""
    if isinstance(body, str):
        return body
    parts: list[str] = []
    stack = [body]
    while stack:  # iterative: a deeply nested document cannot exhaust the stack
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                parts.append(node["text"])
            stack.append(node.get("content"))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return "".join(parts)
