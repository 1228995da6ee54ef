"""`create_app`: the Starlette app that receives webhooks."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from feedbackloop._loop import AsyncFeedbackLoop, FeedbackLoop
from feedbackloop.errors import (
    ConfigurationError,
    PayloadError,
    SignatureError,
    StoreError,
    ValidationError,
)
from feedbackloop.logs import get_logger
from feedbackloop.server._inbox import InboxWriter
from feedbackloop.server._metrics import AppMetrics
from feedbackloop.server._worker import InboxWorker

__all__ = ["DEFAULT_MAX_BODY_SIZE", "create_app"]

DEFAULT_MAX_BODY_SIZE = 1024 * 1024
"""Largest webhook body accepted (1 MiB); vendors send far less."""

_log = get_logger("server")


class _TooLargeError(Exception):
    pass


def _error(status: int, error: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail, **extra}, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it exceeds `limit` bytes (whatever Content-Length says)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    loop: AsyncFeedbackLoop | FeedbackLoop,
    *,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    tick: float = 5.0,
    batch: int = 50,
    worker: bool = True,
    close_loop: bool = False,
) -> Starlette:
    """Build the webhook app around a loop.

    Routes: `POST /webhooks/{source}` (verify, persist to the inbox, answer 202),
    `GET /healthz` (200 while the store answers, else 503) and `GET /metrics`
    (Prometheus text). Mount it in FastAPI (`api.mount("/feedback", app)`) or serve
    it with any ASGI server; its lifespan runs the worker, so the host must run
    lifespans (FastAPI and uvicorn do).

    Answers: 202 `{"accepted": true, "duplicate": false, "delivery_id": ..., "events": n}`
    (a redelivery: `"duplicate": true`, and nothing changes); 401 bad or missing
    signature; 404 unknown source; 400 unreadable payload, naming the field; 413 body
    over `max_body_size`; 503 when the store is unavailable (the vendor retries).

    Args:
        loop: The loop; a `FeedbackLoop`'s async core is used.
        max_body_size: Largest body accepted, in bytes (default 1 MiB).
        tick: Seconds between worker rounds when no delivery arrives (retries of
            effects, expired leases).
        batch: Deliveries the worker claims at a time.
        worker: False leaves processing to someone else (another process running
            `process_pending()`); the app then only receives.
        close_loop: Close the loop's connectors and store when the app shuts down
            (`feedbackloop serve` does; leave it off when the loop outlives the app).

    Returns:
        The Starlette app.

    Raises:
        ConfigurationError: `loop` is not a loop, or a limit is not positive.
    """
    core = loop.core if isinstance(loop, FeedbackLoop) else loop
    if not isinstance(core, AsyncFeedbackLoop):
        raise ConfigurationError(
            f"create_app() takes a FeedbackLoop or an AsyncFeedbackLoop, not {type(loop).__name__}"
        )
    if max_body_size <= 0 or tick <= 0 or batch <= 0:
        raise ConfigurationError("max_body_size, tick and batch must be positive")
    metrics = AppMetrics(core)
    inbox = InboxWorker(core, metrics, tick=tick, batch=batch)
    writer = InboxWriter(core)

    async def receive(request: Request) -> Response:
        source: str = request.path_params["source"]
        if source not in core.sources:
            metrics.deliveries.labels("unknown", "unknown_source").inc()
            known = ", ".join(sorted(core.sources)) or "none"
            return _error(404, "unknown_source", f"no source {source!r}; configured: {known}")
        try:
            body = await _read_body(request, max_body_size)
        except _TooLargeError:
            metrics.deliveries.labels(source, "too_large").inc()
            return _error(413, "too_large", f"body larger than {max_body_size} bytes")
        except ClientDisconnect:
            return Response(status_code=400)
        started = time.perf_counter()
        headers = dict(request.headers)
        try:
            delivery_id, events = core.check_webhook(source, headers, body)
            _, new = await writer.put(source, delivery_id, headers, body)
        except SignatureError as exc:
            metrics.deliveries.labels(source, "bad_signature").inc()
            _log.warning("webhook.bad_signature", source=source, error=str(exc))
            return _error(401, "bad_signature", str(exc))
        except (PayloadError, ValidationError) as exc:
            metrics.deliveries.labels(source, "malformed").inc()
            field = getattr(exc, "field", None)
            return _error(400, "malformed_payload", str(exc), field=field)
        except StoreError as exc:
            metrics.deliveries.labels(source, "unavailable").inc()
            _log.error("webhook.store_unavailable", source=source, error=str(exc))
            return _error(503, "unavailable", "the store is unavailable; retry later")
        metrics.accept_seconds.observe(time.perf_counter() - started)
        metrics.deliveries.labels(source, "accepted" if new else "duplicate").inc()
        if new:
            inbox.wake()
        return JSONResponse(
            {
                "accepted": True,
                "duplicate": not new,
                "delivery_id": delivery_id,
                "events": events,
            },
            status_code=202,
        )

    async def healthz(request: Request) -> Response:
        reachable = await anyio.to_thread.run_sync(core.store.ping)
        if reachable:
            return JSONResponse({"status": "ok", "store": "reachable"})
        return JSONResponse({"status": "unavailable", "store": "unreachable"}, status_code=503)

    async def scrape(request: Request) -> Response:
        text = await anyio.to_thread.run_sync(generate_latest, metrics.registry)
        return Response(text, media_type=CONTENT_TYPE_LATEST)

    async def unexpected(request: Request, exc: Exception) -> Response:
        # Genuine bugs only: bad input has its own answers above. No details leak out.
        _log.exception("webhook.unexpected_error", path=request.url.path)
        if request.url.path.startswith("/webhooks/"):
            metrics.deliveries.labels("unknown", "error").inc()
        return _error(500, "internal_error", "unexpected error; see the server's log")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as group:
            if worker:
                group.start_soon(inbox.run)
            try:
                yield
            finally:
                inbox.stop()
        if close_loop:
            await core.aclose()

    app = Starlette(
        routes=[
            Route("/webhooks/{source}", receive, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", scrape, methods=["GET"]),
        ],
        exception_handlers={Exception: unexpected},
        lifespan=lifespan,
    )
    app.state.feedbackloop = core
    app.state.metrics = metrics
    return app
