"""The benchmark suite runs end to end at its smoke-check size (no timing asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {"routing", "rules", "storm", "webhook_app", "workers", "memory", "history"}


def test_quick_run_exits_cleanly_and_writes_every_scenario(tmp_path: Path) -> None:
    """`python -m benchmarks --quick` exits 0 and its JSON holds every scenario's figures."""
    output = tmp_path / "result.json"
    env = dict(os.environ)
    test_database = env.get("FEEDBACKLOOP_TEST_DATABASE_URL")
    if test_database:
        env.setdefault("FEEDBACKLOOP_BENCH_DATABASE_URL", test_database)
    finished = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--output", str(output)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    result = json.loads(output.read_text())
    assert set(result["scenarios"]) == SCENARIOS
    assert result["quick"] is True
    assert result["machine"]["python"]
    for name, scenario in result["scenarios"].items():
        assert "error" not in scenario, name
        assert scenario["figures"] or scenario["facts"].get("skipped"), name
        for figure in scenario["figures"].values():
            assert figure["value"] >= 0
