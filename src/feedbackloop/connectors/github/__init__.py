"""GitHub: issue webhooks in as ticket changes; GitHub Issues as a tracker."""

from feedbackloop.connectors.github._source import GitHubSource

__all__ = ["GitHubSource"]
