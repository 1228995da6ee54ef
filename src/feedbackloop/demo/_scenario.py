"""A realistic week of operations traffic, seeded.

What happens, whatever the seed (the seed moves times, counts and ids):

- Sentry: a checkout timeout that never stops (daily "still happening" comments), a
  search bug fixed mid-week, an auth error that is fixed, closed, and regresses two days
  later (reopened), a sporadic error that never reaches the threshold, medium-level
  warnings, and staging and debug noise.
- Datadog: a CPU monitor that flaps all week (one burst makes a ticket), a critical
  checkout latency monitor, a low-priority disk monitor.
- PagerDuty: a P1 checkout outage (postmortem issue), a P3 search degradation; one
  delivery is sent twice, as vendors do.
- Jira and GitHub: developers close tickets the loop opened (one as Won't Do).
- The checkout outage's postmortem is written on Friday; its action items are routed
  into Jira by the rules, and the team closes two of the three before the week ends.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from feedbackloop.demo._vendor import Delivery, Vendors

__all__ = ["START", "Closure", "Postmortem", "Step", "week"]

START = datetime(2026, 3, 2, tzinfo=UTC)
"""The simulated week starts on Monday 2 March 2026, 00:00 UTC."""

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Closure:
    """A developer closes the ticket of a group; its key is looked up when it happens."""

    tracker: str
    fingerprint: str
    at: datetime
    resolution: str = "Done"


@dataclass(frozen=True)
class Postmortem:
    """The team records a postmortem (Markdown) for an incident."""

    incident: str
    markdown: str
    at: datetime


Step = Delivery | Closure | Postmortem

_CHECKOUT_POSTMORTEM = """\
# Postmortem: checkout outage

## Summary
Payments failed for 40 minutes: the payment gateway client had no timeout budget and
retried into a saturated connection pool.

## Contributing factors
- No timeout budget on gateway calls
- Retries without jitter

## Action items
- [ ] Add a timeout budget to the gateway client (owner: @dana, due: 2026-03-13)
- [ ] Jittered backoff for gateway retries (owner: @li, due: 2026-03-13)
- [ ] Alert on connection-pool saturation (owner: @sam, due: 2026-03-20)
"""


def _issue(number: int, project: str, title: str, **more: Any) -> dict[str, Any]:
    return {
        "id": str(4_509_000_000 + number),
        "short_id": f"{project.upper()}-{number}",
        "project": project,
        "project_id": 100 + number,
        "title": title,
        "culprit": more.pop("culprit", f"{project}.handlers"),
        "level": more.pop("level", "error"),
        "environment": more.pop("environment", "production"),
        "release": more.pop("release", f"{project}@2026.3.1"),
        **more,
    }


def _fingerprint(issue: dict[str, Any]) -> str:
    return f"sentry:{issue['id']}"


class _Week:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - a seeded simulation, not security
        self.vendors = Vendors(self.rng)
        self.steps: list[Step] = []

    def at(self, day: float, jitter_minutes: float = 0) -> datetime:
        jitter = self.rng.uniform(0, jitter_minutes) if jitter_minutes else 0
        return START + timedelta(days=day, minutes=jitter)

    def errors(
        self, issue: dict[str, Any], times: list[datetime], *, volatile: bool = False
    ) -> None:
        """A Sentry issue: `created` at the first time, an event alert at every time."""
        times = sorted(times)
        if not times:
            return
        first = times[0]
        issue.setdefault("first_seen", first)
        self.steps.append(
            self.vendors.sentry_issue("created", issue, first, first_seen=issue["first_seen"])
        )
        for moment in times:
            title = issue["title"]
            if volatile:  # the message carries numbers; Sentry groups them into one issue
                title = title.replace("{ms}", str(self.rng.randint(2000, 9000)))
            self.steps.append(self.vendors.sentry_event_alert(issue, moment, title))

    def spread(self, per_day: float, start_day: float, end_day: float) -> list[datetime]:
        """Times of a steady stream: about `per_day` a day, at random moments."""
        count = max(1, round(per_day * (end_day - start_day) * self.rng.uniform(0.8, 1.2)))
        return [self.at(self.rng.uniform(start_day, end_day)) for _ in range(count)]

    def burst(self, day: float, count: int, minutes: float) -> list[datetime]:
        """`count` times within `minutes` after `day`."""
        base = self.at(day)
        return [base + timedelta(minutes=self.rng.uniform(0, minutes)) for _ in range(count)]


def _sentry(week: _Week) -> None:
    checkout = _issue(
        1, "checkout", "TimeoutError: payment gateway did not answer after {ms}ms", level="fatal"
    )
    week.errors(checkout, week.burst(0.4, 4, 40) + week.spread(10, 0.5, 7), volatile=True)

    search = _issue(2, "search", "KeyError: 'facets'", culprit="search.api.results")
    week.errors(search, week.burst(0.8, 3, 30) + week.spread(6, 0.9, 3.4))
    week.steps.append(Closure("jira", _fingerprint(search), week.at(3.5, 60)))

    auth = _issue(3, "auth", "TokenExpiredError in refresh_session", culprit="auth.sessions")
    fixed = week.at(2.6, 30)
    week.errors(auth, week.burst(1.4, 5, 45) + week.spread(3, 1.5, 2.5))
    week.steps.append(Closure("jira", _fingerprint(auth), fixed))
    resolved = fixed + timedelta(minutes=10)
    week.steps.append(
        week.vendors.sentry_issue("resolved", auth, resolved, first_seen=auth["first_seen"])
    )
    regressed = week.burst(4.6, 4, 30)
    week.steps.append(
        week.vendors.sentry_issue("unresolved", auth, min(regressed), first_seen=auth["first_seen"])
    )
    for moment in regressed:
        week.steps.append(week.vendors.sentry_event_alert(auth, moment, auth["title"]))

    inventory = _issue(4, "api", "ConnectionResetError talking to inventory")
    week.errors(inventory, [week.at(day + 0.3, 600) for day in range(0, 7, 2)])

    smtp = _issue(5, "notifications", "SMTPServerDisconnected: retrying", level="warning")
    week.errors(smtp, week.spread(4, 0, 7))

    staging = _issue(6, "reports", "ZeroDivisionError in report_totals", environment="staging")
    week.errors(staging, week.spread(5, 0, 7))

    debug = _issue(7, "search", "Slow query on facets index", level="info")
    week.errors(debug, week.spread(3, 0, 7))


def _datadog(week: _Week) -> None:
    cpu = {
        "id": 2_710_011,
        "name": "High CPU on search-api",
        "priority": "P2",
        "query": "avg(last_5m):avg:system.cpu.user{service:search-api} > 85",
        "scope": "host:search-api-2",
        "tags": "env:production,service:search,team:discovery",
    }
    flaps = week.spread(3, 0, 7) + week.burst(3.3, 4, 50)
    for cycle, moment in enumerate(sorted(flaps), start=1):
        week.steps.append(week.vendors.datadog_monitor(cpu, "Triggered", moment, cycle))
        back = moment + timedelta(minutes=week.rng.uniform(3, 9))
        week.steps.append(week.vendors.datadog_monitor(cpu, "Recovered", back, cycle))

    latency = {
        "id": 2_710_012,
        "name": "Checkout p99 latency above 2s",
        "priority": "P1",
        "query": "percentile(last_10m):p99:trace.http.request{service:checkout} > 2",
        "scope": "service:checkout",
        "tags": "env:production,service:checkout,team:payments",
    }
    for cycle, day in enumerate((1.6, 5.7), start=1):
        start = week.at(day, 30)
        week.steps.append(week.vendors.datadog_monitor(latency, "Triggered", start, cycle))
        end = start + timedelta(minutes=week.rng.uniform(20, 50))
        week.steps.append(week.vendors.datadog_monitor(latency, "Recovered", end, cycle))
    week.steps.append(Closure("jira", "datadog:2710012", week.at(2.2, 60), "Won't Do"))

    disk = {
        "id": 2_710_013,
        "name": "Disk usage above 80% on db-1",
        "priority": "P4",
        "query": "avg(last_15m):avg:system.disk.in_use{host:db-1} > 0.8",
        "scope": "host:db-1",
        "tags": "env:production,service:db,team:platform",
    }
    for cycle, moment in enumerate(sorted(week.spread(1.5, 0, 7)), start=1):
        week.steps.append(week.vendors.datadog_monitor(disk, "Triggered", moment, cycle))


def _pagerduty(week: _Week) -> None:
    outage: dict[str, Any] = {
        "id": "Q1CHKOUT7",
        "number": 311,
        "key": "checkout-payments-failing",
        "title": "Checkout outage: payments failing",
        "service": "Checkout",
        "service_id": "PCHKOUT",
        "team": "Payments",
        "priority": "P1",
        "urgency": "high",
        "responder": "Riley On-Call",
        "created_at": week.at(1.62, 20),
    }
    degraded: dict[str, Any] = {
        "id": "Q2SRCHLAT",
        "number": 312,
        "key": "search-latency",
        "title": "Search latency degraded",
        "service": "Search",
        "service_id": "PSEARCH",
        "team": "Discovery",
        "priority": "P3",
        "urgency": "low",
        "responder": "Kim On-Call",
        "created_at": week.at(3.3, 30),
    }
    for incident, ack, fix in ((outage, 4, 55), (degraded, 12, 140)):
        created: datetime = incident["created_at"]
        triggered = week.vendors.pagerduty("incident.triggered", incident, created)
        acknowledged = created + timedelta(minutes=week.rng.uniform(1, ack))
        resolved = created + timedelta(minutes=week.rng.uniform(fix * 0.7, fix * 1.3))
        week.steps.append(triggered)
        week.steps.append(week.vendors.pagerduty("incident.acknowledged", incident, acknowledged))
        week.steps.append(week.vendors.pagerduty("incident.resolved", incident, resolved))
        # PagerDuty retried the trigger (its first attempt timed out): same webhook id.
        week.steps.append(
            Delivery(
                triggered.source,
                created + timedelta(seconds=30),
                triggered.headers,
                triggered.body,
                "PagerDuty redelivery",
            )
        )
    week.steps.append(Closure("github", "pagerduty:Q1CHKOUT7", week.at(4.1, 120)))
    week.steps.append(Postmortem("Q1CHKOUT7", _CHECKOUT_POSTMORTEM, week.at(4.2, 60)))
    # Action items are numbered in the order the store records them (a fresh demo db).
    week.steps.append(Closure("jira", "action-item:1", week.at(5.4, 120)))
    week.steps.append(Closure("jira", "action-item:2", week.at(6.1, 120)))


def week(seed: int) -> list[Step]:
    """The week's traffic for `seed`, in time order."""
    plan = _Week(seed)
    _sentry(plan)
    _datadog(plan)
    _pagerduty(plan)
    return sorted(plan.steps, key=lambda step: step.at)
