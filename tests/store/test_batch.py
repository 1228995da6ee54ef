"""Batch ingestion: `ingest_many` through a `BatchTransaction` decides as one by one does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedbackloop import FeedbackLoop, Signal
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet, Threshold
from feedbackloop.store import Store
from feedbackloop.store._batch import BatchTransaction

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def rules() -> RuleSet:
    return RuleSet(
        Rule(
            "errors",
            when=F.kind == "error",
            threshold=Threshold(count=3, within=timedelta(minutes=10)),
            then=OpenTicket("local", update_every=timedelta(minutes=30)),
        )
    )


def storm(groups: int, per_group: int) -> list[Signal]:
    return [
        Signal(
            source="sentry",
            service=f"svc-{group}",
            title=f"timeout in handler {group}",
            occurred_at=T0 + timedelta(minutes=occurrence * 4, seconds=group),
        )
        for occurrence in range(per_group)
        for group in range(groups)
    ]


def state(loop: FeedbackLoop) -> list[tuple[Any, ...]]:
    return [
        (link.rule, link.group_key, link.status, link.occurrences, link.last_seen_at)
        for link in loop.tickets()
    ]


def outcomes(loop: FeedbackLoop) -> list[tuple[str, str, Any]]:
    rows = loop.store.signal_rows()
    return sorted((row["event_key"], row["outcome"], row["link_id"] is not None) for row in rows)


class TestIngestMany:
    def test_batches_route_like_one_signal_at_a_time(self, store_url: str) -> None:
        """Tickets, link occurrences and signal outcomes equal those of one-by-one ingest."""
        signals = storm(groups=4, per_group=12)
        with FeedbackLoop(rules(), trackers={"local": LocalTracker()}, store="sqlite://") as one:
            for signal in signals:
                one.ingest(signal)
            expected = (state(one), outcomes(one))
        with FeedbackLoop(rules(), trackers={"local": LocalTracker()}, store=store_url) as many:
            for start in range(0, len(signals), 5):
                many.ingest_many(signals[start : start + 5])
            assert (state(many), outcomes(many)) == expected

    def test_one_ticket_per_group_when_the_group_is_in_one_batch(self) -> None:
        """A whole storm in one batch creates each group's ticket once, counting the rest."""
        signals = storm(groups=3, per_group=10)
        with FeedbackLoop(rules(), trackers={"local": LocalTracker()}, store="sqlite://") as loop:
            results = loop.ingest_many(signals, batch=1000)
            links = loop.tickets()
        assert len(links) == 3
        assert {link.status for link in links} == {"open"}
        assert sum(link.occurrences for link in links) == len(signals)
        assert sum(len(outcome.effects) for outcome in results) == 3

    def test_repeated_signals_are_duplicates_within_and_across_batches(self) -> None:
        """The same signal twice in a batch, or again later, is reported as a duplicate."""
        first, second = storm(groups=2, per_group=1)
        with FeedbackLoop(rules(), trackers={"local": LocalTracker()}, store="sqlite://") as loop:
            results = loop.ingest_many([first, first, second])
            again = loop.ingest_many([second])
            recorded = len(loop.store.signal_rows())
        assert recorded == 2
        assert [outcome.duplicate for outcome in results] == [False, True, False]
        assert again[0].duplicate

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        order=st.permutations(list(range(24))),
        batch=st.integers(min_value=1, max_value=30),
    )
    def test_any_order_and_batch_size_keeps_counts_and_one_link_per_group(
        self, order: list[int], batch: int
    ) -> None:
        """Whatever the order and batch size, each group has one link, counting at most its signals.

        (Out of time order, a signal held before its group's ticket existed and outside
        the window of the signal that opened it is not counted; in order, all are.)
        """
        signals = storm(groups=3, per_group=8)
        shuffled = [signals[i] for i in order]
        with FeedbackLoop(rules(), trackers={"local": LocalTracker()}, store="sqlite://") as loop:
            loop.ingest_many(shuffled, batch=batch)
            links = loop.tickets()
        assert len({link.group_key for link in links}) == len(links) <= 3
        assert all(1 <= link.occurrences <= 8 for link in links)


class TestBatchTransaction:
    def test_window_counts_include_the_batch_and_what_was_stored(self) -> None:
        """Counts read the stored buckets once and add the batch's own occurrences."""
        store = Store("sqlite://")
        within = timedelta(minutes=1)
        with store.transaction() as tx:
            tx.record("r", "g", T0, within)
        with store.transaction() as plain:
            batch = BatchTransaction(plain.connection)
            assert batch.record("r", "g", T0 + timedelta(seconds=30), within) == 2
            assert batch.record("r", "g", T0 + timedelta(seconds=90), within) == 2
            assert batch.count("r", "g", T0 + timedelta(seconds=30), within) == 2
            batch.flush()
        with store.transaction() as tx:
            assert tx.count("r", "g", T0 + timedelta(seconds=90), within) == 2
            assert tx.count("r", "g", T0 + timedelta(seconds=30), within) == 2
        store.close()
