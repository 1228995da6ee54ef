"""Learnings: what the team learned from incidents, and the follow-through on it.

Record a `Learning` from code, from a Markdown postmortem (`parse_postmortem`) or from
a ticket's text; each action item is routed through the loop's rules as a signal of
kind `action_item` (source `postmortem`), tracked through its ticket until it closes,
and nudged when overdue or stale.

```python
learning = parse_postmortem(Path("postmortem.md").read_text(), incident_ids=["PD-42"])
recorded = loop.record_learning(learning)
loop.nudge_action_items("slack")
```
"""

from feedbackloop._exports import publish
from feedbackloop.learnings._postmortem import parse_action_items, parse_postmortem
from feedbackloop.learnings._tracking import (
    POSTMORTEM_SOURCE,
    RecordedLearning,
    TrackedActionItem,
    action_item_signal,
    follow_ticket_change,
    tracked_action_items,
)

__all__ = [
    "POSTMORTEM_SOURCE",
    "RecordedLearning",
    "TrackedActionItem",
    "action_item_signal",
    "follow_ticket_change",
    "parse_action_items",
    "parse_postmortem",
    "tracked_action_items",
]

publish(globals())
