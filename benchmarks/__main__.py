"""Run the benchmarks: `python -m benchmarks [--quick] [--output PATH] [--only NAME ...]`.

Every scenario prints its figures as ratios against a baseline measured in the same
run, and the whole run is written as JSON (by default to
`benchmarks/results/<UTC time>.json`, which git ignores). `--quick` runs every scenario
at a small size: a smoke check, not a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import history, memory, routing, rules, storm, workers
from benchmarks._common import Scenario

RESULTS = Path(__file__).resolve().parent / "results"


def _webhook_app(*, quick: bool = False) -> Scenario:
    """Scenario 4 lives in `benchmarks/webhook_app.py` (written with the webhook app)."""
    from benchmarks import webhook_app as module

    found = Scenario(
        "webhook_app",
        "webhook app receiving into the durable SQLite inbox, against a bare Starlette "
        "endpoint, uvicorn",
        "bare Starlette endpoint answering 202",
    )
    # The module prints its own figures and returns the two ratios.
    throughput, p99 = module.main(quick=quick)
    found.figure("deliveries/s, app over bare", throughput, "x", throughput)
    found.figure("p99 latency, app over bare", p99, "x", p99)
    found.checks[f"throughput >= {module.TARGET}x bare"] = throughput >= module.TARGET
    return found


SCENARIOS: dict[str, Callable[..., Scenario]] = {
    "routing": routing.run,
    "rules": rules.scenario,
    "storm": storm.run,
    "webhook_app": _webhook_app,
    "workers": workers.run,
    "memory": memory.run,
    "history": history.run,
}


def machine() -> dict[str, Any]:
    """What the figures ran on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_bytes": memory_total,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit or None,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="every scenario, small: a smoke check")
    parser.add_argument("--output", type=Path, help="where to write the JSON result")
    parser.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), help="run only these")
    options = parser.parse_args(argv)
    started = datetime.now(UTC)
    result: dict[str, Any] = {
        "started": started.isoformat(),
        "quick": options.quick,
        "machine": machine(),
        "scenarios": {},
    }
    failed = False
    for name, scenario_run in SCENARIOS.items():
        if options.only and name not in options.only:
            continue
        begun = time.perf_counter()
        try:
            scenario = scenario_run(quick=options.quick)
        except Exception as exc:  # one broken scenario must not hide the others
            print(f"{name}: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
            result["scenarios"][name] = {"error": f"{type(exc).__name__}: {exc}"}
            failed = True
            continue
        scenario.print()
        entry = scenario.as_json()
        entry["seconds"] = round(time.perf_counter() - begun, 2)
        result["scenarios"][name] = entry
        print(f"  ({entry['seconds']} s)\n", flush=True)
    output = (
        options.output
        or RESULTS / f"{started:%Y%m%dT%H%M%SZ}{'-quick' if options.quick else ''}.json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"results written to {output}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
