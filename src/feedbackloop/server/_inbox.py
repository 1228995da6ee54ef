"""Group commit: deliveries accepted at the same moment share one inbox transaction.

Every webhook must be durable before it is acknowledged, and a commit per delivery
would make the store the bottleneck. Requests hand their (verified, parsed) delivery to
`InboxWriter.put` and wait; one writer task takes everything that queued up, persists
it in one transaction, and answers each request. Under light load a batch is one
delivery, so nobody waits for company.

The write runs on the event loop itself: it is short (one multi-row insert and a
commit), and a worker thread would have to win the GIL back from the busy loop for
every database call, which costs more than the write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from feedbackloop._loop import AsyncFeedbackLoop

__all__ = ["InboxWriter"]


@dataclass
class _Pending:
    source: str
    delivery_id: str
    headers: Mapping[str, str]
    body: bytes
    done: asyncio.Future[tuple[int, bool]] = field(repr=False)


class InboxWriter:
    """Persists deliveries to the loop's inbox, many per transaction."""

    def __init__(self, loop: AsyncFeedbackLoop, *, batch: int = 256) -> None:
        self._loop = loop
        self._batch = batch
        self._queue: list[_Pending] = []
        self._writing = False

    async def put(
        self, source: str, delivery_id: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, bool]:
        """Persist one delivery; returns its inbox id and whether it is new.

        Raises:
            StoreError: the store failed (every delivery of the batch gets the error).
        """
        done: asyncio.Future[tuple[int, bool]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(source, delivery_id, headers, body, done))
        if not self._writing:
            self._writing = True
            asyncio.get_running_loop().create_task(self._write_all())
        return await done

    async def _write_all(self) -> None:
        try:
            while self._queue:
                await asyncio.sleep(0)  # let the requests already read join the batch
                batch, self._queue = self._queue[: self._batch], self._queue[self._batch :]
                items = [(p.source, p.delivery_id, p.headers, p.body) for p in batch]
                try:
                    results = self._store(items)
                except Exception as exc:
                    for pending in batch:
                        if not pending.done.done():
                            pending.done.set_exception(exc)
                    continue
                for pending, result in zip(batch, results, strict=True):
                    if not pending.done.done():
                        pending.done.set_result(result)
        finally:
            self._writing = False

    def _store(
        self, items: list[tuple[str, str, Mapping[str, str], bytes]]
    ) -> list[tuple[int, bool]]:
        return self._loop.store.put_deliveries(items, now=self._loop.clock())
