"""The figures: pure functions of a `History`, a `Period` and a `Scope`.

Nothing here reads a database or a clock, so every figure can be checked by hand and
property-tested. Each figure is defined in its function's docstring and in
`docs/guides/insights.md`; records are selected by *event time* (when an incident was
created, when a signal occurred), never by when the loop happened to record them.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from feedbackloop._lifecycle import WONT_FIX_RESOLUTIONS
from feedbackloop.insights._records import (
    ActionItemRecord,
    Closure,
    History,
    IncidentRecord,
    Period,
    Scope,
    SignalRecord,
    TicketRecord,
    utc_date,
)

__all__ = [
    "PROBLEM_KINDS",
    "WONT_FIX",
    "ActionItemFigures",
    "Distribution",
    "Figures",
    "IncidentFigures",
    "Noise",
    "Options",
    "Recurrence",
    "Theme",
    "TicketFigures",
    "TrendPoint",
    "action_item_figures",
    "compute_figures",
    "distribution",
    "incident_figures",
    "noise",
    "percentile",
    "recurrence",
    "service_mttr",
    "themes",
    "ticket_figures",
    "trend",
]

PROBLEM_KINDS = frozenset({"error", "alert", "incident", "support", "feedback"})
"""Signal kinds that report a problem (deploys and action items do not)."""

WONT_FIX = WONT_FIX_RESOLUTIONS
"""Resolutions that mean "we chose not to fix it": such a closure is no fix that failed."""


@dataclass(frozen=True, slots=True)
class Options:
    """The knobs of the definitions.

    Attributes:
        self_resolve_within: An alert whose problem reports itself resolved within this
            time is noise (it resolved by itself).
        incident_window: An alert belongs to an incident of its service that was open
            when it fired or opened within this time after it.
        stale_after: An open action item with no update for this long is stale.
        top_themes: How many themes the report lists.
    """

    self_resolve_within: timedelta = timedelta(minutes=5)
    incident_window: timedelta = timedelta(minutes=15)
    stale_after: timedelta = timedelta(days=14)
    top_themes: int = 5


# --- statistics --------------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float | None:
    """The `q`-quantile (0 ≤ q ≤ 1) by linear interpolation between closest ranks.

    The same definition as `statistics.quantiles(method="inclusive")` and numpy's
    default: for sorted values x[0]..x[n-1] the quantile sits at position q*(n-1). The
    median is `percentile(values, 0.5)`. None for no values.
    """
    ordered = sorted(values)
    if not ordered:
        return None
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class Distribution:
    """Median and 90th percentile of durations, in seconds; None without data."""

    median: float | None
    p90: float | None
    count: int


def distribution(durations: Iterable[timedelta]) -> Distribution:
    """The median and p90 (see `percentile`) of durations, in seconds."""
    seconds = [d.total_seconds() for d in durations]
    return Distribution(percentile(seconds, 0.5), percentile(seconds, 0.9), len(seconds))


# --- incidents -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IncidentFigures:
    """Incidents created in the period, MTTA and MTTR."""

    count: int
    mtta: Distribution
    mttr: Distribution
    unacknowledged: int
    unresolved: int


def _incidents_in(history: History, period: Period, scope: Scope) -> list[IncidentRecord]:
    return [
        i
        for i in history.incidents
        if period.contains(i.created_at) and scope.admits(i.service, i.team, i.source)
    ]


def incident_figures(history: History, period: Period, scope: Scope) -> IncidentFigures:
    """Incidents *created* in the period, with what is known of them now.

    MTTA is over the acknowledged ones (acknowledged - created); MTTR over the
    resolved ones (resolved - created). Incidents never acknowledged are left out of
    MTTA and counted in `unacknowledged` (a resolved incident nobody acknowledged
    included); unresolved ones are left out of MTTR and counted in `unresolved`.
    """
    chosen = _incidents_in(history, period, scope)
    acknowledged = [i.acknowledged_at - i.created_at for i in chosen if i.acknowledged_at]
    resolved = [i.resolved_at - i.created_at for i in chosen if i.resolved_at]
    return IncidentFigures(
        count=len(chosen),
        mtta=distribution(acknowledged),
        mttr=distribution(resolved),
        unacknowledged=len(chosen) - len(acknowledged),
        unresolved=len(chosen) - len(resolved),
    )


def service_mttr(history: History, period: Period, scope: Scope) -> dict[str, Distribution]:
    """MTTR per service (incidents without a service are left out)."""
    by_service: dict[str, list[timedelta]] = {}
    for incident in _incidents_in(history, period, scope):
        if incident.service is not None and incident.resolved_at is not None:
            by_service.setdefault(incident.service, []).append(
                incident.resolved_at - incident.created_at
            )
    return {service: distribution(values) for service, values in sorted(by_service.items())}


# --- recurrence ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recurrence:
    """Ticketed problems seen in the period, and those that came back after a fix."""

    problems: int
    recurring: int
    rate: float | None
    fingerprints: tuple[str, ...] = ()


def _problem_signals(history: History, period: Period, scope: Scope) -> list[SignalRecord]:
    return [
        s
        for s in history.signals
        if s.kind in PROBLEM_KINDS
        and s.status == "firing"
        and period.contains(s.occurred_at)
        and scope.admits(s.service, s.team, s.source)
    ]


def _closures(history: History) -> dict[int, list[Closure]]:
    """Each ticket's closures, oldest first.

    The recorded closures (`History.closures`) of a ticket; for a ticket with none
    recorded, its current closure (`closed_at`, `resolution`) if it is closed.
    """
    found: dict[int, list[Closure]] = {}
    for closure in history.closures:
        found.setdefault(closure.ticket_id, []).append(closure)
    for ticket in history.tickets:
        if ticket.id not in found and ticket.closed_at is not None:
            found[ticket.id] = [Closure(ticket.id, ticket.closed_at, ticket.resolution)]
    for closures in found.values():
        closures.sort(key=lambda c: (c.closed_at, c.resolution or ""))
    return found


def _first_fixes(history: History) -> tuple[dict[str, datetime], dict[str, datetime]]:
    """The earliest fix (a closure not as won't-fix) per fingerprint and per theme."""
    by_id = {t.id: t for t in history.tickets}
    fixes: list[tuple[TicketRecord, datetime]] = [
        (by_id[ticket_id], c.closed_at)
        for ticket_id, closures in _closures(history).items()
        if ticket_id in by_id
        for c in closures
        if (c.resolution or "").strip().lower() not in WONT_FIX
    ]
    # A reopening proves a closure happened before the signal that reopened it.
    fixes += [(by_id[r.ticket_id], r.at) for r in history.reopenings if r.ticket_id in by_id]
    by_fingerprint: dict[str, datetime] = {}
    by_theme: dict[str, datetime] = {}
    for ticket, at in fixes:
        by_fingerprint[ticket.fingerprint] = min(at, by_fingerprint.get(ticket.fingerprint, at))
        by_theme[ticket.theme] = min(at, by_theme.get(ticket.theme, at))
    return by_fingerprint, by_theme


def recurrence(history: History, period: Period, scope: Scope) -> Recurrence:
    """How many ticketed problems of the period came back after their ticket was closed.

    A *problem* is a fingerprint with at least one firing signal of a problem kind
    (error, alert, incident, support, feedback) in the period. It is *ticketed* when
    one of those signals counted towards a ticket, or a ticket of the loop shares its
    fingerprint or its theme (its masked title). It *recurred* when one of its signals
    in the period occurred at or after any closure (see `Closure`: a reopened ticket's
    earlier closures too) of a ticket sharing its fingerprint or theme; closures as
    won't-fix or duplicate do not count, and a `Reopening` counts as a closure just
    before the signal that reopened the ticket. A problem whose
    fingerprint and theme were never closed is never counted. The rate is recurring
    over ticketed problems, None without ticketed problems.
    """
    signals = _problem_signals(history, period, scope)
    ticket_fingerprints = {t.fingerprint for t in history.tickets}
    ticket_themes = {t.theme for t in history.tickets}
    ticketed = {
        s.fingerprint
        for s in signals
        if s.link_id is not None or s.fingerprint in ticket_fingerprints or s.theme in ticket_themes
    }
    fixed_fingerprint, fixed_theme = _first_fixes(history)
    recurring = {
        s.fingerprint
        for s in signals
        if (
            s.fingerprint in fixed_fingerprint and fixed_fingerprint[s.fingerprint] <= s.occurred_at
        )
        or (s.theme in fixed_theme and fixed_theme[s.theme] <= s.occurred_at)
    }
    return Recurrence(
        problems=len(ticketed),
        recurring=len(recurring),
        rate=len(recurring) / len(ticketed) if ticketed else None,
        fingerprints=tuple(sorted(recurring)),
    )


# --- noise -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Noise:
    """Firing alerts of the period and how many of them were noise."""

    alerts: int
    noisy: int
    no_action: int
    self_resolved: int
    ratio: float | None


def _during_incident(
    alert: SignalRecord, incidents: Sequence[IncidentRecord], window: timedelta
) -> bool:
    return alert.service is not None and any(
        i.service == alert.service
        and i.created_at <= alert.occurred_at + window
        and (i.resolved_at is None or i.resolved_at >= alert.occurred_at)
        for i in incidents
    )


def noise(history: History, period: Period, scope: Scope, options: Options) -> Noise:
    """The share of alerts that were noise.

    *Alerts* are the firing signals of kind `alert` that occurred in the period. An
    alert is *noise* when either

    - it led to nothing: no ticket and no comment (it counted towards no ticket link),
      no page (no `Escalate` action), and no incident of its service was open when it
      fired or opened within `options.incident_window` after it; or
    - it resolved by itself: the next resolved signal with its fingerprint came within
      `options.self_resolve_within` of it (whatever else it led to).

    The ratio is noisy alerts over alerts, None without alerts.
    """
    alerts = [
        s
        for s in history.signals
        if s.kind == "alert"
        and s.status == "firing"
        and period.contains(s.occurred_at)
        and scope.admits(s.service, s.team, s.source)
    ]
    resolutions: dict[str, list[datetime]] = {}
    for s in history.signals:
        if s.status == "resolved":
            resolutions.setdefault(s.fingerprint, []).append(s.occurred_at)
    for times in resolutions.values():
        times.sort()
    no_action = self_resolved = noisy = 0
    for alert in alerts:
        idle = (
            alert.link_id is None
            and not alert.escalated
            and not _during_incident(alert, history.incidents, options.incident_window)
        )
        times = resolutions.get(alert.fingerprint, [])
        index = bisect_left(times, alert.occurred_at)
        resolved_soon = (
            index < len(times) and times[index] - alert.occurred_at <= options.self_resolve_within
        )
        no_action += idle
        self_resolved += resolved_soon
        noisy += idle or resolved_soon
    return Noise(
        alerts=len(alerts),
        noisy=noisy,
        no_action=no_action,
        self_resolved=self_resolved,
        ratio=noisy / len(alerts) if alerts else None,
    )


# --- themes ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Theme:
    """A kind of failure (a masked title) and how often it showed in the period."""

    theme: str
    occurrences: int
    problems: int
    tickets: int
    services: tuple[str, ...]
    recurring: bool


def themes(history: History, period: Period, scope: Scope, limit: int) -> tuple[Theme, ...]:
    """The period's most frequent themes among problem signals, most frequent first.

    For each theme: firing problem signals in the period, distinct fingerprints,
    distinct tickets they counted towards, the services, and whether any of its
    problems recurred (see `recurrence`). Ties are broken by theme text.
    """
    signals = _problem_signals(history, period, scope)
    recurring = set(recurrence(history, period, scope).fingerprints)
    grouped: dict[str, list[SignalRecord]] = {}
    for s in signals:
        grouped.setdefault(s.theme, []).append(s)
    found = [
        Theme(
            theme=theme,
            occurrences=len(group),
            problems=len({s.fingerprint for s in group}),
            tickets=len({s.link_id for s in group if s.link_id is not None}),
            services=tuple(sorted({s.service for s in group if s.service})),
            recurring=any(s.fingerprint in recurring for s in group),
        )
        for theme, group in grouped.items()
    ]
    found.sort(key=lambda t: (-t.occurrences, t.theme))
    return tuple(found[:limit])


# --- tickets ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TicketFigures:
    """Tickets the loop opened and closed in the period."""

    opened: int
    closed: int
    time_to_close: Distribution


def ticket_figures(history: History, period: Period, scope: Scope) -> TicketFigures:
    """Tickets the loop opened (first signal in the period) and closed (closed in it).

    `closed` counts the tickets with a closure in the period (a ticket closed, reopened
    and closed again in it counts once). `time_to_close` is, over the tickets whose
    *first* closure falls in the period, the time from the problem's first signal
    (`first_signal_at`, else `opened_at`) to that first closure: a regression that
    reopens a ticket does not stretch the time it took to close it, and no ticket is
    timed in two periods. Tickets reserved but never created are left out.
    """
    tickets = [
        t for t in history.tickets if t.created and scope.admits(t.service, t.team, t.source)
    ]
    closures = _closures(history)
    closed = [
        t for t in tickets if any(period.contains(c.closed_at) for c in closures.get(t.id, ()))
    ]
    first_closed = [
        (t, closures[t.id][0].closed_at)
        for t in tickets
        if t.id in closures and period.contains(closures[t.id][0].closed_at)
    ]
    return TicketFigures(
        opened=sum(period.contains(t.opened_at) for t in tickets),
        closed=len(closed),
        time_to_close=distribution(
            at - min(t.first_signal_at or t.opened_at, t.opened_at) for t, at in first_closed
        ),
    )


# --- action items ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionItemFigures:
    """Postmortem follow-through in the period."""

    opened: int
    closed: int
    in_play: int
    open: int
    overdue: tuple[ActionItemRecord, ...] = ()
    stale: tuple[ActionItemRecord, ...] = ()


def action_item_figures(
    history: History, period: Period, scope: Scope, options: Options
) -> ActionItemFigures:
    """Action items opened, closed, in play, open, overdue and stale.

    - opened: created in the period; closed: closed in the period;
    - in play: created before the period ended and not closed before it began
      (the "9" in "7 of 9 action items closed");
    - open: still open when the period ended;
    - overdue: open at the end with a due date before the end's (UTC) date;
    - stale: open at the end with no update for `options.stale_after`.
    """
    items = [a for a in history.action_items if scope.admits(a.service, a.team, a.source)]
    end = period.until

    def open_at(item: ActionItemRecord, at: datetime) -> bool:
        return item.created_at < at and (item.closed_at is None or item.closed_at >= at)

    still_open = sorted((a for a in items if open_at(a, end)), key=lambda a: a.id)
    return ActionItemFigures(
        opened=sum(period.contains(a.created_at) for a in items),
        closed=sum(period.contains(a.closed_at) for a in items),
        in_play=sum(
            a.created_at < end and (a.closed_at is None or a.closed_at >= period.since)
            for a in items
        ),
        open=len(still_open),
        overdue=tuple(
            sorted(
                (a for a in still_open if a.due is not None and a.due < utc_date(end)),
                key=lambda a: (a.due, a.id),
            )
        ),
        stale=tuple(a for a in still_open if end - a.updated_at >= options.stale_after),
    )


# --- all of it -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    """Every figure for one period and scope."""

    period: Period
    scope: Scope
    incidents: IncidentFigures
    recurrence: Recurrence
    noise: Noise
    themes: tuple[Theme, ...]
    tickets: TicketFigures
    action_items: ActionItemFigures
    services: dict[str, Distribution] = field(default_factory=dict)


def compute_figures(
    history: History, period: Period, scope: Scope | None = None, options: Options | None = None
) -> Figures:
    """Every figure of `history` for `period` and `scope`."""
    scope = scope or Scope()
    options = options or Options()
    return Figures(
        period=period,
        scope=scope,
        incidents=incident_figures(history, period, scope),
        recurrence=recurrence(history, period, scope),
        noise=noise(history, period, scope, options),
        themes=themes(history, period, scope, options.top_themes),
        tickets=ticket_figures(history, period, scope),
        action_items=action_item_figures(history, period, scope, options),
        services=service_mttr(history, period, scope),
    )


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """The main figures of one slice of the period, for the trend charts."""

    period: Period
    incidents: int
    mtta_median: float | None
    mttr_median: float | None
    alerts: int
    noise_ratio: float | None


def trend(
    history: History, period: Period, scope: Scope, options: Options
) -> tuple[TrendPoint, ...]:
    """MTTA, MTTR and noise per day (per week for long periods) of the period."""
    points = []
    for bucket in period.buckets():
        incidents = incident_figures(history, bucket, scope)
        alerts = noise(history, bucket, scope, options)
        points.append(
            TrendPoint(
                period=bucket,
                incidents=incidents.count,
                mtta_median=incidents.mtta.median,
                mttr_median=incidents.mttr.median,
                alerts=alerts.alerts,
                noise_ratio=alerts.ratio,
            )
        )
    return tuple(points)
