"""A team's feedback loop: `feedbackloop check --app examples.feedback:loop`.

The payments team routes production Sentry errors and Datadog monitors to its Jira
project, opens a postmortem issue in GitHub for every critical PagerDuty incident, and
sends a Slack message for monitors that page. Credentials come from the environment
(FEEDBACKLOOP_JIRA_URL, _EMAIL, _API_TOKEN, FEEDBACKLOOP_GITHUB_TOKEN,
FEEDBACKLOOP_SLACK_WEBHOOK_URL, and the webhook secrets of each source); see the
production guide. Serve it with `feedbackloop serve --app examples.feedback:loop`.
"""

from __future__ import annotations

import os
from datetime import timedelta

from feedbackloop import FeedbackLoop
from feedbackloop.connectors.datadog import DatadogSource
from feedbackloop.connectors.github import GitHubSource, GitHubTracker
from feedbackloop.connectors.jira import JiraSource, JiraTracker
from feedbackloop.connectors.pagerduty import PagerDutySource
from feedbackloop.connectors.sentry import SentrySource
from feedbackloop.connectors.slack import SlackNotifier
from feedbackloop.rules import Drop, F, Notify, OpenTicket, Rule, RuleSet, Threshold

rules = RuleSet(
    Rule("staging", when=F.environment == "staging", then=Drop("staging is not backlog")),
    Rule("low-severity", when=F.severity <= "low", then=Drop("low severity")),
    Rule(
        "postmortems",
        when=(F.source == "pagerduty") & (F.severity >= "critical") & (F.status == "firing"),
        then=OpenTicket(
            "github",
            repo="acme/postmortems",
            title="Postmortem: {title}",
            labels=["postmortem"],
        ),
    ),
    Rule(
        "paging-monitors",
        when=(F.source == "datadog") & (F.severity >= "critical") & (F.status == "firing"),
        then=[
            OpenTicket("jira", project="PAY", labels=["ops-feedback", "monitor"]),
            Notify("slack", channel="#payments-ops"),
        ],
    ),
    Rule(
        "production-errors",
        when=(F.source == "sentry") & (F.environment == "production") & (F.severity >= "high"),
        threshold=Threshold(count=5, within=timedelta(hours=1)),
        then=OpenTicket(
            "jira",
            project="PAY",
            labels=["ops-feedback"],
            update_every=timedelta(hours=24),
            reopen_within=timedelta(days=14),
            sync_origin=True,
        ),
    ),
    Rule(
        "flapping-monitors",
        when=(F.source == "datadog") & (F.severity >= "high") & (F.status == "firing"),
        threshold=Threshold(count=3, within=timedelta(hours=1)),
        then=OpenTicket("jira", project="PAY", labels=["ops-feedback", "flapping"]),
    ),
)

loop = FeedbackLoop(
    rules,
    trackers={"jira": JiraTracker.from_env(), "github": GitHubTracker.from_env()},
    notifiers={"slack": SlackNotifier.from_env()},
    sources=[
        SentrySource.from_env(),
        DatadogSource.from_env(),
        PagerDutySource.from_env(),
        JiraSource.from_env(),
        GitHubSource.from_env(),
    ],
    store=os.environ.get("FEEDBACKLOOP_STORE_URL", "sqlite:///feedbackloop.db"),
)
