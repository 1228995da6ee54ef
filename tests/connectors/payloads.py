"""Vendor payloads for the source tests: the real examples, and fixtures built from specs."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

__all__ = [
    "VENDOR",
    "body",
    "datadog_notification",
    "github_closed",
    "hub_signature",
    "jira_comment_created",
    "jira_status_changed",
    "load",
]

# The vendor material lives beside the repository: /work/shared/vendor from /work/main.
VENDOR = Path(__file__).parents[2] / ".." / "shared" / "vendor"


def load(relative: str) -> dict[str, Any]:
    """A vendor example, decoded."""
    document: dict[str, Any] = json.loads((VENDOR / relative).read_bytes())
    return document


def body(document: Any) -> bytes:
    """A payload as the bytes a vendor would send."""
    return json.dumps(document).encode()


def hub_signature(secret: str, payload: bytes) -> str:
    """The hex HMAC-SHA256 every signing vendor here uses."""
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def github_closed(state_reason: str | None = "completed") -> dict[str, Any]:
    """An `issues` closed delivery: GitHub publishes no example, so the reopened one, closed.

    What changes follows `issues/closed.schema.json`: action, state, closed_at, state_reason.
    """
    document = copy.deepcopy(load("github/webhook-examples/issues/reopened.payload.json"))
    document["action"] = "closed"
    document["issue"].update(
        state="closed", closed_at="2021-10-12T09:00:00Z", state_reason=state_reason
    )
    return document


def datadog_notification(**changes: Any) -> dict[str, Any]:
    """What the recommended Datadog template renders to for a Triggered P2 alert."""
    document: dict[str, Any] = {
        "id": "7403815463536128453",
        "alert_id": "12345678",
        "alert_cycle_key": "7403815463536128453",
        "transition": "Triggered",
        "priority": "P2",
        "status": "Alert",
        "title": "High error rate on checkout",
        "event_title": "[P2] [Triggered on {env:prod}] High error rate on checkout",
        "message": "Error rate is above 5% @webhook-feedbackloop",
        "scope": "env:prod,service:checkout",
        "query": "sum(last_5m):sum:trace.http.request.errors{service:checkout} > 50",
        "date": "1700000000000",
        "last_updated": "1700000000000",
        "link": "https://app.datadoghq.com/event/event?id=7403815463536128453",
        "tags": "env:prod,service:checkout,team:payments,monitor",
        "hostname": "web-1",
        "org": {"id": "1234", "name": "Acme"},
    }
    document.update(changes)
    return document


def _jira_issue(status: str, category: str, resolution: str | None) -> dict[str, Any]:
    return {
        "id": "10002",
        "self": "https://acme.atlassian.net/rest/api/2/issue/10002",
        "key": "OPS-42",
        "fields": {
            "summary": "Checkout timeouts",
            "status": {"name": status, "statusCategory": {"key": category, "name": category}},
            "resolution": None if resolution is None else {"name": resolution},
        },
    }


def jira_status_changed(
    from_status: str = "In Progress",
    to_status: str = "Done",
    *,
    category: str = "done",
    resolution: str | None = "Done",
) -> dict[str, Any]:
    """A `jira:issue_updated` delivery moving OPS-42's status, shaped by `ChangeDetails`."""
    items = [
        {
            "field": "status",
            "fieldtype": "jira",
            "fieldId": "status",
            "from": "3",
            "fromString": from_status,
            "to": "10001",
            "toString": to_status,
        }
    ]
    if resolution is not None:
        items.append(
            {
                "field": "resolution",
                "fieldtype": "jira",
                "fieldId": "resolution",
                "from": None,
                "fromString": None,
                "to": "10000",
                "toString": resolution,
            }
        )
    return {
        "timestamp": 1700000000000,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof"},
        "issue": _jira_issue(to_status, category, resolution),
        "changelog": {"id": "10100", "items": items},
    }


def jira_comment_created(body_value: Any = "Fixed by the retry budget change.") -> dict[str, Any]:
    """A `comment_created` delivery on OPS-42."""
    return {
        "timestamp": 1700000100000,
        "webhookEvent": "comment_created",
        "comment": {
            "id": "10050",
            "body": body_value,
            "author": {"displayName": "Mia Krystof"},
            "created": "2023-11-14T22:15:00.000+0000",
        },
        "issue": _jira_issue("In Progress", "indeterminate", None),
    }
