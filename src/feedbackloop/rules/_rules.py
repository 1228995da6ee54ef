"""Rules and rule sets: the routing language teams write in Python.

Rules are tried in order and the first match wins, unless a rule says `continue_=True`
(Alertmanager's semantics). A match whose threshold is not reached yet *holds* the
signal: evaluation stops there and nothing is planned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TypeAlias, TypeVar

from feedbackloop._models import Signal
from feedbackloop.errors import RuleError
from feedbackloop.logs import get_logger
from feedbackloop.rules._actions import Action, OpenTicket
from feedbackloop.rules._counts import InMemoryWindowCounts, Threshold, WindowCounts
from feedbackloop.rules._decision import Decision, Outcome, RuleMatch
from feedbackloop.rules._index import RuleIndex
from feedbackloop.rules._predicates import FieldRef, Predicate, PredicateLike, as_predicate
from feedbackloop.rules._predicates import field_getter as _field_getter
from feedbackloop.rules._silences import (
    ActiveSignals,
    Inhibition,
    InMemoryActiveSignals,
    Silence,
)
from feedbackloop.rules._windows import TimeWindow

__all__ = ["Rule", "RuleContext", "RuleFunction", "RuleSet"]

_log = get_logger("rules")


@dataclass(frozen=True)
class RuleContext:
    """What a function rule gets besides the signal.

    Attributes:
        rule: The rule's name.
        group_key: The signal's group key under the rule's `group_by`.
        now: The moment of evaluation.
        count: Occurrences in the threshold's window (this one included), or None.
        counts: The window counts, to read other groups' counts.
        active: The active signals.
    """

    rule: str
    group_key: str
    now: datetime
    count: int | None
    counts: WindowCounts
    active: ActiveSignals


RuleFunction: TypeAlias = Callable[[Signal, RuleContext], "Action | Iterable[Action] | None"]
"""A function rule: `(signal, ctx) -> an Action, several, or None`."""

_F = TypeVar("_F", bound=RuleFunction)

_Windows: TypeAlias = TimeWindow | Iterable[TimeWindow] | None


class _Always(Predicate):
    """The predicate of a rule without `when`: every signal matches."""

    __slots__ = ()

    def __call__(self, signal: Signal) -> bool:
        return True

    def explain(self, signal: Signal) -> str | None:
        return None

    def describe(self) -> str:
        return "always"

    def __repr__(self) -> str:
        return "always"


_ALWAYS = _Always()


def _group_path(item: object) -> str:
    if isinstance(item, FieldRef):
        return item.path
    if isinstance(item, str):
        _field_getter(item)  # unknown names fail here, at definition
        return item
    raise RuleError(f"group_by takes field names or F fields; got {item!r}")


def _key_part(value: object) -> str:
    if value is None:
        return ""
    text = value.value if isinstance(value, Enum) else str(value)
    if "%" in text or "|" in text or "=" in text:
        text = text.replace("%", "%25").replace("|", "%7C").replace("=", "%3D")
    return str(text)


def _windows(value: _Windows, what: str) -> tuple[TimeWindow, ...]:
    if value is None:
        return ()
    windows = (value,) if isinstance(value, TimeWindow) else tuple(value)
    for window in windows:
        if not isinstance(window, TimeWindow):
            raise RuleError(f"{what} takes TimeWindow objects; got {window!r}")
    return windows


class Rule:
    """One routing rule: when a signal matches, plan some actions.

    Args:
        name: Unique within its rule set; identifies counts and tickets.
        when: A predicate (`F.severity >= "high"`) or a callable `Signal -> bool`;
            omitted: every signal matches.
        then: An action, several actions, or a function `(signal, ctx)` returning
            zero, one or several actions.
        group_by: Fields that form the group key (`"service"`, `"labels.team"`,
            `F.labels["team"]`).
        threshold: Fire only once the group reaches `count` occurrences `within`.
        continue_: Keep trying later rules after this one matches.
        active_during: Act only inside these time windows.
        muted_during: Do not act inside these time windows.

    Raises:
        RuleError: an empty name, an unknown field, a bad predicate or action, or no
            action at all.
    """

    __slots__ = (
        "_function",
        "_getters",
        "_paths",
        "actions",
        "active_during",
        "continue_",
        "group_by",
        "muted_during",
        "name",
        "threshold",
        "when",
    )

    def __init__(
        self,
        name: str,
        *,
        when: PredicateLike | None = None,
        then: Action | Iterable[Action] | RuleFunction,
        group_by: Iterable[str | FieldRef] = ("fingerprint",),
        threshold: Threshold | None = None,
        continue_: bool = False,
        active_during: _Windows = None,
        muted_during: _Windows = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise RuleError(f"a rule needs a non-empty name; got {name!r}")
        self.name = name
        try:
            self.when = _ALWAYS if when is None else as_predicate(when)
            if isinstance(group_by, str | FieldRef):
                group_by = (group_by,)
            self.group_by = tuple(_group_path(item) for item in group_by)
            if not self.group_by:
                raise RuleError("group_by is empty; leave it out to group by fingerprint")
            if threshold is not None and not isinstance(threshold, Threshold):
                raise RuleError(f"threshold must be a Threshold(count, within); got {threshold!r}")
            self.threshold = threshold
            self.continue_ = bool(continue_)
            self.active_during = _windows(active_during, "active_during")
            self.muted_during = _windows(muted_during, "muted_during")
            self._function: RuleFunction | None = None
            self.actions: tuple[Action, ...] = ()
            if isinstance(then, Action):
                self.actions = (then,)
            elif callable(then):
                self._function = then
            else:
                self.actions = _actions(then)
                if not self.actions:
                    raise RuleError("then is empty; to discard signals on purpose use Drop()")
        except RuleError as exc:
            raise RuleError(f"rule {name!r}: {exc}", rule=name) from None
        self._paths = self.group_by
        self._getters = tuple(_field_getter(path) for path in self.group_by)

    def group_key(self, signal: Signal) -> str:
        """The signal's group key: `"fingerprint=abc|service=api"` (stable across runs).

        A missing value renders empty; `%`, `|` and `=` in values are percent-encoded.
        """
        return "|".join(
            f"{path}={_key_part(get(signal))}"
            for path, get in zip(self._paths, self._getters, strict=True)
        )

    def plan(self, signal: Signal, ctx: RuleContext) -> tuple[Action, ...]:
        """The actions for a signal that matched and passed threshold and silences.

        Raises:
            RuleError: a function rule returned something other than actions.
        """
        if self._function is None:
            return self.actions
        result = self._function(signal, ctx)
        if result is None:
            return ()
        if isinstance(result, Action):
            return (result,)
        if isinstance(result, str | bytes) or not isinstance(result, Iterable):
            raise RuleError(
                f"rule {self.name!r} returned {result!r}; a function rule returns an "
                "Action, an iterable of actions, or None",
                rule=self.name,
            )
        try:
            planned = _actions(result, tickets=None)
        except RuleError as exc:
            raise RuleError(f"rule {self.name!r} returned {exc}", rule=self.name) from None
        tickets = [action for action in planned if isinstance(action, OpenTicket)]
        if len(tickets) > 1:
            # Refusing would fail every signal the rule matches, in production: the
            # first ticket is kept, as the lifecycle keeps one per group, and it is said.
            _log.warning(
                "rule.second_open_ticket_dropped",
                rule=self.name,
                kept=tickets[0].tracker,
                dropped=[ticket.tracker for ticket in tickets[1:]],
            )
            planned = tuple(a for a in planned if not isinstance(a, OpenTicket) or a is tickets[0])
        return planned

    def _muted_by(self, now: datetime) -> str | None:
        if self.active_during and not any(w.contains(now) for w in self.active_during):
            return "outside active window " + " or ".join(w.describe() for w in self.active_during)
        for window in self.muted_during:
            if window.contains(now):
                return f"muted window {window.describe()}"
        return None

    def __repr__(self) -> str:
        then = self._function.__name__ if self._function else list(self.actions)
        return f"Rule({self.name!r}, when={self.when!r}, then={then!r})"


def _actions(values: Iterable[object], *, tickets: int | None = 1) -> tuple[Action, ...]:
    """`values` as actions; more than `tickets` OpenTicket is a RuleError (None: any)."""
    actions: list[Action] = []
    for action in values:
        if not isinstance(action, Action):
            raise RuleError(
                f"{action!r} is not an action; use OpenTicket, Comment, Notify, Escalate, "
                "Drop or an Action subclass"
            )
        actions.append(action)
    if tickets is not None and sum(isinstance(a, OpenTicket) for a in actions) > tickets:
        # The lifecycle keeps one ticket per (rule, group): a second would be counted
        # as an occurrence of the first, never filed.
        raise RuleError(
            "more than one OpenTicket; a rule keeps one ticket per group. To file the "
            "problem in two trackers, write a rule for each (continue_=True on the first)"
        )
    return tuple(actions)


class RuleSet:
    """Rules tried in order; evaluate a signal to get a `Decision`.

    Args:
        *rules: The rules, in the order they are tried.
        silences: Silences in force for every rule.
        inhibitions: Inhibitions for every rule.
        index: Skip rules that cannot match by their equality requirements on source,
            service, kind and environment (never changes a decision; only speed).

    Raises:
        RuleError: two rules share a name, or an argument is not a Rule, Silence or
            Inhibition.
    """

    def __init__(
        self,
        *rules: Rule,
        silences: Iterable[Silence] = (),
        inhibitions: Iterable[Inhibition] = (),
        index: bool = True,
    ) -> None:
        self._rules: tuple[Rule, ...] = ()
        self._silences: tuple[Silence, ...] = ()
        self._inhibitions: tuple[Inhibition, ...] = ()
        self._use_index = index
        self._index: RuleIndex | None = None
        self._counts = InMemoryWindowCounts()
        self._active = InMemoryActiveSignals()
        for rule in rules:
            self.add(rule)
        for silence in silences:
            self.silence(silence)
        for inhibition in inhibitions:
            self.inhibit(inhibition)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules, in order."""
        return self._rules

    @property
    def silences(self) -> tuple[Silence, ...]:
        """The silences, expired ones included."""
        return self._silences

    @property
    def inhibitions(self) -> tuple[Inhibition, ...]:
        """The inhibitions."""
        return self._inhibitions

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules)

    def __repr__(self) -> str:
        names = ", ".join(repr(rule.name) for rule in self._rules)
        return f"RuleSet({names})"

    def __len__(self) -> int:
        return len(self._rules)

    def __getitem__(self, name: str) -> Rule:
        for rule in self._rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def add(self, rule: Rule) -> Rule:
        """Append `rule`; it is tried after the existing ones.

        Raises:
            RuleError: `rule` is not a Rule or its name is taken.
        """
        if not isinstance(rule, Rule):
            raise RuleError(f"RuleSet takes Rule objects; got {rule!r}")
        if any(existing.name == rule.name for existing in self._rules):
            raise RuleError(
                f"duplicate rule name {rule.name!r}; names must be unique", rule=rule.name
            )
        self._rules = (*self._rules, rule)
        self._index = None
        return rule

    def silence(self, silence: Silence) -> Silence:
        """Add a silence.

        Raises:
            RuleError: `silence` is not a Silence.
        """
        if not isinstance(silence, Silence):
            raise RuleError(f"expected a Silence; got {silence!r}")
        self._silences = (*self._silences, silence)
        return silence

    def inhibit(self, inhibition: Inhibition) -> Inhibition:
        """Add an inhibition.

        Raises:
            RuleError: `inhibition` is not an Inhibition.
        """
        if not isinstance(inhibition, Inhibition):
            raise RuleError(f"expected an Inhibition; got {inhibition!r}")
        self._inhibitions = (*self._inhibitions, inhibition)
        return inhibition

    def rule(
        self,
        *,
        when: PredicateLike | None = None,
        name: str | None = None,
        group_by: Iterable[str | FieldRef] = ("fingerprint",),
        threshold: Threshold | None = None,
        continue_: bool = False,
        active_during: _Windows = None,
        muted_during: _Windows = None,
    ) -> Callable[[_F], _F]:
        """Decorate a function `(signal, ctx)` returning actions to append it as a rule.

        The function stays callable as it was. Arguments are those of `Rule`; the name
        defaults to the function's name.

        Raises:
            RuleError: as for `Rule`, or the name is taken.
        """

        def register(fn: _F) -> _F:
            rule_name = name if name is not None else getattr(fn, "__name__", None)
            self.add(
                Rule(
                    rule_name,  # type: ignore[arg-type]  # Rule rejects a missing name
                    when=when,
                    then=fn,
                    group_by=group_by,
                    threshold=threshold,
                    continue_=continue_,
                    active_during=active_during,
                    muted_during=muted_during,
                )
            )
            return fn

        return register

    def evaluate(
        self,
        signal: Signal,
        *,
        counts: WindowCounts | None = None,
        now: datetime | None = None,
        active: ActiveSignals | None = None,
        matching: Sequence[tuple[Rule, str]] | None = None,
    ) -> Decision:
        """Decide what to do with `signal`. Pure: no I/O, state only through `counts`.

        Occurrences are recorded at the signal's `occurred_at` by the rules whose
        predicate matched and that have a threshold.

        Args:
            signal: The signal.
            counts: Window counts to record into; default: this rule set's in-memory ones.
            now: When silences and time windows are judged; default: `occurred_at`,
                so replaying history decides as live traffic did.
            active: The active signals for inhibitions; default: this rule set's own
                view, which observes each evaluated signal.
            matching: What `matching(signal)` returned, when the caller already asked
                (a batch that read its groups' state first); default: asked here.

        Returns:
            The decision, with `explain()` for the reasons.

        Raises:
            RuleError: `now` is naive, or a function rule returned something other than
                actions.
        """
        if now is None:
            now = signal.occurred_at
        elif now.tzinfo is None or now.utcoffset() is None:
            raise RuleError(f"now={now.isoformat()} is naive; pass a timezone-aware datetime")
        if counts is None:
            counts = self._counts
        if active is None:
            active = self._active
            if self._inhibitions:
                self._active.observe(signal)
        matches: list[RuleMatch] = []
        actions: list[Action] = []
        if matching is None:
            matching = self.matching(signal)
        for rule, key in matching:
            match = self._apply(rule, key, signal, now, counts, active)
            matches.append(match)
            actions.extend(match.actions)
        return Decision(signal, tuple(actions), tuple(matches), now, self._rules)

    def matching(self, signal: Signal) -> list[tuple[Rule, str]]:
        """The rules whose predicate matches `signal`, each with its group key for it.

        In the order `evaluate` applies them, ending at the first match that does not
        `continue_`. Pure: records nothing, so a store can read the window counters and
        tickets of a whole batch of signals before evaluating them.
        """
        if self._use_index:
            if self._index is None:
                self._index = RuleIndex(self._rules)
            candidates: Sequence[Rule] = self._index.candidates(signal)
        else:
            candidates = self._rules
        found = []
        for rule in candidates:
            if rule.when(signal):
                found.append((rule, rule.group_key(signal)))
                if not rule.continue_:
                    break
        return found

    def _apply(
        self,
        rule: Rule,
        key: str,
        signal: Signal,
        now: datetime,
        counts: WindowCounts,
        active: ActiveSignals,
    ) -> RuleMatch:
        threshold = rule.threshold
        count = None
        if threshold is not None:
            count = counts.record(rule.name, key, signal.occurred_at, threshold.within)
            if count < threshold.count:
                return RuleMatch(rule.name, key, Outcome.HELD, (), count, threshold)
        muted = rule._muted_by(now)
        if muted is not None:
            return RuleMatch(rule.name, key, Outcome.MUTED, (), count, threshold, muted)
        for silence in self._silences:
            if silence.applies(signal, now):
                return RuleMatch(
                    rule.name,
                    key,
                    Outcome.SILENCED,
                    (),
                    count,
                    threshold,
                    f"silence {silence.name}",
                )
        for inhibition in self._inhibitions:
            inhibitor = inhibition.inhibitor(signal, active)
            if inhibitor is not None:
                reason = (
                    f"inhibition {inhibition.name} (active: {inhibitor.source} {inhibitor.title!r})"
                )
                return RuleMatch(rule.name, key, Outcome.INHIBITED, (), count, threshold, reason)
        ctx = RuleContext(rule.name, key, now, count, counts, active)
        return RuleMatch(rule.name, key, Outcome.FIRED, rule.plan(signal, ctx), count, threshold)
