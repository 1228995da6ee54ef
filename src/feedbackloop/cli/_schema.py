"""`feedbackloop schema`: print the JSON Schema of the model."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from feedbackloop.cli._app import app
from feedbackloop.schema import MODELS, json_schema


@app.command()
def schema(
    models: Annotated[
        list[str] | None,
        typer.Argument(help=f"Models to include (default: all): {', '.join(MODELS)}."),
    ] = None,
) -> None:
    """Print the JSON Schema of feedbackloop's model (signals, incidents, tickets...)."""
    try:
        document = json_schema(*(models or ()))
    except KeyError as exc:
        typer.echo(f"Error: {exc.args[0]}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(document, indent=2, sort_keys=True))
