"""The loop: webhooks, idempotency, effects, dead letters, reconciliation, sync and async."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest
from sqlalchemy.exc import OperationalError

from feedbackloop import (
    AsyncFeedbackLoop,
    FeedbackLoop,
    Incident,
    Signal,
    TicketChange,
    TicketRef,
    TimelineEntry,
    hookimpl,
)
from feedbackloop._loop import _unavailable
from feedbackloop.connectors import Message, TicketDraft, TicketState
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.connectors.sentry import SentrySource
from feedbackloop.errors import (
    AmbiguousRequestError,
    BadRequestError,
    ConfigurationError,
    RateLimitError,
    ServerError,
    SignatureError,
)
from feedbackloop.rules import Action, Escalate, F, Notify, OpenTicket, Rule, RuleSet
from feedbackloop.store import Store

VENDOR = Path(__file__).resolve().parents[1] / ".." / "shared" / "vendor"
SECRET = "sentry-client-secret-for-tests"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def ticket_rules(**options: Any) -> RuleSet:
    return RuleSet(Rule("errors", when=F.kind == "error", then=OpenTicket("local", **options)))


def burst_rules(count: int, within: timedelta) -> RuleSet:
    """One rule: a ticket once `count` errors fall within `within`."""
    from feedbackloop.rules import Threshold

    threshold = Threshold(count, within)
    return RuleSet(
        Rule("burst", when=F.kind == "error", threshold=threshold, then=OpenTicket("local"))
    )


def error(minutes: int = 0, title: str = "timeout", **fields: Any) -> Signal:
    return Signal(
        source="sentry",
        service="api",
        title=title,
        occurred_at=T0 + timedelta(minutes=minutes),
        **fields,
    )


def sentry_delivery(
    name: str = "issues.created.json", request_id: str = "r-1"
) -> tuple[dict[str, str], bytes]:
    body = (VENDOR / "sentry" / "webhook-examples" / name).read_bytes()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Sentry-Hook-Resource": "issue",
        "Sentry-Hook-Signature": signature,
        "Request-ID": request_id,
        "Content-Type": "application/json",
    }
    return headers, body


def issue_delivery(title: str, request_id: str) -> tuple[dict[str, str], bytes]:
    """A signed Sentry issue delivery of its own problem (title and issue id)."""
    headers, body = sentry_delivery(request_id=request_id)
    payload = json.loads(body)
    payload["data"]["issue"].update(title=title, id=request_id)
    body = json.dumps(payload).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {**headers, "Sentry-Hook-Signature": signature}, body


class FlakyTracker(LocalTracker):
    """A local tracker whose next calls fail in chosen ways."""

    def __init__(self, store: Store | None = None) -> None:
        super().__init__(store)
        self.failures: list[Exception] = []
        self.lose_answer = False
        self.creates = 0

    async def create(self, draft: TicketDraft) -> TicketRef:
        if self.failures:
            raise self.failures.pop(0)
        ref = await super().create(draft)
        self.creates += 1
        if self.lose_answer:
            self.lose_answer = False
            raise AmbiguousRequestError("timed out after sending", connector="local")
        return ref


@pytest.fixture
def flaky() -> FlakyTracker:
    return FlakyTracker()


@pytest.fixture
def loop(flaky: FlakyTracker) -> Iterator[FeedbackLoop]:
    with FeedbackLoop(
        ticket_rules(),
        trackers={"local": flaky},
        sources=[SentrySource(client_secret=SECRET)],
        store="sqlite://",
    ) as running:
        yield running


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@contextmanager
def poisoned_loop() -> Iterator[tuple[FeedbackLoop, Clock]]:
    """A loop whose rule raises for Sentry event alerts, with three deliveries pending:
    an issue, an event alert, and another issue."""

    def route(signal: Signal, ctx: object) -> list[Action]:
        if "event_id" in signal.labels:  # only the event alert has one
            raise RuntimeError("this rule cannot route event alerts")
        return [OpenTicket("local")]

    clock = Clock()
    rules = RuleSet(Rule("errors", when=F.kind == "error", then=route))
    with FeedbackLoop(
        rules,
        trackers={"local": LocalTracker()},
        sources=[SentrySource(client_secret=SECRET)],
        store="sqlite://",
        clock=clock,
    ) as loop:
        loop.core.accept_webhook("sentry", *sentry_delivery(request_id="r-1"))
        headers, body = sentry_delivery(
            "issue-alerts.event_alert.triggered.json", request_id="r-alert"
        )
        loop.core.accept_webhook("sentry", {**headers, "Sentry-Hook-Resource": "event_alert"}, body)
        loop.core.accept_webhook("sentry", *sentry_delivery(request_id="r-3"))
        yield loop, clock


class TestWebhooks:
    def test_a_signed_sentry_delivery_opens_a_ticket(self, loop: FeedbackLoop) -> None:
        """The real example payload, signed, ends as one ticket."""
        headers, body = sentry_delivery()
        [outcome] = loop.handle_webhook("sentry", headers, body)
        assert [t.key for t in outcome.tickets] == ["LOCAL-1"]

    def test_a_redelivered_webhook_changes_nothing(
        self, loop: FeedbackLoop, flaky: FlakyTracker
    ) -> None:
        """The same Request-ID again returns no outcome and creates nothing."""
        headers, body = sentry_delivery()
        loop.handle_webhook("sentry", headers, body)
        assert loop.handle_webhook("sentry", headers, body) == []
        assert flaky.creates == 1
        assert [link.occurrences for link in loop.tickets()] == [1]

    def test_a_bad_signature_is_rejected_before_anything_is_stored(
        self, loop: FeedbackLoop
    ) -> None:
        """Tampered bodies raise SignatureError and leave the inbox empty."""
        headers, body = sentry_delivery()
        with pytest.raises(SignatureError):
            loop.handle_webhook("sentry", headers, body + b" ")
        assert loop.store.deliveries() == []

    def test_an_unknown_source_is_a_configuration_error(self, loop: FeedbackLoop) -> None:
        """The error lists the configured sources."""
        with pytest.raises(ConfigurationError, match=r"no source named 'zendesk'.*sentry"):
            loop.handle_webhook("zendesk", {}, b"{}")

    def test_a_webhook_returns_its_own_outcome_behind_a_backlog(self, loop: FeedbackLoop) -> None:
        """With 60 deliveries pending, handle_webhook processes its own and only its own."""
        for n in range(60):
            loop.core.accept_webhook("sentry", *issue_delivery(f"backlog {n}", f"b-{n}"))
        [outcome] = loop.handle_webhook("sentry", *issue_delivery("mine", "r-mine"))
        assert outcome.event_key == "sentry:r-mine:0"
        assert [t.title for t in loop.tickets()] == ["mine"]
        assert len(loop.store.deliveries(status="pending")) == 60

    def test_accepted_deliveries_are_processed_later(self, loop: FeedbackLoop) -> None:
        """accept then process_pending is the webhook app's path, with the same result."""
        headers, body = sentry_delivery()
        accepted = loop.core.accept_webhook("sentry", headers, body)
        assert (accepted.new, loop.tickets()) == (True, [])
        assert loop.process_pending() == 1
        assert len(loop.tickets()) == 1
        assert [d.status for d in loop.store.deliveries()] == ["done"]

    def test_pending_deliveries_are_routed_together_and_an_unreadable_one_fails_alone(
        self, loop: FeedbackLoop
    ) -> None:
        """One process_pending routes every readable delivery; one it cannot read is failed.

        (The app checks deliveries as they arrive; one stored by an older version, say,
        can still turn out unreadable.)
        """
        for request_id in ("r-1", "r-2"):
            loop.core.accept_webhook("sentry", *sentry_delivery(request_id=request_id))
        headers, _ = sentry_delivery(request_id="r-bad")
        unreadable = b'{"action": "created", "data": {"issue": {"id": "1"}}}'
        loop.store.put_delivery("sentry", "r-bad", headers, unreadable, now=T0)
        assert loop.process_pending() == 3
        statuses = {d.delivery_id: (d.status, d.error) for d in loop.store.deliveries()}
        assert statuses["r-1"] == statuses["r-2"] == ("done", None)
        assert statuses["r-bad"][0] == "failed"
        assert "data.issue.firstSeen" in (statuses["r-bad"][1] or "")
        [link] = loop.tickets()
        assert link.occurrences == 2  # the same Sentry issue, delivered twice

    def test_a_delivery_that_cannot_be_routed_raises_once_the_others_are_done(
        self,
    ) -> None:
        """A rule raising for one event: the deliveries around it are done, it waits for
        its lease to run out, and its error is raised."""
        with poisoned_loop() as (loop, _):
            with pytest.raises(RuntimeError, match="cannot route event alerts"):
                loop.process_pending()
            statuses = {d.delivery_id: d.status for d in loop.store.deliveries()}
            assert statuses == {"r-1": "done", "r-alert": "pending", "r-3": "done"}
            [link] = loop.tickets()
            assert link.occurrences == 2

    def test_a_delivery_failing_its_last_attempt_is_marked_failed_with_the_error(
        self,
    ) -> None:
        """After max_attempts claims it stops coming back: failed, the error kept."""
        with poisoned_loop() as (loop, clock):
            for _ in range(2):
                with pytest.raises(RuntimeError):
                    loop.process_pending()
                clock.advance(timedelta(minutes=6))  # past the five-minute lease
            with pytest.raises(RuntimeError):
                loop.process_pending()  # the third and last attempt
            assert loop.process_pending() == 0
            [failed] = loop.store.deliveries(status="failed")
            assert failed.delivery_id == "r-alert"
            assert failed.error == "RuntimeError: this rule cannot route event alerts"


@pytest.mark.parametrize(
    ("sqlstate", "unavailable"),
    [("08006", True), ("40P01", True), ("53300", True), ("54000", False), ("22001", False)],
)
def test_only_a_store_that_cannot_serve_holds_every_delivery_back(
    sqlstate: str, unavailable: bool
) -> None:
    """A lost connection waits for the lease; a refused row (an index entry too large,
    54000) is the delivery's own failure."""

    class DriverError(Exception):
        pass

    orig = DriverError("refused")
    orig.sqlstate = sqlstate  # type: ignore[attr-defined]
    assert _unavailable(OperationalError("INSERT ...", {}, orig)) is unavailable


class TestIngest:
    def test_ingesting_the_same_event_twice_is_idempotent(
        self, loop: FeedbackLoop, flaky: FlakyTracker
    ) -> None:
        """An identical signal is a duplicate the second time."""
        loop.ingest(error())
        assert loop.ingest(error()).duplicate
        assert loop.tickets()[0].occurrences == 1

    def test_the_outcome_carries_the_decision(self, loop: FeedbackLoop) -> None:
        """Callers see which rule fired and why."""
        outcome = loop.ingest(error())
        assert outcome.decision is not None
        assert outcome.decision.rules == ("errors",)

    def test_ingest_rejects_what_is_not_an_event(self, loop: FeedbackLoop) -> None:
        """Passing a dict is a clear error, not an AttributeError deep inside."""
        with pytest.raises(ConfigurationError, match="takes a Signal, Incident or TicketChange"):
            loop.ingest({"title": "x"})  # type: ignore[arg-type]

    def test_incident_updates_are_merged(self, loop: FeedbackLoop) -> None:
        """A later update keeps the first acknowledgement and adds the resolution."""
        loop.ingest(
            Incident(
                id="P1", title="down", created_at=T0, acknowledged_at=T0 + timedelta(minutes=2)
            )
        )
        loop.ingest(
            Incident(
                id="P1",
                title="down",
                status="resolved",
                created_at=T0,
                resolved_at=T0 + timedelta(minutes=30),
            )
        )
        [incident] = loop.store.incidents()
        assert (incident.time_to_acknowledge, incident.time_to_resolve) == (
            timedelta(minutes=2),
            timedelta(minutes=30),
        )


class TestFailures:
    def test_a_rejected_create_lands_in_dead_letters_with_the_vendor_error(
        self, loop: FeedbackLoop, flaky: FlakyTracker
    ) -> None:
        """A 400 is not retried; the dead letter keeps the message and status."""
        flaky.failures.append(
            BadRequestError("Field 'priority' is required", status_code=400, connector="local")
        )
        outcome = loop.ingest(error())
        assert [e.status for e in outcome.effects] == ["dead"]
        [letter] = loop.dead_letters()
        assert (letter.kind, letter.status_code) == ("create", 400)
        assert "priority" in letter.error

    def test_a_dead_letter_retried_after_the_fix_creates_the_ticket(
        self, loop: FeedbackLoop, flaky: FlakyTracker
    ) -> None:
        """retry() puts the effect back and runs it."""
        flaky.failures.append(BadRequestError("nope", status_code=400))
        loop.ingest(error())
        [result] = loop.retry()
        assert result.status == "done"
        assert (loop.dead_letters(), loop.tickets()[0].status) == ([], "open")

    def test_transient_failures_are_retried_then_dead_lettered(
        self, loop: FeedbackLoop, flaky: FlakyTracker
    ) -> None:
        """A 5xx leaves the effect for later until max_attempts, then it is a dead letter."""
        flaky.failures.extend(ServerError("down", status_code=503) for _ in range(3))
        statuses = [e.status for e in loop.ingest(error()).effects]
        for _ in range(2):
            _expire_leases(loop)
            statuses += [e.status for e in loop.run_effects()]
        assert statuses == ["retrying", "retrying", "dead"]
        assert len(loop.dead_letters()) == 1

    def test_a_rate_limit_that_does_not_say_when_it_ends_waits_a_minute_then_two(
        self, flaky: FlakyTracker
    ) -> None:
        """GitHub's secondary limits: the effect is not tried again within seconds."""
        flaky.failures.extend(
            RateLimitError("secondary rate limit", retry_after=None, status_code=403)
            for _ in range(2)
        )
        clock = Clock()
        with FeedbackLoop(
            ticket_rules(), trackers={"local": flaky}, store="sqlite://", clock=clock
        ) as loop:
            tried = [[e.status for e in loop.ingest(error()).effects]]
            for seconds in (59, 2, 119, 2):
                clock.advance(timedelta(seconds=seconds))
                tried.append([e.status for e in loop.run_effects()])
        assert tried == [["retrying"], [], ["retrying"], [], ["done"]]

    def test_a_lost_answer_is_reconciled_by_the_marker(
        self, loop: FeedbackLoop, flaky: FlakyTracker
    ) -> None:
        """A create that timed out after the tracker made the ticket does not duplicate it."""
        flaky.lose_answer = True
        outcome = loop.ingest(error())
        assert [e.status for e in outcome.effects] == ["done"]
        assert (flaky.creates, loop.tickets()[0].key) == (1, "LOCAL-1")

    def test_a_crash_after_the_tracker_answered_is_repaired_on_the_next_try(
        self, loop: FeedbackLoop, flaky: FlakyTracker
    ) -> None:
        """If saving the link never happened, the retry finds the ticket by its marker."""
        flaky.lose_answer = True
        flaky.failures.append(AmbiguousRequestError("lost", connector="local"))
        # First try: the request fails ambiguously and nothing was made.
        first = loop.ingest(error())
        assert [e.status for e in first.effects] == ["retrying"]
        _expire_leases(loop)
        # Second try: the tracker makes the ticket but the answer is lost again.
        [second] = loop.run_effects()
        assert second.status == "done"
        assert flaky.creates == 1
        assert len(flaky.tickets()) == 1

    def test_tickets_created_together_count_their_attempts_before_any_tracker_call(
        self, loop: FeedbackLoop, flaky: FlakyTracker
    ) -> None:
        """A batch's creations are each counted as tried, so a failed one looks first."""
        flaky.failures.append(ServerError("down", status_code=503))
        outcomes = loop.ingest_many([error(title="timeout"), error(title="disk full")])
        assert [e.status for o in outcomes for e in o.effects] == ["retrying", "done"]
        assert sorted(link.attempts for link in loop.tickets()) == [1, 1]
        _expire_leases(loop)
        [retried] = loop.run_effects()
        assert retried.status == "done"
        assert (flaky.creates, sorted(link.attempts for link in loop.tickets())) == (2, [1, 2])

    def test_ticket_creations_run_together_share_one_transaction_for_their_attempts(
        self,
    ) -> None:
        """Claiming, counting the attempts, then one commit per ticket: not two per ticket."""
        from sqlalchemy import event

        flaky = FlakyTracker(Store("sqlite://"))  # its tickets' commits are not the loop's
        flaky.failures.extend(ServerError("down", status_code=503) for _ in range(3))
        with FeedbackLoop(ticket_rules(), trackers={"local": flaky}, store="sqlite://") as loop:
            loop.ingest_many([error(title=title) for title in ("timeout", "disk full", "oom")])
            _expire_leases(loop)
            commits: list[int] = []
            event.listen(loop.store.engine, "commit", lambda connection: commits.append(1))
            assert [r.status for r in loop.run_effects()] == ["done"] * 3
        assert len(commits) == 2 + 3


def _expire_leases(loop: FeedbackLoop) -> None:
    from sqlalchemy import update

    from feedbackloop.store import _schema

    with loop.store.transaction() as tx:
        tx.connection.execute(update(_schema.outbox).values(lease_until=None))


@dataclass
class Recorder:
    """A notifier, escalator and origin-syncing source that records its calls."""

    name: str
    calls: list[tuple[str, Any]] = field(default_factory=list)

    async def send(self, message: Message) -> None:
        self.calls.append(("send", message))

    async def escalate(
        self,
        message: Message,
        *,
        dedup_key: str,
        action: Literal["trigger", "acknowledge", "resolve"] = "trigger",
    ) -> None:
        self.calls.append((action, dedup_key))

    async def resolve_origin(self, external_id: str, *, note: str | None = None) -> None:
        self.calls.append(("resolve_origin", external_id))

    async def reopen_origin(self, external_id: str, *, note: str | None = None) -> None:
        self.calls.append(("reopen_origin", external_id))

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        return None

    def parse(self, headers: Mapping[str, str], body: bytes) -> list[Any]:
        return []

    def delivery_id(self, headers: Mapping[str, str], body: bytes) -> str:
        return "x"


class TestOtherActions:
    def test_notify_sends_a_message_with_a_link_back(self) -> None:
        """Notify reaches the named notifier with the signal's title and url."""
        slack = Recorder("slack")
        rules = RuleSet(Rule("tell", when=F.kind == "error", then=Notify("slack", channel="#ops")))
        with FeedbackLoop(rules, notifiers={"slack": slack}, store="sqlite://") as loop:
            loop.ingest(error(url="https://sentry.io/issues/1/"))
        [(_, message)] = slack.calls
        assert (message.title, message.url, message.channel) == (
            "timeout",
            "https://sentry.io/issues/1/",
            "#ops",
        )

    def test_escalate_triggers_and_resolves_with_one_dedup_key(self) -> None:
        """The page is de-duplicated by rule and group; a resolved signal resolves it."""
        pager = Recorder("pagerduty")
        rules = RuleSet(Rule("page", when=F.kind == "error", then=Escalate()))
        with FeedbackLoop(rules, escalators={"pagerduty": pager}, store="sqlite://") as loop:
            loop.ingest(error(0))
            loop.ingest(error(5, status="resolved"))
        (first, key1), (second, key2) = pager.calls
        assert (first, second, key1 == key2) == ("trigger", "resolve", True)

    def test_closing_a_synced_ticket_resolves_its_origin(self) -> None:
        """Two-way sync: the ticket closes, the Sentry issue is resolved."""
        origin = Recorder("sentry")
        with FeedbackLoop(
            ticket_rules(sync_origin=True),
            trackers={"local": LocalTracker()},
            sources=[origin],  # type: ignore[list-item]
            store="sqlite://",
        ) as loop:
            loop.ingest(error(external_id="4711"))
            key = loop.tickets()[0].key
            assert key is not None
            loop.ingest(TicketChange(tracker="local", key=key, change="closed", occurred_at=T0))
        assert origin.calls == [("resolve_origin", "4711")]

    def test_a_missing_notifier_is_a_dead_letter_naming_the_configured_ones(self) -> None:
        """A rule naming an absent notifier fails loudly, not silently."""
        rules = RuleSet(Rule("tell", when=F.kind == "error", then=Notify("teams")))
        with FeedbackLoop(rules, store="sqlite://") as loop:
            loop.ingest(error())
            [letter] = loop.dead_letters()
        assert "no notifier named 'teams'" in letter.error


class TestSyncAndAsync:
    def test_the_async_loop_works_in_async_code(self) -> None:
        """AsyncFeedbackLoop is an async context manager with the same behaviour."""

        async def main() -> int:
            async with AsyncFeedbackLoop(
                ticket_rules(), trackers={"local": LocalTracker()}, store="sqlite://"
            ) as loop:
                await loop.ingest(error())
                return len(loop.tickets())

        assert anyio.run(main) == 1

    def test_the_sync_loop_works_inside_a_running_event_loop(self) -> None:
        """Called from a coroutine, FeedbackLoop still works (it blocks that loop meanwhile)."""

        async def main() -> int:
            with FeedbackLoop(
                ticket_rules(), trackers={"local": LocalTracker()}, store="sqlite://"
            ) as loop:
                loop.ingest(error())
                return len(loop.tickets())

        assert asyncio.run(main()) == 1

    def test_a_closed_loop_says_so(self) -> None:
        """Using a loop after close() is a clear error."""
        loop = FeedbackLoop(ticket_rules(), store="sqlite://")
        loop.close()
        with pytest.raises(ConfigurationError, match="closed"):
            loop.ingest(error())

    def test_a_script_that_never_closes_its_loop_still_exits(self, tmp_path: Path) -> None:
        """A loop left open is closed at exit: the process ends, and what it did is kept."""
        url = f"sqlite:///{tmp_path / 'script.db'}"
        script = (
            "from feedbackloop import FeedbackLoop\n"
            "from feedbackloop.rules import RuleSet\n"
            "from feedbackloop.testing import make_signal\n"
            f"loop = FeedbackLoop(RuleSet(), store={url!r})\n"
            "loop.ingest(make_signal())\n"
        )
        done = subprocess.run([sys.executable, "-c", script], timeout=60, capture_output=True)
        assert done.returncode == 0, done.stderr
        assert len(Store(url).signal_rows()) == 1

    def test_closing_a_loop_twice_is_harmless(self) -> None:
        loop = FeedbackLoop(ticket_rules(), store="sqlite://")
        loop.close()
        loop.close()

    def test_a_tracker_that_is_not_one_is_named_when_the_loop_is_built(self) -> None:
        with pytest.raises(
            ConfigurationError, match=r"trackers\['jira'\] is a object, not a Tracker"
        ):
            FeedbackLoop(ticket_rules(), trackers={"jira": object()}, store="sqlite://")  # type: ignore[dict-item]

    def test_rules_must_be_a_rule_set(self) -> None:
        """Passing a list of rules names the expected type."""
        with pytest.raises(ConfigurationError, match=r"must be a feedbackloop\.rules\.RuleSet"):
            FeedbackLoop([], store="sqlite://")  # type: ignore[arg-type]

    def test_ticket_states_are_read_through_the_tracker(self) -> None:
        """TicketState comes back from the tracker the loop created the ticket in."""
        tracker = LocalTracker()
        with FeedbackLoop(ticket_rules(), trackers={"local": tracker}, store="sqlite://") as loop:
            loop.ingest(error())
            state: TicketState = anyio.run(tracker.state, "LOCAL-1")
        assert state.ref.status == "open"


@dataclass(frozen=True)
class CreateIncidentInStatusPage(Action):
    """A custom action a plugin defines."""

    page: str
    within: timedelta = timedelta(minutes=5)


class StatusPagePlugin:
    """A plugin that registers a custom action and observes the loop."""

    __name__ = "statuspage"

    def __init__(self) -> None:
        self.executed: list[tuple[CreateIncidentInStatusPage, str | None]] = []
        self.seen: list[str] = []

    @hookimpl
    def register_actions(self, register: Any) -> None:
        register(CreateIncidentInStatusPage, self.execute)

    async def execute(self, action: CreateIncidentInStatusPage, signal: Signal | None) -> None:
        self.executed.append((action, None if signal is None else signal.title))

    @hookimpl
    def decision_made(self, signal: Signal, decision: Any) -> None:
        self.seen.append(f"decided:{signal.title}")

    @hookimpl
    def action_executed(self, kind: str, payload: Any, result: Any) -> None:
        self.seen.append(f"executed:{kind}")


class TestPlugins:
    def test_a_custom_action_is_carried_out_by_its_plugin(self) -> None:
        """The action travels through the outbox and reaches the plugin's executor intact."""
        plugin = StatusPagePlugin()
        action = CreateIncidentInStatusPage("acme", within=timedelta(minutes=9))
        rules = RuleSet(Rule("page", when=F.kind == "error", then=action))
        with FeedbackLoop(rules, plugins=[plugin], store="sqlite://") as loop:
            outcome = loop.ingest(error())
        assert [e.status for e in outcome.effects] == ["done"]
        assert plugin.executed == [(action, "timeout")]

    def test_lifecycle_hooks_observe_decisions_and_effects(self) -> None:
        """decision_made and action_executed are called in order."""
        plugin = StatusPagePlugin()
        rules = RuleSet(Rule("page", when=F.kind == "error", then=CreateIncidentInStatusPage("a")))
        with FeedbackLoop(rules, plugins=[plugin], store="sqlite://") as loop:
            loop.ingest(error())
        assert plugin.seen == ["decided:timeout", "executed:CreateIncidentInStatusPage"]

    def test_a_custom_action_without_a_plugin_is_a_dead_letter(self) -> None:
        """If the plugin is missing, the action is kept as a dead letter saying so."""
        rules = RuleSet(Rule("page", when=F.kind == "error", then=CreateIncidentInStatusPage("a")))
        with FeedbackLoop(rules, store="sqlite://") as loop:
            loop.ingest(error())
            [letter] = loop.dead_letters()
        assert "no executor for action type 'CreateIncidentInStatusPage'" in letter.error

    def test_sources_default_to_those_configured_in_the_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With FEEDBACKLOOP_SENTRY_CLIENT_SECRET set, the loop has a Sentry source."""
        for name in list(os.environ):
            if name.startswith("FEEDBACKLOOP_") and name != "FEEDBACKLOOP_TEST_DATABASE_URL":
                monkeypatch.delenv(name)
        monkeypatch.setenv("FEEDBACKLOOP_SENTRY_CLIENT_SECRET", SECRET)
        with FeedbackLoop(
            ticket_rules(), trackers={"local": LocalTracker()}, store="sqlite://"
        ) as loop:
            assert sorted(loop.core.sources) == ["sentry"]
            headers, body = sentry_delivery()
            assert len(loop.handle_webhook("sentry", headers, body)) == 1


class TestPruning:
    def test_pruning_forgets_buckets_older_than_every_threshold(self) -> None:
        """Counters outside the largest threshold window go; recent ones stay and count."""
        rules = burst_rules(3, timedelta(minutes=10))
        with FeedbackLoop(rules, trackers={"local": LocalTracker()}, store="sqlite://") as loop:
            loop.ingest(error(0))
            loop.ingest(error(70))
            loop.ingest(error(71))
            # Whole hours before the horizon (71 min - 10 min - 1 s) go: the first one.
            assert loop.core.prune(T0 + timedelta(minutes=71)) == 1
            assert loop.ingest(error(72)).decision.fired  # type: ignore[union-attr]


def p1(**fields: Any) -> Incident:
    """An update of incident P1, created at T0."""
    return Incident(**{"id": "P1", "title": "down", "created_at": T0, **fields})


def merged(*updates: Incident) -> Incident:
    """What the store keeps of an incident after these updates, in this order."""
    with FeedbackLoop(RuleSet(), store="sqlite://") as loop:
        for update in updates:
            loop.ingest(update)
        [incident] = loop.store.incidents()
    return incident


class TestIncidentMerging:
    def test_a_note_does_not_change_the_status(self) -> None:
        """An annotated event after the acknowledgement keeps the incident acknowledged."""
        later = T0 + timedelta(minutes=5)
        incident = merged(
            p1(status="acknowledged", acknowledged_at=T0 + timedelta(minutes=1)),
            p1(
                created_at=later,
                labels={"event_type": "incident.annotated"},
                timeline=(TimelineEntry(at=later, kind="note", message="db"),),
            ),
        )
        assert (incident.status, incident.created_at, len(incident.timeline)) == (
            "acknowledged",
            T0,
            1,
        )

    def test_an_update_from_before_the_resolution_arriving_late_keeps_it(self) -> None:
        """An acknowledgement delivered after the resolution (a poll racing the webhooks)
        does not undo it: MTTR stays known."""
        incident = merged(
            p1(status="resolved", resolved_at=T0 + timedelta(minutes=30)),
            p1(status="acknowledged", acknowledged_at=T0 + timedelta(minutes=5)),
        )
        assert (incident.status, incident.time_to_acknowledge, incident.time_to_resolve) == (
            "resolved",
            timedelta(minutes=5),
            timedelta(minutes=30),
        )

    def test_a_reopened_incident_loses_its_resolution(self) -> None:
        """A status update back to triggered clears resolved_at."""
        incident = merged(
            p1(status="resolved", resolved_at=T0 + timedelta(minutes=9)), p1(status="triggered")
        )
        assert (incident.status, incident.resolved_at) == ("triggered", None)


class TestDeadlocks:
    def test_a_signal_deadlocked_by_a_batch_is_ingested_again(
        self, postgres_schema_url: str
    ) -> None:
        """A batch holds a group's link and wants its counters; a single signal of the
        group holds the counters and wants the link. PostgreSQL rolls one back: the
        single signal starts again once the batch is done, and is counted once."""
        from feedbackloop.store._batch import BatchTransaction

        rules = burst_rules(1, timedelta(hours=1))
        core = AsyncFeedbackLoop(
            rules, trackers={"local": LocalTracker()}, store=postgres_schema_url
        )
        try:
            asyncio.run(core.ingest(error(0)))
            [link] = core.tickets()
            finished: list[object] = []

            def single() -> None:
                finished.append(asyncio.run(core.ingest(error(1))))

            with core.store.transaction() as plain:
                batch = BatchTransaction(plain.connection)
                batch.preload([(link.rule, link.group_key, None)])  # locks the link
                thread = threading.Thread(target=single)
                thread.start()
                time.sleep(0.5)  # the single signal has its counters, and waits for the link
                batch.record(
                    link.rule, link.group_key, T0 + timedelta(minutes=2), timedelta(hours=1)
                )
                batch.flush()  # waits for the counters: a deadlock, broken after a second
            thread.join(30)
            assert len(finished) == 1
            with core.store.transaction() as tx:
                assert (
                    tx.count(
                        link.rule, link.group_key, T0 + timedelta(minutes=3), timedelta(hours=1)
                    )
                    == 3
                )
        finally:
            asyncio.run(core.aclose())
