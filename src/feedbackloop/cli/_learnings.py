"""`feedbackloop learn`: record a Markdown postmortem (a file or a ticket) and route its items."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from feedbackloop._models import ActionItem, Learning
from feedbackloop.cli._app import app
from feedbackloop.cli._appload import APP_HELP, DebugOption, call, fail, loop_from, read_text
from feedbackloop.errors import FeedbackLoopError
from feedbackloop.learnings import RecordedLearning, parse_postmortem

__all__ = ["learn"]


def _table(items: list[tuple[ActionItem, int | None]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("#", "Action item", "Owner", "Due", "Status", "Ticket"):
        table.add_column(column)
    for index, (item, item_id) in enumerate(items, 1):
        table.add_row(
            str(item_id or index),
            item.title,
            item.owner or "-",
            item.due.isoformat() if item.due else "-",
            item.status.value,
            item.ticket.key if item.ticket else "-",
        )
    return table


@app.command()
def learn(
    postmortem: Annotated[
        Path | None,
        typer.Argument(help="The postmortem in Markdown.", exists=True, dir_okay=False),
    ] = None,
    ticket: Annotated[
        str | None,
        typer.Option(
            "--ticket",
            "-t",
            help="Read the postmortem from a ticket instead: a tracker of the app and "
            "the ticket's key, e.g. jira:OPS-12 or github:acme/postmortems#7.",
            metavar="TRACKER:KEY",
        ),
    ] = None,
    app_spec: Annotated[
        str | None, typer.Option("--app", "-a", help=APP_HELP, metavar="MODULE:ATTR")
    ] = None,
    incident: Annotated[
        list[str] | None, typer.Option("--incident", "-i", help="An incident it is about.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what was read; record nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    debug: DebugOption = False,
) -> None:
    """Record a postmortem's learning; each action item goes through your rules.

    The postmortem is a Markdown file, or a ticket (--ticket TRACKER:KEY) read through
    one of the app's trackers. Reads the summary, contributing factors, themes and the
    "Action items" section (a list, checkboxes or a table). Items become signals of
    kind action_item from source postmortem, so your rules decide where they land.
    """
    if (postmortem is None) == (ticket is None):
        raise fail("give either a POSTMORTEM file or --ticket TRACKER:KEY (exactly one)", code=2)
    if ticket is not None:
        tracker, colon, key = ticket.partition(":")
        if not colon or not tracker or not key:
            raise fail(
                f"--ticket {ticket!r} is not of the form TRACKER:KEY (e.g. jira:OPS-12)", code=2
            )
        if app_spec is None:
            raise fail("--app is needed to read the ticket through its tracker", code=2)
        _learn_from_ticket(tracker, key, app_spec, incident or [], dry_run, as_json, debug)
        return
    assert postmortem is not None
    try:
        learning = parse_postmortem(read_text(postmortem), incident_ids=incident or ())
    except FeedbackLoopError as exc:
        if debug:
            raise
        raise fail(f"{postmortem}: {exc}") from None
    if dry_run or app_spec is None:
        if not dry_run:
            raise fail("--app is needed to record the learning (or pass --dry-run)", code=2)
        _show(learning, as_json)
        return
    with loop_from(app_spec, debug=debug) as loop:
        recorded: RecordedLearning = call(loop, "record_learning", learning)
    _report(recorded, as_json)


def _learn_from_ticket(
    tracker: str,
    key: str,
    app_spec: str,
    incidents: list[str],
    dry_run: bool,
    as_json: bool,
    debug: bool,
) -> None:
    with loop_from(app_spec, debug=debug) as loop:
        try:
            if dry_run:
                text: str = call(loop, "read_ticket", tracker, key)
                _show(parse_postmortem(text, incident_ids=incidents), as_json)
                return
            recorded: RecordedLearning = call(
                loop, "learn_from_ticket", tracker, key, incident_ids=incidents
            )
        except FeedbackLoopError as exc:
            if debug:
                raise
            raise fail(f"{tracker}:{key}: {exc}") from None
    _report(recorded, as_json)


def _show(learning: Learning, as_json: bool) -> None:
    if as_json:
        typer.echo(learning.model_dump_json(indent=2))
        return
    Console(width=120).print(
        _table([(item, None) for item in learning.action_items], learning.summary)
    )


def _report(recorded: RecordedLearning, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "learning_id": recorded.id,
                    "new": recorded.new,
                    "action_items": [
                        {"id": t.id, **t.item.model_dump(mode="json")}
                        for t in recorded.action_items
                    ],
                },
                indent=2,
            )
        )
        return
    state = "Recorded" if recorded.new else "Already recorded"
    Console(width=120).print(
        _table(
            [(t.item, t.id) for t in recorded.action_items],
            f"{state} learning {recorded.id}: {recorded.learning.summary}",
        )
    )
