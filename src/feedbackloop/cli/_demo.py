"""`feedbackloop demo`: a seeded week of traffic through the real path, then the backlog."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import anyio
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from feedbackloop.cli._app import app
from feedbackloop.cli._appload import fail
from feedbackloop.demo import DEFAULT_DB, DemoSummary, run_demo
from feedbackloop.errors import FeedbackLoopError


def print_summary(summary: DemoSummary, console: Console) -> None:
    """The backlog, the noise reduction and, once insights exist, the digest."""
    backlog = Table(title="The backlog the week left", title_justify="left")
    for column in ("Ticket", "Title", "Status", "Signals", "Comments", "Reopened"):
        backlog.add_column(column)
    for row in summary.tickets:
        backlog.add_row(
            f"{row.tracker} {row.key}",
            row.title,
            row.status,
            str(row.occurrences),
            str(row.comments),
            str(row.reopened) if row.reopened else "-",
        )
    console.print(backlog)
    console.print(
        f"Tickets: [bold]{summary.created}[/bold] created, [bold]{summary.commented}[/bold] "
        f"commented (still happening), [bold]{summary.reopened}[/bold] reopened (regressed)."
    )
    tickets = len(summary.tickets)
    reduction = 100 * (1 - tickets / summary.signals) if summary.signals else 0.0
    outcomes = ", ".join(f"{count} {name}" for name, count in sorted(summary.outcomes.items()))
    console.print(
        f"Noise reduction: [bold]{summary.signals}[/bold] signals in → [bold]{tickets}[/bold] "
        f"tickets out ({reduction:.1f}% fewer things to look at). Signals: {outcomes}."
    )
    console.print(
        f"Deliveries: {summary.deliveries} webhooks accepted, {summary.duplicates} "
        "redeliveries recognised and ignored."
    )
    if summary.digest:
        from rich.markdown import Markdown  # markdown-it is slow to import; only the demo needs it

        console.print(Markdown(summary.digest))


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Same seed, same week, same backlog.")] = 7,
    db: Annotated[
        Path, typer.Option(help="The SQLite file the demo's store and tickets go to.")
    ] = DEFAULT_DB,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep",
            help="Keep the existing database instead of starting fresh (a second run then "
            "changes nothing: every delivery is a redelivery).",
        ),
    ] = False,
) -> None:
    """See the whole loop in seconds, no accounts needed.

    Plays a realistic week of Sentry errors, Datadog monitor alerts and PagerDuty
    incidents (plus a few Jira and GitHub ticket closures) as signed webhooks through
    the webhook app, routes them with the example rules in feedbackloop.demo.rules into
    local trackers on SQLite, and prints the backlog and how much noise was kept out.
    Afterwards: `feedbackloop tickets --store sqlite:///feedbackloop-demo.db`.
    """
    console = Console(highlight=False, width=140)
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]Playing the week[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}", style="dim"),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("", total=None)

        def advance(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, description=what[:60])

        try:
            summary = anyio.run(lambda: run_demo(seed=seed, db=db, keep=keep, progress=advance))
        except FeedbackLoopError as exc:
            raise fail(str(exc)) from None
    console.print(
        f"Played {summary.deliveries} webhooks from {summary.since:%a %d %b} to "
        f"{summary.until:%a %d %b %Y} in {time.perf_counter() - started:.1f}s "
        f"(seed {seed}) into {db}."
    )
    print_summary(summary, console)
