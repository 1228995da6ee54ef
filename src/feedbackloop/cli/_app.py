"""The Typer application every command registers on."""

from __future__ import annotations

from typing import Annotated

import typer

from feedbackloop._version import __version__

__all__ = ["app", "main"]

app = typer.Typer(
    name="feedbackloop",
    help=(
        "Close the loop from operations to development: route Sentry, Datadog and "
        "PagerDuty signals into Jira and GitHub Issues, one living ticket per problem."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"feedbackloop {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Close the loop from operations to development."""


def main() -> None:
    """Run the command line (the `feedbackloop` console script)."""
    app()
