"""The background worker: drains the inbox and runs due effects, inside the app's lifespan."""

from __future__ import annotations

import anyio

from feedbackloop._loop import AsyncFeedbackLoop
from feedbackloop.logs import get_logger
from feedbackloop.server._metrics import AppMetrics

__all__ = ["InboxWorker"]

_log = get_logger("server")


class InboxWorker:
    """Processes what the webhook endpoint persisted.

    It drains the inbox when it starts (deliveries persisted before a crash), whenever
    `wake()` says a delivery arrived, and every `tick` seconds (effects waiting for a
    retry, leases of a dead worker that ran out). `stop()` lets the batch in hand finish.
    """

    def __init__(
        self, loop: AsyncFeedbackLoop, metrics: AppMetrics, *, tick: float, batch: int
    ) -> None:
        self._loop = loop
        self._metrics = metrics
        self._tick = tick
        self._batch = batch
        self._wake = anyio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Say that a delivery arrived."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the work in hand, then return from `run()`."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Drain, then wait for a delivery or the tick, until stopped."""
        while not self._stopping:
            await self._drain()
            with anyio.move_on_after(self._tick):
                await self._wake.wait()
            self._wake = anyio.Event()

    async def _drain(self) -> None:
        while not self._stopping:
            try:
                # Shielded: a shutdown lets the claimed batch finish instead of abandoning
                # it to a lease that would delay it on the next start.
                with anyio.CancelScope(shield=True):
                    done = await self._loop.process_pending(limit=self._batch)
            except Exception:
                self._metrics.worker_errors.inc()
                _log.exception("worker.failed")
                return
            self._metrics.processed.inc(done)
            if done == 0:
                return
            await anyio.sleep(0)  # let requests in between batches
