"""Crash safety: a worker SIGKILLed between the tracker's answer and saving the link."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from feedbackloop.connectors.local import LocalTracker
from feedbackloop.store import Store
from tests import _workers

ROOT = Path(__file__).resolve().parents[1]


def run_worker(url: str, kill_after: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests._workers", "deliveries", url, str(kill_after)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_killed_worker_loses_no_delivery_and_duplicates_no_ticket(tmp_path: Path) -> None:
    """After SIGKILL mid-effect and a restart, every issue has exactly one ticket."""
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    killed = run_worker(url, kill_after=3)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    time.sleep(_workers.LEASE.total_seconds() + 0.2)  # let the dead worker's leases lapse
    restarted = run_worker(url, kill_after=0)
    assert restarted.returncode == 0, restarted.stderr
    store = Store(url)
    links = store.links()
    tickets = LocalTracker(store).tickets()
    deliveries = store.deliveries()
    store.close()
    assert len(deliveries) == _workers.ISSUES
    assert {d.status for d in deliveries} == {"done"}
    assert len(tickets) == _workers.ISSUES
    assert sorted(link.key or "" for link in links) == sorted(t.key for t in tickets)
    assert {link.status for link in links} == {"open"}
