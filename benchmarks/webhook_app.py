"""Webhook app throughput and p99 latency, as a ratio to a bare Starlette endpoint.

Two servers run in turn under uvicorn in a child process on 127.0.0.1: a bare Starlette
endpoint that reads the body and answers 202, and `create_app()` around the demo's loop
with the durable SQLite inbox (signature check, parsing, and a committed insert before
the 202 — deliveries arriving together share a commit). This process is the load
generator: a fixed number of keep-alive HTTP/1.1 connections sending signed Sentry
deliveries, each one new, as fast as answers come.

The target — at least 0.5x the bare endpoint's deliveries per second — is measured on
the receive path: what a vendor waits for, each delivery durable in the inbox. The bare
endpoint and the app take turns, three rounds, and the median round's ratio counts. The run
with the background worker routing at the same time is reported too: on this two-core
machine, routing (see the routing scenario) then shares the server's core, and the
sustained rate is bounded by routing, not by the inbox.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TARGET = 0.5
CONNECTIONS = 32


async def _accept(request: Request) -> Response:
    await request.body()
    return Response(b'{"accepted":true}', status_code=202, media_type="application/json")


def bare_app() -> Starlette:
    """The baseline: read the body, answer 202 (its process set up as the app's)."""
    from feedbackloop.server import freeze_startup_heap

    app = Starlette(routes=[Route("/webhooks/{source}", _accept, methods=["POST"])])
    freeze_startup_heap()
    return app


def full_app() -> Starlette:
    """The webhook app around the demo loop, on the SQLite file named by BENCH_DB, its
    start-up heap frozen as `feedbackloop serve` does."""
    from feedbackloop.demo import build_demo_loop
    from feedbackloop.server import create_app, freeze_startup_heap

    loop = build_demo_loop(f"sqlite:///{os.environ['BENCH_DB']}", lambda: datetime.now(UTC))
    app = create_app(loop, close_loop=True, worker=os.environ.get("BENCH_WORKER", "1") == "1")
    freeze_startup_heap()
    return app


def _requests(count: int) -> list[bytes]:
    """Signed, distinct Sentry event alerts as raw HTTP requests."""
    from feedbackloop.demo._vendor import Vendors

    vendors = Vendors(random.Random(1))
    start = datetime(2026, 3, 2, tzinfo=UTC)
    raw = []
    for n in range(count):
        issue = {
            "id": str(1000 + n % 50),
            "project": "api",
            "title": f"ValueError in handler {n % 50}",
            "culprit": "api.views",
            "level": "error",
            "environment": "production",
            "release": "api@1",
        }
        d = vendors.sentry_event_alert(issue, start + timedelta(seconds=n), issue["title"])
        head = "".join(f"{k}: {v}\r\n" for k, v in d.headers.items())
        raw.append(
            f"POST /webhooks/sentry HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(d.body)}\r\n"
            f"{head}\r\n".encode()
            + d.body
        )
    return raw


async def _connection(
    port: int, requests: list[bytes], stop: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while requests and time.perf_counter() < stop:
            request = requests.pop()
            sent = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - sent)
            if not head.startswith(b"HTTP/1.1 202"):
                errors.append(1)
    finally:
        writer.close()


async def _load(port: int, requests: list[bytes], seconds: float) -> tuple[float, float, int]:
    """(deliveries per second, p99 latency in ms, errors) over `seconds`."""
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    stop = started + seconds
    await asyncio.gather(
        *(_connection(port, requests, stop, latencies, errors) for _ in range(CONNECTIONS))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    return len(latencies) / elapsed, p99, len(errors)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(factory: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", factory, "--factory", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log"]
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(command, cwd=root, env={**os.environ, **env})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{factory} did not start")


def _measure(factory: str, env: dict[str, str], seconds: float) -> tuple[float, float, int]:
    process, port = _serve(factory, env)
    try:
        requests = _requests(int(seconds * 6000))
        asyncio.run(_load(port, requests[: CONNECTIONS * 20], 0.5))  # warm up
        return asyncio.run(_load(port, requests[CONNECTIONS * 20 :], seconds))
    finally:
        process.terminate()
        process.wait(30)


def main(*, quick: bool = False) -> tuple[float, float]:
    """Run the bare endpoint and the app in turns, then the app with its worker.

    The bare endpoint and the app run one after the other `rounds` times, and each
    round gives a ratio: this machine's speed drifts over minutes, so a ratio of two
    runs seconds apart is the one to trust. The median round is reported.

    Returns:
        The app's (throughput, p99 latency) over the bare endpoint's, on the receive
        path (each delivery committed to the inbox before its 202): the medians of the
        rounds' ratios.
    """
    seconds, rounds = (2.0, 1) if quick else (6.0, 3)
    label = "create_app + SQLite inbox"
    with tempfile.TemporaryDirectory() as directory:
        pairs = []
        for round_ in range(rounds):
            bare = _measure("benchmarks.webhook_app:bare_app", {}, seconds)
            env = {"BENCH_DB": str(Path(directory) / f"bench{round_}.db"), "BENCH_WORKER": "0"}
            pairs.append((bare, _measure("benchmarks.webhook_app:full_app", env, seconds)))
        env = {"BENCH_DB": str(Path(directory) / "worker.db"), "BENCH_WORKER": "1"}
        worker = _measure("benchmarks.webhook_app:full_app", env, seconds)
    print(f"webhook app ({CONNECTIONS} keep-alive connections, {seconds:.0f}s each, loopback)")
    for bare, app in pairs:
        print(
            f"  bare Starlette 202             {bare[0]:7.0f} deliveries/s   p99 {bare[1]:6.1f} ms"
        )
        _print(label, app, bare)
    _print("  with the worker routing", worker, pairs[-1][0])
    ratio = statistics.median(app[0] / bare[0] for bare, app in pairs)
    p99 = statistics.median(app[1] / bare[1] for bare, app in pairs)
    verdict = "ok" if ratio >= TARGET else "BELOW TARGET"
    print(f"  median of {rounds} rounds: {ratio:.2f}x throughput, {p99:.1f}x p99")
    print(f"  target: receiving into the durable inbox >= {TARGET}x the bare endpoint: {verdict}")
    return ratio, p99


def _print(label: str, run: tuple[float, float, int], bare: tuple[float, float, int]) -> None:
    rate, p99, errors = run
    print(
        f"  {label:<30} {rate:7.0f} deliveries/s   p99 {p99:6.1f} ms   "
        f"{rate / bare[0]:.2f}x throughput, {p99 / bare[1]:.1f}x p99, {errors} errors"
    )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
