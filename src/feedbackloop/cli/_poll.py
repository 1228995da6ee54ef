"""`feedbackloop poll`: ask a source for what happened since a time, and route it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from feedbackloop._loop import IngestOutcome
from feedbackloop.cli._app import app
from feedbackloop.cli._appload import AppOption, DebugOption, call, loop_from
from feedbackloop.cli._moments import parse_moment


@app.command()
def poll(
    source: Annotated[
        str, typer.Argument(help="The source to poll: sentry, datadog, pagerduty...")
    ],
    app_spec: AppOption,
    since: Annotated[
        str, typer.Option(help="How far back: 24h, 30m, 7d, or an ISO 8601 time.")
    ] = "24h",
    debug: DebugOption = False,
) -> None:
    """Catch up from a source's API (missed webhooks, or no webhooks at all) and route it.

    Polling needs the source's API credentials (FEEDBACKLOOP_SENTRY_TOKEN and
    FEEDBACKLOOP_SENTRY_ORGANIZATION, FEEDBACKLOOP_PAGERDUTY_API_TOKEN, Datadog keys).
    Events already seen change nothing.
    """
    start = parse_moment(since, now=datetime.now(UTC))
    console = Console(highlight=False, width=140)
    with loop_from(app_spec, debug=debug) as loop:
        outcomes: list[IngestOutcome] = call(loop, "poll", source, since=start)
        table = Table(title=f"{source} since {start.isoformat()}", title_justify="left")
        for column in ("Event", "Rules", "Tickets"):
            table.add_column(column)
        for outcome in outcomes:
            event = outcome.event
            title = getattr(event, "title", None) or getattr(event, "key", "")
            rules = (
                "duplicate"
                if outcome.duplicate
                else (", ".join(outcome.decision.rules) if outcome.decision else "-")
            )
            table.add_row(
                f"{type(event).__name__}: {title}",
                rules or "no rule matched",
                ", ".join(ref.key for ref in outcome.tickets) or "-",
            )
        console.print(table)
        new = sum(not outcome.duplicate for outcome in outcomes)
        console.print(f"{len(outcomes)} event(s) polled, {new} new.")
