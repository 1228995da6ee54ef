"""The history the figures are computed from: plain records, free of any database.

The reader (`_read.py`) builds a `History` from the store; tests and property tests
build one by hand. Every figure is a pure function of a `History`, a `Period` and a
`Scope`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from feedbackloop.errors import ValidationError

__all__ = [
    "ActionItemRecord",
    "Closure",
    "History",
    "IncidentRecord",
    "Period",
    "Reopening",
    "Scope",
    "SignalRecord",
    "TicketRecord",
    "utc_date",
]


def utc_date(moment: datetime) -> date:
    """The UTC date of an aware `moment`: what "overdue" compares due dates with, in
    whatever zone a period was given."""
    return moment.astimezone(UTC).date()


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open time range `[since, until)`.

    Raises:
        ValidationError: a bound is naive, or `until` is not after `since`.
    """

    since: datetime
    until: datetime

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValidationError(f"period {name} {value.isoformat()} has no time zone")
        if self.until <= self.since:
            raise ValidationError(
                f"period until ({self.until.isoformat()}) must be after since "
                f"({self.since.isoformat()})"
            )

    @property
    def length(self) -> timedelta:
        """How long the period is."""
        return self.until - self.since

    def contains(self, at: datetime | None) -> bool:
        """True when `at` falls in the period."""
        return at is not None and self.since <= at < self.until

    def previous(self) -> Period:
        """The period of equal length just before this one."""
        return Period(self.since - self.length, self.since)

    def buckets(self) -> list[Period]:
        """The period split for trend charts: days up to 62 days, weeks up to a year."""
        if self.length <= timedelta(days=62):
            step = timedelta(days=1)
        elif self.length <= timedelta(days=366):
            step = timedelta(weeks=1)
        else:
            step = timedelta(days=30)
        found = []
        start = self.since
        while start < self.until:
            found.append(Period(start, min(start + step, self.until)))
            start += step
        return found


@dataclass(frozen=True, slots=True)
class Scope:
    """Which part of the history a report covers: a service, a team, a source, or all."""

    service: str | None = None
    team: str | None = None
    source: str | None = None

    def admits(self, service: str | None, team: str | None, source: str | None) -> bool:
        """True when a record with these attributes belongs to the scope."""
        return (
            (self.service is None or service == self.service)
            and (self.team is None or team == self.team)
            and (self.source is None or source == self.source)
        )

    def describe(self) -> str:
        """`service checkout, team payments`, or `everything`."""
        parts = [
            f"{name} {value}"
            for name, value in (
                ("service", self.service),
                ("team", self.team),
                ("source", self.source),
            )
            if value is not None
        ]
        return ", ".join(parts) or "everything"


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """An incident: when it started, was acknowledged and was resolved."""

    id: str
    created_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    service: str | None = None
    team: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class SignalRecord:
    """A recorded signal and what came of it.

    `link_id` is the ticket it counted towards (an `OpenTicket` or a `Comment`);
    `escalated` is true when the rules paged someone for it.
    """

    occurred_at: datetime
    fingerprint: str
    theme: str
    kind: str = "error"
    status: str = "firing"
    source: str = "unknown"
    service: str | None = None
    team: str | None = None
    link_id: int | None = None
    escalated: bool = False


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """A ticket the loop opened for a group of signals.

    `opened_at` is when its first signal occurred (event time, like everything else);
    `first_signal_at` is the earliest signal of the problem before the ticket existed
    (below a threshold, say); `closed_at` and `resolution` are its current closure, set
    while the ticket is closed. Every closure, the earlier ones of a reopened ticket
    included, is a `Closure` in the history; a history without any for a ticket
    counts its current closure only.
    """

    id: int
    fingerprint: str
    theme: str
    opened_at: datetime
    closed_at: datetime | None = None
    resolution: str | None = None
    created: bool = True
    key: str | None = None
    first_signal_at: datetime | None = None
    service: str | None = None
    team: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Closure:
    """One closure of a ticket, kept when the ticket reopens: when, and as what."""

    ticket_id: int
    closed_at: datetime
    resolution: str | None = None


@dataclass(frozen=True, slots=True)
class Reopening:
    """A closed ticket reopened because its problem came back at `at`.

    For histories that know of a reopening but not of the closure before it: the
    store records every closure (`Closure`), so the reader leaves this empty.
    """

    ticket_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class ActionItemRecord:
    """A postmortem action item as tracked: created, last updated, closed."""

    id: int
    title: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    due: date | None = None
    owner: str | None = None
    ticket: str | None = None
    service: str | None = None
    team: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class History:
    """Everything the figures read."""

    incidents: tuple[IncidentRecord, ...] = ()
    signals: tuple[SignalRecord, ...] = ()
    tickets: tuple[TicketRecord, ...] = ()
    reopenings: tuple[Reopening, ...] = ()
    action_items: tuple[ActionItemRecord, ...] = ()
    closures: tuple[Closure, ...] = ()
