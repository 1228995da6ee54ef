"""One worker process of scenario 5: `python -m benchmarks._worker URL INDEX WORKERS ALERTS GROUPS`.

Ingests every WORKERS-th alert of the storm, starting at INDEX, and prints a JSON line
with its start and end times (epoch seconds).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from benchmarks._common import LatencyLocalTracker
from benchmarks.storm import LATENCY, rules, storm
from feedbackloop import AsyncFeedbackLoop


async def main(url: str, index: int, workers: int, alerts: int, groups: int) -> None:
    mine = storm(alerts, groups)[index::workers]
    tracker = LatencyLocalTracker(latency=LATENCY, name="bench")
    async with AsyncFeedbackLoop(rules(), trackers={"bench": tracker}, store=url) as loop:
        started = time.time()
        await loop.ingest_many(mine, batch=200)
        while await loop.run_effects():  # effects another worker left behind
            pass
        ended = time.time()
    print(json.dumps({"started": started, "ended": ended, "alerts": len(mine)}), flush=True)


if __name__ == "__main__":
    url, index, workers, alerts, groups = sys.argv[1:]
    asyncio.run(main(url, int(index), int(workers), int(alerts), int(groups)))
