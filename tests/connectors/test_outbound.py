"""What the outbound connectors share: write pacing and early-stopped page walks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from feedbackloop.connectors._outbound import WritePacer, closing

pytestmark = pytest.mark.anyio


async def test_concurrent_writes_never_overlap() -> None:
    """Writes started together run one at a time."""
    pacer = WritePacer(0)
    inside = 0
    most = 0

    async def write() -> None:
        nonlocal inside, most
        async with pacer.turn():
            inside += 1
            most = max(most, inside)
            await anyio.sleep(0.001)
            inside -= 1

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(write)

    assert most == 1


async def test_the_pause_counts_from_the_end_of_the_last_write() -> None:
    """A write that ends at t=10.4 makes the next one wait until t=11.4."""
    now = [10.0]
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    pacer = WritePacer(1.0, clock=lambda: now[0], sleep=fake_sleep)
    async with pacer.turn():
        now[0] += 0.4
    now[0] += 0.5
    async with pacer.turn():
        pass

    assert waits == [pytest.approx(0.5)]


def test_a_negative_interval_is_refused() -> None:
    """The pause between writes cannot be negative."""
    with pytest.raises(ValueError, match="negative"):
        WritePacer(-1)


async def test_closing_ends_an_abandoned_page_walk() -> None:
    """Leaving a page walk early closes its generator (its cleanup runs at once)."""
    closed = []

    async def pages() -> AsyncIterator[int]:
        try:
            for page in range(10):
                yield page
        finally:
            closed.append(True)

    async with closing(pages()) as items:
        async for _ in items:
            break

    assert closed == [True]
