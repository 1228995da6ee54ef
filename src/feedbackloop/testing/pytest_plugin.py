"""The feedbackloop pytest plugin: fixtures for testing rules.

Registered through the `pytest11` entry point, so installing feedbackloop is enough.

- `signal_factory`: a fresh `SignalFactory` (one minute between signals).
- `window_counts`: a fresh `InMemoryWindowCounts`, to pass as `counts=`.
- `active_signals`: a fresh `InMemoryActiveSignals`, to pass as `active=`.
"""

from __future__ import annotations

import pytest

from feedbackloop.rules import InMemoryActiveSignals, InMemoryWindowCounts
from feedbackloop.testing._signals import SignalFactory

__all__ = ["active_signals", "signal_factory", "window_counts"]


@pytest.fixture
def signal_factory() -> SignalFactory:
    """Signals with realistic defaults whose clock advances a minute per signal."""
    return SignalFactory()


@pytest.fixture
def window_counts() -> InMemoryWindowCounts:
    """Empty window counts for one test."""
    return InMemoryWindowCounts()


@pytest.fixture
def active_signals() -> InMemoryActiveSignals:
    """An empty view of active signals for one test."""
    return InMemoryActiveSignals()
