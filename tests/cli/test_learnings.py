"""`feedbackloop learn` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from typer.testing import CliRunner

from feedbackloop import FeedbackLoop
from feedbackloop.cli import app
from feedbackloop.cli._appload import load_loop
from feedbackloop.connectors import TicketDraft

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


def _file_postmortem_ticket(tmp_path: Path) -> str:
    """Write the app, file POSTMORTEM as a ticket of its local tracker; the app spec."""
    app_file = tmp_path / "feedback.py"
    app_file.write_text(APP.format(db=tmp_path / "app.db"))
    loop = load_loop(f"{app_file}:loop")
    assert isinstance(loop, FeedbackLoop)
    with loop:
        draft = TicketDraft(title="Checkout outage", body=POSTMORTEM, marker="fl-pm")
        assert anyio.run(loop.core.trackers["local"].create, draft).key == "LOCAL-1"
    return f"{app_file}:loop"


def test_learn_from_a_ticket_reads_it_through_the_apps_tracker(tmp_path: Path) -> None:
    """--ticket local:LOCAL-1 records the ticket's postmortem; its open item gets a ticket."""
    spec = _file_postmortem_ticket(tmp_path)
    result = runner.invoke(app, ["learn", "--ticket", "local:LOCAL-1", "--app", spec, "--json"])
    assert result.exit_code == 0, result.output
    canary, rollback = json.loads(result.output)["action_items"]
    assert (canary["ticket"]["key"], rollback["ticket"]) == ("LOCAL-2", None)


def test_learn_from_a_ticket_dry_run_records_nothing(tmp_path: Path) -> None:
    """--dry-run with --ticket reads the ticket and shows the learning, filing nothing."""
    spec = _file_postmortem_ticket(tmp_path)
    result = runner.invoke(app, ["learn", "-t", "local:LOCAL-1", "-a", spec, "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["summary"] == "Checkout was down for 42 minutes."
    tickets = runner.invoke(app, ["tickets", "--app", spec])
    assert tickets.exit_code == 0, tickets.output
    assert "LOCAL-2" not in tickets.output


def test_learn_needs_exactly_one_of_a_file_and_a_ticket(tmp_path: Path) -> None:
    """Neither, or both, is a usage error that says so."""
    postmortem = tmp_path / "postmortem.md"
    postmortem.write_text(POSTMORTEM)
    for args in ([], [str(postmortem), "--ticket", "local:LOCAL-1"]):
        result = runner.invoke(app, ["learn", "--dry-run", *args])
        assert result.exit_code == 2
        assert "exactly one" in result.output


def test_a_ticket_without_a_tracker_name_is_refused(tmp_path: Path) -> None:
    """--ticket OPS-12 (no TRACKER:) is a usage error showing the form."""
    result = runner.invoke(app, ["learn", "--ticket", "OPS-12", "--app", "x:loop"])
    assert result.exit_code == 2
    assert "TRACKER:KEY" in result.output


def test_an_unknown_tracker_is_a_one_line_error(tmp_path: Path) -> None:
    """A tracker the app does not have is reported with the ticket, without a traceback."""
    spec = _file_postmortem_ticket(tmp_path)
    result = runner.invoke(app, ["learn", "--ticket", "jira:OPS-12", "--app", spec])
    assert result.exit_code == 1
    assert "jira:OPS-12: no tracker 'jira'" in result.output
    assert "Traceback" not in result.output


def test_a_postmortem_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    postmortem = tmp_path / "pm.md"
    postmortem.write_bytes(b"# Postmortem\n\xff")
    result = runner.invoke(app, ["learn", str(postmortem), "--dry-run"])
    assert result.exit_code == 1
    assert "pm.md: not UTF-8 text" in result.output
