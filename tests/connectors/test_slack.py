"""The Slack notifier: incoming webhooks and chat.postMessage, against respx."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import respx

from feedbackloop import Severity
from feedbackloop.connectors import Message, Notifier
from feedbackloop.connectors.slack import SlackNotifier, to_mrkdwn
from feedbackloop.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    NotFoundError,
)
from tests.connectors.contract import record_sleeps

pytestmark = pytest.mark.anyio

WEBHOOK = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"
TOKEN = "xoxb-0000-1111-secretsecret"
POST_MESSAGE = "https://slack.com/api/chat.postMessage"


def message(**options: object) -> Message:
    values: dict[str, object] = {
        "title": "checkout: timeout <calling> payments",
        "text": "Seen **5** times, see [the issue](https://sentry.io/i/42)",
        "url": "https://sentry.io/i/42",
        "severity": Severity.HIGH,
        "fields": {"service": "checkout", "rule": "prod-errors"},
    }
    return Message(**{**values, **options})  # type: ignore[arg-type]


def sent(route: respx.Route, index: int = -1) -> dict[str, object]:
    return dict(json.loads(route.calls[index].request.content))


def test_the_notifier_meets_the_notifier_protocol() -> None:
    """SlackNotifier is a Notifier."""
    assert isinstance(SlackNotifier(webhook_url=WEBHOOK), Notifier)


@respx.mock
async def test_a_webhook_message_has_a_link_back_and_the_key_fields() -> None:
    """The title links back, the text is mrkdwn, the fields sit side by side."""
    route = respx.post(WEBHOOK).respond(200, text="ok")
    notifier = SlackNotifier(webhook_url=WEBHOOK)

    await notifier.send(message())
    await notifier.aclose()

    body = sent(route)
    assert body["text"] == "checkout: timeout <calling> payments https://sentry.io/i/42"
    assert body["blocks"] == [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*<https://sentry.io/i/42|checkout: timeout &lt;calling&gt; payments>*\n"
                "Seen *5* times, see <https://sentry.io/i/42|the issue>",
            },
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*service*\ncheckout"},
                {"type": "mrkdwn", "text": "*rule*\nprod-errors"},
                {"type": "mrkdwn", "text": "*severity*\nhigh"},
            ],
        },
    ]


@respx.mock
async def test_chat_post_message_sends_the_channel_and_the_bot_token() -> None:
    """With a bot token, chat.postMessage is called for the message's channel."""
    route = respx.post(POST_MESSAGE).respond(200, json={"ok": True, "channel": "C1", "ts": "1.2"})

    await SlackNotifier(bot_token=TOKEN, channel="#ops").send(message(channel="#payments"))

    request = route.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert sent(route)["channel"] == "#payments"


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        ("invalid_auth", AuthenticationError),
        ("channel_not_found", NotFoundError),
        ("msg_too_long", BadRequestError),
    ],
)
@respx.mock
async def test_an_ok_false_answer_is_an_error(error: str, raised: type[Exception]) -> None:
    """chat.postMessage answers 200 with ok=false when it refuses: raised by kind."""
    respx.post(POST_MESSAGE).respond(200, json={"ok": False, "error": error})

    with pytest.raises(raised, match=error) as caught:
        await SlackNotifier(bot_token=TOKEN, channel="C1").send(message())

    assert TOKEN not in str(caught.value)


@respx.mock
async def test_a_429_waits_for_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack's 429 Retry-After is honoured, then the message goes through."""
    waits = record_sleeps(monkeypatch)
    route = respx.post(WEBHOOK).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "4"}),
            httpx.Response(200, text="ok"),
        ]
    )

    await SlackNotifier(webhook_url=WEBHOOK).send(message())

    assert route.call_count == 2
    assert waits == [4.0]


@respx.mock
async def test_webhook_errors_never_show_the_webhook_url() -> None:
    """The webhook URL is the credential: errors name the failure without it."""
    respx.post(WEBHOOK).respond(404, text="no_service")

    with pytest.raises(NotFoundError) as caught:
        await SlackNotifier(webhook_url=WEBHOOK).send(message())

    assert "XXXXsecretXXXX" not in str(caught.value)
    assert "no_service" in str(caught.value)


@respx.mock
async def test_httpx_request_logs_never_show_the_webhook_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """httpx logs each request's URL at INFO; for a Slack webhook that is the secret."""
    respx.post(WEBHOOK).respond(200, text="ok")
    notifier = SlackNotifier(webhook_url=WEBHOOK)
    with caplog.at_level(logging.INFO, logger="httpx"):
        await notifier.send(message())
    await notifier.aclose()
    assert "HTTP Request: POST" in caplog.text
    assert "XXXXsecretXXXX" not in caplog.text


def test_nothing_configured_names_the_settings() -> None:
    """Neither webhook nor token: ConfigurationError naming both variables."""
    with pytest.raises(ConfigurationError, match="FEEDBACKLOOP_SLACK_WEBHOOK_URL"):
        SlackNotifier()


async def test_a_bot_token_without_any_channel_is_refused() -> None:
    """chat.postMessage needs a channel: from the message or the notifier."""
    with pytest.raises(ConfigurationError, match="FEEDBACKLOOP_SLACK_CHANNEL"):
        await SlackNotifier(bot_token=TOKEN).send(message())


def test_from_env_reads_the_webhook_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """FEEDBACKLOOP_SLACK_WEBHOOK_URL configures the notifier; its repr hides it."""
    monkeypatch.setenv("FEEDBACKLOOP_SLACK_WEBHOOK_URL", WEBHOOK)
    notifier = SlackNotifier.from_env()
    assert "secret" not in repr(notifier)
    assert "webhook" in repr(notifier)


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("**bold** and _it_", "*bold* and _it_"),
        ("[x](https://a.example)", "<https://a.example|x>"),
        ("- one\n- two", "• one\n• two"),
        ("```\na < b\n```", "```\na &lt; b\n```"),
        ("run `make`", "run `make`"),
    ],
)
def test_markdown_converts_to_mrkdwn(markdown: str, mrkdwn: str) -> None:
    """Each Markdown construct has its Slack mrkdwn form."""
    assert to_mrkdwn(markdown) == mrkdwn


def test_a_webhook_url_that_is_not_a_url_is_refused_without_showing_it() -> None:
    """A mangled variable (no scheme) fails at once, and the secret stays out of it."""
    with pytest.raises(ConfigurationError, match="webhook_url must be an http") as caught:
        SlackNotifier(webhook_url="hooks.slack.com/services/T000/B000/XXXXsecretXXXX")
    assert "XXXXsecretXXXX" not in str(caught.value)
