"""Datadog: monitor notifications in through a webhook template; events out."""

from feedbackloop.connectors.datadog._events import DatadogEventNotifier, DatadogEventSettings
from feedbackloop.connectors.datadog._source import DatadogSource

__all__ = ["DatadogEventNotifier", "DatadogEventSettings", "DatadogSource"]
