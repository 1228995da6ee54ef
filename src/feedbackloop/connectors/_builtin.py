"""The built-in plugin: registers feedbackloop's own connectors through the public hook.

Built-in connectors are plugins like any other; they are listed here by import path
and imported only when first used, so `feedbackloop plugins` and a loop that uses only
Jira never import the Slack connector. A row whose module is not part of this
installation is skipped (nothing else is: a wrong attribute fails when used).

To add a built-in connector, add one row to `BUILTIN_CONNECTORS`.
"""

from __future__ import annotations

import importlib.util
from typing import Final

from feedbackloop.hookspecs import ConnectorKind, RegisterConnector, hookimpl

__all__ = ["BUILTIN_CONNECTORS", "register_connectors"]

BUILTIN_CONNECTORS: Final[tuple[tuple[ConnectorKind, str, str], ...]] = (
    ("source", "sentry", "feedbackloop.connectors.sentry:SentrySource"),
    ("source", "datadog", "feedbackloop.connectors.datadog:DatadogSource"),
    ("source", "pagerduty", "feedbackloop.connectors.pagerduty:PagerDutySource"),
    ("source", "jira", "feedbackloop.connectors.jira:JiraSource"),
    ("source", "github", "feedbackloop.connectors.github:GitHubSource"),
    ("tracker", "jira", "feedbackloop.connectors.jira:JiraTracker"),
    ("tracker", "github", "feedbackloop.connectors.github:GitHubTracker"),
    ("tracker", "local", "feedbackloop.connectors.local:LocalTracker"),
    ("notifier", "slack", "feedbackloop.connectors.slack:SlackNotifier"),
    ("notifier", "datadog", "feedbackloop.connectors.datadog:DatadogEventNotifier"),
    ("escalator", "pagerduty", "feedbackloop.connectors.pagerduty:PagerDutyEscalator"),
)
"""(kind, name, "module:attribute") of every connector that ships with feedbackloop."""


def _module_exists(target: str) -> bool:
    module = target.partition(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


@hookimpl
def register_connectors(register: RegisterConnector) -> None:
    """Register the built-in connectors that this installation has."""
    for kind, name, target in BUILTIN_CONNECTORS:
        if _module_exists(target):
            register(kind, name, target)
