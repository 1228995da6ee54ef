"""Datadog events as a notifier, every event checked against Datadog's v1 description."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import respx

from feedbackloop import Severity
from feedbackloop.connectors import Message, Notifier
from feedbackloop.connectors.datadog import DatadogEventNotifier
from feedbackloop.errors import AuthenticationError
from tests.connectors.contract import load, vendor

pytestmark = pytest.mark.anyio

API_KEY = "0123456789abcdef0123456789abcdef"
SPEC = load("datadog")


@pytest.fixture
def datadog() -> Iterator[respx.MockRouter]:
    """A fake Datadog EU API; afterwards every request is checked against the spec."""
    with vendor("datadog", "https://api.datadoghq.eu") as router:
        yield router


def notifier() -> DatadogEventNotifier:
    return DatadogEventNotifier(api_key=API_KEY, site="datadoghq.eu", event_tags=["team:sre"])


def test_the_notifier_meets_the_notifier_protocol() -> None:
    """DatadogEventNotifier is a Notifier."""
    assert isinstance(notifier(), Notifier)


async def test_a_message_becomes_an_event(datadog: respx.MockRouter) -> None:
    """Title, Markdown text with the link, fields as tags, severity as alert type."""
    route = datadog.post("/api/v1/events").respond(
        202, json=SPEC.example("post", "/api/v1/events", 202)
    )
    message = Message(
        title="Ticket OPS-7 closed: checkout timeouts",
        text="Fixed in **v2.3.1**",
        url="https://acme.atlassian.net/browse/OPS-7",
        severity=Severity.HIGH,
        fields={"service": "checkout", "group_key": "fp-1"},
    )

    sender = notifier()
    await sender.send(message)
    await sender.aclose()

    request = route.calls[0].request
    assert request.headers["DD-API-KEY"] == API_KEY
    assert json.loads(request.content) == {
        "title": "Ticket OPS-7 closed: checkout timeouts",
        "text": "%%% \nFixed in **v2.3.1**\n\n"
        "[Open](https://acme.atlassian.net/browse/OPS-7)\n %%%",
        "alert_type": "error",
        "tags": ["team:sre", "service:checkout", "group_key:fp-1"],
        "aggregation_key": "fp-1",
    }


async def test_long_text_is_cut_to_datadogs_limit(datadog: respx.MockRouter) -> None:
    """The text, markers included, stays within 4000 characters (the spec's maxLength)."""
    route = datadog.post("/api/v1/events").respond(
        202, json=SPEC.example("post", "/api/v1/events", 202)
    )

    await notifier().send(Message(title="t", text="x" * 5000))

    assert len(json.loads(route.calls[0].request.content)["text"]) == 4000


async def test_a_refused_key_names_the_settings(datadog: respx.MockRouter) -> None:
    """A 403 says which settings to check and never shows the key."""
    datadog.post("/api/v1/events").respond(403, json={"errors": ["Forbidden"]})

    with pytest.raises(AuthenticationError) as raised:
        await notifier().send(Message(title="t"))

    assert "FEEDBACKLOOP_DATADOG_API_KEY" in str(raised.value)
    assert API_KEY not in str(raised.value)
