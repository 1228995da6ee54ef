"""PagerDuty: incidents in through webhooks v3 and the REST API; pages out."""

from feedbackloop.connectors.pagerduty._escalator import (
    PagerDutyEscalator,
    PagerDutyEscalatorSettings,
)
from feedbackloop.connectors.pagerduty._source import PagerDutySource

__all__ = ["PagerDutyEscalator", "PagerDutyEscalatorSettings", "PagerDutySource"]
