"""Silences, inhibitions, and the view of which signals are active.

- A `Silence` mutes matching signals between two instants ("the payments migration,
  Saturday 02:00-04:00 UTC").
- An `Inhibition` mutes target signals while a source signal is active with the same
  values of some fields ("while a critical incident is open for a service, drop its
  alerts").

Both use the same predicate language as rules. A muted rule still counts its
occurrences, so a threshold reflects what really happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from feedbackloop._models import Signal, SignalStatus
from feedbackloop.errors import RuleError
from feedbackloop.rules._predicates import Predicate, PredicateLike, as_predicate, field_getter

__all__ = ["ActiveSignals", "InMemoryActiveSignals", "Inhibition", "Silence"]


def _aware(value: object, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise RuleError(f"{what} must be a timezone-aware datetime; got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise RuleError(
            f"{what} {value.isoformat()} is a naive datetime; pass a timezone-aware one, "
            "e.g. datetime(2026, 11, 7, 2, tzinfo=timezone.utc)"
        )
    return value


@dataclass(frozen=True, init=False)
class Silence:
    """Mute signals matching `when` from `starts_at` (included) to `ends_at` (excluded).

    Args:
        when: Which signals to mute: a predicate or a callable.
        starts_at: When the silence begins (timezone-aware).
        ends_at: When it ends (timezone-aware, after `starts_at`).
        name: Shown in explanations; default: the predicate in words.
        comment: Why, and who asked.

    Raises:
        RuleError: a naive datetime, an end not after the start, or a bad predicate.
    """

    when: Predicate
    starts_at: datetime
    ends_at: datetime
    name: str
    comment: str | None

    def __init__(
        self,
        when: PredicateLike,
        *,
        starts_at: datetime,
        ends_at: datetime,
        name: str | None = None,
        comment: str | None = None,
    ) -> None:
        predicate = as_predicate(when, what="Silence when")
        start = _aware(starts_at, "Silence starts_at")
        end = _aware(ends_at, "Silence ends_at")
        if end <= start:
            raise RuleError(
                f"Silence ends_at {end.isoformat()} is not after starts_at {start.isoformat()}"
            )
        set_ = object.__setattr__
        set_(self, "when", predicate)
        set_(self, "starts_at", start)
        set_(self, "ends_at", end)
        set_(self, "name", name or predicate.describe())
        set_(self, "comment", comment)

    def active_at(self, now: datetime) -> bool:
        """Whether the silence is in force at `now`."""
        return self.starts_at <= now < self.ends_at

    def applies(self, signal: Signal, now: datetime) -> bool:
        """Whether the silence mutes `signal` at `now`."""
        return self.active_at(now) and self.when(signal)


@runtime_checkable
class ActiveSignals(Protocol):
    """Which signals are firing and not yet resolved, for inhibitions to consult.

    The loop's store implements it over its records; `InMemoryActiveSignals` keeps
    them in a dict.
    """

    def firing(self) -> Iterable[Signal]:
        """The signals currently firing (the newest one per source and fingerprint)."""
        ...


class InMemoryActiveSignals:
    """An `ActiveSignals` in a dict, fed by `observe()`.

    A firing signal becomes active (replacing an earlier one with the same source and
    fingerprint); a resolved one removes it.
    """

    def __init__(self, signals: Iterable[Signal] = ()) -> None:
        self._firing: dict[tuple[str, str], Signal] = {}
        for signal in signals:
            self.observe(signal)

    def observe(self, signal: Signal) -> None:
        """Take note of `signal`: firing adds it, resolved removes its predecessor."""
        key = (signal.source, signal.fingerprint)
        if signal.status is SignalStatus.RESOLVED:
            self._firing.pop(key, None)
        else:
            self._firing[key] = signal

    def firing(self) -> Iterator[Signal]:
        """The active signals, oldest observed first."""
        return iter(list(self._firing.values()))

    def __len__(self) -> int:
        return len(self._firing)


@dataclass(frozen=True, init=False)
class Inhibition:
    """Mute `target` signals while a `source` signal is active with equal `equal` fields.

    `Inhibition(source=(F.kind == "incident") & (F.severity >= "critical"),
    target=F.kind == "alert", equal=("service",))` drops a service's alerts while a
    critical incident is open for that service. A signal never inhibits itself.

    Args:
        source: Which active signals inhibit.
        target: Which signals they mute.
        equal: Fields (`"service"`, `"labels.team"`) that must be equal on both.
        name: Shown in explanations; default: the source predicate in words.

    Raises:
        RuleError: an unknown field in `equal` or a bad predicate.
    """

    source: Predicate
    target: Predicate
    equal: tuple[str, ...]
    name: str
    _getters: tuple[Callable[[Signal], object], ...] = field(repr=False, compare=False)

    def __init__(
        self,
        *,
        source: PredicateLike,
        target: PredicateLike,
        equal: Iterable[str] = (),
        name: str | None = None,
    ) -> None:
        if isinstance(equal, str):
            equal = (equal,)
        fields = tuple(equal)
        getters = tuple(field_getter(path) for path in fields)  # fails on unknown names
        set_ = object.__setattr__
        set_(self, "source", as_predicate(source, what="Inhibition source"))
        set_(self, "target", as_predicate(target, what="Inhibition target"))
        set_(self, "equal", fields)
        set_(self, "name", name or self.source.describe())
        set_(self, "_getters", getters)

    def inhibitor(self, signal: Signal, active: ActiveSignals) -> Signal | None:
        """The active signal that mutes `signal`, or None."""
        if not self.target(signal):
            return None
        getters = self._getters
        wanted = tuple(get(signal) for get in getters)
        for other in active.firing():
            if other.source == signal.source and other.fingerprint == signal.fingerprint:
                continue
            if tuple(get(other) for get in getters) == wanted and self.source(other):
                return other
        return None
