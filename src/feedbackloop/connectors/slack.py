"""Slack as a notifier: an incoming webhook, or `chat.postMessage` with a bot token.

A message becomes Block Kit blocks: the title (a link back when the message has a url),
the text converted from Markdown to Slack's mrkdwn, and the key fields side by side; a
plain-text `text` goes along for notifications and screen readers.

Slack answers `chat.postMessage` with HTTP 200 even when it refuses the message
(`{"ok": false, "error": "channel_not_found"}`): that is raised like any vendor error.
A 429 is waited out as its `Retry-After` asks (the HTTP layer does it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import httpx
from pydantic import SecretStr

from feedbackloop.connectors import Message
from feedbackloop.connectors._http import HTTPClient, RetryPolicy, require_http_url, safe_url
from feedbackloop.connectors._markdown import (
    BulletList,
    Inline,
    LineBreak,
    Paragraph,
    parse,
)
from feedbackloop.connectors._outbound import HTTPConnector, truncate
from feedbackloop.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    HTTPError,
    NotFoundError,
    RateLimitError,
)
from feedbackloop.settings import ConnectorSettings

__all__ = ["SlackNotifier", "SlackSettings", "to_mrkdwn"]

_SECTION_LIMIT: Final = 3000
_FIELD_LIMIT: Final = 2000
_MAX_FIELDS: Final = 10
_AUTH_ERRORS: Final = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "no_permission",
        "not_allowed_token_type",
    }
)
_NOT_FOUND_ERRORS: Final = frozenset({"channel_not_found", "not_in_channel", "is_archived"})


class SlackSettings(ConnectorSettings, connector="slack"):
    """`FEEDBACKLOOP_SLACK_*`: what `SlackNotifier.from_env()` reads.

    Set `webhook_url`, or `bot_token` (and usually `channel`), or both.
    """

    webhook_url: SecretStr | None = None
    bot_token: SecretStr | None = None
    channel: str | None = None
    api_url: str = "https://slack.com/api"


def to_mrkdwn(markdown: str) -> str:
    """Convert Markdown (the subset every connector reads) to Slack's mrkdwn.

    `**bold**` -> `*bold*`, `_italic_` stays, `[text](url)` -> `<url|text>`, bullets ->
    `•`, code as it is; `&`, `<` and `>` are escaped as Slack asks.
    """
    parts: list[str] = []
    for block in parse(markdown):
        if isinstance(block, Paragraph):
            parts.append(_inlines(block.content))
        elif isinstance(block, BulletList):
            parts.append("\n".join(f"• {_inlines(item)}" for item in block.items))
        else:
            parts.append(f"```\n{_escape(block.code)}\n```")
    return "\n\n".join(parts)


def _inlines(content: tuple[Inline, ...]) -> str:
    out: list[str] = []
    for inline in content:
        if isinstance(inline, LineBreak):
            out.append("\n")
            continue
        text = _escape(inline.text)
        if inline.code:
            text = f"`{text}`"
        else:
            if inline.italic:
                text = f"_{text}_"
            if inline.bold:
                text = f"*{text}*"
        if inline.href:
            text = f"<{_escape(inline.href)}|{text}>"
        out.append(text)
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackNotifier(HTTPConnector):
    """Posts messages to Slack.

    With a bot token (`chat.postMessage`), the message goes to `message.channel` or the
    default `channel`; otherwise to the incoming webhook, whose channel is fixed when the
    webhook is made (a message's channel cannot change it).

    Args:
        webhook_url: An incoming webhook URL (a credential: never logged).
        bot_token: A bot token (`xoxb-...`) with the `chat:write` scope.
        channel: The default channel (id or name) for `chat.postMessage`.
        api_url: Slack's Web API root.
        name: The notifier's name in the loop.
        retry: How hard the HTTP layer tries.
        transport: The httpx transport (tests pass a mock).

    Raises:
        ConfigurationError: neither a webhook URL nor a bot token is given.
    """

    settings = SlackSettings
    auth_hint = (
        "Check FEEDBACKLOOP_SLACK_WEBHOOK_URL (the webhook may have been removed) or "
        "FEEDBACKLOOP_SLACK_BOT_TOKEN (a bot token with the chat:write scope)"
    )

    def __init__(
        self,
        *,
        webhook_url: str | SecretStr | None = None,
        bot_token: str | SecretStr | None = None,
        channel: str | None = None,
        api_url: str = "https://slack.com/api",
        name: str = "slack",
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._webhook = _plain(webhook_url)
        self._token = _plain(bot_token)
        if not self._webhook and not self._token:
            raise ConfigurationError(
                "slack: set FEEDBACKLOOP_SLACK_WEBHOOK_URL or FEEDBACKLOOP_SLACK_BOT_TOKEN "
                "(or pass webhook_url=... or bot_token=...)"
            )
        if self._webhook:
            require_http_url(self._webhook, what=f"{name}: webhook_url", secret=True)
        self.name = name
        self.channel = channel
        self.api_url = api_url.rstrip("/")
        webhook_path = httpx.URL(self._webhook).path if self._webhook else None
        self.http = HTTPClient(
            connector=name,
            retry=retry,
            transport=transport,
            secrets=[self._webhook, webhook_path, self._token],
        )

    def __repr__(self) -> str:
        via = "chat.postMessage" if self._token else "webhook"
        return f"SlackNotifier(name={self.name!r}, via={via!r}, channel={self.channel!r})"

    async def send(self, message: Message) -> None:
        """Post `message`.

        Raises:
            ConfigurationError: only a bot token is set and no channel is known.
            AuthenticationError: the token or webhook is refused (also `ok: false`
                answers like `invalid_auth`).
            NotFoundError: the channel does not exist or the bot is not in it.
            BadRequestError: Slack refused the message for another reason.
        """
        payload = self.payload(message)
        channel = message.channel or self.channel
        if self._token and (channel or not self._webhook):
            if not channel:
                raise ConfigurationError(
                    "slack: chat.postMessage needs a channel; set FEEDBACKLOOP_SLACK_CHANNEL "
                    "or give the message a channel"
                )
            await self._post_message({"channel": channel, **payload})
        elif self._webhook is not None:
            with self.hinted():  # a webhook answers plain text: "ok"
                await self.http.request("POST", self._webhook, json=payload)

    def payload(self, message: Message) -> dict[str, Any]:
        """The `text` and `blocks` that `send` posts for `message`."""
        title = _escape(message.title)
        heading = f"*<{_escape(message.url)}|{title}>*" if message.url else f"*{title}*"
        body = to_mrkdwn(message.text)
        blocks: list[dict[str, Any]] = [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": truncate(f"{heading}\n{body}" if body else heading, _SECTION_LIMIT),
                },
            }
        ]
        fields = dict(message.fields)
        if message.severity is not None:
            fields.setdefault("severity", message.severity.value)
        if fields:
            blocks.append(
                {
                    "type": "section",
                    "fields": [
                        {
                            "type": "mrkdwn",
                            "text": truncate(f"*{_escape(k)}*\n{_escape(v)}", _FIELD_LIMIT),
                        }
                        for k, v in list(fields.items())[:_MAX_FIELDS]
                    ],
                }
            )
        fallback = f"{message.title} {message.url}" if message.url else message.title
        return {"text": truncate(fallback, _SECTION_LIMIT), "blocks": blocks}

    async def _post_message(self, body: Mapping[str, Any]) -> None:
        url = f"{self.api_url}/chat.postMessage"
        answer = await self.call(
            "POST",
            url,
            json=body,
            headers={
                "Authorization": f"Bearer {self._token}",
                "Content-Type": "application/json; charset=utf-8",
            },
        )
        if isinstance(answer, dict) and answer.get("ok") is True:
            return
        error = str(answer.get("error")) if isinstance(answer, dict) else "no ok in the answer"
        raise _ok_false_error(error, url=safe_url(url), connector=self.name, hint=self.auth_hint)


def _plain(value: str | SecretStr | None) -> str | None:
    plain = value.get_secret_value() if isinstance(value, SecretStr) else value
    return plain or None


def _ok_false_error(error: str, *, url: str, connector: str, hint: str) -> HTTPError:
    text = f"{connector}: POST {url} answered ok=false: {error}"
    context: dict[str, Any] = {
        "status_code": 200,
        "vendor_message": error,
        "connector": connector,
        "method": "POST",
        "url": url,
    }
    if error in _AUTH_ERRORS:
        return AuthenticationError(f"{text}. {hint}", **context)
    if error in _NOT_FOUND_ERRORS:
        return NotFoundError(f"{text} (is the bot invited to the channel?)", **context)
    if error == "ratelimited":
        return RateLimitError(text, **context)
    return BadRequestError(text, **context)
