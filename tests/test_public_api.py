"""The public surface: what `import feedbackloop` offers is pinned."""

from __future__ import annotations

import feedbackloop


def test_the_top_level_exports_are_pinned() -> None:
    """Adding or removing a public name is a deliberate change to this list."""
    assert sorted(feedbackloop.__all__) == sorted(
        [
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
    )


def test_exported_classes_say_they_live_in_the_package() -> None:
    """Reprs and docs show `feedbackloop.Signal`, not a private module."""
    for name in feedbackloop.__all__:
        value = getattr(feedbackloop, name)
        if isinstance(value, type):
            assert value.__module__ == "feedbackloop", name
