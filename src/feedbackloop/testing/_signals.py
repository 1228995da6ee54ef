"""Signals for tests: realistic defaults, override only what the test is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from feedbackloop._models import Signal

__all__ = ["DEFAULT_TIME", "SignalFactory", "make_signal"]

DEFAULT_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""When test signals happen unless told otherwise: Monday 5 January 2026, 09:00 UTC."""

_DEFAULTS: dict[str, Any] = {
    "source": "sentry",
    "kind": "error",
    "title": "TimeoutError: upstream timed out after 3000ms",
    "service": "checkout",
    "environment": "production",
    "severity": "high",
    "occurred_at": DEFAULT_TIME,
}


def make_signal(**overrides: Any) -> Signal:
    """A production Sentry error on `checkout`, with any field overridden.

    Defaults: source `sentry`, kind `error`, severity `high`, service `checkout`,
    environment `production`, occurred at `DEFAULT_TIME`; the fingerprint is derived.
    `labels` replace the (empty) default labels.

    Raises:
        ValidationError: an override is not a valid signal field value.
    """
    return Signal(**{**_DEFAULTS, **overrides})


class SignalFactory:
    """Makes signals whose clock advances by `step` per signal, for threshold tests.

    Args:
        start: The first signal's `occurred_at`.
        step: How far the clock moves after each signal.
        **defaults: Field values for every signal (over `make_signal`'s defaults).
    """

    def __init__(
        self,
        *,
        start: datetime = DEFAULT_TIME,
        step: timedelta = timedelta(minutes=1),
        **defaults: Any,
    ) -> None:
        self.now = start
        self.step = step
        self._defaults = defaults

    def __call__(self, **overrides: Any) -> Signal:
        """The next signal; `occurred_at` is the clock unless overridden."""
        fields = {"occurred_at": self.now, **self._defaults, **overrides}
        self.now += self.step
        return make_signal(**fields)

    def many(self, count: int, **overrides: Any) -> list[Signal]:
        """`count` consecutive signals with the same overrides."""
        return [self(**overrides) for _ in range(count)]

    def advance(self, period: timedelta) -> datetime:
        """Move the clock forward by `period` and return the new time."""
        self.now += period
        return self.now
