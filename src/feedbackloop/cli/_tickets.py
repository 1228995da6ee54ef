"""`feedbackloop tickets`: the tickets the loop keeps, with their status and counts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from feedbackloop.cli._app import app
from feedbackloop.cli._appload import APP_HELP, DebugOption, core_of, fail, loop_from
from feedbackloop.errors import FeedbackLoopError
from feedbackloop.store import DEFAULT_STORE_URL, Store

StoreOption = Annotated[
    str,
    typer.Option(
        "--store",
        help="The store to read when no --app is given, e.g. sqlite:///feedbackloop-demo.db.",
    ),
]
OptionalAppOption = Annotated[
    str | None,
    typer.Option("--app", "-a", help=f"{APP_HELP} Its store is read.", metavar="MODULE:ATTR"),
]


class Status(StrEnum):
    """Which tickets to list."""

    pending = "pending"
    open = "open"
    closed = "closed"


@contextmanager
def opened_store(app_spec: str | None, url: str, *, debug: bool) -> Iterator[Store]:
    """The app's store, or the store at `url` (an SQLite file must exist: these
    commands read, and a mistyped path would otherwise become an empty store)."""
    if app_spec is not None:
        with loop_from(app_spec, debug=debug) as loop:
            yield core_of(loop).store
        return
    if (path := _sqlite_file(url)) is not None and not path.exists():
        raise fail(f"no store at {path}; pass --store or --app")
    try:
        store = Store(url)
    except FeedbackLoopError as exc:
        if debug:
            raise
        raise fail(str(exc)) from None
    try:
        yield store
    finally:
        store.close()


def _sqlite_file(url: str) -> Path | None:
    """The file an SQLite store URL names (None: another backend, memory, or no URL)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # Store says what is wrong with it
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


@app.command()
def tickets(
    app_spec: OptionalAppOption = None,
    store_url: StoreOption = DEFAULT_STORE_URL,
    status: Annotated[Status | None, typer.Option(help="Only tickets in this state.")] = None,
    tracker: Annotated[str | None, typer.Option(help="Only this tracker's tickets.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    debug: DebugOption = False,
) -> None:
    """List the tickets the loop created and keeps: key, status, occurrences, last seen.

    `pending` tickets are claimed and not created in the tracker yet (a retry is due).
    """
    with opened_store(app_spec, store_url, debug=debug) as store:
        links = store.links(status=status.value if status else None, tracker=tracker)
    if as_json:
        for link in links:
            typer.echo(
                json.dumps(
                    {
                        "tracker": link.tracker,
                        "key": link.key,
                        "url": link.url,
                        "status": link.status,
                        "resolution": link.resolution,
                        "title": link.title,
                        "rule": link.rule,
                        "occurrences": link.occurrences,
                        "first_seen_at": link.first_seen_at.isoformat(),
                        "last_seen_at": link.last_seen_at.isoformat(),
                    }
                )
            )
        return
    table = Table(title="Tickets", title_justify="left")
    for column in ("Ticket", "Status", "Title", "Rule", "Seen", "Last seen"):
        table.add_column(column)
    for link in links:
        table.add_row(
            f"{link.tracker} {link.key or '(pending)'}",
            link.status + (f" ({link.resolution})" if link.resolution else ""),
            link.title,
            link.rule,
            str(link.occurrences),
            link.last_seen_at.strftime("%Y-%m-%d %H:%M"),
        )
    Console(highlight=False, width=160).print(table)
    typer.echo(f"{len(links)} ticket(s).")
