"""The loop: enrich, record, route and act — one async core, and a sync face for scripts.

`AsyncFeedbackLoop` is the core; `FeedbackLoop` runs the same core on an event loop of
its own in a background thread, so a plain script needs no asyncio knowledge.
"""

from __future__ import annotations

import hashlib
import os
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import anyio
import anyio.from_thread
import pluggy
from anyio.from_thread import BlockingPortal
from pydantic import TypeAdapter
from sqlalchemy.exc import OperationalError

from feedbackloop._effects import EffectResult, EffectRunner, _lookup
from feedbackloop._lifecycle import plan_ticket
from feedbackloop._models import (
    Incident,
    Learning,
    Signal,
    SignalStatus,
    TicketChange,
    TicketChangeKind,
    TicketRef,
)
from feedbackloop.connectors import (
    Escalator,
    Event,
    Headers,
    Notifier,
    PollingSource,
    Source,
    TicketReader,
    Tracker,
)
from feedbackloop.errors import ConfigurationError, PayloadError
from feedbackloop.fingerprint import theme_of
from feedbackloop.insights import DigestPost, Options, Report, read_report
from feedbackloop.insights._digest import post_digest as _post_digest
from feedbackloop.insights._digest import resolve_target
from feedbackloop.learnings import (
    RecordedLearning,
    TrackedActionItem,
    follow_ticket_change,
    parse_postmortem,
    tracked_action_items,
)
from feedbackloop.learnings._tracking import nudge_action_items as _nudge_action_items
from feedbackloop.learnings._tracking import record_learning as _record_learning
from feedbackloop.logs import get_logger
from feedbackloop.plugins import (
    action_for,
    actions,
    connectors,
    enrich_signal,
    get_plugin_manager,
    notify,
    plugin_manager_with,
)
from feedbackloop.rules import (
    Action,
    Comment,
    Decision,
    Drop,
    Escalate,
    Notify,
    OpenTicket,
    Outcome,
    Rule,
    RuleMatch,
    RuleSet,
)
from feedbackloop.settings import env_prefix
from feedbackloop.store import (
    DEFAULT_STORE_URL,
    DeadLetter,
    Delivery,
    Effect,
    Store,
    StoreTransaction,
    TicketLink,
)
from feedbackloop.store._batch import BatchTransaction
from feedbackloop.store._store import _reason

__all__ = ["AsyncFeedbackLoop", "FeedbackLoop", "IngestOutcome"]

_log = get_logger("loop")
_PRUNE_EVERY = 5_000
"""Signals between two prunings of the window counters."""
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """What ingesting one event did.

    Attributes:
        event_key: The event's identity in the store (source, delivery id and position
            for webhooks; a digest of the content for events ingested from code).
        event: The event, after enrichment.
        decision: What the rules decided (signals only).
        effects: The effects carried out (or left for later, or dead-lettered).
        tickets: The tickets touched.
        duplicate: True when the event had been ingested before: nothing changed.
    """

    event_key: str
    event: Event
    decision: Decision | None = None
    effects: tuple[EffectResult, ...] = ()
    tickets: tuple[TicketRef, ...] = ()
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Accepted:
    """A webhook delivery that was verified, read and persisted to the inbox."""

    source: str
    delivery_id: str
    inbox_id: int
    new: bool
    events: int


@dataclass
class _Planned:
    effect_ids: list[int] = field(default_factory=list)
    link_ids: list[int] = field(default_factory=list)


def _utcnow() -> datetime:
    return datetime.now(UTC)


_DEADLOCK_ATTEMPTS = 3
"""Transactions one signal's ingestion tries before a deadlock is the caller's."""


def _deadlocked(exc: OperationalError) -> bool:
    """Whether the database rolled the transaction back to break a deadlock (or a
    serialization failure): starting it again is the remedy."""
    return getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")


_UNAVAILABLE_CLASSES = ("08", "40", "53", "57", "58")
"""PostgreSQL's SQLSTATE classes of a database that cannot serve now (connection,
rollback, resources, operator intervention, system error), unlike one refusing a value."""


def _unavailable(exc: OperationalError) -> bool:
    """Whether the store could not serve at all (everything should wait), rather than
    refusing one row (PostgreSQL: an index entry too large, say): SQLite's operational
    errors (locked, I/O) are all of the first kind."""
    state = getattr(exc.orig, "sqlstate", None)
    return exc.connection_invalidated or state is None or state[:2] in _UNAVAILABLE_CLASSES


def _content_key(prefix: str, event: Event) -> str:
    digest = hashlib.sha256(
        f"{type(event).__name__}\x1f{event.model_dump_json()}".encode()
    ).hexdigest()
    return f"{prefix}:{digest[:32]}"


class AsyncFeedbackLoop:
    """The loop for services: ingest events, handle webhooks, keep tickets alive.

    Args:
        rules: The rule set that routes signals.
        trackers: Trackers by name (`{"jira": JiraTracker.from_env()}`). A
            `LocalTracker` without a store of its own keeps its tickets in this loop's.
        notifiers: Notifiers by name (`{"slack": SlackNotifier.from_env()}`).
        escalators: Escalators by name (`{"pagerduty": PagerDutyEscalator.from_env()}`).
        sources: Webhook sources, looked up by their `name`. By default, every source
            registered by a plugin (the built-ins included) whose settings appear in the
            environment (`FEEDBACKLOOP_SENTRY_…`), built with `.from_env()`.
        store: A store URL (`sqlite:///feedbackloop.db` by default, `sqlite://` in
            memory, `postgresql://…`) or a `Store`.
        clock: Returns the current time; for tests. Rules judge by each signal's
            `occurred_at`; the clock stamps what the loop records.
        max_attempts: How often an effect is tried before it becomes a dead letter
            (each try includes the HTTP layer's own retries), and how often a delivery
            whose events cannot be routed (a rule raising, a value the store refuses)
            is claimed before it is marked failed, with the error.
        lease: How long a worker owns a delivery or effect it claimed.
        plugins: Whose hooks enrich signals, observe the loop and execute custom
            actions: a plugin manager, or a list of plugin objects (modules or objects
            with `@feedbackloop.hookimpl` functions) to use besides the installed ones.
            By default, the installed plugins (entry points) only.

    Use it as an async context manager (or call `aclose()`): it closes the store and
    the connectors' HTTP clients.
    """

    def __init__(
        self,
        rules: RuleSet,
        *,
        trackers: Mapping[str, Tracker] | None = None,
        notifiers: Mapping[str, Notifier] | None = None,
        escalators: Mapping[str, Escalator] | None = None,
        sources: Iterable[Source] | None = None,
        store: str | Store = DEFAULT_STORE_URL,
        clock: Callable[[], datetime] | None = None,
        max_attempts: int = 3,
        lease: timedelta = timedelta(minutes=5),
        plugins: pluggy.PluginManager | Iterable[object] | None = None,
    ) -> None:
        if not isinstance(rules, RuleSet):
            raise ConfigurationError(
                f"rules must be a feedbackloop.rules.RuleSet, not {type(rules).__name__}"
            )
        self.rules = rules
        self.trackers: dict[str, Tracker] = _connectors("trackers", trackers, Tracker)
        self.notifiers: dict[str, Notifier] = _connectors("notifiers", notifiers, Notifier)
        self.escalators: dict[str, Escalator] = _connectors("escalators", escalators, Escalator)
        if plugins is None:
            self.plugins = get_plugin_manager()
        elif isinstance(plugins, pluggy.PluginManager):
            self.plugins = plugins
        else:
            self.plugins = plugin_manager_with(*plugins)
        chosen = default_sources(self.plugins) if sources is None else sources
        self.sources: dict[str, Source] = {source.name: source for source in chosen}
        self._owns_store = not isinstance(store, Store)
        self.store = store if isinstance(store, Store) else Store(store)
        self.clock = clock or _utcnow
        self.lease = lease
        self.max_attempts = max_attempts
        for tracker in self.trackers.values():
            attach = getattr(tracker, "attach", None)
            if callable(attach):
                attach(self.store)
        self._runner = EffectRunner(
            self.store,
            trackers=self.trackers,
            notifiers=self.notifiers,
            escalators=self.escalators,
            sources=self.sources,
            custom=actions(pm=self.plugins),
            clock=self.clock,
            max_attempts=max_attempts,
            on_done=self._executed,
            on_failed=self._failed,
        )
        self._closed = False
        self._recorded = 0

    def __repr__(self) -> str:
        return (
            f"AsyncFeedbackLoop(rules={len(self.rules)}, trackers={sorted(self.trackers)}, "
            f"sources={sorted(self.sources)}, store={self.store!r})"
        )

    async def __aenter__(self) -> AsyncFeedbackLoop:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connectors' HTTP clients and, if the loop opened it, the store."""
        if self._closed:
            return
        self._closed = True
        for connector in [
            *self.trackers.values(),
            *self.notifiers.values(),
            *self.escalators.values(),
            *self.sources.values(),
        ]:
            closer = getattr(connector, "aclose", None)
            if callable(closer):
                result = closer()
                if isinstance(result, Awaitable):
                    await result
        if self._owns_store:
            self.store.close()

    # --- webhooks -----------------------------------------------------------------------

    def source(self, name: str) -> Source:
        """The source named `name`.

        Raises:
            ConfigurationError: no such source in this loop.
        """
        found: Source = _lookup(self.sources, name, "source")
        return found

    def accept_webhook(self, source: str, headers: Headers, body: bytes) -> Accepted:
        """Verify, read and persist a delivery, without processing it yet.

        This is what the webhook app does before answering 202; `process_pending()`
        (the app's background worker) does the rest.

        Raises:
            ConfigurationError: unknown source.
            SignatureError: the signature is missing or wrong.
            PayloadError: the body cannot be read.
        """
        delivery_id, events = self.check_webhook(source, headers, body)
        inbox_id, new = self.store.put_delivery(
            source, delivery_id, dict(headers), body, now=self.clock()
        )
        return Accepted(source, delivery_id, inbox_id, new, events)

    def check_webhook(self, source: str, headers: Headers, body: bytes) -> tuple[str, int]:
        """Verify and read a delivery without storing it: its delivery id and event count.

        Pure (no I/O): the webhook app runs it before persisting a batch of deliveries.

        Raises:
            ConfigurationError: unknown source.
            SignatureError: the signature is missing or wrong.
            PayloadError: the body cannot be read.
        """
        found = self.source(source)
        found.verify(headers, body)
        events = found.parse(headers, body)
        return found.delivery_id(headers, body), len(events)

    async def handle_webhook(
        self, source: str, headers: Headers, body: bytes
    ) -> list[IngestOutcome]:
        """Verify, parse, persist and process one webhook delivery.

        A redelivery (same delivery id) changes nothing and returns no outcomes. Only
        this delivery is processed, whatever waits in the inbox beside it (the
        app's worker, or `process_pending()`, takes care of those).

        Raises:
            ConfigurationError: unknown source.
            SignatureError: the signature is missing or wrong.
            PayloadError: the body cannot be read.
        """
        accepted = self.accept_webhook(source, headers, body)
        if not accepted.new:
            return []
        claimed = self.store.claim_deliveries(
            now=self.clock(), lease=self.lease, ids=[accepted.inbox_id], limit=1
        )
        outcomes: list[IngestOutcome] = []
        for delivery in claimed:  # none when another worker holds it already
            outcomes = await self._process_delivery(
                delivery.id, delivery.source, delivery.delivery_id, delivery.headers, delivery.body
            )
        return outcomes

    async def process_pending(self, *, limit: int = 50) -> int:
        """Process deliveries waiting in the inbox (and due effects); returns how many.

        Up to `limit` deliveries are claimed, and their events routed in batches as
        `ingest_many` routes them. Deliveries persisted before a crash, or leased by a
        worker that died, are processed here.
        """
        deliveries = self.store.claim_deliveries(now=self.clock(), lease=self.lease, limit=limit)
        # Their events are routed together, in batches, as `ingest_many` does.
        keyed: list[tuple[str, Event]] = []
        parsed: list[Delivery] = []
        for delivery in deliveries:
            events = self._parse_delivery(
                delivery.id, delivery.source, delivery.delivery_id, delivery.headers, delivery.body
            )
            if events is None:
                continue
            prefix = f"{delivery.source}:{delivery.delivery_id}"
            keyed += [(f"{prefix}:{index}", event) for index, event in enumerate(events)]
            parsed.append(delivery)
        try:
            await self._ingest_keyed(keyed)
        except Exception:
            # One event that cannot be routed (a rule or plugin raising, a value the
            # store refuses) must not hold back the others: one by one, the others are
            # done, and the first error is raised once they are. What the batches kept
            # is recognised by its keys and not routed twice.
            _log.warning("batch.retried_one_by_one", deliveries=len(parsed))
            failure: Exception | None = None
            for delivery in parsed:
                try:
                    await self._process_delivery(
                        delivery.id,
                        delivery.source,
                        delivery.delivery_id,
                        delivery.headers,
                        delivery.body,
                    )
                except Exception as exc:
                    if isinstance(exc, OperationalError) and _unavailable(exc):
                        raise  # the store is unavailable: all of them wait for their lease
                    failure = failure or exc
                    self._give_up_on(delivery, exc)
            if failure is not None:
                raise failure from None
        else:
            self.store.finish_deliveries([delivery.id for delivery in parsed], now=self.clock())
        await self.run_effects()
        return len(deliveries)

    def _give_up_on(self, delivery: Delivery, error: Exception) -> None:
        """Mark a delivery that failed its last allowed attempt failed, with the error;
        one with attempts left is claimed again when its lease runs out."""
        if delivery.attempts < self.max_attempts:
            return
        # A database's message may quote the row (PostgreSQL's DETAIL): its first line.
        reason = f"{type(error).__name__}: {_reason(error)}"
        self.store.finish_delivery(delivery.id, now=self.clock(), error=reason)
        _log.error(
            "delivery.failed",
            source=delivery.source,
            delivery_id=delivery.delivery_id,
            attempts=delivery.attempts,
            error=reason,
        )

    async def _process_delivery(
        self, inbox_id: int, source: str, delivery_id: str, headers: Headers, body: bytes
    ) -> list[IngestOutcome]:
        events = self._parse_delivery(inbox_id, source, delivery_id, headers, body)
        if events is None:
            return []
        outcomes = [
            await self._ingest(event, f"{source}:{delivery_id}:{index}")
            for index, event in enumerate(events)
        ]
        self.store.finish_delivery(inbox_id, now=self.clock())
        return outcomes

    def _parse_delivery(
        self, inbox_id: int, source: str, delivery_id: str, headers: Headers, body: bytes
    ) -> list[Event] | None:
        """The delivery's events; None when it cannot be read (it is marked failed)."""
        try:
            return self.source(source).parse(headers, body)
        except (ConfigurationError, PayloadError) as exc:
            self.store.finish_delivery(inbox_id, now=self.clock(), error=str(exc))
            _log.error("delivery.failed", source=source, delivery_id=delivery_id, error=str(exc))
            return None

    # --- events from code -----------------------------------------------------------------

    async def ingest(self, event: Event) -> IngestOutcome:
        """Enrich, record, route and act on one event.

        Ingesting an identical event twice (same content) is idempotent.
        """
        if not isinstance(event, Signal | Incident | TicketChange):
            raise ConfigurationError(
                f"ingest() takes a Signal, Incident or TicketChange, not {type(event).__name__}"
            )
        return await self._ingest(event, _content_key("direct", event))

    async def ingest_many(
        self, events: Iterable[Event], *, batch: int = 500
    ) -> list[IngestOutcome]:
        """Ingest events in order, routing up to `batch` signals per store transaction.

        Each run of signals is recorded, routed and planned in one transaction, which
        reads a group's window counter and ticket link once and writes them back once
        (much faster than one transaction per signal); the effects planned run after
        it commits. Incidents and ticket changes are ingested one by one, in their
        place. The outcome is the one ingesting the events one by one gives, except
        that a ticket planned in a batch is created after the batch: later signals of
        its group in the same batch count towards it without commenting.

        Raises:
            ConfigurationError: an event is not a Signal, Incident or TicketChange.
        """
        events = list(events)
        for event in events:
            if not isinstance(event, Signal | Incident | TicketChange):
                raise ConfigurationError(
                    "ingest_many() takes Signals, Incidents and TicketChanges, "
                    f"not {type(event).__name__}"
                )
        return await self._ingest_keyed(
            [(_content_key("direct", event), event) for event in events], batch=batch
        )

    async def poll(self, source: str, *, since: datetime) -> list[IngestOutcome]:
        """Poll a source for events since `since` and ingest them.

        Raises:
            ConfigurationError: the source is unknown or cannot be polled.
        """
        found = self.source(source)
        if not isinstance(found, PollingSource):
            raise ConfigurationError(f"source {source!r} cannot be polled")
        outcomes = []
        async for event in found.poll(since):
            outcomes.append(await self._ingest(event, _content_key(f"poll:{source}", event)))
        return outcomes

    # --- what the loop knows ---------------------------------------------------------------

    def tickets(
        self,
        *,
        status: Literal["pending", "open", "closed"] | None = None,
        tracker: str | None = None,
    ) -> list[TicketLink]:
        """The loop's ticket links, oldest first."""
        return self.store.links(status=status, tracker=tracker)

    def dead_letters(self) -> list[DeadLetter]:
        """Effects that failed for good and wait for a retry."""
        return self.store.dead_letters()

    async def retry(self, letter_ids: Sequence[int] | None = None) -> list[EffectResult]:
        """Put dead letters (all, or the given ones) back in the outbox and run them."""
        ids = (
            [letter.id for letter in self.store.dead_letters()]
            if letter_ids is None
            else list(letter_ids)
        )
        effect_ids = [
            effect_id
            for letter_id in ids
            if (effect_id := self.store.requeue_dead_letter(letter_id, now=self.clock()))
            is not None
        ]
        return await self._run(effect_ids)

    def prune(self, now: datetime | None = None) -> int:
        """Forget window-counter buckets too old for any threshold; returns how many.

        The loop calls it every few thousand signals; call it yourself after a backfill.
        `now` defaults to the clock.
        """
        windows = [rule.threshold.within for rule in self.rules if rule.threshold is not None]
        horizon = max(windows, default=timedelta(0)) + timedelta(seconds=1)
        with self.store.transaction() as tx:
            return tx.prune_occurrences((now or self.clock()) - horizon)

    async def run_effects(self, *, limit: int = 100) -> list[EffectResult]:
        """Carry out due effects in the outbox (planned earlier, or left for a retry)."""
        effects = self.store.claim_effects(now=self.clock(), lease=self.lease, limit=limit)
        return await self._runner.run_all(effects)

    # --- learnings and insights -----------------------------------------------------------

    async def record_learning(self, learning: Learning) -> RecordedLearning:
        """Record a learning and route each open action item through the rules.

        Each item becomes a signal of kind `action_item` from source `postmortem`, so
        the team's rules decide where it lands; it then follows its ticket (closed
        when the ticket closes). Recording the same learning twice changes nothing.
        See `feedbackloop.learnings`.
        """
        return await _record_learning(self, learning)

    async def read_ticket(self, tracker: str, key: str) -> str:
        """Ticket `key`'s text as Markdown (`# title`, then the body), read from its tracker.

        Raises:
            ConfigurationError: this loop has no tracker `tracker`, or it cannot read
                tickets (it does not implement `TicketReader`).
            NotFoundError: the tracker has no ticket `key`.
        """
        found = self.trackers.get(tracker)
        if found is None:
            known = ", ".join(sorted(self.trackers)) or "none"
            raise ConfigurationError(f"no tracker {tracker!r} in this loop (trackers: {known})")
        if not isinstance(found, TicketReader):
            raise ConfigurationError(
                f"tracker {tracker!r} ({type(found).__name__}) cannot read tickets: "
                "it does not implement TicketReader.read"
            )
        return await found.read(key)

    async def learn_from_ticket(
        self, tracker: str, key: str, *, incident_ids: Sequence[str] = ()
    ) -> RecordedLearning:
        """Record the postmortem written in a ticket as a learning (see `record_learning`).

        The ticket (the postmortem issue the loop opened, say) is read through its
        tracker and parsed like a Markdown postmortem (`parse_postmortem`); its action
        items are routed through the rules.

        Args:
            tracker: The name of one of this loop's trackers.
            key: The ticket's key (`OPS-12`, `acme/postmortems#7`, `LOCAL-3`).
            incident_ids: Incidents it is about, besides those it names itself.

        Raises:
            ConfigurationError: no such tracker, or it cannot read tickets.
            NotFoundError: the tracker has no ticket `key`.
            ValidationError: the ticket has no title or summary to summarise it.
        """
        text = await self.read_ticket(tracker, key)
        learning = parse_postmortem(text, incident_ids=incident_ids)
        return await self.record_learning(learning)

    def action_items(
        self, *, status: Literal["open", "closed"] | None = None
    ) -> list[TrackedActionItem]:
        """Postmortem action items as tracked, oldest first."""
        return tracked_action_items(self.store, status=status)

    def insights(
        self,
        since: datetime | timedelta = timedelta(days=7),
        until: datetime | None = None,
        *,
        service: str | None = None,
        team: str | None = None,
        source: str | None = None,
        options: Options | None = None,
    ) -> Report:
        """The figures for `[since, until)` against the period before (see `feedbackloop.insights`).

        Args:
            since: The start, or how long the period lasts (a timedelta; 7 days by default).
            until: The end (the loop's clock by default).
            service: Only this service.
            team: Only this team (the `team` label of signals and incidents).
            source: Only this source (sentry, datadog, pagerduty…).
            options: The knobs of the definitions (noise windows, stale items…).

        Raises:
            ValidationError: the period is empty or a bound has no time zone.
        """
        return read_report(
            self.store,
            since=since,
            until=until or self.clock(),
            service=service,
            team=team,
            source=source,
            options=options,
        )

    async def post_digest(
        self,
        to: str | Notifier | Tracker,
        *,
        since: datetime | timedelta = timedelta(days=7),
        until: datetime | None = None,
        service: str | None = None,
        team: str | None = None,
        source: str | None = None,
        title: str | None = None,
        channel: str | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> DigestPost:
        """Post the Markdown digest to a notifier (Slack) or as an issue in a tracker.

        `to` is a notifier or tracker of this loop, by name or itself. Meant to be
        called by the user's own scheduler; posting the same period twice as an issue
        finds the first issue instead of opening another. `fields` are the tracker's
        (GitHub `repo`, Jira `project`).

        Raises:
            ConfigurationError: `to` names no notifier or tracker of this loop.
        """
        target = resolve_target(to, self.notifiers, self.trackers)
        report = self.insights(since, until, service=service, team=team, source=source)
        return await _post_digest(report, target, title=title, channel=channel, fields=fields)

    async def nudge_action_items(
        self,
        notify: Notify | str,
        *,
        stale_after: timedelta = timedelta(days=14),
        at: datetime | None = None,
    ) -> list[TrackedActionItem]:
        """Nudge, through a notifier, every overdue or stale open action item.

        At most one nudge per item and day; returns the items nudged.

        Raises:
            ConfigurationError: the notifier is not one of this loop's.
        """
        return await _nudge_action_items(self, notify, stale_after=stale_after, at=at)

    # --- the core -----------------------------------------------------------------------

    async def _ingest(self, event: Event, key: str) -> IngestOutcome:
        if isinstance(event, Signal):
            return await self._ingest_signal(event, key)
        notify("signal_received", pm=self.plugins, event=event)
        if isinstance(event, Incident):
            with self.store.transaction() as tx:
                tx.save_incident(_merged(tx.incident(event.id), event), now=self.clock())
            return IngestOutcome(key, event)
        return await self._ingest_change(event, key)

    async def _ingest_keyed(
        self, keyed: Sequence[tuple[str, Event]], *, batch: int = 500
    ) -> list[IngestOutcome]:
        """Ingest (key, event) pairs in order: runs of signals in batches, the rest alone."""
        outcomes: list[IngestOutcome] = []
        run: list[tuple[str, Signal]] = []
        for key, event in keyed:
            if isinstance(event, Signal):
                run.append((key, event))
                if len(run) < max(batch, 1):
                    continue
            if run:
                outcomes += await self._ingest_signals(run)
                run = []
            if not isinstance(event, Signal):
                outcomes.append(await self._ingest(event, key))
        if run:
            outcomes += await self._ingest_signals(run)
        return outcomes

    async def _ingest_signal(self, signal: Signal, key: str) -> IngestOutcome:
        signal = enrich_signal(signal, pm=self.plugins)
        notify("signal_received", pm=self.plugins, event=signal)
        now = self.clock()
        for attempt in range(_DEADLOCK_ATTEMPTS):
            try:
                with self.store.transaction() as tx:
                    # Recording first makes a concurrent duplicate wait here, then see it.
                    if not tx.record_signal(key, signal, rules=(), outcome="pending", now=now):
                        return IngestOutcome(key, signal, duplicate=True)
                    decision, planned = self._route(tx, key, signal, now)
                break
            except OperationalError as exc:
                # PostgreSQL: a batch locks a group's link, then its counters; this
                # path the other way round. The one rolled back starts again.
                if not _deadlocked(exc) or attempt == _DEADLOCK_ATTEMPTS - 1:
                    raise
                _log.warning("signal.retried_after_deadlock", key=key, attempt=attempt + 1)
        notify("decision_made", pm=self.plugins, signal=signal, decision=decision)
        self._count_recorded(1, signal.occurred_at)
        _log.debug("signal.routed", key=key, rules=decision.rules, effects=len(planned.effect_ids))
        results = await self._run(planned.effect_ids)
        return IngestOutcome(
            key, signal, decision, tuple(results), self._touched(planned.link_ids, results)
        )

    def _route(
        self,
        tx: StoreTransaction,
        key: str,
        signal: Signal,
        now: datetime,
        matching: Sequence[tuple[Rule, str]] | None = None,
    ) -> tuple[Decision, _Planned]:
        """Evaluate the rules for a recorded signal and plan what they decided."""
        decision = self.rules.evaluate(signal, counts=tx, matching=matching)
        planned = _Planned()
        for match in decision.matches:
            if match.outcome is Outcome.HELD:
                # Below the threshold, but the problem already has a ticket: it counts.
                link = tx.current_link(match.rule, match.group_key)
                if link is not None and link.status in ("pending", "open"):
                    tx.count_occurrence(link.id, at=signal.occurred_at, now=now)
                    planned.link_ids.append(link.id)
                continue
            if match.outcome is not Outcome.FIRED:
                continue
            for index, action in enumerate(match.actions):
                self._plan(tx, action, match, signal, f"{key}:{match.rule}:{index}", now, planned)
        tx.set_signal_outcome(
            key,
            rules=decision.rules,
            outcome=_outcome_of(decision),
            link_id=planned.link_ids[0] if planned.link_ids else None,
        )
        return decision, planned

    async def _ingest_signals(self, pairs: Sequence[tuple[str, Signal]]) -> list[IngestOutcome]:
        """`_ingest_signal` for many signals in one `BatchTransaction`."""
        signals = [enrich_signal(signal, pm=self.plugins) for _, signal in pairs]
        for signal in signals:
            notify("signal_received", pm=self.plugins, event=signal)
        now = self.clock()
        routed: list[tuple[Decision, _Planned] | None] = []
        try:
            with self.store.transaction() as plain:
                tx = BatchTransaction(plain.connection)
                keyed = [(key, signal) for (key, _), signal in zip(pairs, signals, strict=True)]
                fresh = tx.record_signals(keyed, now=now)
                # Which rules match decides which groups' state to read: all at once.
                matched = [
                    self.rules.matching(signal) if new else None
                    for signal, new in zip(signals, fresh, strict=True)
                ]
                tx.preload(
                    _groups(signals, matched),
                    first_at=min(signal.occurred_at for signal in signals),
                )
                for (key, signal), found in zip(keyed, matched, strict=True):
                    routed.append(
                        None if found is None else self._route(tx, key, signal, now, found)
                    )
                tx.flush()
                touched = tx.links_by_id(
                    i for done in routed if done is not None for i in done[1].link_ids
                )
        except OperationalError:
            # PostgreSQL: two batches locking links in opposite orders deadlock, and one
            # is rolled back; its signals then go one by one (nothing of it was kept).
            _log.warning("batch.retried_one_by_one", signals=len(pairs))
            return [await self._ingest_signal(signal, key) for key, signal in pairs]
        for signal, done in zip(signals, routed, strict=True):
            if done is not None:
                notify("decision_made", pm=self.plugins, signal=signal, decision=done[0])
        self._count_recorded(sum(done is not None for done in routed), signals[-1].occurred_at)
        effect_ids = [i for done in routed if done is not None for i in done[1].effect_ids]
        results = {result.effect_id: result for result in await self._run(effect_ids)}
        # Only the effects' ticket creations change what a link refers to: links still
        # pending when the batch ended are read again, the others are as it left them.
        refs = {link_id: link.ref() for link_id, link in touched.items()}
        refs.update(self._refs_of(i for i, link in touched.items() if link.status == "pending"))
        outcomes = []
        for (key, _), signal, done in zip(pairs, signals, routed, strict=True):
            if done is None:
                outcomes.append(IngestOutcome(key, signal, duplicate=True))
                continue
            decision, planned = done
            mine = tuple(results[i] for i in planned.effect_ids if i in results)
            tickets = _tickets(mine, [refs.get(link_id) for link_id in planned.link_ids])
            outcomes.append(IngestOutcome(key, signal, decision, mine, tickets))
        return outcomes

    def _plan(
        self,
        tx: StoreTransaction,
        action: Action,
        match: RuleMatch,
        signal: Signal,
        effect_key: str,
        now: datetime,
        planned: _Planned,
    ) -> None:
        rule, group_key = match.rule, match.group_key
        effect_id: int | None = None
        if isinstance(action, OpenTicket):
            step = plan_ticket(
                tx,
                action=action,
                rule=rule,
                group_key=group_key,
                signal=signal,
                effect_key=effect_key,
                now=now,
                seen=match.count or 1,
            )
            if step is not None:
                planned.link_ids.append(step.link_id)
                effect_id = step.effect_id
        elif isinstance(action, Comment):
            link = tx.open_link_for_theme(
                fingerprint=signal.fingerprint, theme=theme_of(signal.title)
            )
            if link is not None and link.tracker == action.tracker:
                effect_id = tx.add_effect(
                    effect_key,
                    "comment_ticket",
                    {"link_id": link.id, "body": action.render_body(signal)},
                    now=now,
                )
                planned.link_ids.append(link.id)
        elif isinstance(action, Notify):
            effect_id = tx.add_effect(
                effect_key,
                "notify",
                {
                    "notifier": action.notifier,
                    "channel": action.channel,
                    **_message_fields(signal, rule, action.render_text(signal)),
                },
                now=now,
            )
        elif isinstance(action, Escalate):
            severity = action.severity or signal.severity
            effect_id = tx.add_effect(
                effect_key,
                "escalate",
                {
                    "escalator": action.escalator,
                    "dedup_key": f"{rule}:{group_key}",
                    "action": "resolve" if signal.status is SignalStatus.RESOLVED else "trigger",
                    **_message_fields(signal, rule, None),
                    "severity": severity.value,
                },
                now=now,
            )
        elif isinstance(action, Drop):
            return
        else:
            entry = action_for(action, pm=self.plugins)
            kind = entry.name if entry is not None else type(action).__name__
            data = TypeAdapter(type(action)).dump_python(action, mode="json")
            effect_id = tx.add_effect(
                effect_key,
                kind,
                {"action": data, "signal": signal.model_dump(mode="json"), "rule": rule},
                now=now,
            )
        if effect_id is not None:
            planned.effect_ids.append(effect_id)

    async def _ingest_change(self, change: TicketChange, key: str) -> IngestOutcome:
        now = self.clock()
        effect_ids: list[int] = []
        with self.store.transaction() as tx:
            link = tx.link_for_ticket(change.tracker, change.key)
            follow_ticket_change(tx, change, link)  # action items follow their tickets
            if link is None:
                return IngestOutcome(key, change)
            if change.change is TicketChangeKind.CLOSED and link.status != "closed":
                tx.update_link(
                    link.id,
                    status="closed",
                    resolution=change.resolution,
                    closed_at=change.occurred_at,
                    updated_at=now,
                )
                tx.record_closure(
                    link.id, closed_at=change.occurred_at, resolution=change.resolution
                )
                sync = "resolve_origin"
            elif change.change is TicketChangeKind.REOPENED and link.status == "closed":
                tx.update_link(
                    link.id, status="open", resolution=None, closed_at=None, updated_at=now
                )
                tx.record_reopening(link.id, at=change.occurred_at, cause="ticket")
                sync = "reopen_origin"
            else:
                tx.update_link(link.id, updated_at=now)
                sync = None
            if sync and link.sync_origin and link.origin_source and link.origin_external_id:
                note = f"Ticket {link.key} was {change.change.value}."
                effect_id = tx.add_effect(
                    f"{key}:{sync}",
                    sync,
                    {
                        "source": link.origin_source,
                        "external_id": link.origin_external_id,
                        "note": note,
                    },
                    now=now,
                )
                if effect_id is not None:
                    effect_ids.append(effect_id)
        results = await self._run(effect_ids)
        return IngestOutcome(key, change, None, tuple(results), self._touched([link.id], results))

    async def _run(self, effect_ids: Sequence[int]) -> list[EffectResult]:
        if not effect_ids:
            return []
        effects = self.store.claim_effects(
            now=self.clock(), lease=self.lease, ids=effect_ids, limit=len(effect_ids)
        )
        return await self._runner.run_all(effects)

    def _executed(self, effect: Effect, result: EffectResult) -> None:
        notify(
            "action_executed",
            pm=self.plugins,
            kind=effect.kind,
            payload=effect.payload,
            result=result,
        )

    def _failed(self, effect: Effect, error: BaseException, final: bool) -> None:
        notify(
            "action_failed",
            pm=self.plugins,
            kind=effect.kind,
            payload=effect.payload,
            error=error,
            final=final,
        )

    def _count_recorded(self, recorded: int, at: datetime) -> None:
        """Count newly recorded signals; every `_PRUNE_EVERY` of them, prune the counters."""
        before = self._recorded
        self._recorded += recorded
        if self._recorded // _PRUNE_EVERY > before // _PRUNE_EVERY:
            self.prune(at)

    def _refs_of(self, link_ids: Iterable[int]) -> dict[int, TicketRef | None]:
        """The tickets of the links of `link_ids` (None: not created yet), in one query."""
        wanted = sorted(set(link_ids))
        if not wanted:
            return {}
        with self.store.transaction() as tx:
            found = tx.links_by_id(wanted)
        return {i: link.ref() for i, link in found.items()}

    def _touched(
        self, link_ids: Sequence[int], results: Sequence[EffectResult]
    ) -> tuple[TicketRef, ...]:
        refs = self._refs_of(link_ids)
        return _tickets(results, [refs.get(link_id) for link_id in link_ids])


def _groups(
    signals: Sequence[Signal], matched: Sequence[Sequence[tuple[Rule, str]] | None]
) -> Iterator[tuple[str, str, datetime | None]]:
    """The groups routing the signals will touch, and since when it counts them."""
    for signal, found in zip(signals, matched, strict=True):
        for rule, group_key in found or ():
            since = None if rule.threshold is None else signal.occurred_at - rule.threshold.within
            yield rule.name, group_key, since


def _tickets(
    results: Sequence[EffectResult], refs: Sequence[TicketRef | None]
) -> tuple[TicketRef, ...]:
    """The tickets effects touched, then those of the links, each once."""
    tickets: dict[str, TicketRef] = {}
    for result in results:
        if result.ticket is not None:
            tickets[f"{result.ticket.tracker}:{result.ticket.key}"] = result.ticket
    for ref in refs:
        if ref is not None:
            tickets.setdefault(f"{ref.tracker}:{ref.key}", ref)
    return tuple(tickets.values())


def default_sources(pm: pluggy.PluginManager | None = None) -> list[Source]:
    """Every registered source whose settings appear in the environment, from_env-built."""
    found: list[Source] = []
    for name, entry in sorted(connectors("source", pm=pm).items()):
        prefix = env_prefix(name).upper()
        if any(key.upper().startswith(prefix) for key in os.environ):
            found.append(entry.from_env())
    return found


def _outcome_of(decision: Decision) -> str:
    if decision.dropped:
        return "dropped"
    if decision.fired:
        return "routed"
    if decision.held:
        return "held"
    if decision.matches:
        return decision.matches[0].outcome.value
    return "unmatched"


def _message_fields(signal: Signal, rule: str, text: str | None) -> dict[str, Any]:
    facts = {"source": signal.source, "rule": rule, "severity": signal.severity.value}
    if signal.service:
        facts["service"] = signal.service
    if signal.environment:
        facts["environment"] = signal.environment
    return {
        "title": signal.title,
        "text": text or f"{signal.severity.value} {signal.kind.value} from {signal.source}",
        "url": signal.url,
        "severity": signal.severity.value,
        "fields": facts,
    }


def _merged(stored: Incident | None, update: Incident) -> Incident:
    """Combine an incident update with what is known.

    Keeps the earliest creation and the first acknowledgement, merges timelines, and
    takes status and resolution from updates that report a status. A note (an
    `*.annotated` event) only adds to the timeline.
    """
    if stored is None:
        return update
    timeline = {(e.at, e.kind, e.message): e for e in (*stored.timeline, *update.timeline)}
    merged_timeline = tuple(sorted(timeline.values(), key=lambda e: e.at))
    if update.labels.get("event_type", "").endswith(".annotated"):
        return stored.model_copy(update={"timeline": merged_timeline})
    first_ack = min(
        (at for at in (stored.acknowledged_at, update.acknowledged_at) if at is not None),
        default=None,
    )
    if _older_than_resolution(update, stored):
        # Delivered late (a poll racing the webhooks): it adds to the history, but the
        # incident stays as resolved as it already was.
        return stored.model_copy(
            update={
                "created_at": min(stored.created_at, update.created_at),
                "acknowledged_at": first_ack,
                "timeline": merged_timeline,
            }
        )
    resolved = None
    if update.status == "resolved":
        resolved = update.resolved_at or stored.resolved_at
    return update.model_copy(
        update={
            "created_at": min(stored.created_at, update.created_at),
            "acknowledged_at": first_ack,
            "resolved_at": resolved,
            "timeline": merged_timeline,
        }
    )


def _older_than_resolution(update: Incident, stored: Incident) -> bool:
    """Whether a non-resolving update says it happened before the stored resolution
    (by its acknowledgement or its timeline; an update without such a time is news)."""
    if update.status == "resolved" or stored.resolved_at is None:
        return False
    moments = [e.at for e in update.timeline]
    if update.acknowledged_at is not None:
        moments.append(update.acknowledged_at)
    return bool(moments) and max(moments) <= stored.resolved_at


_C = TypeVar("_C")


def _connectors(what: str, given: Mapping[str, _C] | None, kind: Any) -> dict[str, _C]:
    """`given` by name, each checked to be a `kind`: a wrong object fails here, naming
    itself, not at the first action that uses it."""
    for name, connector in (given or {}).items():
        if not isinstance(connector, kind):
            raise ConfigurationError(
                f"{what}[{name!r}] is a {type(connector).__name__}, not a {kind.__name__} "
                f"(see feedbackloop.connectors.{kind.__name__})"
            )
    return dict(given or {})


def _shut(
    portal_cm: AbstractContextManager[BlockingPortal],
    portal: BlockingPortal,
    core: AsyncFeedbackLoop,
) -> None:
    """Close `core` on the portal's event loop, then stop the portal."""
    try:
        portal.call(core.aclose)
    finally:
        portal_cm.__exit__(None, None, None)


class FeedbackLoop:
    """The loop for scripts: the same core as `AsyncFeedbackLoop`, without asyncio.

    Takes the same arguments. It runs the async core on an event loop of its own in a
    background thread, so it works in a plain script and also when called from code
    that is itself inside a running event loop (a notebook, say) — where it blocks that
    loop while it works; async code should use `AsyncFeedbackLoop` instead.

    Use it as a context manager, or call `close()`. A loop left open is closed when the
    interpreter exits (not before: an app built from it may still be serving).
    """

    def __init__(self, rules: RuleSet, **options: Any) -> None:
        portal_cm = anyio.from_thread.start_blocking_portal()
        self._portal = portal_cm.__enter__()
        try:
            self._core = AsyncFeedbackLoop(rules, **options)
        except BaseException:
            portal_cm.__exit__(None, None, None)
            raise
        # Without it, an unclosed loop's portal would be stopped only when its context
        # manager is collected during the interpreter's shutdown, after the portal's
        # thread can no longer run: the process would never exit. Tied to the portal,
        # which the callback holds, so it runs at exit (or on close()), never when this
        # wrapper alone is collected while its core serves on (create_app keeps the core).
        self._closer = weakref.finalize(self._portal, _shut, portal_cm, self._portal, self._core)

    @property
    def core(self) -> AsyncFeedbackLoop:
        """The async loop this one drives."""
        return self._core

    @property
    def store(self) -> Store:
        """The loop's store."""
        return self._core.store

    def __repr__(self) -> str:
        return repr(self._core).replace("AsyncFeedbackLoop", "FeedbackLoop", 1)

    def __enter__(self) -> FeedbackLoop:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close connectors and the store, and stop the background event loop."""
        self._closer()  # once: later calls do nothing

    def _call(self, function: Callable[..., Awaitable[_T]], *args: Any) -> _T:
        if not self._closer.alive:
            raise ConfigurationError("this FeedbackLoop is closed")
        return self._portal.call(function, *args)

    def ingest(self, event: Event) -> IngestOutcome:
        """Enrich, record, route and act on one event (see `AsyncFeedbackLoop.ingest`)."""
        return self._call(self._core.ingest, event)

    def ingest_many(self, events: Iterable[Event], *, batch: int = 500) -> list[IngestOutcome]:
        """Ingest events in order, many signals per transaction (see
        `AsyncFeedbackLoop.ingest_many`)."""
        return self._call(lambda: self._core.ingest_many(list(events), batch=batch))

    def handle_webhook(self, source: str, headers: Headers, body: bytes) -> list[IngestOutcome]:
        """Verify, parse, persist and process one webhook delivery."""
        return self._call(self._core.handle_webhook, source, headers, body)

    def poll(self, source: str, *, since: datetime) -> list[IngestOutcome]:
        """Poll a source for events since `since` and ingest them."""
        return self._call(lambda: self._core.poll(source, since=since))

    def process_pending(self, *, limit: int = 50) -> int:
        """Process deliveries waiting in the inbox."""
        return self._call(lambda: self._core.process_pending(limit=limit))

    def run_effects(self) -> list[EffectResult]:
        """Carry out due effects in the outbox."""
        return self._call(self._core.run_effects)

    def tickets(self, **filters: Any) -> list[TicketLink]:
        """The loop's ticket links (see `AsyncFeedbackLoop.tickets`)."""
        return self._core.tickets(**filters)

    def dead_letters(self) -> list[DeadLetter]:
        """Effects that failed for good."""
        return self._core.dead_letters()

    def retry(self, letter_ids: Sequence[int] | None = None) -> list[EffectResult]:
        """Retry dead letters (all, or the given ones)."""
        return self._call(self._core.retry, letter_ids)

    def record_learning(self, learning: Learning) -> RecordedLearning:
        """Record a learning and route its action items (see `AsyncFeedbackLoop`)."""
        return self._call(self._core.record_learning, learning)

    def read_ticket(self, tracker: str, key: str) -> str:
        """A ticket's text as Markdown (see `AsyncFeedbackLoop.read_ticket`)."""
        return self._call(self._core.read_ticket, tracker, key)

    def learn_from_ticket(
        self, tracker: str, key: str, *, incident_ids: Sequence[str] = ()
    ) -> RecordedLearning:
        """Record the postmortem written in a ticket (see `AsyncFeedbackLoop.learn_from_ticket`)."""
        return self._call(
            lambda: self._core.learn_from_ticket(tracker, key, incident_ids=incident_ids)
        )

    def action_items(self, **filters: Any) -> list[TrackedActionItem]:
        """Postmortem action items as tracked, oldest first."""
        return self._core.action_items(**filters)

    def insights(
        self,
        since: datetime | timedelta = timedelta(days=7),
        until: datetime | None = None,
        **filters: Any,
    ) -> Report:
        """The figures for a period (see `AsyncFeedbackLoop.insights`)."""
        return self._core.insights(since, until, **filters)

    def post_digest(self, to: str | Notifier | Tracker, **options: Any) -> DigestPost:
        """Post the digest to a notifier or tracker (see `AsyncFeedbackLoop.post_digest`)."""
        return self._call(lambda: self._core.post_digest(to, **options))

    def nudge_action_items(self, notify: Notify | str, **options: Any) -> list[TrackedActionItem]:
        """Nudge overdue and stale action items (see `AsyncFeedbackLoop`)."""
        return self._call(lambda: self._core.nudge_action_items(notify, **options))
