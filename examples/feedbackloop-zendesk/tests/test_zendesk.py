"""Tests of the Zendesk source, as the plugin's own CI runs them."""

import json
from datetime import timedelta

import feedbackloop_zendesk
import pytest
from feedbackloop_zendesk import ZendeskSource

from feedbackloop import FeedbackLoop, Severity
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.errors import PayloadError, SignatureError
from feedbackloop.plugins import connectors, plugin_manager_with
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet, Threshold
from feedbackloop.testing import assert_not_routed, assert_routes

TOKEN = "zd-secret"  # noqa: S105 (a test value)


def delivery(ticket_id=35436, title="Payment failed for order 9876", **changes):
    """A ticket webhook as the tutorial's Zendesk trigger renders it."""
    ticket = {
        "id": str(ticket_id),
        "title": title,
        "priority": "high",
        "status": "open",
        "tags": "service_checkout payments",
        "group": "Billing",
        "url": f"acme.zendesk.com/agent/tickets/{ticket_id}",
        "updated_at": "2026-11-02T09:30:00Z",
        **changes,
    }
    body = json.dumps({"ticket": ticket}).encode()
    headers = {"X-Zendesk-Token": TOKEN, "X-Zendesk-Webhook-Invocation-Id": f"inv-{ticket_id}"}
    return headers, body


def test_a_ticket_becomes_a_support_signal():
    """Title, service tag, priority, status and link are read from the ticket."""
    headers, body = delivery()
    [signal] = ZendeskSource(webhook_token=TOKEN).parse(headers, body)
    assert signal.kind == "support"
    assert signal.service == "checkout"
    assert signal.severity is Severity.HIGH
    assert signal.status == "firing"
    assert signal.url == "https://acme.zendesk.com/agent/tickets/35436"
    assert signal.labels["group"] == "Billing"


def test_a_solved_ticket_resolves():
    """Solved and closed tickets are resolved signals."""
    headers, body = delivery(status="solved")
    [signal] = ZendeskSource(webhook_token=TOKEN).parse(headers, body)
    assert signal.status == "resolved"


def test_a_wrong_token_is_refused():
    """A delivery without the shared secret raises SignatureError."""
    headers, body = delivery()
    with pytest.raises(SignatureError, match="wrong X-Zendesk-Token"):
        ZendeskSource(webhook_token=TOKEN).verify({**headers, "X-Zendesk-Token": "nope"}, body)


def test_without_a_token_every_delivery_is_refused():
    """No token configured: refused, naming the variable to set."""
    headers, body = delivery()
    with pytest.raises(SignatureError, match="FEEDBACKLOOP_ZENDESK_WEBHOOK_TOKEN"):
        ZendeskSource().verify(headers, body)


def test_a_ticket_without_title_names_the_field():
    """An unreadable payload is a PayloadError naming the field."""
    headers, body = delivery(title="")
    with pytest.raises(PayloadError) as caught:
        ZendeskSource(webhook_token=TOKEN).parse(headers, body)
    assert caught.value.field == "ticket.title"


def test_the_token_comes_from_the_environment(monkeypatch):
    """from_env() reads FEEDBACKLOOP_ZENDESK_WEBHOOK_TOKEN and keeps it out of the repr."""
    monkeypatch.setenv("FEEDBACKLOOP_ZENDESK_WEBHOOK_TOKEN", TOKEN)
    source = ZendeskSource.from_env()
    source.verify(*delivery())
    assert TOKEN not in repr(source)


def test_the_plugin_registers_the_source():
    """Loaded as a plugin, the source is known by name."""
    pm = plugin_manager_with(feedbackloop_zendesk)
    assert connectors("source", pm=pm)["zendesk"].load() is ZendeskSource


RULES = RuleSet(
    Rule(
        "support-spikes",
        when=(F.source == "zendesk") & (F.kind == "support"),
        threshold=Threshold(count=3, within=timedelta(days=1)),
        then=OpenTicket("jira", project="PAY"),
    )
)


def test_three_tickets_about_one_problem_open_one_jira_issue(window_counts):
    """The team's rule holds two similar tickets and routes the third."""
    source = ZendeskSource(webhook_token=TOKEN)
    signals = [
        source.parse(*delivery(ticket_id=n, title=f"Payment failed for order {n}"))[0]
        for n in (9876, 9877, 9878)
    ]
    for signal in signals[:2]:
        assert_not_routed(RULES, signal, counts=window_counts)
    assert_routes(RULES, signals[2], to="jira", counts=window_counts)


def test_a_delivery_goes_through_the_loop(tmp_path):
    """A webhook delivery is verified, parsed and ticketed once, redelivery or not."""
    with FeedbackLoop(
        RULES,
        trackers={"jira": LocalTracker(name="jira", project="PAY")},
        sources=[ZendeskSource(webhook_token=TOKEN)],
        store=f"sqlite:///{tmp_path / 'loop.db'}",
        plugins=[feedbackloop_zendesk],
    ) as loop:
        for n in (9876, 9877, 9878, 9878):
            loop.handle_webhook(
                "zendesk", *delivery(ticket_id=n, title=f"Payment failed for order {n}")
            )
        [ticket] = loop.tickets()
        assert (ticket.key, ticket.occurrences) == ("PAY-1", 3)  # the redelivery changed nothing
