"""`feedbackloop plugins`: the loaded plugins, their versions, connectors and hooks."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from feedbackloop import plugins as registry
from feedbackloop.cli._app import app
from feedbackloop.errors import PluginError


@app.command()
def plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the loaded plugins: version, connectors and hooks of each.

    FEEDBACKLOOP_PLUGINS restricts which installed plugins load (empty: none).
    """
    try:
        infos = registry.plugins()
    except PluginError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps([asdict(info) for info in infos], indent=2))
        return
    table = Table(title="feedbackloop plugins", title_justify="left")
    table.add_column("Plugin", style="bold")
    table.add_column("Version")
    table.add_column("Connectors")
    table.add_column("Hooks")
    for info in infos:
        name = f"{info.name} (built-in)" if info.builtin else info.name
        provided = [*info.connectors, *(f"action:{action}" for action in info.actions)]
        table.add_row(name, info.version or "-", "\n".join(provided) or "-", "\n".join(info.hooks))
    Console(width=120).print(table)
