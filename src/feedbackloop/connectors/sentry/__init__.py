"""Sentry: issues, issue alerts and metric alerts in; issues resolved out."""

from feedbackloop.connectors.sentry._api import SentryIssues
from feedbackloop.connectors.sentry._source import SentrySource

__all__ = ["SentryIssues", "SentrySource"]
