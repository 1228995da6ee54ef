"""`feedbackloop dead-letters`: actions that failed for good; list them, retry them."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from feedbackloop.cli._app import app
from feedbackloop.cli._appload import AppOption, DebugOption, call, loop_from
from feedbackloop.cli._tickets import OptionalAppOption, StoreOption, opened_store
from feedbackloop.store import DEFAULT_STORE_URL

dead_letters = typer.Typer(
    name="dead-letters",
    help="Actions that failed for good (a tracker refused them, or kept failing): "
    "list them, and retry them once the cause is fixed.",
    no_args_is_help=True,
)
app.add_typer(dead_letters)


@dead_letters.command("list")
def list_(
    app_spec: OptionalAppOption = None,
    store_url: StoreOption = DEFAULT_STORE_URL,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    debug: DebugOption = False,
) -> None:
    """List the dead letters waiting for a retry, with the vendor's error."""
    with opened_store(app_spec, store_url, debug=debug) as store:
        letters = store.dead_letters()
    if as_json:
        for letter in letters:
            typer.echo(
                json.dumps(
                    {
                        "id": letter.id,
                        "kind": letter.kind,
                        "error": letter.error,
                        "error_type": letter.error_type,
                        "status_code": letter.status_code,
                        "failed_at": letter.failed_at.isoformat(),
                    }
                )
            )
        return
    table = Table(title="Dead letters", title_justify="left")
    for column in ("Id", "Action", "Error", "Status", "Failed at"):
        table.add_column(column)
    for letter in letters:
        table.add_row(
            str(letter.id),
            letter.kind,
            f"{letter.error_type}: {letter.error}",
            str(letter.status_code or "-"),
            letter.failed_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    Console(highlight=False, width=160).print(table)
    typer.echo(f"{len(letters)} dead letter(s).")


@dead_letters.command()
def retry(
    app_spec: AppOption,
    ids: Annotated[
        list[int] | None, typer.Argument(help="Dead letters to retry (default: all of them).")
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Put dead letters back in the outbox and run them now (needs your app's connectors)."""
    with loop_from(app_spec, debug=debug) as loop:
        results = call(loop, "retry", ids or None)
        for result in results:
            typer.echo(f"{result.kind} (effect {result.effect_id}): {result.status}")
        left = len(loop.dead_letters())
    typer.echo(f"{len(results)} retried; {left} dead letter(s) left.")
