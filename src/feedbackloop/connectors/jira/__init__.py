"""Jira Cloud: issue webhooks in as ticket changes; Jira as a tracker."""

from feedbackloop.connectors.jira._source import JiraSource

__all__ = ["JiraSource"]
