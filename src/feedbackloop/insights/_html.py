"""The report as one self-contained HTML page with inline SVG charts.

Everything is inline: the styles, the charts (hand-drawn SVG: MTTR trend, noise
trend, top themes). No scripts, no fonts, no images, no stylesheets from anywhere,
so the file opens offline and leaks nothing when it is mailed around.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import TYPE_CHECKING

from feedbackloop.insights._markdown import title_of
from feedbackloop.insights._wins import Delta, format_duration, format_ratio

if TYPE_CHECKING:
    from feedbackloop.insights._report import Report

__all__ = ["render_html"]

_STYLE = """
body{font:15px/1.5 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1f2328;
margin:0;background:#f6f8fa}
main{max-width:960px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
.muted{color:#59636e}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}
.card{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:12px}
.card .label{font-size:13px;color:#59636e}.card .value{font-size:22px;font-weight:600}
.better{color:#1a7f37}.worse{color:#cf222e}
.wins li{margin:4px 0}.wins{background:#dafbe1;border-radius:8px;padding:12px 12px 12px 32px}
.charts{display:grid;grid-template-columns:1fr;gap:16px}
figure{margin:0;background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:12px}
figcaption{font-weight:600;margin-bottom:4px}
svg text{font-size:11px;fill:#59636e}
table{border-collapse:collapse;width:100%;background:#fff}
td,th{border:1px solid #d1d9e0;padding:6px 8px;text-align:left;font-size:14px}
code{background:#eff2f5;padding:1px 4px;border-radius:4px}
"""

_W, _H = 640, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 12, 28


def _delta_html(delta: Delta, fmt: Callable[[float | None], str]) -> str:
    if delta.previous is None:
        return '<div class="muted">no previous figure</div>'
    css = (
        "" if delta.improved is None else ' class="better"' if delta.improved else ' class="worse"'
    )
    return f"<div{css}>was {escape(fmt(delta.previous))}</div>"


def _card(label: str, value: str, delta: Delta | None, fmt: Callable[[float | None], str]) -> str:
    below = "" if delta is None else _delta_html(delta, fmt)
    return (
        f'<div class="card"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(value)}</div>{below}</div>'
    )


def _count(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def _line_chart(
    name: str,
    caption: str,
    points: Sequence[tuple[str, float | None]],
    fmt: Callable[[float | None], str],
    *,
    ceiling: float | None = None,
) -> str:
    values = [v for _, v in points if v is not None]
    top = ceiling if ceiling is not None else max(values, default=0.0) or 1.0
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    step = plot_w / max(len(points) - 1, 1)

    def x(i: int) -> float:
        return _LEFT + (i * step if len(points) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return _TOP + plot_h - (v / top) * plot_h

    parts = [
        f'<svg class="chart" data-chart="{name}" role="img" viewBox="0 0 {_W} {_H}" '
        f'width="100%"><title>{escape(caption)}</title>'
    ]
    for fraction in (0.0, 0.5, 1.0):
        gy = y(top * fraction)
        parts.append(
            f'<line x1="{_LEFT}" y1="{gy:.1f}" x2="{_W - _RIGHT}" y2="{gy:.1f}" '
            'stroke="#d1d9e0" stroke-width="1"/>'
            f'<text x="{_LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(top * fraction))}</text>"
        )
    label_every = max(1, len(points) // 8)
    for i, (label, _) in enumerate(points):
        if i % label_every == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{_H - 8}" text-anchor="middle">{escape(label)}</text>'
            )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (_, value) in enumerate(points):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(value):.1f}")
    if segment:
        segments.append(segment)
    for run in segments:
        parts.append(
            f'<polyline points="{" ".join(run)}" fill="none" stroke="#0969da" stroke-width="2"/>'
        )
    for i, (label, value) in enumerate(points):
        if value is not None:
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3.5" fill="#0969da">'
                f"<title>{escape(label)}: {escape(fmt(value))}</title></circle>"
            )
    if not values:
        parts.append(
            f'<text x="{_W / 2}" y="{_H / 2}" text-anchor="middle">no data in this period</text>'
        )
    parts.append("</svg>")
    return f"<figure><figcaption>{escape(caption)}</figcaption>{''.join(parts)}</figure>"


def _bar_chart(name: str, caption: str, bars: Sequence[tuple[str, int, bool]]) -> str:
    row, label_w = 26, 300
    height = max(len(bars), 1) * row + 8
    top = max((count for _, count, _ in bars), default=0) or 1
    parts = [
        f'<svg class="chart" data-chart="{name}" role="img" viewBox="0 0 {_W} {height}" '
        f'width="100%"><title>{escape(caption)}</title>'
    ]
    for i, (label, count, recurring) in enumerate(bars):
        y = 4 + i * row
        width = (_W - label_w - 60) * count / top
        shown = label if len(label) <= 44 else label[:43] + "…"
        colour = "#cf222e" if recurring else "#0969da"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(shown)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row - 8}" '
            f'fill="{colour}"><title>{escape(label)}: {count}</title></rect>'
            f'<text x="{label_w + width + 6:.1f}" y="{y + 16}">{count}</text>'
        )
    if not bars:
        parts.append(f'<text x="{_W / 2}" y="20" text-anchor="middle">no themes</text>')
    parts.append("</svg>")
    return f"<figure><figcaption>{escape(caption)}</figcaption>{''.join(parts)}</figure>"


def render_html(report: Report) -> str:
    """The report as a standalone HTML document."""
    f, d = report.figures, report.deltas
    title = title_of(report)
    ratio = format_ratio
    cards = "".join(
        [
            _card("Incidents", _count(f.incidents.count), d["incidents"], _count),
            _card(
                "MTTA (median)",
                format_duration(f.incidents.mtta.median),
                d["mtta_median"],
                format_duration,
            ),
            _card(
                "MTTR (median)",
                format_duration(f.incidents.mttr.median),
                d["mttr_median"],
                format_duration,
            ),
            _card(
                "MTTR (p90)", format_duration(f.incidents.mttr.p90), d["mttr_p90"], format_duration
            ),
            _card("Alert noise", ratio(f.noise.ratio), d["noise_ratio"], ratio),
            _card("Recurrence", ratio(f.recurrence.rate), d["recurrence_rate"], ratio),
            _card(
                "Tickets opened / closed", f"{f.tickets.opened} / {f.tickets.closed}", None, _count
            ),
            _card(
                "Action items closed",
                f"{f.action_items.closed} of {f.action_items.in_play}",
                d["action_items_closed"],
                _count,
            ),
        ]
    )
    wins = "".join(f"<li>{escape(win)}</li>" for win in report.wins) or (
        "<li>No clear wins this period.</li>"
    )
    labels = [p.period.since.strftime("%m-%d") for p in report.trend]
    charts = "".join(
        [
            _line_chart(
                "mttr-trend",
                "MTTR trend (median time to resolve)",
                list(zip(labels, [p.mttr_median for p in report.trend], strict=True)),
                format_duration,
            ),
            _line_chart(
                "noise-trend",
                "Alert noise trend (share of alerts that were noise)",
                list(zip(labels, [p.noise_ratio for p in report.trend], strict=True)),
                ratio,
                ceiling=1.0,
            ),
            _bar_chart(
                "top-themes",
                "Top themes (signals in the period; red: recurring)",
                [(t.theme, t.occurrences, t.recurring) for t in f.themes],
            ),
        ]
    )
    themes = "".join(
        f"<tr><td><code>{escape(t.theme)}</code></td><td>{t.occurrences}</td>"
        f"<td>{t.problems}</td><td>{escape(', '.join(t.services))}</td>"
        f"<td>{'yes' if t.recurring else 'no'}</td></tr>"
        for t in f.themes
    )
    end = report.period.until
    items = f.action_items
    rows = [
        (i.title, i.owner, i.ticket, f"overdue since {i.due.isoformat()}" if i.due else "")
        for i in items.overdue
    ] + [
        (i.title, i.owner, i.ticket, f"no update for {(end - i.updated_at).days} days")
        for i in items.stale
    ]
    item_rows = "".join(
        f"<tr><td>{escape(t)}</td><td>{escape(o or '')}</td><td>{escape(k or '')}</td>"
        f"<td>{escape(why)}</td></tr>"
        for t, o, k, why in rows
    )
    items_table = (
        "<table><tr><th>Action item</th><th>Owner</th><th>Ticket</th><th>Why</th></tr>"
        f"{item_rows}</table>"
        if rows
        else '<p class="muted">No overdue or stale action items.</p>'
    )
    themes_table = (
        "<table><tr><th>Theme</th><th>Signals</th><th>Problems</th><th>Services</th>"
        f"<th>Recurring</th></tr>{themes}</table>"
        if themes
        else ""
    )
    before = report.previous.period
    compared = f"{before.since:%Y-%m-%d} → {before.until:%Y-%m-%d}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="muted">Compared with {escape(compared)}.</p>'
        f'<h2>Wins</h2><ul class="wins">{wins}</ul>'
        f'<h2>Figures</h2><div class="cards">{cards}</div>'
        f'<h2>Trends</h2><div class="charts">{charts}</div>'
        f"<h2>Top themes</h2>{themes_table}"
        f"<h2>Action items</h2><p>{items.closed} of {items.in_play} closed, {items.opened} "
        f"opened, {items.open} open.</p>{items_table}"
        "</main></body></html>\n"
    )
