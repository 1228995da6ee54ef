"""The core model: what flows through the loop.

Every model is an immutable pydantic v2 model. Datetimes must be timezone-aware and are
normalised to UTC; vendor payloads are kept in `raw` but left out of equality and of
default dumps; everything round-trips through JSON losslessly. A connector may hand
`raw` a `DeferredRaw` (its webhook bodies do, through `Payload.raw`): the payload is
then decoded on first read, so events waiting in a batch do not keep every decoded
body alive.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, ClassVar, Self

import pydantic
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from feedbackloop.errors import ValidationError
from feedbackloop.fingerprint import derive_fingerprint

__all__ = [
    "ActionItem",
    "ActionItemStatus",
    "DeferredRaw",
    "Incident",
    "IncidentStatus",
    "Learning",
    "Severity",
    "Signal",
    "SignalKind",
    "SignalStatus",
    "TicketChange",
    "TicketChangeKind",
    "TicketRef",
    "TicketStatus",
    "TimelineEntry",
]


# --- severities ----------------------------------------------------------------------


class Severity(enum.StrEnum):
    """How bad a problem is: `critical > high > medium > low > info`.

    Severities compare with each other and with their names, so rules read naturally:
    `Severity.HIGH > Severity.LOW` and `Severity.HIGH >= "medium"` are both true.
    Comparing with a string that names no severity raises `ValueError`.
    """

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """The position on the scale: 0 for info up to 4 for critical."""
        return _SEVERITY_RANK[self]

    @classmethod
    def coerce(cls, value: Severity | str) -> Severity:
        """Return the severity named by `value` (case-insensitive), or raise ValueError."""
        if isinstance(value, Severity):
            return value
        try:
            return cls(value.strip().lower())
        except (ValueError, AttributeError):
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {value!r}; expected one of {names}") from None

    # str defines its own (alphabetical) ordering, so every comparison is overridden.
    def __lt__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return self.rank < Severity.coerce(other).rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return self.rank <= Severity.coerce(other).rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return self.rank > Severity.coerce(other).rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        return self.rank >= Severity.coerce(other).rank

    def __eq__(self, other: object) -> bool:
        return str.__eq__(self, other)

    __hash__ = str.__hash__


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class SignalKind(enum.StrEnum):
    """What a signal is about."""

    ERROR = "error"
    ALERT = "alert"
    INCIDENT = "incident"
    DEPLOY = "deploy"
    SUPPORT = "support"
    FEEDBACK = "feedback"
    ACTION_ITEM = "action_item"


class SignalStatus(enum.StrEnum):
    """Whether the problem a signal reports is happening or over."""

    FIRING = "firing"
    RESOLVED = "resolved"


class IncidentStatus(enum.StrEnum):
    """Where an incident stands."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class TicketStatus(enum.StrEnum):
    """Whether a ticket is open or closed in its tracker."""

    OPEN = "open"
    CLOSED = "closed"


class TicketChangeKind(enum.StrEnum):
    """How a ticket moved."""

    OPENED = "opened"
    CLOSED = "closed"
    REOPENED = "reopened"
    COMMENTED = "commented"


class ActionItemStatus(enum.StrEnum):
    """Where a postmortem action item stands."""

    OPEN = "open"
    CLOSED = "closed"


# --- field types -----------------------------------------------------------------------


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:
        return value  # what astimezone(UTC) would return
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(
            f"naive datetime {value.isoformat()} has no time zone; "
            "pass a timezone-aware datetime, e.g. datetime.now(timezone.utc)"
        )
    return value.astimezone(UTC)


def _severity_named(value: Any) -> Any:
    """A severity's name (any case) as the Severity; anything else is pydantic's to judge."""
    if type(value) is Severity or not isinstance(value, str):
        return value  # the common case first: already a Severity
    return Severity.coerce(value)


UtcDatetime = Annotated[datetime, AfterValidator(_aware_utc)]
"""A timezone-aware datetime, normalised to UTC; naive datetimes are rejected."""

NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""A string that is not empty once surrounding whitespace is stripped."""

Labels = dict[pydantic.StrictStr, pydantic.StrictStr]


# --- the shared base -------------------------------------------------------------------


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return frozenset((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


class _Model(BaseModel):
    """Frozen, strict about unknown fields, and raising feedbackloop's ValidationError."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    # Fields that carry vendor payloads: kept, but not part of what the model *is*.
    _ignored_in_equality: ClassVar[frozenset[str]] = frozenset({"raw"})

    def __init__(self, /, **data: Any) -> None:
        # What BaseModel.__init__ does, without passing every field on once more as keywords.
        try:
            self.__pydantic_validator__.validate_python(data, self_instance=self)
        except pydantic.ValidationError as exc:
            raise _translate(exc) from exc

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """Validate a Python object into this model; raises feedbackloop's ValidationError."""
        try:
            return super().model_validate(obj, *args, **kwargs)
        except pydantic.ValidationError as exc:
            raise _translate(exc) from exc

    @classmethod
    def model_validate_json(
        cls, json_data: str | bytes | bytearray, *args: Any, **kwargs: Any
    ) -> Self:
        """Validate JSON into this model; raises feedbackloop's ValidationError."""
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except pydantic.ValidationError as exc:
            raise _translate(exc) from exc

    def _compared(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in self._ignored_in_equality}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Model)
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash((type(self).__qualname__, _freeze(self._compared())))


class DeferredRaw:
    """A vendor payload to be made on first read of a model's `raw`.

    `Signal(raw=DeferredRaw(lambda: json.loads(body)), ...)`: `signal.raw` calls the
    function once, on first read, and keeps what it returned (so changes to it stick).
    Until then the model holds only the function and what it closes over: for a
    webhook body, its bytes instead of the decoded tree of dicts and lists, which is
    smaller and which the garbage collector need not walk.
    """

    __slots__ = ("_make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make

    def __call__(self) -> Any:
        """Make the payload."""
        return self._make()

    def __repr__(self) -> str:
        return "DeferredRaw(...)"


class _Raw:
    """`model.raw`: the stored payload, made from a `DeferredRaw` on first read.

    A data descriptor on the class, so it is consulted before the instance's
    `__dict__`, where pydantic keeps the field's value.
    """

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            raise AttributeError("raw")
        state = instance.__dict__
        value = state.get("raw")
        if type(value) is DeferredRaw:
            value = state["raw"] = value()
        return value

    def __set__(self, instance: object, value: Any) -> None:
        # Only reached past pydantic's own frozen check, which refuses first.
        raise AttributeError("raw is read-only")


def _translate(exc: pydantic.ValidationError) -> ValidationError:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or "(model)"
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    title = exc.title
    count = len(problems)
    summary = f"{title}: {count} invalid field{'s' if count != 1 else ''}: " + "; ".join(problems)
    details = exc.errors(include_url=False, include_input=False, include_context=False)
    return ValidationError(summary, errors=[dict(d) for d in details])


# --- the models --------------------------------------------------------------------------


class Signal(_Model):
    """One operational signal: an error, an alert, an incident page, a support ticket…

    `fingerprint` groups signals about the same problem; when omitted it is derived
    from source, service, kind and the title with its volatile parts masked (see
    `feedbackloop.fingerprint`). `raw` keeps the vendor payload; it is ignored by
    equality and left out of `model_dump()`. A `DeferredRaw` given as `raw` is made
    on first read.
    """

    source: NonEmptyStr = Field(description="The connector that produced it: sentry, datadog…")
    kind: SignalKind = Field(default=SignalKind.ERROR, description="What the signal is about.")
    title: NonEmptyStr = Field(description="A one-line summary.")
    service: NonEmptyStr | None = Field(default=None, description="The affected service.")
    environment: NonEmptyStr | None = Field(default=None, description="production, staging…")
    severity: Severity = Field(default=Severity.MEDIUM, description="How bad it is.")
    fingerprint: NonEmptyStr = Field(
        default=None,  # type: ignore[assignment]  # replaced by _derive_fingerprint
        description="Groups signals about the same problem; derived when omitted.",
    )
    occurred_at: UtcDatetime = Field(description="When it happened (timezone-aware, UTC).")
    labels: Labels = Field(default_factory=dict, description="Free-form string labels.")
    url: str | None = Field(default=None, description="A link back to the vendor.")
    status: SignalStatus = Field(default=SignalStatus.FIRING, description="firing or resolved.")
    external_id: str | None = Field(default=None, description="The vendor's id for it.")
    raw: Any = Field(default=None, exclude=True, repr=False, description="The vendor payload.")

    @pydantic.field_validator("severity", mode="before")
    @classmethod
    def _coerce_severity(cls, value: Any) -> Any:
        return _severity_named(value)

    @pydantic.field_validator("fingerprint", mode="before")
    @classmethod
    def _derive_fingerprint(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        if value is not None:
            return value
        # Fields validate in order: source, kind, title and service are already clean.
        known = info.data
        if not {"source", "kind", "title"} <= known.keys():
            return "-"  # another field is invalid and its error is being reported
        return derive_fingerprint(
            known["source"], known.get("service"), known["kind"], known["title"]
        )


class TimelineEntry(_Model):
    """One thing that happened to an incident."""

    at: UtcDatetime
    kind: NonEmptyStr = Field(description="triggered, acknowledged, escalated, annotated…")
    message: str = ""
    actor: str | None = None


class Incident(_Model):
    """An incident: paged, acknowledged, resolved. The source of MTTA and MTTR."""

    id: NonEmptyStr
    title: NonEmptyStr
    severity: Severity = Severity.HIGH
    status: IncidentStatus = IncidentStatus.TRIGGERED
    service: NonEmptyStr | None = None
    source: NonEmptyStr | None = Field(default=None, description="pagerduty, datadog…")
    url: str | None = None
    created_at: UtcDatetime
    acknowledged_at: UtcDatetime | None = None
    resolved_at: UtcDatetime | None = None
    timeline: tuple[TimelineEntry, ...] = ()
    labels: Labels = Field(default_factory=dict)
    raw: Any = Field(default=None, exclude=True, repr=False)

    @pydantic.field_validator("severity", mode="before")
    @classmethod
    def _coerce_severity(cls, value: Any) -> Any:
        return _severity_named(value)

    @pydantic.model_validator(mode="after")
    def _check_timeline(self) -> Self:
        if self.acknowledged_at is not None and self.acknowledged_at < self.created_at:
            raise ValueError("acknowledged_at is before created_at")
        if self.resolved_at is not None:
            if self.resolved_at < self.created_at:
                raise ValueError("resolved_at is before created_at")
            if self.acknowledged_at is not None and self.resolved_at < self.acknowledged_at:
                raise ValueError("resolved_at is before acknowledged_at")
        return self

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        """How long until someone acknowledged it; None while unacknowledged."""
        if self.acknowledged_at is None:
            return None
        return self.acknowledged_at - self.created_at

    @property
    def time_to_resolve(self) -> timedelta | None:
        """How long until it was resolved; None while unresolved."""
        if self.resolved_at is None:
            return None
        return self.resolved_at - self.created_at


class TicketRef(_Model):
    """A ticket in a tracker: `OPS-123` in Jira, `acme/api#42` on GitHub."""

    tracker: NonEmptyStr = Field(description="The tracker's name in the loop: jira, github…")
    key: NonEmptyStr = Field(description="The tracker's key for the ticket.")
    url: str | None = None
    status: TicketStatus = TicketStatus.OPEN


class TicketChange(_Model):
    """A ticket moved: opened, closed, reopened or commented, as its tracker reported."""

    tracker: NonEmptyStr
    key: NonEmptyStr
    change: TicketChangeKind
    occurred_at: UtcDatetime
    url: str | None = None
    resolution: str | None = Field(
        default=None, description="Why it closed: completed, not_planned, Won't Do, Duplicate…"
    )
    actor: str | None = None
    comment: str | None = None
    raw: Any = Field(default=None, exclude=True, repr=False)


class ActionItem(_Model):
    """A follow-up from a postmortem, tracked through its ticket until it is done."""

    title: NonEmptyStr
    description: str = ""
    owner: str | None = None
    due: date | None = None
    priority: Severity = Severity.MEDIUM
    origin: tuple[str, ...] = Field(
        default=(), description="References of the incidents or signals it came from."
    )
    ticket: TicketRef | None = None
    status: ActionItemStatus = ActionItemStatus.OPEN

    @pydantic.field_validator("priority", mode="before")
    @classmethod
    def _coerce_priority(cls, value: Any) -> Any:
        return _severity_named(value)


class Learning(_Model):
    """What the team learned from one or more incidents, and what it will do about it."""

    incident_ids: tuple[NonEmptyStr, ...] = ()
    summary: NonEmptyStr
    contributing_factors: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    action_items: tuple[ActionItem, ...] = ()
    recorded_at: UtcDatetime | None = None


for _model in (Signal, Incident, TicketChange):
    _model.raw = _Raw()
