"""feedbackloop: close the loop from operations to development.

Signals from Sentry, Datadog and PagerDuty come in; rules written in Python route them
to Jira and GitHub Issues; one living ticket is kept per problem; and the history yields
MTTA, MTTR, recurrence, noise and the wins.
"""

from feedbackloop._exports import publish
from feedbackloop._loop import AsyncFeedbackLoop, FeedbackLoop, IngestOutcome
from feedbackloop._models import (
    ActionItem,
    ActionItemStatus,
    DeferredRaw,
    Incident,
    IncidentStatus,
    Learning,
    Severity,
    Signal,
    SignalKind,
    SignalStatus,
    TicketChange,
    TicketChangeKind,
    TicketRef,
    TicketStatus,
    TimelineEntry,
)
from feedbackloop._version import __version__
from feedbackloop.errors import FeedbackLoopError
from feedbackloop.hookspecs import hookimpl

__all__ = [
    "ActionItem",
    "ActionItemStatus",
    "AsyncFeedbackLoop",
    "DeferredRaw",
    "FeedbackLoop",
    "FeedbackLoopError",
    "Incident",
    "IncidentStatus",
    "IngestOutcome",
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
    "__version__",
    "hookimpl",
]

publish(globals())
