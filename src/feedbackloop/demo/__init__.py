"""`feedbackloop demo`: a seeded week of vendor-shaped traffic through the real path.

Sentry, Datadog and PagerDuty webhooks (and a few Jira and GitHub ticket closures),
signed with demo secrets, are POSTed to the webhook app; the example rules in
`feedbackloop.demo.rules` route them into local trackers on SQLite. No accounts needed.
"""

from feedbackloop.demo._run import (
    DEFAULT_DB,
    DemoSummary,
    TicketRow,
    build_demo_loop,
    run_demo,
    summarize,
)
from feedbackloop.demo._scenario import START, week
from feedbackloop.demo._vendor import SECRETS, Delivery

__all__ = [
    "DEFAULT_DB",
    "SECRETS",
    "START",
    "Delivery",
    "DemoSummary",
    "TicketRow",
    "build_demo_loop",
    "run_demo",
    "summarize",
    "week",
]
