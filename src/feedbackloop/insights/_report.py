"""The report: a period's figures, the previous period's, the trend and the wins."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from feedbackloop.insights._figures import (
    ActionItemFigures,
    Distribution,
    Figures,
    Options,
    TrendPoint,
    compute_figures,
    trend,
)
from feedbackloop.insights._read import read_history
from feedbackloop.insights._records import ActionItemRecord, History, Period, Scope, utc_date
from feedbackloop.insights._wins import Delta, deltas, wins
from feedbackloop.store import Store

__all__ = ["Report", "build_report", "read_report"]


class Report:
    """The insights of one period, compared with the period of equal length before it.

    Render it with `to_markdown()` (Slack, GitHub, Jira), `to_json()` (other tools)
    or `to_html()` (a self-contained page with charts that opens offline).

    Attributes:
        figures: This period's figures.
        previous: The previous period's figures.
        trend: MTTA, MTTR and noise per day (or week) of this period.
        deltas: Tracked figures of both periods side by side.
        wins: What got better, as sentences.
    """

    def __init__(self, figures: Figures, previous: Figures, trend: tuple[TrendPoint, ...]) -> None:
        self.figures = figures
        self.previous = previous
        self.trend = trend
        self.deltas: dict[str, Delta] = deltas(figures, previous)
        self.wins: list[str] = wins(figures, previous)

    @property
    def period(self) -> Period:
        """The period the report covers."""
        return self.figures.period

    @property
    def scope(self) -> Scope:
        """The service, team or source the report is about (or everything)."""
        return self.figures.scope

    def __repr__(self) -> str:
        return (
            f"Report(since={self.period.since.isoformat()}, "
            f"until={self.period.until.isoformat()}, scope={self.scope.describe()!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (what `to_json` serialises)."""
        data = _figures_dict(self.figures)
        data["previous"] = _figures_dict(self.previous)
        data["deltas"] = {
            name: {
                "current": d.current,
                "previous": d.previous,
                "change": d.change,
                "change_pct": d.change_pct,
                "improved": d.improved,
            }
            for name, d in self.deltas.items()
        }
        data["trend"] = [
            {
                "since": _iso(p.period.since),
                "until": _iso(p.period.until),
                "incidents": p.incidents,
                "mtta_median": p.mtta_median,
                "mttr_median": p.mttr_median,
                "alerts": p.alerts,
                "noise_ratio": p.noise_ratio,
            }
            for p in self.trend
        ]
        data["services"] = [
            {
                "service": service,
                "mttr": _distribution(now),
                "previous_mttr": _distribution(before)
                if (before := self.previous.services.get(service))
                else None,
            }
            for service, now in self.figures.services.items()
        ]
        data["wins"] = list(self.wins)
        return data

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON: `mtta`, `mttr`, `incidents`, `recurrence_rate`, `noise_ratio`,
        `themes`, `action_items`, `wins` and more (see the insights guide)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_markdown(self) -> str:
        """The digest in Markdown that reads well in Slack, GitHub and Jira."""
        from feedbackloop.insights._markdown import render_markdown

        return render_markdown(self)

    def to_html(self) -> str:
        """A self-contained HTML page with inline SVG charts; no external resources."""
        from feedbackloop.insights._html import render_html

        return render_html(self)


def build_report(
    history: History, period: Period, scope: Scope | None = None, options: Options | None = None
) -> Report:
    """The report of `history` for `period` (pure: no store, no clock)."""
    scope = scope or Scope()
    options = options or Options()
    return Report(
        compute_figures(history, period, scope, options),
        compute_figures(history, period.previous(), scope, options),
        trend(history, period, scope, options),
    )


def read_report(
    store: Store,
    *,
    since: datetime | timedelta,
    until: datetime,
    service: str | None = None,
    team: str | None = None,
    source: str | None = None,
    options: Options | None = None,
) -> Report:
    """The report for `[since, until)` from the store's history.

    `since` may be a timedelta: the period then ends at `until` and lasts that long.

    Raises:
        ValidationError: the period is empty or a bound has no time zone.
    """
    options = options or Options()
    start = until - since if isinstance(since, timedelta) else since
    period = Period(start, until)
    history = read_history(
        store, since=period.previous().since, until=period.until, options=options
    )
    return build_report(history, period, Scope(service, team, source), options)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _distribution(d: Distribution) -> dict[str, Any]:
    return {"median": d.median, "p90": d.p90, "count": d.count}


def _item(item: ActionItemRecord, end: datetime, *, overdue: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": item.id,
        "title": item.title,
        "owner": item.owner,
        "due": item.due.isoformat() if item.due else None,
        "ticket": item.ticket,
    }
    if overdue and item.due is not None:
        data["days_overdue"] = (utc_date(end) - item.due).days
    else:
        data["days_idle"] = (end - item.updated_at).days
    return data


def _action_items(figures: ActionItemFigures, end: datetime) -> dict[str, Any]:
    return {
        "opened": figures.opened,
        "closed": figures.closed,
        "in_play": figures.in_play,
        "open": figures.open,
        "overdue": [_item(i, end, overdue=True) for i in figures.overdue],
        "stale": [_item(i, end, overdue=False) for i in figures.stale],
    }


def _figures_dict(f: Figures) -> dict[str, Any]:
    return {
        "period": {
            "since": _iso(f.period.since),
            "until": _iso(f.period.until),
            "service": f.scope.service,
            "team": f.scope.team,
            "source": f.scope.source,
        },
        "incidents": f.incidents.count,
        "mtta": {**_distribution(f.incidents.mtta), "unacknowledged": f.incidents.unacknowledged},
        "mttr": {**_distribution(f.incidents.mttr), "unresolved": f.incidents.unresolved},
        "recurrence_rate": f.recurrence.rate,
        "recurrence": {
            "problems": f.recurrence.problems,
            "recurring": f.recurrence.recurring,
            "fingerprints": list(f.recurrence.fingerprints),
        },
        "noise_ratio": f.noise.ratio,
        "noise": {
            "alerts": f.noise.alerts,
            "noisy": f.noise.noisy,
            "no_action": f.noise.no_action,
            "self_resolved": f.noise.self_resolved,
        },
        "themes": [
            {
                "theme": t.theme,
                "occurrences": t.occurrences,
                "problems": t.problems,
                "tickets": t.tickets,
                "services": list(t.services),
                "recurring": t.recurring,
            }
            for t in f.themes
        ],
        "tickets": {
            "opened": f.tickets.opened,
            "closed": f.tickets.closed,
            "time_to_close": _distribution(f.tickets.time_to_close),
        },
        "action_items": _action_items(f.action_items, f.period.until),
    }
