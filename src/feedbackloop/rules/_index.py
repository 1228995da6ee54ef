"""The rule index: try only the rules a signal can possibly match.

A rule whose predicate requires `source`, `service`, `kind` or `environment` to equal
some value (`==` or `.in_()`, possibly inside `&` or on every branch of `|`) cannot
match a signal with another value there. Those requirements are necessary conditions
of the predicate, so skipping the rules that fail them never changes a decision; it only
saves the work. The rules to try for each combination of the four fields are cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from feedbackloop._models import Signal
from feedbackloop.rules._predicates import All, Any, Compare, In, Predicate

if TYPE_CHECKING:
    from feedbackloop.rules._rules import Rule

__all__ = ["RuleIndex", "requirements"]

INDEXED: Final = ("service", "source", "environment", "kind")
_CACHE_LIMIT: Final = 4096

Requirements = dict[str, frozenset[object]]


def requirements(predicate: Predicate) -> Requirements:
    """The values each indexed field must take for `predicate` to be able to match."""
    if isinstance(predicate, Compare) and predicate.op == "==" and predicate.path in INDEXED:
        return {predicate.path: frozenset({predicate.value})}
    if isinstance(predicate, In) and predicate.path in INDEXED:
        return {predicate.path: predicate.values}
    if isinstance(predicate, All):
        merged: Requirements = {}
        for child in predicate.children:
            for path, values in requirements(child).items():
                merged[path] = merged[path] & values if path in merged else values
        return merged
    if isinstance(predicate, Any):
        branches = [requirements(child) for child in predicate.children]
        common = set(branches[0]).intersection(*branches[1:])
        return {path: frozenset().union(*(b[path] for b in branches)) for path in common}
    return {}


class RuleIndex:
    """Candidate rules per signal, in rule order."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._rules = tuple(rules)
        self._requirements = [requirements(rule.when) for rule in self._rules]
        self._always: list[int] = []
        self._buckets: dict[str, dict[object, list[int]]] = {path: {} for path in INDEXED}
        for position, needs in enumerate(self._requirements):
            if not needs:
                self._always.append(position)
                continue
            # Bucket under the most selective requirement; the others filter on a miss.
            path = min(needs, key=lambda p: (len(needs[p]), INDEXED.index(p)))
            for value in needs[path]:
                self._buckets[path].setdefault(value, []).append(position)
        self._cache: dict[tuple[object, ...], tuple[Rule, ...]] = {}

    def candidates(self, signal: Signal) -> tuple[Rule, ...]:
        """The rules that can match `signal`, in their original order."""
        key = (signal.service, signal.source, signal.environment, signal.kind)
        found = self._cache.get(key)
        if found is None:
            found = self._compute(key)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = found
        return found

    def _compute(self, key: tuple[object, ...]) -> tuple[Rule, ...]:
        values = dict(zip(INDEXED, key, strict=True))
        positions = set(self._always)
        for path, value in values.items():
            positions.update(self._buckets[path].get(value, ()))
        return tuple(
            self._rules[position]
            for position in sorted(positions)
            if all(
                values[path] in allowed for path, allowed in self._requirements[position].items()
            )
        )
