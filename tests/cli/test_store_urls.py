"""Store URLs on the command line: every spelling of PostgreSQL, and what is refused."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from feedbackloop import FeedbackLoop, Signal
from feedbackloop.cli import app
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet

runner = CliRunner()


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgres", "postgresql+psycopg"])
def test_tickets_reads_a_postgresql_store_however_its_url_is_spelled(
    postgres_schema_url: str, scheme: str
) -> None:
    """`postgres://`, as Heroku, Render and Supabase hand it out, is a PostgreSQL store."""
    url = f"{scheme}://{postgres_schema_url.split('://', 1)[1]}"
    rules = RuleSet(Rule("errors", when=F.kind == "error", then=OpenTicket("jira")))
    tracker = LocalTracker(name="jira", project="OPS")
    with FeedbackLoop(rules, trackers={"jira": tracker}, store=url, sources=[]) as loop:
        loop.ingest(
            Signal(
                source="sentry",
                title="ValueError in checkout",
                severity="high",
                occurred_at="2026-03-02T09:00:00Z",
            )
        )
    result = runner.invoke(app, ["tickets", "--store", postgres_schema_url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["key"] == "OPS-1"
    again = runner.invoke(app, ["tickets", "--store", url, "--json"])
    assert again.output == result.output


def test_an_unsupported_store_url_names_the_supported_ones() -> None:
    result = runner.invoke(app, ["tickets", "--store", "mysql://root@localhost/ops"])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "unsupported store 'mysql'" in said
    assert "sqlite:///path.db" in said
    assert "postgres://" in said
    assert "postgresql+psycopg://" in said
