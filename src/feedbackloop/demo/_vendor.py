"""Vendor-shaped webhook deliveries, signed as the vendors sign them.

The bodies follow the vendors' published examples (Sentry integration-platform
webhooks, PagerDuty webhooks v3, GitHub `issues`, Jira `jira:issue_updated`) and, for
Datadog, the recommended template of the sources guide. Each builder returns a
`Delivery`: what would arrive at `POST /webhooks/{source}`.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feedbackloop.connectors._webhooks import hmac_sha256_hex

__all__ = ["SECRETS", "Delivery", "Vendors"]

SECRETS = {
    "sentry": "demo-sentry-client-secret",
    "datadog": "demo-datadog-webhook-token",
    "pagerduty": "demo-pagerduty-signing-secret",
    "github": "demo-github-webhook-secret",
    "jira": "demo-jira-webhook-secret",
}
"""The demo's webhook secrets: the demo configures its sources with them and signs with them."""


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery: where it goes, its headers and raw body, and when."""

    source: str
    at: datetime
    headers: dict[str, str]
    body: bytes = field(repr=False)
    what: str = ""


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _dump(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class Vendors:
    """Builds signed deliveries; ids come from `rng`, so a seed gives the same bytes."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _hex(self, digits: int) -> str:
        return f"{self._rng.getrandbits(digits * 4):0{digits}x}"

    # --- Sentry ---------------------------------------------------------------------

    def _sentry(self, resource: str, payload: Any, at: datetime, what: str) -> Delivery:
        body = _dump(payload)
        headers = {
            "Content-Type": "application/json",
            "Request-ID": self._uuid(),
            "Sentry-Hook-Resource": resource,
            "Sentry-Hook-Timestamp": str(int(at.timestamp())),
            "Sentry-Hook-Signature": hmac_sha256_hex(SECRETS["sentry"], body),
        }
        return Delivery("sentry", at, headers, body, what)

    def sentry_issue(
        self, action: str, issue: dict[str, Any], at: datetime, *, first_seen: datetime
    ) -> Delivery:
        """An `issue` webhook (created, resolved, unresolved...)."""
        status = "resolved" if action == "resolved" else "unresolved"
        payload = {
            "action": action,
            "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
            "data": {
                "issue": {
                    "id": issue["id"],
                    "shortId": issue["short_id"],
                    "title": issue["title"],
                    "culprit": issue["culprit"],
                    "level": issue["level"],
                    "status": status,
                    "substatus": {"created": "new", "unresolved": "regressed"}.get(
                        action, "ongoing"
                    ),
                    "firstSeen": _iso(first_seen),
                    "lastSeen": _iso(at),
                    "count": str(issue.get("count", 1)),
                    "userCount": 1,
                    "platform": "python",
                    "type": "error",
                    "metadata": {"type": issue["title"].split(":")[0], "value": issue["title"]},
                    "project": {
                        "id": str(issue["project_id"]),
                        "name": issue["project"],
                        "slug": issue["project"],
                        "platform": "python",
                    },
                    "permalink": None,
                    "web_url": f"https://acme.sentry.io/issues/{issue['id']}/",
                    "assignedTo": None,
                }
            },
            "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
        }
        return self._sentry("issue", payload, at, f"Sentry issue {action}: {issue['title']}")

    def sentry_event_alert(self, issue: dict[str, Any], at: datetime, title: str) -> Delivery:
        """An issue alert rule fired for one event (`event_alert` triggered)."""
        event_id = self._hex(32)
        payload = {
            "action": "triggered",
            "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
            "data": {
                "event": {
                    "event_id": event_id,
                    "issue_id": issue["id"],
                    "issue_url": f"https://acme.sentry.io/api/0/issues/{issue['id']}/",
                    "title": title,
                    "level": issue["level"],
                    "environment": issue["environment"],
                    "release": issue["release"],
                    "platform": "python",
                    "culprit": issue["culprit"],
                    "datetime": _iso(at),
                    "timestamp": at.timestamp(),
                    "tags": [
                        ["environment", issue["environment"]],
                        ["level", issue["level"]],
                        ["release", issue["release"]],
                        ["server_name", f"{issue['project']}-{self._rng.randint(1, 4)}"],
                    ],
                    "url": f"https://acme.sentry.io/api/0/projects/acme/{issue['project']}"
                    f"/events/{event_id}/",
                    "web_url": f"https://acme.sentry.io/issues/{issue['id']}/events/{event_id}/",
                },
                "triggered_rule": "Errors in production",
                "issue_alert": {
                    "title": "Errors in production",
                    "settings": [{"name": "channel", "value": "#ops"}],
                },
            },
            "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
        }
        return self._sentry("event_alert", payload, at, f"Sentry event: {title}")

    # --- Datadog ---------------------------------------------------------------------

    def datadog_monitor(
        self, monitor: dict[str, Any], transition: str, at: datetime, cycle: int
    ) -> Delivery:
        """A monitor notification through the recommended webhook template."""
        recovered = transition == "Recovered"
        title = f"[{'Recovered' if recovered else 'Triggered'}] {monitor['name']}"
        payload = {
            "id": str(self._rng.getrandbits(62)),
            "alert_id": str(monitor["id"]),
            "alert_cycle_key": str(monitor["id"] * 1000 + cycle),
            "transition": transition,
            "priority": monitor["priority"],
            "status": "OK" if recovered else "Alert",
            "title": title,
            "event_title": title,
            "message": f"{monitor['query']} {'recovered' if recovered else 'crossed'} "
            f"its threshold. @webhook-feedbackloop",
            "scope": monitor["scope"],
            "query": monitor["query"],
            "date": str(int(at.timestamp() * 1000)),
            "last_updated": str(int(at.timestamp() * 1000)),
            "link": f"https://app.datadoghq.com/monitors/{monitor['id']}",
            "tags": monitor["tags"],
            "hostname": monitor["scope"].partition(":")[2],
            "org": {"id": "4242", "name": "Acme"},
        }
        headers = {
            "Content-Type": "application/json",
            "X-Feedbackloop-Token": SECRETS["datadog"],
        }
        return Delivery("datadog", at, headers, _dump(payload), f"Datadog {transition}: {title}")

    # --- PagerDuty -------------------------------------------------------------------

    def pagerduty(self, event_type: str, incident: dict[str, Any], at: datetime) -> Delivery:
        """A webhook v3 `incident.*` event."""
        status = {
            "incident.triggered": "triggered",
            "incident.acknowledged": "acknowledged",
            "incident.resolved": "resolved",
        }[event_type]
        service_id = incident["service_id"]
        payload = {
            "event": {
                "id": self._uuid(),
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": _iso(at),
                "agent": {
                    "html_url": "https://acme.pagerduty.com/users/PLH1HKV",
                    "id": "PLH1HKV",
                    "self": "https://api.pagerduty.com/users/PLH1HKV",
                    "summary": incident["responder"],
                    "type": "user_reference",
                },
                "client": {"name": "PagerDuty"},
                "data": {
                    "id": incident["id"],
                    "type": "incident",
                    "self": f"https://api.pagerduty.com/incidents/{incident['id']}",
                    "html_url": f"https://acme.pagerduty.com/incidents/{incident['id']}",
                    "number": incident["number"],
                    "status": status,
                    "incident_key": incident["key"],
                    "created_at": _iso(incident["created_at"]),
                    "title": incident["title"],
                    "service": {
                        "html_url": f"https://acme.pagerduty.com/services/{service_id}",
                        "id": service_id,
                        "self": f"https://api.pagerduty.com/services/{service_id}",
                        "summary": incident["service"],
                        "type": "service_reference",
                    },
                    "assignees": [],
                    "escalation_policy": {
                        "html_url": "https://acme.pagerduty.com/escalation_policies/PUS0KTE",
                        "id": "PUS0KTE",
                        "self": "https://api.pagerduty.com/escalation_policies/PUS0KTE",
                        "summary": "Default",
                        "type": "escalation_policy_reference",
                    },
                    "teams": [
                        {
                            "html_url": "https://acme.pagerduty.com/teams/PFCVPS0",
                            "id": "PFCVPS0",
                            "self": "https://api.pagerduty.com/teams/PFCVPS0",
                            "summary": incident["team"],
                            "type": "team_reference",
                        }
                    ],
                    "priority": {
                        "html_url": "https://acme.pagerduty.com/account/incident_priorities",
                        "id": "PSO75BM",
                        "self": "https://api.pagerduty.com/priorities/PSO75BM",
                        "summary": incident["priority"],
                        "type": "priority_reference",
                    },
                    "urgency": incident["urgency"],
                    "resolve_reason": None,
                },
            }
        }
        body = _dump(payload)
        headers = {
            "Content-Type": "application/json",
            "X-Webhook-Id": self._uuid(),
            "X-PagerDuty-Signature": f"v1={hmac_sha256_hex(SECRETS['pagerduty'], body)}",
        }
        what = f"PagerDuty {event_type}: {incident['title']}"
        return Delivery("pagerduty", at, headers, body, what)

    # --- ticket closures ---------------------------------------------------------------

    def jira_closed(
        self, key: str, title: str, at: datetime, *, resolution: str = "Done"
    ) -> Delivery:
        """`jira:issue_updated`: the issue moved to Done with a resolution."""
        issue_id = str(10000 + int(key.rpartition("-")[2]))
        payload = {
            "timestamp": int(at.timestamp() * 1000),
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "user": {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Dana Developer"},
            "issue": {
                "id": issue_id,
                "self": f"https://acme.atlassian.net/rest/api/3/issue/{issue_id}",
                "key": key,
                "fields": {
                    "summary": title,
                    "status": {
                        "name": "Done",
                        "id": "10001",
                        "statusCategory": {"id": 3, "key": "done", "name": "Done"},
                    },
                    "resolution": {"id": "10000", "name": resolution},
                },
            },
            "changelog": {
                "id": str(self._rng.randint(10000, 99999)),
                "items": [
                    {
                        "field": "resolution",
                        "fieldtype": "jira",
                        "fieldId": "resolution",
                        "from": None,
                        "fromString": None,
                        "to": "10000",
                        "toString": resolution,
                    },
                    {
                        "field": "status",
                        "fieldtype": "jira",
                        "fieldId": "status",
                        "from": "3",
                        "fromString": "In Progress",
                        "to": "10001",
                        "toString": "Done",
                    },
                ],
            },
        }
        body = _dump(payload)
        headers = {
            "Content-Type": "application/json",
            "X-Atlassian-Webhook-Identifier": str(self._rng.getrandbits(48)),
            "X-Hub-Signature": f"sha256={hmac_sha256_hex(SECRETS['jira'], body)}",
        }
        return Delivery("jira", at, headers, body, f"Jira {key} closed ({resolution})")

    def github_closed(self, key: str, title: str, at: datetime, opened: datetime) -> Delivery:
        """`issues` closed (completed), for an issue keyed `owner/repo#number`."""
        repo, _, number = key.partition("#")
        owner, _, name = repo.partition("/")
        user = {"login": "sam-sre", "id": 583231, "type": "User"}
        payload = {
            "action": "closed",
            "issue": {
                "url": f"https://api.github.com/repos/{repo}/issues/{number}",
                "html_url": f"https://github.com/{repo}/issues/{number}",
                "id": self._rng.getrandbits(31),
                "number": int(number),
                "title": title,
                "user": user,
                "labels": [{"name": "postmortem"}],
                "state": "closed",
                "state_reason": "completed",
                "locked": False,
                "comments": 3,
                "created_at": opened.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "updated_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "closed_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "body": "Timeline, contributing factors and action items.",
            },
            "repository": {
                "id": 1296269,
                "name": name,
                "full_name": repo,
                "private": True,
                "owner": {"login": owner, "type": "Organization"},
                "html_url": f"https://github.com/{repo}",
            },
            "sender": user,
        }
        body = _dump(payload)
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": self._uuid(),
            "X-Hub-Signature-256": f"sha256={hmac_sha256_hex(SECRETS['github'], body)}",
        }
        return Delivery("github", at, headers, body, f"GitHub {key} closed")
