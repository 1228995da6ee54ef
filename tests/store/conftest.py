"""Stores for the store's tests: on every backend, or in SQLite's memory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from feedbackloop.store import Store


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A store on each backend."""
    opened = Store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def memory_store() -> Iterator[Store]:
    """A store in SQLite's memory."""
    opened = Store("sqlite://")
    yield opened
    opened.close()
