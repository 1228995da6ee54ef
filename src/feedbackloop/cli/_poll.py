"""`feedbackloop poll`: ask a source for what happened since a time, and route it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from feedbackloop._loop import IngestOutcome
from feedbackloop.cli._app import app
from feedbackloop.cli._appload import AppOption, DebugOption, call, fail, loop_from

_RELATIVE = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, *, now: datetime | None = None) -> datetime:
    """`24h`, `30m`, `7d`, `2w` ago, or an ISO 8601 time (UTC when it names no zone)."""
    now = now or datetime.now(UTC)
    relative = _RELATIVE.fullmatch(value.strip().lower())
    if relative:
        amount, unit = relative.groups()
        return now - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise fail(
            f"--since {value!r}: use a duration like 24h, 30m, 7d, or a time like "
            "2026-03-01T09:00:00Z",
            code=2,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    start = parse_since(since)
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
