"""The digest in Markdown: headings, bullet lists and bold only.

No tables and no HTML, so the same text reads well in Slack, in a GitHub issue and in
a Jira issue (whose tracker converts Markdown).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from feedbackloop.insights._records import utc_date
from feedbackloop.insights._wins import Delta, format_duration, format_ratio

if TYPE_CHECKING:
    from feedbackloop.insights._report import Report

__all__ = ["render_markdown", "title_of"]


def title_of(report: Report) -> str:
    """`Ops digest 2026-11-02 → 2026-11-09 (service checkout)`."""
    period = report.period
    since = period.since.strftime("%Y-%m-%d")
    until = period.until.strftime("%Y-%m-%d")
    scope = report.scope.describe()
    suffix = "" if scope == "everything" else f" ({scope})"
    return f"Ops digest {since} → {until}{suffix}"


def _was(delta: Delta, fmt: str) -> str:
    if delta.previous is None:
        return ""
    previous = (
        format_duration(delta.previous)
        if fmt == "duration"
        else format_ratio(delta.previous)
        if fmt == "ratio"
        else f"{delta.previous:g}"
    )
    return f" (was {previous})"


def _count(number: int, noun: str) -> str:
    """`1 incident`, `2 incidents`."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def render_markdown(report: Report) -> str:
    """The report as a Markdown digest."""
    f, d = report.figures, report.deltas
    lines = [f"# {title_of(report)}", ""]
    lines += ["## Wins", ""]
    lines += [f"- {win}" for win in report.wins] or ["- No clear wins this period: see below."]
    lines += ["", "## Figures", ""]
    incidents = f.incidents
    lines.append(f"- **Incidents:** {incidents.count}{_was(d['incidents'], 'count')}")
    lines.append(
        f"- **MTTA:** median {format_duration(incidents.mtta.median)}, "
        f"p90 {format_duration(incidents.mtta.p90)}{_was(d['mtta_median'], 'duration')}"
        + (f"; {incidents.unacknowledged} never acknowledged" if incidents.unacknowledged else "")
    )
    lines.append(
        f"- **MTTR:** median {format_duration(incidents.mttr.median)}, "
        f"p90 {format_duration(incidents.mttr.p90)}{_was(d['mttr_median'], 'duration')}"
        + (f"; {incidents.unresolved} unresolved" if incidents.unresolved else "")
    )
    lines.append(
        f"- **Alert noise:** {format_ratio(f.noise.ratio)} of {f.noise.alerts} alerts"
        f"{_was(d['noise_ratio'], 'ratio')}"
    )
    lines.append(
        f"- **Recurrence:** {format_ratio(f.recurrence.rate)} — {f.recurrence.recurring} of "
        f"{_count(f.recurrence.problems, 'ticketed problem')} came back after their ticket closed"
        f"{_was(d['recurrence_rate'], 'ratio')}"
    )
    tickets = f.tickets
    lines.append(
        f"- **Tickets:** {tickets.opened} opened, {tickets.closed} closed; median "
        f"{format_duration(tickets.time_to_close.median)} from first signal to close"
    )
    if f.services:
        lines += ["", "## MTTR by service", ""]
        for service, now in f.services.items():
            before = report.previous.services.get(service)
            was = f" (was {format_duration(before.median)})" if before else ""
            lines.append(
                f"- **{service}:** {format_duration(now.median)} "
                f"over {_count(now.count, 'incident')}{was}"
            )
    lines += ["", "## Top themes", ""]
    if not f.themes:
        lines.append("- No problem signals this period.")
    for index, theme in enumerate(f.themes, 1):
        services = f" — {', '.join(theme.services)}" if theme.services else ""
        recurring = " — **recurring**" if theme.recurring else ""
        lines.append(
            f"{index}. {_code(theme.theme)} — {_count(theme.occurrences, 'signal')}, "
            f"{_count(theme.problems, 'problem')}{services}{recurring}"
        )
    items = f.action_items
    lines += ["", "## Action items", ""]
    lines.append(
        f"- {items.closed} of {items.in_play} closed; {items.opened} opened; "
        f"{items.open} open; {len(items.overdue)} overdue; {len(items.stale)} stale"
    )
    end = report.period.until
    for item in items.overdue:
        assert item.due is not None
        days = (utc_date(end) - item.due).days
        lines.append(
            f"- Overdue: {_item_line(item.title, item.owner, item.ticket)}, due "
            f"{item.due.isoformat()} ({days} days overdue)"
        )
    for item in items.stale:
        days = (end - item.updated_at).days
        lines.append(
            f"- Stale: {_item_line(item.title, item.owner, item.ticket)}, no update for {days} days"
        )
    return "\n".join(lines) + "\n"


def _item_line(title: str, owner: str | None, ticket: str | None) -> str:
    parts = [f"**{title}**"]
    if owner:
        parts.append(owner)
    if ticket:
        parts.append(ticket)
    return " — ".join(parts)
