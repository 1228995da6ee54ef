"""Helpers for testing your rules: realistic signals and self-explaining assertions.

```python
from feedbackloop.testing import assert_routes, make_signal

def test_production_errors_go_to_jira():
    assert_routes(rules, make_signal(severity="critical"), to="jira")
```

When an expectation fails, the assertion message carries `Decision.explain()`: which
rule matched, and for every other rule the condition that failed with the actual value.
The pytest plugin (installed with feedbackloop) adds the `signal_factory`,
`window_counts` and `active_signals` fixtures.
"""

from feedbackloop._exports import publish
from feedbackloop.testing._assertions import (
    assert_dropped,
    assert_not_routed,
    assert_routes,
    target_of,
)
from feedbackloop.testing._signals import DEFAULT_TIME, SignalFactory, make_signal

__all__ = [
    "DEFAULT_TIME",
    "SignalFactory",
    "assert_dropped",
    "assert_not_routed",
    "assert_routes",
    "make_signal",
    "target_of",
]

publish(globals())
