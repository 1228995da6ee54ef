"""Period-over-period deltas and the wins: success made visible, in plain sentences."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from feedbackloop.insights._figures import Figures

__all__ = ["Delta", "deltas", "format_duration", "format_ratio", "wins"]


@dataclass(frozen=True, slots=True)
class Delta:
    """One figure now and in the previous period.

    `change` is current - previous; `change_pct` the change relative to the previous
    value, in percent (None when either is missing or the previous is zero);
    `improved` says whether the change is good news (None when unchanged or unknown).
    """

    current: float | None
    previous: float | None
    change: float | None
    change_pct: float | None
    improved: bool | None


# name: (how to read it from Figures, lower is better)
_TRACKED: dict[str, tuple[Callable[[Figures], float | None], bool]] = {
    "incidents": (lambda f: f.incidents.count, True),
    "mtta_median": (lambda f: f.incidents.mtta.median, True),
    "mttr_median": (lambda f: f.incidents.mttr.median, True),
    "mttr_p90": (lambda f: f.incidents.mttr.p90, True),
    "recurrence_rate": (lambda f: f.recurrence.rate, True),
    "noise_ratio": (lambda f: f.noise.ratio, True),
    "tickets_opened": (lambda f: f.tickets.opened, True),
    "tickets_closed": (lambda f: f.tickets.closed, False),
    "time_to_close_median": (lambda f: f.tickets.time_to_close.median, True),
    "action_items_closed": (lambda f: f.action_items.closed, False),
}


def _delta(current: float | None, previous: float | None, lower_is_better: bool) -> Delta:
    if current is None or previous is None:
        return Delta(current, previous, None, None, None)
    change = current - previous
    pct = None if previous == 0 else change / previous * 100
    improved = None if change == 0 else (change < 0) == lower_is_better
    return Delta(current, previous, change, pct, improved)


def deltas(current: Figures, previous: Figures) -> dict[str, Delta]:
    """The tracked figures of both periods, side by side."""
    return {
        name: _delta(read(current), read(previous), lower)
        for name, (read, lower) in _TRACKED.items()
    }


def format_duration(seconds: float | None) -> str:
    """`45 s`, `42 min`, `5.5 h`, `3.2 days`; `n/a` for None."""
    if seconds is None:
        return "n/a"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h".replace(".0 h", " h")
    return f"{seconds / 86400:.1f} days".replace(".0 days", " days")


def format_ratio(ratio: float | None) -> str:
    """`22%`; `n/a` for None."""
    return "n/a" if ratio is None else f"{ratio * 100:.0f}%"


def _drop_pct(current: float, previous: float) -> int:
    return round((previous - current) / previous * 100)


def _duration_win(
    label: str, current: float | None, previous: float | None, *, at_least: int = 1
) -> str | None:
    if current is None or previous is None or previous <= 0 or current >= previous:
        return None
    pct = _drop_pct(current, previous)
    if pct < at_least:
        return None
    return f"{label} down {pct}% to {format_duration(current)}"


def _ratio_win(label: str, current: float | None, previous: float | None) -> str | None:
    if current is None or previous is None:
        return None
    now, before = format_ratio(current), format_ratio(previous)
    if current >= previous or now == before:
        return None
    return f"{label} down from {before} to {now}"


def wins(current: Figures, previous: Figures, *, per_service: int = 3) -> list[str]:
    """What got better since the previous period, as sentences for humans.

    - "MTTR down 38% to 42 min" (and MTTA) when the median fell;
    - "MTTR for checkout down 38% to 42 min" for up to `per_service` services whose
      median MTTR fell by at least 10%, biggest fall first (not when the report is
      about one service already);
    - "alert noise down from 61% to 22%", "recurrence down from 30% to 10%";
    - "incidents down from 12 to 7";
    - "7 of 9 action items closed" when any closed;
    - "12 tickets closed, median 3.2 days from first signal to close".
    """
    scope = current.scope
    subject = f" for {scope.service}" if scope.service else ""
    found = [
        _duration_win(
            f"MTTR{subject}", current.incidents.mttr.median, previous.incidents.mttr.median
        ),
        _duration_win(
            f"MTTA{subject}", current.incidents.mtta.median, previous.incidents.mtta.median
        ),
    ]
    if scope.service is None:
        services = []
        for service, now in current.services.items():
            before = previous.services.get(service)
            if before is None or now.median is None or before.median is None:
                continue
            if before.median > 0 and now.median < before.median:
                pct = _drop_pct(now.median, before.median)
                if pct >= 10:
                    services.append((pct, service, now.median, before.median))
        services.sort(key=lambda s: (-s[0], s[1]))
        found += [
            _duration_win(f"MTTR for {service}", now_median, before_median)
            for _, service, now_median, before_median in services[:per_service]
        ]
    found.append(_ratio_win("alert noise", current.noise.ratio, previous.noise.ratio))
    found.append(_ratio_win("recurrence", current.recurrence.rate, previous.recurrence.rate))
    if current.incidents.count < previous.incidents.count:
        found.append(f"incidents down from {previous.incidents.count} to {current.incidents.count}")
    items = current.action_items
    if items.closed:
        found.append(f"{items.closed} of {items.in_play} action items closed")
    tickets = current.tickets
    if tickets.closed:
        noun = "ticket" if tickets.closed == 1 else "tickets"
        sentence = f"{tickets.closed} {noun} closed"
        if tickets.time_to_close.median is not None:
            median = format_duration(tickets.time_to_close.median)
            sentence += f", median {median} from first signal to close"
        found.append(sentence)
    return [win for win in found if win]
