"""Jira Cloud: issue webhooks in as ticket changes; Jira as a tracker."""

from feedbackloop.connectors.jira._adf import adf_to_markdown, markdown_to_adf
from feedbackloop.connectors.jira._source import JiraSource
from feedbackloop.connectors.jira._tracker import JiraTracker, JiraTrackerSettings, jira_label

__all__ = [
    "JiraSource",
    "JiraTracker",
    "JiraTrackerSettings",
    "adf_to_markdown",
    "jira_label",
    "markdown_to_adf",
]
