"""Signed deliveries for the webhook app's tests, built like the demo builds them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from feedbackloop.demo._vendor import Delivery, Vendors

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def sentry_issue(number: int, vendors: Vendors | None = None) -> Delivery:
    """A signed Sentry `issue created` delivery about issue `number`."""
    vendors = vendors or Vendors(random.Random(number))
    issue = {
        "id": str(9000 + number),
        "short_id": f"API-{number}",
        "project": "api",
        "project_id": 1,
        "title": f"ValueError number {number}",
        "culprit": "api.views",
        "level": "error",
        "environment": "production",
        "release": "api@1",
    }
    at = T0 + timedelta(minutes=number)
    return vendors.sentry_issue("created", issue, at, first_seen=at)


@pytest.fixture
def delivery() -> Delivery:
    """One signed Sentry delivery."""
    return sentry_issue(1)
