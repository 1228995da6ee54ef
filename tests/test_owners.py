"""The owners enrichment plugin, alone and through the loop's enrich_signal chain."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feedbackloop import FeedbackLoop, Signal
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.errors import ConfigurationError
from feedbackloop.owners import Owners
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet

OWNERS = """
# services and their owners
*              @acme/sre
checkout-*     @acme/payments @alice
search         @acme/discovery   # no individual owner
"""
T0 = datetime(2026, 11, 2, tzinfo=UTC)


def signal(service: str | None, **labels: str) -> Signal:
    return Signal(source="sentry", title="boom", service=service, occurred_at=T0, labels=labels)


def test_the_last_matching_line_wins() -> None:
    """checkout-api matches '*' and 'checkout-*'; the later line owns it."""
    enriched = Owners.parse(OWNERS).enrich_signal(signal("checkout-api"))
    assert enriched is not None
    assert enriched.labels == {"team": "payments", "owner": "alice"}


def test_existing_labels_are_kept() -> None:
    """A team label set by the source is not overwritten."""
    enriched = Owners.parse(OWNERS).enrich_signal(signal("checkout-api", team="frontend"))
    assert enriched is not None
    assert enriched.labels == {"team": "frontend", "owner": "alice"}


def test_signals_without_a_service_are_left_alone() -> None:
    """No service, nothing to match: the hook returns None."""
    assert Owners.parse(OWNERS).enrich_signal(signal(None)) is None


def test_an_owner_without_at_is_a_configuration_error() -> None:
    """Typos in the owners file name the line."""
    with pytest.raises(ConfigurationError, match="line 2: owners start with @"):
        Owners.parse("* @acme/sre\nsearch acme/discovery")


def test_the_loop_routes_on_labels_the_plugin_added() -> None:
    """Enrichment runs before routing, so rules can use the team label."""
    rules = RuleSet(Rule("payments", when=F.labels["team"] == "payments", then=OpenTicket("local")))
    tracker = LocalTracker()
    with FeedbackLoop(
        rules, trackers={"local": tracker}, plugins=[Owners.parse(OWNERS)], store="sqlite://"
    ) as loop:
        loop.ingest(signal("checkout-api"))
        loop.ingest(signal("search"))
        assert len(tracker.tickets()) == 1
