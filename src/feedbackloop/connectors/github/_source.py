"""GitHub as a source: issue webhooks into ticket changes.

`issues` closed and reopened, and `issue_comment` created (on issues, not pull requests)
become `TicketChange`s keyed `owner/repo#number`, the key the GitHub tracker uses. A
`ping` is answered with nothing to route; every other event or action is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pydantic import SecretStr

from feedbackloop._models import TicketChange, TicketChangeKind
from feedbackloop.connectors import Event, Headers
from feedbackloop.connectors._webhooks import HmacWebhookSource, Payload, header
from feedbackloop.settings import ConnectorSettings

__all__ = ["GitHubSource", "GitHubSourceSettings"]

_ISSUE_ACTIONS: Mapping[str, TicketChangeKind] = MappingProxyType(
    {"closed": TicketChangeKind.CLOSED, "reopened": TicketChangeKind.REOPENED}
)


class GitHubSourceSettings(ConnectorSettings, connector="github"):
    """`FEEDBACKLOOP_GITHUB_*`: what `GitHubSource.from_env()` reads."""

    webhook_secret: SecretStr | None = None


class GitHubSource(HmacWebhookSource):
    """Receives GitHub issue webhooks (`issues`, `issue_comment`, `ping`).

    Args:
        webhook_secret: The webhook's secret, which signs every delivery
            (`X-Hub-Signature-256`).
        tracker: The tracker's name in the loop that these tickets belong to.
        verify: False accepts unsigned deliveries: for local experiments only.
    """

    name = "github"
    delivery_header = "X-GitHub-Delivery"
    signature_header = "X-Hub-Signature-256"
    signature_prefix = "sha256="
    configure_hint = "set FEEDBACKLOOP_GITHUB_WEBHOOK_SECRET or pass webhook_secret=..."
    settings = GitHubSourceSettings

    def __init__(
        self,
        *,
        webhook_secret: str | SecretStr | None = None,
        tracker: str = "github",
        verify: bool = True,
    ) -> None:
        super().__init__(secrets=webhook_secret, verify=verify)
        self.tracker = tracker

    def _read(self, headers: Headers, payload: Payload) -> list[Event]:
        event = (header(headers, "X-GitHub-Event") or "").strip()
        if not event:
            raise payload.error("", "missing X-GitHub-Event header, cannot tell its kind")
        action = payload.optional("action", str) or ""
        change = _ISSUE_ACTIONS.get(action)
        if event == "issues" and change is not None:
            return [self._issue_change(payload, change)]
        if event == "issue_comment" and action == "created":
            if payload.optional("issue.pull_request", dict) is not None:
                return []  # a pull request's conversation, not a ticket
            return [self._comment(payload)]
        return []  # ping, other actions, other events

    def _key(self, payload: Payload) -> str:
        repository = payload.require("repository.full_name", str)
        return f"{repository}#{payload.ident('issue.number')}"

    def _issue_change(self, payload: Payload, change: TicketChangeKind) -> TicketChange:
        issue = payload.at("issue")
        closed = change is TicketChangeKind.CLOSED
        return payload.build(
            TicketChange,
            tracker=self.tracker,
            key=self._key(payload),
            change=change,
            occurred_at=(issue.optional_time("closed_at") if closed else None)
            or issue.time("updated_at"),
            url=issue.optional("html_url", str),
            resolution=issue.optional("state_reason", str) if closed else None,
            actor=payload.optional("sender.login", str),
            raw=payload.raw,
        )

    def _comment(self, payload: Payload) -> TicketChange:
        comment = payload.at("comment")
        return payload.build(
            TicketChange,
            tracker=self.tracker,
            key=self._key(payload),
            change=TicketChangeKind.COMMENTED,
            occurred_at=comment.time("created_at"),
            url=comment.optional("html_url", str) or payload.optional("issue.html_url", str),
            actor=comment.optional("user.login", str) or payload.optional("sender.login", str),
            comment=comment.optional("body", str) or "",
            raw=payload.raw,
        )
