"""Zendesk support tickets as feedbackloop signals: the plugin tutorial's package."""

import feedbackloop
from feedbackloop_zendesk._source import ZendeskSettings, ZendeskSource

__all__ = ["ZendeskSettings", "ZendeskSource", "register_connectors"]


@feedbackloop.hookimpl
def register_connectors(register):
    """Register the Zendesk source under the name `zendesk`."""
    register("source", "zendesk", ZendeskSource)
