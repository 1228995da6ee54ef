"""PagerDuty: incidents in through webhooks v3 and the REST API; pages out."""

from feedbackloop.connectors.pagerduty._source import PagerDutySource

__all__ = ["PagerDutySource"]
