"""Insights: the figures a team steers by, from the loop's history.

For a period, and optionally one service, team (the `team` label) or source: MTTA and
MTTR (median and p90), incidents, recurrence, alert noise, top themes, tickets opened
and closed, time from first signal to close, action-item follow-through; the same for
the previous period of equal length, the deltas, and the wins.

```python
report = loop.insights(since=timedelta(days=7))
print(report.to_markdown())
```

The figures are pure functions of a `History` (`compute_figures`, `build_report`),
read from the store by `read_report`; every definition is in the function docstrings
and in the insights guide.
"""

from feedbackloop._exports import publish
from feedbackloop.insights._digest import DigestPost, post_digest
from feedbackloop.insights._figures import (
    PROBLEM_KINDS,
    ActionItemFigures,
    Distribution,
    Figures,
    IncidentFigures,
    Noise,
    Options,
    Recurrence,
    Theme,
    TicketFigures,
    TrendPoint,
    action_item_figures,
    compute_figures,
    distribution,
    incident_figures,
    noise,
    percentile,
    recurrence,
    service_mttr,
    themes,
    ticket_figures,
    trend,
)
from feedbackloop.insights._markdown import title_of
from feedbackloop.insights._records import (
    ActionItemRecord,
    Closure,
    History,
    IncidentRecord,
    Period,
    Reopening,
    Scope,
    SignalRecord,
    TicketRecord,
)
from feedbackloop.insights._report import Report, build_report, read_report
from feedbackloop.insights._wins import Delta, deltas, format_duration, format_ratio, wins

__all__ = [
    "PROBLEM_KINDS",
    "ActionItemFigures",
    "ActionItemRecord",
    "Closure",
    "Delta",
    "DigestPost",
    "Distribution",
    "Figures",
    "History",
    "IncidentFigures",
    "IncidentRecord",
    "Noise",
    "Options",
    "Period",
    "Recurrence",
    "Reopening",
    "Report",
    "Scope",
    "SignalRecord",
    "Theme",
    "TicketFigures",
    "TicketRecord",
    "TrendPoint",
    "action_item_figures",
    "build_report",
    "compute_figures",
    "deltas",
    "distribution",
    "format_duration",
    "format_ratio",
    "incident_figures",
    "noise",
    "percentile",
    "post_digest",
    "read_report",
    "recurrence",
    "service_mttr",
    "themes",
    "ticket_figures",
    "title_of",
    "trend",
    "wins",
]

publish(globals())
