"""Predicates over signals: `F.severity >= "high"`, composed with `&`, `|` and `~`.

Nodes are immutable. Operands are checked when the predicate is built (field names,
severity names, regexes), so a typo fails at import time rather than at 3 a.m. Every
node can say why it did not match (`explain`), naming the failing leaf and the actual
value; evaluation itself builds no strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any as Value
from typing import ClassVar, Final, TypeAlias

from feedbackloop._models import Severity, Signal, SignalKind, SignalStatus
from feedbackloop.errors import RuleError

__all__ = [
    "All",
    "Any",
    "Check",
    "F",
    "FieldRef",
    "Not",
    "Predicate",
    "PredicateLike",
    "as_predicate",
    "field_getter",
    "field_names",
]

# Signal fields a rule may look at; `raw` is the vendor payload, not part of the model.
_FIELDS: Final = tuple(name for name in Signal.model_fields if name != "raw")
_OPTIONAL: Final = frozenset({"service", "environment", "url", "external_id"})
_ENUMS: Final[dict[str, type[SignalKind] | type[SignalStatus]]] = {
    "kind": SignalKind,
    "status": SignalStatus,
}
_RANK: Final = {severity: severity.rank for severity in Severity}
_SIMPLE: Final = re.compile(r"[\w.\-/:@]+")


def field_names() -> tuple[str, ...]:
    """The signal fields rules can refer to, plus `labels.<key>`."""
    return _FIELDS


def _unknown_field(name: str) -> RuleError:
    valid = ", ".join(_FIELDS)
    return RuleError(f"unknown signal field {name!r}; valid fields: {valid}, labels['<key>']")


def field_getter(path: str) -> Callable[[Signal], Value]:
    """A fast accessor for a field path: `"service"` or `"labels.team"`.

    Raises:
        RuleError: the path names no signal field.
    """
    if path.startswith("labels."):
        key = path.removeprefix("labels.")
        if not key:
            raise RuleError("a label path needs a key after 'labels.', e.g. 'labels.team'")
        return lambda signal: signal.labels.get(key)
    if path not in _FIELDS or path == "labels":
        raise _unknown_field(path)
    return lambda signal: getattr(signal, path)


def _show(value: Value) -> str:
    """A value as an explanation prints it: bare words plain, anything else quoted."""
    if value is None:
        return "missing"
    if isinstance(value, Severity | SignalKind | SignalStatus):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and _SIMPLE.fullmatch(value):
        return value
    return repr(value)


def _code(value: Value) -> str:
    """A value as Python source prints it (for reprs that read back as the rule)."""
    if isinstance(value, Severity | SignalKind | SignalStatus):
        return repr(value.value)
    return repr(value)


# --- nodes ---------------------------------------------------------------------------


class Predicate:
    """A condition on a signal. Call it with a signal to get a bool.

    Combine with `&` (all), `|` (any) and `~` (not); plain callables
    `Signal -> bool` combine too. Using a predicate as a bool (`a and b`, `if p:`)
    raises TypeError, because it would silently ignore one side.
    """

    __slots__ = ()

    # Precedence for printing: leaves and calls bind tightest, then ~, &, |.
    _binding: ClassVar[int] = 3

    def __call__(self, signal: Signal) -> bool:
        """Whether `signal` satisfies the predicate."""
        raise NotImplementedError

    def explain(self, signal: Signal) -> str | None:
        """None when `signal` matches, else the failing leaf with the actual value.

        For example `severity >= high: got medium`.
        """
        raise NotImplementedError

    def describe(self) -> str:
        """The predicate in plain words, as explanations print it."""
        raise NotImplementedError

    def __and__(self, other: PredicateLike) -> Predicate:
        return All(self, other)

    def __rand__(self, other: PredicateLike) -> Predicate:
        return All(other, self)

    def __or__(self, other: PredicateLike) -> Predicate:
        return Any(self, other)

    def __ror__(self, other: PredicateLike) -> Predicate:
        return Any(other, self)

    def __invert__(self) -> Predicate:
        return Not(self)

    def __bool__(self) -> bool:
        raise TypeError(
            f"the truth value of a predicate ({self!r}) is ambiguous: combine predicates "
            "with & (and), | (or) and ~ (not) instead of `and`, `or`, `not`, and wrap "
            "each comparison in parentheses: (F.a == 'x') & (F.b == 'y')"
        )

    def _wrapped(self, binding: int) -> str:
        text = repr(self)
        return f"({text})" if self._binding < binding else text

    def _words_wrapped(self, binding: int) -> str:
        # Words need fewer parentheses than code: only around combinations, and
        # around a comparison that is negated.
        text = self.describe()
        loose = isinstance(self, _Combination) or (binding > 2 and self._binding < 0)
        return f"({text})" if loose else text


PredicateLike: TypeAlias = Predicate | Callable[[Signal], bool]
"""A predicate node, or any plain callable `Signal -> bool`."""


def as_predicate(value: object, *, what: str = "when") -> Predicate:
    """Turn a predicate or a plain callable into a predicate node.

    Raises:
        RuleError: `value` is neither (a field without a comparison, a bool…).
    """
    if isinstance(value, Predicate):
        return value
    if isinstance(value, FieldRef | _LabelsRef):
        raise RuleError(
            f"{what}={value!r} is a field, not a condition; compare it, e.g. "
            f"{value!r} == 'x' or {value!r}.is_missing()"
        )
    if callable(value) and not isinstance(value, type):
        return Check(value)
    raise RuleError(
        f"{what} must be a predicate built from F (F.severity >= 'high') or a callable "
        f"taking a signal and returning a bool; got {value!r}"
    )


class _Leaf(Predicate):
    """A test of one field's value."""

    __slots__ = ("_get", "path")

    path: str
    _get: Callable[[Signal], Value]

    def __init__(self, path: str) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "_get", field_getter(path))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _key(self) -> tuple[Value, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    def _ref(self) -> str:
        if self.path.startswith("labels."):
            return f"F.labels[{self.path.removeprefix('labels.')!r}]"
        return f"F.{self.path}"

    def _name(self) -> str:
        if self.path.startswith("labels."):
            return f"labels[{self.path.removeprefix('labels.')!r}]"
        return self.path

    def explain(self, signal: Signal) -> str | None:
        if self(signal):
            return None
        return f"{self.describe()}: got {_show(self._get(signal))}"


_OPS: Final = ("==", "!=", "<", "<=", ">", ">=")


class Compare(_Leaf):
    """`field <op> value`. A missing value satisfies only `!=`."""

    __slots__ = ("_test", "op", "value")

    op: str
    value: Value
    _test: Callable[[Value], bool]

    def __init__(self, path: str, op: str, value: Value) -> None:
        super().__init__(path)
        value = _operand(path, value, ordered=op not in ("==", "!="))
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "_test", _comparison(path, op, value))

    def __call__(self, signal: Signal) -> bool:
        return self._test(self._get(signal))

    def _key(self) -> tuple[Value, ...]:
        return (self.path, self.op, self.value)

    def __repr__(self) -> str:
        return f"{self._ref()} {self.op} {_code(self.value)}"

    def describe(self) -> str:
        return f"{self._name()} {self.op} {_show(self.value)}"


def _comparison(path: str, op: str, value: Value) -> Callable[[Value], bool]:
    if op == "==":
        return lambda actual: actual == value
    if op == "!=":
        return lambda actual: actual != value
    if path == "severity":
        rank = _RANK[value]
        by_rank: dict[str, Callable[[int], bool]] = {
            "<": lambda r: r < rank,
            "<=": lambda r: r <= rank,
            ">": lambda r: r > rank,
            ">=": lambda r: r >= rank,
        }
        test = by_rank[op]
        return lambda actual: test(_RANK[actual])
    ordered: dict[str, Callable[[Value], bool]] = {
        "<": lambda a: a is not None and a < value,
        "<=": lambda a: a is not None and a <= value,
        ">": lambda a: a is not None and a > value,
        ">=": lambda a: a is not None and a >= value,
    }
    return ordered[op]


def _operand(path: str, value: Value, *, ordered: bool) -> Value:
    """Check and normalise a comparison operand for `path`, or raise RuleError."""
    if path == "severity":
        try:
            return Severity.coerce(value)
        except ValueError as exc:
            raise RuleError(f"severity compared with {value!r}: {exc}") from None
    if ordered and path != "occurred_at":
        raise RuleError(
            f"{path} cannot be ordered with <, <=, >, >=; only severity and occurred_at "
            "can. Use ==, !=, .in_(), .matches(), .contains() or .startswith()"
        )
    if path == "occurred_at":
        if not isinstance(value, datetime):
            raise RuleError(f"occurred_at compared with {value!r}; expected a datetime")
        if value.tzinfo is None or value.utcoffset() is None:
            raise RuleError(
                f"occurred_at compared with naive datetime {value.isoformat()}; "
                "pass a timezone-aware datetime"
            )
        return value
    if path in _ENUMS:
        enum = _ENUMS[path]
        try:
            return enum(value)
        except ValueError:
            names = ", ".join(member.value for member in enum)
            raise RuleError(f"{path} compared with {value!r}; expected one of {names}") from None
    if value is None:
        raise RuleError(f"{path} compared with None; use F.{path}.is_missing() instead")
    if not isinstance(value, str):
        raise RuleError(f"{path} compared with {value!r}; {path} is text, compare it with a str")
    return value


class In(_Leaf):
    """`field` is one of the given values."""

    __slots__ = ("values",)

    values: frozenset[Value]

    def __init__(self, path: str, values: Iterable[Value]) -> None:
        super().__init__(path)
        if isinstance(values, str):
            raise RuleError(f"{path}.in_() takes a collection of values, not the string {values!r}")
        checked = frozenset(_operand(path, value, ordered=False) for value in values)
        if not checked:
            raise RuleError(f"{path}.in_() needs at least one value")
        object.__setattr__(self, "values", checked)

    def __call__(self, signal: Signal) -> bool:
        return self._get(signal) in self.values

    def _key(self) -> tuple[Value, ...]:
        return (self.path, self.values)

    def _sorted(self) -> list[Value]:
        return sorted(self.values, key=str)

    def __repr__(self) -> str:
        return f"{self._ref()}.in_([{', '.join(_code(v) for v in self._sorted())}])"

    def describe(self) -> str:
        return f"{self._name()} in [{', '.join(_show(v) for v in self._sorted())}]"


_TEXT: Final = frozenset(
    {"source", "kind", "title", "service", "environment", "fingerprint", "url", "status"}
    | {"external_id", "severity"}
)


def _is_text(path: str) -> bool:
    return path.startswith("labels.") or path in _TEXT


class Matches(_Leaf):
    """`field` matches a regular expression (`re.search`: anchor with ^ and $)."""

    __slots__ = ("_regex", "pattern")

    pattern: str
    _regex: re.Pattern[str]

    def __init__(self, path: str, pattern: str) -> None:
        super().__init__(path)
        if not _is_text(path):
            raise RuleError(f"{path}.matches() needs a text field; {path} is not text")
        if isinstance(pattern, re.Pattern):
            pattern = pattern.pattern
        if not isinstance(pattern, str):
            raise RuleError(f"{path}.matches() takes a regular expression; got {pattern!r}")
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise RuleError(
                f"{path}.matches({pattern!r}): invalid regular expression: {exc}"
            ) from None
        object.__setattr__(self, "pattern", pattern)
        object.__setattr__(self, "_regex", regex)

    def __call__(self, signal: Signal) -> bool:
        actual = self._get(signal)
        return actual is not None and self._regex.search(actual) is not None

    def _key(self) -> tuple[Value, ...]:
        return (self.path, self.pattern)

    def __repr__(self) -> str:
        return f"{self._ref()}.matches({self.pattern!r})"

    def describe(self) -> str:
        return f"{self._name()} matches /{self.pattern}/"


class _TextTest(_Leaf):
    __slots__ = ("text",)

    text: str
    _method: ClassVar[str]

    def __init__(self, path: str, text: str) -> None:
        super().__init__(path)
        if not _is_text(path):
            raise RuleError(f"{path}.{self._method}() needs a text field; {path} is not text")
        if not isinstance(text, str):
            raise RuleError(f"{path}.{self._method}() takes a str; got {text!r}")
        object.__setattr__(self, "text", text)

    def _key(self) -> tuple[Value, ...]:
        return (self.path, self.text)

    def __repr__(self) -> str:
        return f"{self._ref()}.{self._method}({self.text!r})"

    def describe(self) -> str:
        return f"{self._name()} {self._method} {self.text!r}"


class Contains(_TextTest):
    """`field` contains a substring."""

    __slots__ = ()
    _method = "contains"

    def __call__(self, signal: Signal) -> bool:
        actual = self._get(signal)
        return actual is not None and self.text in actual


class StartsWith(_TextTest):
    """`field` starts with a prefix."""

    __slots__ = ()
    _method = "startswith"

    def __call__(self, signal: Signal) -> bool:
        actual = self._get(signal)
        return actual is not None and actual.startswith(self.text)


class IsMissing(_Leaf):
    """An optional field or a label has no value."""

    __slots__ = ()

    def __init__(self, path: str) -> None:
        super().__init__(path)
        if not path.startswith("labels.") and path not in _OPTIONAL:
            optional = ", ".join(sorted(_OPTIONAL))
            raise RuleError(
                f"{path} is always present, so {path}.is_missing() is never true; "
                f"optional fields: {optional} and labels['<key>']"
            )

    def __call__(self, signal: Signal) -> bool:
        return self._get(signal) is None

    def _key(self) -> tuple[Value, ...]:
        return (self.path,)

    def __repr__(self) -> str:
        return f"{self._ref()}.is_missing()"

    def describe(self) -> str:
        return f"{self._name()} is missing"


class Check(Predicate):
    """A plain callable `Signal -> bool` used as a predicate."""

    __slots__ = ("function",)

    function: Callable[[Signal], bool]

    def __init__(self, function: Callable[[Signal], bool]) -> None:
        object.__setattr__(self, "function", function)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Check is immutable")

    def __call__(self, signal: Signal) -> bool:
        return bool(self.function(signal))

    def explain(self, signal: Signal) -> str | None:
        return None if self(signal) else f"{self.describe()} returned False"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Check) and other.function == self.function

    def __hash__(self) -> int:
        return hash(self.function)

    def __repr__(self) -> str:
        name = getattr(self.function, "__qualname__", None) or repr(self.function)
        return f"{name}(signal)"

    def describe(self) -> str:
        return repr(self)


class _Combination(Predicate):
    __slots__ = ("children",)

    children: tuple[Predicate, ...]
    _symbol: ClassVar[str]

    def __init__(self, *children: PredicateLike) -> None:
        kind = type(self)
        if not children:
            raise RuleError(
                f"{kind.__name__}() needs at least one predicate; an empty combination "
                "would match everything or nothing"
            )
        flat: list[Predicate] = []
        for child in children:
            node = as_predicate(child, what=f"{kind.__name__}()")
            # (a & b) & c is All(a, b, c): flatter trees explain and evaluate faster.
            flat.extend(node.children if isinstance(node, kind) else (node,))
        object.__setattr__(self, "children", tuple(flat))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.children == other.children

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.children))

    def __iter__(self) -> Iterator[Predicate]:
        return iter(self.children)

    # Nested combinations are parenthesised even where Python would not need it.
    def __repr__(self) -> str:
        return f" {self._symbol} ".join(child._wrapped(2) for child in self)

    def describe(self) -> str:
        return f" {self._symbol} ".join(child._words_wrapped(2) for child in self)


class All(_Combination):
    """Every child matches (`a & b`). Children are tried in order and stop at the first miss."""

    __slots__ = ()
    _symbol = "&"
    _binding = 1

    def __call__(self, signal: Signal) -> bool:
        # A loop, not all() over a generator: this runs for every signal, and costs half.
        for child in self.children:  # noqa: SIM110
            if not child(signal):
                return False
        return True

    def explain(self, signal: Signal) -> str | None:
        for child in self.children:
            reason = child.explain(signal)
            if reason is not None:
                return reason
        return None


class Any(_Combination):
    """At least one child matches (`a | b`)."""

    __slots__ = ()
    _symbol = "|"
    _binding = 0

    def __call__(self, signal: Signal) -> bool:
        for child in self.children:  # noqa: SIM110 (as in All)
            if child(signal):
                return True
        return False

    def explain(self, signal: Signal) -> str | None:
        reasons = []
        for child in self.children:
            reason = child.explain(signal)
            if reason is None:
                return None
            reasons.append(reason)
        return "none matched: " + "; ".join(reasons)


class Not(Predicate):
    """The child does not match (`~p`). `~~p` is `p` again."""

    __slots__ = ("child",)

    _binding = 2
    child: Predicate

    def __new__(cls, child: PredicateLike) -> Value:
        node = as_predicate(child, what="Not()")
        if isinstance(node, Not):
            return node.child
        self = super().__new__(cls)
        object.__setattr__(self, "child", node)
        return self

    def __init__(self, child: PredicateLike) -> None:
        """Negate `child`; negating a negation gives back the original predicate."""

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Not is immutable")

    def __getnewargs__(self) -> tuple[Predicate]:
        return (self.child,)

    def __call__(self, signal: Signal) -> bool:
        return not self.child(signal)

    def explain(self, signal: Signal) -> str | None:
        if not self.child(signal):
            return None
        if isinstance(self.child, _Leaf):
            return f"not ({self.child.describe()}): got {_show(self.child._get(signal))}"
        return f"not ({self.child.describe()}): it matched"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Not) and other.child == self.child

    def __hash__(self) -> int:
        return hash(("Not", self.child))

    def __repr__(self) -> str:
        return f"~{self.child._wrapped(3)}"

    def describe(self) -> str:
        return f"not {self.child._words_wrapped(3)}"


# In Python source == binds more loosely than &, | and ~, so comparisons are always
# parenthesised inside a combination: (F.a == 'x') & (F.b == 'y').
Compare._binding = -1


# --- building predicates: F -----------------------------------------------------------


class FieldRef:
    """A signal field inside a rule: compare it to get a predicate.

    `F.severity >= "high"`, `F.service.in_(["api", "web"])`,
    `F.title.matches(r"timeout after \\d+ms")`, `F.environment.is_missing()`.
    """

    __slots__ = ("path",)

    path: str

    def __init__(self, path: str) -> None:
        field_getter(path)  # fails now on an unknown name
        object.__setattr__(self, "path", path)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("FieldRef is immutable")

    def __repr__(self) -> str:
        if self.path.startswith("labels."):
            return f"F.labels[{self.path.removeprefix('labels.')!r}]"
        return f"F.{self.path}"

    # Comparisons build predicates, so FieldRef is deliberately unhashable.
    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, value: object) -> Compare:  # type: ignore[override]
        return Compare(self.path, "==", value)

    def __ne__(self, value: object) -> Compare:  # type: ignore[override]
        return Compare(self.path, "!=", value)

    def __lt__(self, value: object) -> Compare:
        return Compare(self.path, "<", value)

    def __le__(self, value: object) -> Compare:
        return Compare(self.path, "<=", value)

    def __gt__(self, value: object) -> Compare:
        return Compare(self.path, ">", value)

    def __ge__(self, value: object) -> Compare:
        return Compare(self.path, ">=", value)

    def in_(self, values: Iterable[Value]) -> In:
        """The field's value is one of `values`."""
        return In(self.path, values)

    def matches(self, pattern: str) -> Matches:
        """The field matches the regular expression `pattern` anywhere (`re.search`)."""
        return Matches(self.path, pattern)

    def contains(self, text: str) -> Contains:
        """The field contains `text`."""
        return Contains(self.path, text)

    def startswith(self, prefix: str) -> StartsWith:
        """The field starts with `prefix`."""
        return StartsWith(self.path, prefix)

    def is_missing(self) -> IsMissing:
        """The optional field (or label) has no value."""
        return IsMissing(self.path)

    def __bool__(self) -> bool:
        raise TypeError(f"{self!r} is a field, not a condition; compare it, e.g. {self!r} == 'x'")


class _LabelsRef:
    """`F.labels`: subscript it with a label key."""

    __slots__ = ()

    def __getitem__(self, key: str) -> FieldRef:
        if not isinstance(key, str) or not key:
            raise RuleError(f"a label key is a non-empty str; got {key!r}")
        return FieldRef(f"labels.{key}")

    def __repr__(self) -> str:
        return "F.labels"


class _Fields:
    """The `F` namespace: `F.<field>` for each signal field and `F.labels["key"]`."""

    __slots__ = ()

    labels: Final = _LabelsRef()

    def __getattr__(self, name: str) -> FieldRef:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in _FIELDS:
            raise _unknown_field(name)
        return FieldRef(name)

    def __dir__(self) -> list[str]:
        return list(_FIELDS)

    def __repr__(self) -> str:
        return "F"


F: Final = _Fields()
"""Signal fields for rules: `F.source == "sentry"`, `F.labels["team"].is_missing()`."""
