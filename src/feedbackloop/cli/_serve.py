"""`feedbackloop serve`: run the webhook app under uvicorn."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from feedbackloop.cli._app import app
from feedbackloop.cli._appload import AppOption, DebugOption, close, fail, load_loop
from feedbackloop.errors import FeedbackLoopError
from feedbackloop.server import DEFAULT_MAX_BODY_SIZE, create_app, freeze_startup_heap

if TYPE_CHECKING:
    from starlette.applications import Starlette

_SPEC_ENV = "FEEDBACKLOOP_SERVE_APP"
_BODY_ENV = "FEEDBACKLOOP_SERVE_MAX_BODY_SIZE"


def app_factory() -> Starlette:
    """Build the app in a uvicorn worker process (`--workers` > 1) from the environment."""
    loop = load_loop(os.environ[_SPEC_ENV])
    max_body = int(os.environ.get(_BODY_ENV, DEFAULT_MAX_BODY_SIZE))
    asgi = create_app(loop, max_body_size=max_body, close_loop=True)
    freeze_startup_heap()
    return asgi


class LogLevel(StrEnum):
    """uvicorn's log levels."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"
    trace = "trace"


@app.command()
def serve(
    app_spec: AppOption,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every one).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes. Above 1, use a PostgreSQL store so they share one inbox.",
        ),
    ] = 1,
    max_body_size: Annotated[
        int, typer.Option(min=1, help="Largest webhook body accepted, in bytes (413 above).")
    ] = DEFAULT_MAX_BODY_SIZE,
    log_level: Annotated[LogLevel, typer.Option(help="uvicorn's log level.")] = LogLevel.info,
    debug: DebugOption = False,
) -> None:
    """Receive webhooks: POST /webhooks/{source}, GET /healthz, GET /metrics.

    Point each vendor's webhook at http(s)://<your host>/webhooks/<source> (sentry,
    datadog, pagerduty, github, jira). Deliveries are verified, saved and answered 202
    at once; a background worker routes them. Stop with Ctrl+C: work in hand finishes.
    """
    import uvicorn  # only here: every other command (and --help) would pay for it

    try:
        loop = load_loop(app_spec)
    except FeedbackLoopError as exc:
        if debug:
            raise
        raise fail(str(exc)) from None
    if workers > 1:
        close(loop)  # each worker process builds its own
        os.environ[_SPEC_ENV] = app_spec
        os.environ[_BODY_ENV] = str(max_body_size)
        uvicorn.run(
            "feedbackloop.cli._serve:app_factory",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level.value,
        )
        return
    asgi = create_app(loop, max_body_size=max_body_size, close_loop=True)
    freeze_startup_heap()  # what start-up built lives as long as the server
    try:
        uvicorn.run(asgi, host=host, port=port, log_level=log_level.value)
    finally:
        close(loop)
