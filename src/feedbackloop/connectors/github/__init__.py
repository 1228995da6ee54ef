"""GitHub: issue webhooks in as ticket changes; GitHub Issues as a tracker."""

from feedbackloop.connectors.github._source import GitHubSource
from feedbackloop.connectors.github._tracker import (
    GitHubTracker,
    GitHubTrackerSettings,
    github_label,
)

__all__ = ["GitHubSource", "GitHubTracker", "GitHubTrackerSettings", "github_label"]
