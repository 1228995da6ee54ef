"""Sentry: issues, issue alerts and metric alerts in; issues resolved out."""

from feedbackloop.connectors.sentry._source import SentrySource

__all__ = ["SentrySource"]
