"""`feedbackloop report`: the insights digest for a period, as Markdown, JSON or HTML."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from feedbackloop.cli._app import app
from feedbackloop.cli._appload import DebugOption, fail, write_text
from feedbackloop.cli._moments import parse_moment
from feedbackloop.cli._tickets import OptionalAppOption, StoreOption, opened_store
from feedbackloop.errors import FeedbackLoopError
from feedbackloop.insights import read_report
from feedbackloop.store import DEFAULT_STORE_URL

__all__ = ["parse_moment", "report"]


class Format(StrEnum):
    """How to render the report."""

    md = "md"
    json = "json"
    html = "html"


@app.command()
def report(
    since: Annotated[
        str, typer.Option(help="Start: a duration back from --until (7d, 24h, 2w) or a date.")
    ] = "7d",
    until: Annotated[
        str | None,
        typer.Option(help="End: an ISO date or datetime (UTC if naive); now by default."),
    ] = None,
    output_format: Annotated[
        Format, typer.Option("--format", "-f", help="md (Slack, GitHub, Jira), json or html.")
    ] = Format.md,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team (the team label).")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source (sentry…).")] = None,
    app_spec: OptionalAppOption = None,
    store_url: StoreOption = DEFAULT_STORE_URL,
    debug: DebugOption = False,
) -> None:
    """Print the insights digest: MTTA, MTTR, recurrence, noise, themes, action items, wins.

    The period [--since, --until) is compared with the period of equal length before it.
    """
    now = datetime.now(UTC)
    end = parse_moment(until, now=now) if until else now
    start = parse_moment(since, now=end)
    with opened_store(app_spec, store_url, debug=debug) as store:
        try:
            found = read_report(
                store, since=start, until=end, service=service, team=team, source=source
            )
        except FeedbackLoopError as exc:
            if debug:
                raise
            raise fail(str(exc)) from None
        except OverflowError:  # the period before this one starts before year 1
            raise fail(
                "the period is too long to compare with the one before it; pick a later --since"
            ) from None
    rendered = {
        Format.md: found.to_markdown,
        Format.json: found.to_json,
        Format.html: found.to_html,
    }[output_format]()
    if output is None:
        typer.echo(rendered, nl=not rendered.endswith("\n"))
        return
    write_text(output, rendered)
    typer.echo(f"Wrote the {output_format.value} report to {output}", err=True)
