"""What evaluating the rules decided, and why."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from feedbackloop._models import Signal
from feedbackloop.rules._actions import Action, Drop
from feedbackloop.rules._counts import Threshold, format_duration

if TYPE_CHECKING:
    from feedbackloop.rules._rules import Rule

__all__ = ["Decision", "Outcome", "RuleMatch"]


class Outcome(enum.StrEnum):
    """What became of a rule whose predicate matched."""

    FIRED = "fired"
    """Its actions are planned."""
    HELD = "held"
    """Its threshold is not reached yet: no actions, evaluation stops (unless continue_)."""
    MUTED = "muted"
    """Outside the rule's active windows or inside a muted one."""
    SILENCED = "silenced"
    """A silence covers the signal."""
    INHIBITED = "inhibited"
    """An active signal inhibits it."""


@dataclass(frozen=True)
class RuleMatch:
    """One rule whose predicate matched the signal.

    Attributes:
        rule: The rule's name.
        group_key: The signal's group under the rule's `group_by`.
        outcome: Fired, held, muted, silenced or inhibited.
        actions: The planned actions (empty unless fired).
        count: Occurrences in the threshold's window, this one included; None without
            a threshold.
        threshold: The rule's threshold, if any.
        reason: The window, silence or inhibition that muted it.
    """

    rule: str
    group_key: str
    outcome: Outcome
    actions: tuple[Action, ...] = ()
    count: int | None = None
    threshold: Threshold | None = None
    reason: str | None = None

    def describe(self) -> str:
        """The match in words, as `Decision.explain()` prints it."""
        text = f"matched, group {self.group_key}"
        if self.threshold is not None:
            within = format_duration(self.threshold.within)
            progress = f"threshold {self.count}/{self.threshold.count} within {within}"
            text += f": {progress}" if self.outcome is Outcome.HELD else f": {progress} reached"
        if self.outcome is Outcome.FIRED:
            planned = ", ".join(action.describe() for action in self.actions) or "no actions"
            return f"{text} -> {planned}"
        if self.outcome is Outcome.HELD:
            return f"{text}: held"
        return f"{text}: {self.outcome.value} by {self.reason}"


@dataclass(frozen=True)
class Decision:
    """What the rules decided for one signal: planned actions and the reasons.

    Attributes:
        signal: The signal evaluated.
        actions: The planned actions, in rule order.
        matches: Every rule whose predicate matched, in order, with its outcome.
        now: The moment silences and time windows were judged at.
    """

    signal: Signal
    actions: tuple[Action, ...]
    matches: tuple[RuleMatch, ...]
    now: datetime
    _rules: Sequence[Rule] = field(default=(), repr=False, compare=False)

    @property
    def rules(self) -> tuple[str, ...]:
        """Names of the rules whose predicate matched, in order."""
        return tuple(match.rule for match in self.matches)

    @property
    def group_key(self) -> str | None:
        """The group key of the first rule that fired, else of the first match."""
        for match in self.matches:
            if match.outcome is Outcome.FIRED:
                return match.group_key
        return self.matches[0].group_key if self.matches else None

    @property
    def held(self) -> bool:
        """Whether a threshold holds the signal back (some rule matched, none fired)."""
        return any(m.outcome is Outcome.HELD for m in self.matches) and not self.fired

    @property
    def fired(self) -> bool:
        """Whether at least one rule fired."""
        return any(match.outcome is Outcome.FIRED for match in self.matches)

    @property
    def dropped(self) -> bool:
        """Whether a rule deliberately dropped the signal."""
        return any(isinstance(action, Drop) for action in self.actions)

    def explain(self) -> str:
        """Why each rule did or did not match, one line per rule, then the verdict.

        A rule that did not match names its failing condition with the actual value
        (`severity >= high: got medium`); a matched one shows its group, threshold
        progress (`threshold 3/5 within 1h`) and any silence, window or inhibition.
        """
        signal = self.signal
        lines = [f"signal: {_summary(signal)}"]
        by_name = {match.rule: match for match in self.matches}
        stopped_at: str | None = None
        for position, rule in enumerate(self._rules, start=1):
            prefix = f"{position}. {rule.name}: "
            match = by_name.get(rule.name)
            if stopped_at is not None:
                lines.append(f"{prefix}not tried (stopped at {stopped_at})")
            elif match is not None:
                lines.append(prefix + match.describe())
                if not rule.continue_:
                    stopped_at = rule.name
            else:
                lines.append(f"{prefix}no match: {rule.when.explain(signal) or 'matched'}")
        lines.append(f"decision: {self._verdict()}")
        return "\n".join(lines)

    def _verdict(self) -> str:
        if self.actions:
            return ", ".join(action.describe() for action in self.actions)
        if not self.matches:
            return "no rule matched: no actions"
        first = self.matches[0]
        if self.fired:
            return "no actions"
        return f"no actions ({first.outcome.value} by rule {first.rule})"


def _summary(signal: Signal) -> str:
    parts = [f"{name}={value}" for name, value in _fields(signal) if value is not None]
    return f"{signal.source} {signal.kind.value} {signal.title!r} ({', '.join(parts)})"


def _fields(signal: Signal) -> list[tuple[str, object]]:
    fields: list[tuple[str, object]] = [
        ("service", signal.service),
        ("environment", signal.environment),
        ("severity", signal.severity.value),
        ("fingerprint", signal.fingerprint),
    ]
    fields.extend((f"labels[{key!r}]", value) for key, value in sorted(signal.labels.items()))
    return fields
