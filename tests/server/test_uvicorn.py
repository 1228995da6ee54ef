"""The webhook app in a real uvicorn process on 127.0.0.1 (`feedbackloop serve`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from feedbackloop.connectors.local import LocalTracker
from feedbackloop.store import Store
from tests.server.conftest import sentry_issue

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`feedbackloop serve --app tests.server.served:loop` in a child process."""

    def __init__(self, db: Path, *, hang: bool = False, slow: bool = False) -> None:
        self.port = free_port()
        self.log = db.with_suffix(f".{self.port}.log")
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "FEEDBACKLOOP_TEST_DB": str(db),
            "FEEDBACKLOOP_TEST_HANG": "1" if hang else "0",
            "FEEDBACKLOOP_TEST_SLOW": "1" if slow else "0",
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "feedbackloop", "serve"),
                    *("--app", "tests.server.served:loop", "--port", str(self.port)),
                    *("--max-body-size", "2048", "--log-level", "warning"),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"server did not start: {self.log.read_text()}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(20)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "served.db")
    yield running
    running.stop()


def test_every_answer_over_real_http(server: Server) -> None:
    """202, duplicate 202, 401, 404, 400 and 413 over a real socket."""
    d = sentry_issue(1)
    with httpx.Client(base_url=server.url) as http:
        first = http.post("/webhooks/sentry", content=d.body, headers=d.headers)
        again = http.post("/webhooks/sentry", content=d.body, headers=d.headers)
        forged = http.post("/webhooks/sentry", content=d.body + b" ", headers=d.headers)
        unknown = http.post("/webhooks/nope", content=d.body, headers=d.headers)
        broken = http.post(
            "/webhooks/sentry",
            content=b"[1]",
            headers={
                "Sentry-Hook-Resource": "issue",
                "Sentry-Hook-Signature": __import__(
                    "feedbackloop.connectors._webhooks", fromlist=["x"]
                ).hmac_sha256_hex("demo-sentry-client-secret", b"[1]"),
            },
        )
        large = http.post("/webhooks/sentry", content=b"x" * 4096, headers=d.headers)
        streamed = http.post("/webhooks/sentry", content=iter([b"x" * 1024] * 4), headers=d.headers)
    assert (first.status_code, first.json()["duplicate"]) == (202, False)
    assert (again.status_code, again.json()["duplicate"]) == (202, True)
    assert forged.status_code == 401
    assert unknown.status_code == 404
    assert broken.status_code == 400
    assert "JSON object" in broken.json()["detail"]
    assert large.status_code == 413
    assert streamed.status_code == 413


def test_a_delivery_becomes_a_ticket_and_a_redelivery_changes_nothing(
    server: Server, tmp_path: Path
) -> None:
    """The worker turns the delivery into one ticket; sending it again adds nothing."""
    d = sentry_issue(2)
    with httpx.Client(base_url=server.url) as http:
        http.post("/webhooks/sentry", content=d.body, headers=d.headers)
        store = Store(f"sqlite:///{tmp_path / 'served.db'}")
        try:
            deadline = time.monotonic() + 10
            while not store.links(status="open") and time.monotonic() < deadline:
                time.sleep(0.05)
            before = (store.links(), store.effects(), len(store.deliveries()))
            http.post("/webhooks/sentry", content=d.body, headers=d.headers)
            time.sleep(0.3)
            after = (store.links(), store.effects(), len(store.deliveries()))
        finally:
            store.close()
    assert [link.key for link in before[0]] == ["OPS-1"]
    assert after == before


def test_deliveries_accepted_before_a_sigkill_are_processed_after_restart(tmp_path: Path) -> None:
    """Killed mid-work with deliveries acknowledged: a restart makes each one ticket, once."""
    db = tmp_path / "crash.db"
    stuck = Server(db, hang=True)
    try:
        with httpx.Client(base_url=stuck.url) as http:
            for number in (1, 2, 3):
                d = sentry_issue(number)
                answer = http.post("/webhooks/sentry", content=d.body, headers=d.headers)
                assert answer.status_code == 202
        time.sleep(0.3)  # the worker claims them and hangs creating the first ticket
    finally:
        stuck.kill()
    store = Store(f"sqlite:///{db}")
    try:
        assert store.links(status="open") == []
        restarted = Server(db)
        try:
            deadline = time.monotonic() + 20
            while len(store.links(status="open")) < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            restarted.stop()
        assert len(store.links(status="open")) == 3
        assert {d.status for d in store.deliveries()} == {"done"}
        assert len(LocalTracker(store, project="OPS").tickets()) == 3
    finally:
        store.close()


def test_a_graceful_shutdown_finishes_the_work_in_flight(tmp_path: Path) -> None:
    """SIGTERM mid-work: the claimed work finishes; the rest waits, durable, for the next start."""
    db = tmp_path / "graceful.db"
    server = Server(db, slow=True)
    try:
        with httpx.Client(base_url=server.url) as http:
            for number in (1, 2, 3):
                d = sentry_issue(number)
                assert http.post("/webhooks/sentry", content=d.body, headers=d.headers).is_success
        time.sleep(0.2)  # the worker is creating the first ticket (it takes half a second)
    finally:
        server.stop()
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert server.process.returncode in (0, -signal.SIGTERM)
    store = Store(f"sqlite:///{db}")
    try:
        statuses = [d.status for d in store.deliveries()]
        assert statuses[0] == "done"
        assert set(statuses) <= {"done", "pending"}
        assert len(store.links(status="open")) == statuses.count("done")
        restarted = Server(db)
        try:
            deadline = time.monotonic() + 20
            while len(store.links(status="open")) < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            restarted.stop()
        assert {d.status for d in store.deliveries()} == {"done"}
        assert len(store.links(status="open")) == 3
    finally:
        store.close()
