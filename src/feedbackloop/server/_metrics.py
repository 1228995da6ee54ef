"""The app's Prometheus metrics, in a registry of its own.

Request outcomes are counted in the process; everything the store knows (actions by
outcome, dead letters, the inbox backlog and its lag) is read from the store when
Prometheus scrapes, so it is right across restarts and across replicas.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from feedbackloop._loop import AsyncFeedbackLoop
from feedbackloop.logs import get_logger
from feedbackloop.store import _schema as s

__all__ = ["AppMetrics"]

_log = get_logger("server")


class _StoreCollector(Collector):
    """Reads the outbox, the dead letters and the inbox backlog at scrape time."""

    def __init__(self, loop: AsyncFeedbackLoop) -> None:
        self._loop = loop

    def collect(self) -> Iterator[Metric]:
        actions = GaugeMetricFamily(
            "feedbackloop_actions",
            "Actions (ticket create/comment/reopen, notify, escalate...) by kind and outcome.",
            labels=["kind", "outcome"],
        )
        dead = GaugeMetricFamily(
            "feedbackloop_dead_letters", "Actions that failed for good and wait for a retry."
        )
        backlog = GaugeMetricFamily(
            "feedbackloop_inbox_backlog", "Deliveries persisted and not processed yet."
        )
        lag = GaugeMetricFamily(
            "feedbackloop_processing_lag_seconds",
            "Age of the oldest delivery waiting in the inbox (0 when none waits).",
        )
        store = self._loop.store
        try:
            with store.transaction() as tx:
                rows = tx.connection.execute(
                    select(s.outbox.c.kind, s.outbox.c.status, func.count()).group_by(
                        s.outbox.c.kind, s.outbox.c.status
                    )
                ).all()
                letters = tx.connection.execute(
                    select(func.count()).where(s.dead_letters.c.retried_at.is_(None))
                ).scalar_one()
            waiting, oldest = store.inbox_backlog()
        except Exception as exc:  # a scrape must not fail because the store is down
            _log.warning("metrics.store_unavailable", error=str(exc))
            return
        for kind, status, count in rows:
            actions.add_metric([kind, status], int(count))
        dead.add_metric([], int(letters))
        backlog.add_metric([], waiting)
        age = 0.0 if oldest is None else (self._loop.clock() - oldest).total_seconds()
        lag.add_metric([], max(age, 0.0))
        yield from (actions, dead, backlog, lag)


class AppMetrics:
    """The metrics of one app, in a registry of its own (two apps never clash)."""

    def __init__(self, loop: AsyncFeedbackLoop) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.deliveries = Counter(
            "feedbackloop_deliveries",
            "Webhook deliveries by source and outcome (accepted, duplicate, bad_signature, "
            "malformed, too_large, unknown_source, unavailable, error).",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.processed = Counter(
            "feedbackloop_processed_deliveries",
            "Deliveries the background worker processed.",
            registry=self.registry,
        )
        self.worker_errors = Counter(
            "feedbackloop_worker_errors",
            "Times the background worker failed to drain the inbox (it retries).",
            registry=self.registry,
        )
        self.accept_seconds = Histogram(
            "feedbackloop_accept_seconds",
            "Time to verify and persist a delivery, before the 202.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.registry.register(_StoreCollector(loop))
