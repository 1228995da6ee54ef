"""Running the demo: a week of traffic through the webhook app into local trackers."""

from __future__ import annotations

import importlib.util
import random
import sqlite3
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select

from feedbackloop._loop import AsyncFeedbackLoop
from feedbackloop.connectors.datadog import DatadogSource
from feedbackloop.connectors.github import GitHubSource
from feedbackloop.connectors.jira import JiraSource
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.connectors.pagerduty import PagerDutySource
from feedbackloop.connectors.sentry import SentrySource
from feedbackloop.demo._scenario import START, Closure, Postmortem, week
from feedbackloop.demo._vendor import SECRETS, Delivery, Vendors
from feedbackloop.demo.rules import build_rules
from feedbackloop.errors import ConfigurationError, FeedbackLoopError
from feedbackloop.learnings import parse_postmortem
from feedbackloop.server import create_app
from feedbackloop.store import Store
from feedbackloop.store._schema import meta

__all__ = ["DEFAULT_DB", "DemoSummary", "TicketRow", "build_demo_loop", "run_demo", "summarize"]

DEFAULT_DB = Path("feedbackloop-demo.db")
"""Where the demo keeps its store (and its local trackers' tickets)."""

Progress = Callable[[int, int, str], None]


class _SimulatedClock:
    """The demo's clock: it reads the time of the delivery being handled."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def build_demo_loop(store: str, clock: Callable[[], datetime]) -> AsyncFeedbackLoop:
    """The demo's loop: the five sources with demo secrets, two local trackers.

    The trackers are `LocalTracker`s named like the real ones the rules would use:
    "jira" keys tickets `OPS-1` like Jira, "github" keys them `acme/postmortems#1` like
    GitHub, so Jira and GitHub webhooks about those tickets find them.
    """
    return AsyncFeedbackLoop(
        build_rules(),
        trackers={
            "jira": LocalTracker(name="jira", project="OPS", clock=clock),
            "github": LocalTracker(
                name="github", project="acme/postmortems", separator="#", clock=clock
            ),
        },
        sources=[
            SentrySource(client_secret=SECRETS["sentry"], organization="acme"),
            DatadogSource(webhook_token=SECRETS["datadog"]),
            PagerDutySource(webhook_secrets=SECRETS["pagerduty"]),
            GitHubSource(webhook_secret=SECRETS["github"]),
            JiraSource(webhook_secret=SECRETS["jira"], url="https://acme.atlassian.net"),
        ],
        store=store,
        clock=clock,
    )


@dataclass(frozen=True)
class TicketRow:
    """One ticket of the demo's backlog."""

    tracker: str
    key: str
    title: str
    status: str
    occurrences: int
    comments: int
    reopened: int


@dataclass
class DemoSummary:
    """What the week produced: the backlog, the noise reduction and (once it exists) the digest.

    `summarize()` builds it; the CLI prints it. Add new figures here and in `summarize()`.
    """

    deliveries: int
    duplicates: int
    signals: int
    outcomes: dict[str, int]
    tickets: list[TicketRow]
    effects: dict[str, int]
    since: datetime
    until: datetime
    digest: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def created(self) -> int:
        """Tickets created."""
        return self.effects.get("create", 0)

    @property
    def commented(self) -> int:
        """ "Still happening" comments added."""
        return self.effects.get("comment", 0)

    @property
    def reopened(self) -> int:
        """Tickets reopened on a regression."""
        return self.effects.get("reopen", 0)


def _digest(loop: AsyncFeedbackLoop, since: datetime, until: datetime) -> str | None:
    """The insights digest of the week, once `feedbackloop.insights` exists."""
    if importlib.util.find_spec("feedbackloop.insights") is None:
        return None
    insights = getattr(loop, "insights", None)
    if insights is None:
        return None
    report = insights(since=since, until=until)
    return str(report.to_markdown())


def summarize(
    loop: AsyncFeedbackLoop, *, since: datetime, until: datetime, deliveries: int, duplicates: int
) -> DemoSummary:
    """The demo's final step: read the backlog, the noise figures and the digest."""
    store = loop.store
    signals = store.signal_rows(since=since, until=until + timedelta(days=1))
    reopens: Counter[int] = Counter()
    done: Counter[str] = Counter()
    for effect in store.effects(status="done"):
        done[effect.kind] += 1
        if effect.kind == "reopen":
            reopens[int(effect.payload["link_id"])] += 1
    rows = []
    for link in store.links():
        if link.key is None:
            continue
        tracker = loop.trackers[link.tracker]
        comments = (
            len(tracker.ticket(link.key).comments) if isinstance(tracker, LocalTracker) else 0
        )
        status = link.status + (f" ({link.resolution})" if link.resolution else "")
        rows.append(
            TicketRow(
                link.tracker,
                link.key,
                link.title,
                status,
                link.occurrences,
                comments,
                reopens[link.id],
            )
        )
    return DemoSummary(
        deliveries=deliveries,
        duplicates=duplicates,
        signals=len(signals),
        outcomes=dict(Counter(str(row["outcome"]) for row in signals)),
        tickets=rows,
        effects=dict(done),
        since=since,
        until=until,
        digest=_digest(loop, since, until),
    )


def _closure(loop: AsyncFeedbackLoop, vendors: Vendors, step: Closure) -> Delivery | None:
    """The webhook a tracker would send when a developer closes the group's ticket."""
    links = [
        link
        for link in loop.store.links(tracker=step.tracker, status="open")
        if link.fingerprint == step.fingerprint and link.key is not None
    ]
    if not links:
        return None  # this seed never opened that ticket
    link = links[-1]
    assert link.key is not None
    if step.tracker == "github":
        opened = link.created_at or link.first_seen_at
        return vendors.github_closed(link.key, link.title, step.at, opened)
    return vendors.jira_closed(link.key, link.title, step.at, resolution=step.resolution)


_MARK = "written_by"
_DEMO = "feedbackloop demo"


def fresh(db: Path) -> None:
    """Delete the demo's earlier database (and SQLite's side files).

    Raises:
        ConfigurationError: `db` is something else (a real store, any other file):
            the demo never deletes what it did not write.
    """
    if db.exists() and not _written_by_demo(db):
        raise ConfigurationError(
            f"{db} exists and is not a database the demo wrote; pick another --db, or "
            "remove it yourself"
        )
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        path.unlink(missing_ok=True)


def _written_by_demo(db: Path) -> bool:
    try:
        with closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            found = connection.execute(
                "SELECT value FROM feedbackloop_meta WHERE key = ?", (_MARK,)
            ).fetchone()
    except sqlite3.Error:
        return False
    return bool(found == (_DEMO,))


def _mark(store: Store) -> None:
    """Say in the store that the demo wrote it (so that the next run may delete it)."""
    with store.transaction() as tx:
        marked = tx.connection.execute(select(meta.c.value).where(meta.c.key == _MARK))
        if marked.first() is None:
            tx.connection.execute(insert(meta).values(key=_MARK, value=_DEMO))


async def run_demo(
    *, seed: int = 7, db: Path = DEFAULT_DB, keep: bool = False, progress: Progress | None = None
) -> DemoSummary:
    """Play the seeded week through the webhook app into local trackers on SQLite.

    Every delivery is signed and POSTed to the app (in process, through httpx's ASGI
    transport), then the inbox is processed, as the app's worker would.

    Args:
        seed: Picks times, counts and ids; the same seed gives the same backlog.
        db: The SQLite file; deleted first unless `keep`.
        keep: Add to the existing database (every delivery is then a redelivery).
        progress: Called with (done, total, what) after each step.

    Returns:
        The summary of the week.

    Raises:
        ConfigurationError: `db` exists and the demo did not write it.
        StoreError: `db` cannot be opened.
        FeedbackLoopError: the app refused a delivery (a bug in the demo).
    """
    created = not keep or not db.exists()
    if not keep:
        fresh(db)
    steps = week(seed)
    clock = _SimulatedClock(START)
    vendors = Vendors(random.Random(seed + 1))  # noqa: S311 - a simulation, not security
    delivered = duplicates = 0
    async with build_demo_loop(f"sqlite:///{db}", clock) as loop:
        if created:
            _mark(loop.store)
        app = create_app(loop, worker=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            for done, step in enumerate(steps, start=1):
                clock.now = step.at
                if isinstance(step, Postmortem):
                    learning = parse_postmortem(
                        step.markdown, incident_ids=(step.incident,), recorded_at=step.at
                    )
                    await loop.record_learning(learning)
                    if progress is not None:
                        progress(done, len(steps), "Postmortem recorded: action items routed")
                    continue
                delivery = _closure(loop, vendors, step) if isinstance(step, Closure) else step
                if delivery is not None:
                    answer = await client.post(
                        f"/webhooks/{delivery.source}",
                        content=delivery.body,
                        headers=delivery.headers,
                    )
                    if answer.status_code != 202:
                        raise FeedbackLoopError(
                            f"the app refused {delivery.what}: {answer.status_code} {answer.text}"
                        )
                    delivered += 1
                    duplicates += bool(answer.json()["duplicate"])
                    await loop.process_pending()
                if progress is not None:
                    progress(done, len(steps), delivery.what if delivery else "")
        until = steps[-1].at if steps else START
        return summarize(
            loop, since=START, until=until, deliveries=delivered, duplicates=duplicates
        )
