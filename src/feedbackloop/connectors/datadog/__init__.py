"""Datadog: monitor notifications in through a webhook template; events out."""

from feedbackloop.connectors.datadog._source import DatadogSource

__all__ = ["DatadogSource"]
