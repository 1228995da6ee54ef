"""`feedbackloop learn`: record a Markdown postmortem and route its action items."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from feedbackloop._models import ActionItem
from feedbackloop.cli._app import app
from feedbackloop.cli._appload import APP_HELP, DebugOption, call, fail, loop_from
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
        Path, typer.Argument(help="The postmortem in Markdown.", exists=True, dir_okay=False)
    ],
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

    Reads the summary, contributing factors, themes and the "Action items" section
    (a list, checkboxes or a table). Items become signals of kind action_item from
    source postmortem, so your rules decide where they land.
    """
    try:
        learning = parse_postmortem(
            postmortem.read_text(encoding="utf-8"), incident_ids=incident or ()
        )
    except FeedbackLoopError as exc:
        if debug:
            raise
        raise fail(f"{postmortem}: {exc}") from None
    if dry_run or app_spec is None:
        if not dry_run:
            raise fail("--app is needed to record the learning (or pass --dry-run)", code=2)
        if as_json:
            typer.echo(learning.model_dump_json(indent=2))
            return
        Console(width=120).print(
            _table([(item, None) for item in learning.action_items], learning.summary)
        )
        return
    with loop_from(app_spec, debug=debug) as loop:
        recorded: RecordedLearning = call(loop, "record_learning", learning)
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
            f"{state} learning {recorded.id}: {learning.summary}",
        )
    )
