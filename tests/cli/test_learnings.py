"""`feedbackloop learn` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from feedbackloop.cli import app

runner = CliRunner()

APP = """
from feedbackloop import FeedbackLoop
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet

rules = RuleSet(Rule("work", when=F.kind == "action_item", then=OpenTicket("local")))
loop = FeedbackLoop(rules, trackers={{"local": LocalTracker()}}, sources=[], store="sqlite:///{db}")
"""

POSTMORTEM = """\
# Checkout outage

## Summary
Checkout was down for 42 minutes.

## Action items
- [ ] Add a canary stage @alice due 2026-11-20
- [x] Roll back the config
"""


def test_learn_records_the_postmortem_and_routes_its_items(tmp_path: Path) -> None:
    """The open item gets a ticket through the app's rules; the done one does not."""
    app_file = tmp_path / "feedback.py"
    app_file.write_text(APP.format(db=tmp_path / "app.db"))
    postmortem = tmp_path / "postmortem.md"
    postmortem.write_text(POSTMORTEM)
    result = runner.invoke(
        app, ["learn", str(postmortem), "--app", f"{app_file}:loop", "--incident", "PD-1", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    canary, rollback = data["action_items"]
    assert (canary["owner"], canary["ticket"]["key"], rollback["ticket"]) == (
        "alice",
        "LOCAL-1",
        None,
    )


def test_learn_dry_run_only_shows_what_it_read(tmp_path: Path) -> None:
    """--dry-run needs no app and records nothing."""
    postmortem = tmp_path / "postmortem.md"
    postmortem.write_text(POSTMORTEM)
    result = runner.invoke(app, ["learn", str(postmortem), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["summary"] == "Checkout was down for 42 minutes."
