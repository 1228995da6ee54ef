"""The rule engine: route signals to backlog work with rules written in Python.

```python
from datetime import timedelta
from feedbackloop.rules import F, Rule, RuleSet, Threshold, OpenTicket, Drop

rules = RuleSet(
    Rule(
        "prod-errors-to-jira",
        when=(F.source == "sentry") & (F.environment == "production") & (F.severity >= "high"),
        threshold=Threshold(count=5, within=timedelta(hours=1)),
        then=OpenTicket("jira", project="OPS", labels=["ops-feedback"]),
    ),
    Rule("noise", when=F.labels["team"].is_missing() & (F.severity <= "low"), then=Drop()),
)
decision = rules.evaluate(signal)
print(decision.explain())
```

Evaluation is pure: it does no I/O, reads and records window counts through the
`WindowCounts` protocol, and returns a `Decision` whose actions the loop carries out.
"""

from feedbackloop._exports import publish
from feedbackloop.rules._actions import (
    Action,
    Comment,
    Drop,
    Escalate,
    Notify,
    OpenTicket,
    Template,
    render,
)
from feedbackloop.rules._counts import InMemoryWindowCounts, Threshold, WindowCounts
from feedbackloop.rules._decision import Decision, Outcome, RuleMatch
from feedbackloop.rules._predicates import All, Any, Check, F, FieldRef, Not, Predicate
from feedbackloop.rules._rules import Rule, RuleContext, RuleFunction, RuleSet
from feedbackloop.rules._silences import (
    ActiveSignals,
    Inhibition,
    InMemoryActiveSignals,
    Silence,
)
from feedbackloop.rules._windows import TimeWindow

__all__ = [
    "Action",
    "ActiveSignals",
    "All",
    "Any",
    "Check",
    "Comment",
    "Decision",
    "Drop",
    "Escalate",
    "F",
    "FieldRef",
    "InMemoryActiveSignals",
    "InMemoryWindowCounts",
    "Inhibition",
    "Not",
    "Notify",
    "OpenTicket",
    "Outcome",
    "Predicate",
    "Rule",
    "RuleContext",
    "RuleFunction",
    "RuleMatch",
    "RuleSet",
    "Silence",
    "Template",
    "Threshold",
    "TimeWindow",
    "WindowCounts",
    "render",
]

publish(globals())
