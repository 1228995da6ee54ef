"""Payload's and the signature check's fast paths answer exactly as the plain rules do.

`Reference` below is Payload's reading code as it was before the fast paths: it walks
every path step by step and applies the type rules in full. Hypothesis compares the two
on arbitrary JSON, paths and kinds: same value, or the same PayloadError, field and all.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedbackloop.connectors._webhooks import (
    Payload,
    _signed_hex,
    _signer,
    check_signature,
    matches_any,
)
from feedbackloop.connectors.pagerduty import PagerDutySource
from feedbackloop.errors import PayloadError, SignatureError

_KIND_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    dict: "an object",
    list: "a list",
}
_EPOCH = re.compile(r"-?\d{1,16}(\.\d+)?")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return _KIND_NAMES.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class Reference:
    """Payload's accessors before the fast paths, kept verbatim as the specification."""

    value: Any
    source: str
    path: str = ""

    def _where(self, path: str) -> str:
        return ".".join(part for part in (self.path, path) if part) or "(body)"

    def error(self, path: str, problem: str) -> PayloadError:
        where = self._where(path)
        return PayloadError(f"{self.source}: {where}: {problem}", source=self.source, field=where)

    def _lookup(self, path: str) -> Any:
        value = self.value
        walked: list[str] = []
        for part in path.split(".") if path else ():
            if value is None:
                return None
            if not isinstance(value, dict):
                where = ".".join(walked)
                raise self.error(where, f"expected an object, got {_describe(value)}")
            value = value.get(part)
            walked.append(part)
        return value

    def optional(self, path: str, kind: type) -> Any:
        value = self._lookup(path)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        wrong_bool = isinstance(value, bool) and kind is not bool
        number = kind is float and isinstance(value, int) and not isinstance(value, bool)
        if number:
            return float(value)
        if wrong_bool or not isinstance(value, kind):
            expected = _KIND_NAMES.get(kind, kind.__name__)
            raise self.error(path, f"expected {expected}, got {_describe(value)}")
        return value

    def require(self, path: str, kind: type) -> Any:
        value = self.optional(path, kind)
        if value is None:
            raise self.error(path, "is missing")
        return value

    def optional_ident(self, path: str) -> str | None:
        value = self._lookup(path)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        result: str | None = self.optional(path, str)
        return result

    def ident(self, path: str) -> str:
        value = self.optional_ident(path)
        if value is None:
            raise self.error(path, "is missing")
        return value

    def optional_time(self, path: str) -> datetime | None:
        value = self._lookup(path)
        if isinstance(value, str) and _EPOCH.fullmatch(value.strip()):
            value = float(value.strip())
        if isinstance(value, int | float) and not isinstance(value, bool):
            return self._epoch(path, value)
        text = self.optional(path, str)
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text.strip().removesuffix(" UTC"))
        except ValueError:
            raise self.error(path, f"not an ISO 8601 time: {text[:60]!r}") from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def _epoch(self, path: str, value: float) -> datetime:
        seconds = value / 1000 if abs(value) > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise self.error(path, f"not a valid epoch time: {value!r}") from None

    def time(self, path: str) -> datetime:
        value = self.optional_time(path)
        if value is None:
            raise self.error(path, "is missing")
        return value

    def at(self, path: str) -> Reference:
        value = self.optional(path, dict)
        return Reference({} if value is None else value, self.source, self._where(path))

    def each(self, path: str) -> list[Reference]:
        items = self.optional(path, list) or []
        views = []
        for index, item in enumerate(items):
            where = f"{path}[{index}]"
            if not isinstance(item, dict):
                raise self.error(where, f"expected an object, got {_describe(item)}")
            views.append(Reference(item, self.source, self._where(where)))
        return views


# --- what to read ------------------------------------------------------------------------

KEYS = ("a", "b", "id", "t")
TEXTS = st.sampled_from(
    [
        "",
        "  ",
        "x",
        " x ",
        "42",
        " 42 ",
        "-17",
        "1700000000",
        "1700000000000",
        "1700000000.5",
        "-1.25",
        "9" * 16,
        "9" * 17,
        "\u0661\u0667" + "\u0660" * 8,  # Arabic-Indic digits: \d and float() take them
        "\u00b2",  # superscript two: a digit, not a decimal; neither \d nor float() takes it
        "2023-11-14T22:13:20Z",
        "2023-11-14T22:13:20+02:00",
        " 2023-11-14 22:13:20 UTC ",
        "2023-11-14T22:13:20",
        "20231114",
        "2023-11-14",
        "yesterday",
        "1.2.3",
    ]
) | st.text(alphabet="0123456789-.:TZ +U", max_size=24)
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXTS
)
JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=12,
)
PATHS = st.lists(st.sampled_from(KEYS), max_size=3).map(".".join)
KINDS = st.sampled_from([str, int, float, bool, dict, list])
VIEW_PATHS = st.sampled_from(["", "data", "data.issue"])


def outcome(read: Callable[[], Any]) -> tuple[Any, ...]:
    """What a read gives: its value (a view as its fields), or its PayloadError."""
    try:
        value = read()
    except PayloadError as error:
        return ("error", str(error), error.source, error.field)
    if isinstance(value, Payload | Reference):
        return ("view", value.value, value.source, value.path)
    if isinstance(value, list) and value and isinstance(value[0], Payload | Reference):
        return ("views", [(item.value, item.source, item.path) for item in value])
    if isinstance(value, datetime):
        return ("time", value, value.utcoffset())
    if isinstance(value, float) and value != value:
        return ("nan",)
    return ("value", type(value), value)


def both(value: Any, view_path: str) -> tuple[Payload, Reference]:
    return Payload(value, "acme", view_path), Reference(value, "acme", view_path)


@settings(max_examples=400, deadline=None)
@given(value=JSON, path=PATHS, kind=KINDS, view_path=VIEW_PATHS)
def test_optional_and_require_read_as_the_plain_rules(
    value: Any, path: str, kind: type, view_path: str
) -> None:
    """Same value or same error for every path and kind, whatever the JSON."""
    fast, plain = both(value, view_path)
    assert outcome(lambda: fast.optional(path, kind)) == outcome(lambda: plain.optional(path, kind))
    assert outcome(lambda: fast.require(path, kind)) == outcome(lambda: plain.require(path, kind))


@settings(max_examples=400, deadline=None)
@given(value=JSON, path=PATHS, view_path=VIEW_PATHS)
def test_identifiers_times_and_views_read_as_the_plain_rules(
    value: Any, path: str, view_path: str
) -> None:
    """ident, time, at and each: same result or same error as the plain rules."""
    fast, plain = both(value, view_path)
    for name in ("optional_ident", "ident", "optional_time", "time", "at", "each"):
        assert outcome(partial(getattr(fast, name), path)) == outcome(
            partial(getattr(plain, name), path)
        ), name


@settings(max_examples=300, deadline=None)
@given(text=TEXTS | st.text(max_size=12), padding=st.sampled_from(["", " ", "\t\n"]))
def test_times_in_text_read_as_the_plain_rules(text: str, padding: str) -> None:
    """Epoch digits (any script), ISO text, padding, suffixes: same time or same error."""
    document = {"t": f"{padding}{text}{padding}"}
    fast, plain = both(document, "")
    assert outcome(lambda: fast.optional_time("t")) == outcome(lambda: plain.optional_time("t"))


def test_a_walk_through_a_non_object_names_the_same_field() -> None:
    """The error path, rebuilt only when needed, is the one the step-by-step walk names."""
    fast, plain = both({"a": {"b": [1]}}, "data")
    assert outcome(lambda: fast.optional("a.b.id", str)) == outcome(
        lambda: plain.optional("a.b.id", str)
    )
    with pytest.raises(PayloadError) as info:
        fast.optional("a.b.id", str)
    assert info.value.field == "data.a.b"


def test_a_view_is_still_frozen_and_compares_by_value() -> None:
    """Setting the slots directly in __init__ keeps the dataclass's guarantees."""
    view = Payload({"a": 1}, "acme", "data")
    assert view == Payload({"a": 1}, "acme", "data")
    assert hash(Payload(1, "acme")) == hash(Payload(1, "acme", ""))
    assert repr(view) == "Payload(value={'a': 1}, source='acme', path='data')"
    with pytest.raises(AttributeError):
        view.path = "other"  # type: ignore[misc]


# --- signatures --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(secret=st.text(min_size=1, max_size=100), body=st.binary(max_size=300))
def test_a_reused_signer_gives_the_hmac_of_every_body(secret: str, body: bytes) -> None:
    """The keyed signer, copied per body, is HMAC-SHA256 of that body, however often used."""
    signer = _signer(secret)
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert _signed_hex(signer, body) == expected
    assert _signed_hex(signer, body + b"x") != expected
    assert _signed_hex(signer, body) == expected


def test_matches_any_and_check_signature_still_take_plain_secrets() -> None:
    """The public helpers keep their signatures: secrets as text."""
    body = b'{"a": 1}'
    digest = hmac.new(b"two", body, hashlib.sha256).hexdigest()
    assert matches_any([f" {digest.upper()} "], ["one", "two"], body)
    assert not matches_any([digest], ["one"], body)
    check_signature({"X-Sig": digest}, body, ["one", "two"], source="acme", header_name="X-Sig")
    with pytest.raises(SignatureError, match="does not match"):
        check_signature({"X-Sig": digest}, body, ["one"], source="acme", header_name="X-Sig")


def test_a_source_verifies_many_deliveries_with_one_set_of_signers() -> None:
    """The source keys its secrets once; each delivery is still checked on its own."""
    source = PagerDutySource(webhook_secrets=["old", "new"])
    for n in range(5):
        body = f'{{"n": {n}}}'.encode()
        good = hmac.new(b"new" if n % 2 else b"old", body, hashlib.sha256).hexdigest()
        source.verify({"X-PagerDuty-Signature": f"v1={good}"}, body)
        with pytest.raises(SignatureError, match="does not match"):
            source.verify({"X-PagerDuty-Signature": f"v1={good}"}, body + b" ")
