"""The store on SQLite and PostgreSQL: inbox, counters, links, outbox, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedbackloop import Incident, Signal
from feedbackloop.errors import ConfigurationError, StoreError
from feedbackloop.store import Store
from feedbackloop.store._batch import BatchTransaction

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def link_values(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "rule": "r",
        "group_key": "fingerprint=abc",
        "generation": 1,
        "tracker": "local",
        "marker": "m-1",
        "status": "pending",
        "fingerprint": "abc",
        "theme": "boom",
        "title": "boom",
        "fields": {},
        "occurrences": 1,
        "first_seen_at": NOW,
        "last_seen_at": NOW,
        "updated_at": NOW,
    }
    values.update(overrides)
    return values


class TestInbox:
    def test_a_new_delivery_is_pending(self, store: Store) -> None:
        """A persisted delivery waits in the inbox with its headers and body."""
        row_id, new = store.put_delivery("sentry", "d1", {"A": "b"}, b"{}", now=NOW)
        assert new
        [delivery] = store.deliveries(status="pending")
        assert (delivery.id, delivery.headers, delivery.body) == (row_id, {"A": "b"}, b"{}")

    def test_a_redelivery_changes_nothing(self, store: Store) -> None:
        """The same source and delivery id is stored once."""
        first, _ = store.put_delivery("sentry", "d1", {}, b"{}", now=NOW)
        again, new = store.put_delivery("sentry", "d1", {}, b"{}", now=NOW)
        assert (again, new) == (first, False)
        assert len(store.deliveries()) == 1

    def test_claimed_deliveries_are_leased(self, store: Store) -> None:
        """A claimed delivery is not handed out again until its lease ends."""
        store.put_delivery("sentry", "d1", {}, b"{}", now=NOW)
        assert len(store.claim_deliveries(now=NOW, lease=LEASE)) == 1
        assert store.claim_deliveries(now=NOW + timedelta(minutes=1), lease=LEASE) == []
        [again] = store.claim_deliveries(now=NOW + timedelta(minutes=6), lease=LEASE)
        assert again.attempts == 2

    def test_finished_deliveries_leave_the_backlog(self, store: Store) -> None:
        """The backlog counts pending deliveries and dates the oldest."""
        row_id, _ = store.put_delivery("sentry", "d1", {}, b"{}", now=NOW)
        store.put_delivery("sentry", "d2", {}, b"{}", now=NOW + timedelta(seconds=5))
        assert store.inbox_backlog() == (2, NOW)
        store.finish_delivery(row_id, now=NOW)
        assert store.inbox_backlog() == (1, NOW + timedelta(seconds=5))


class TestWindowCounters:
    def test_hits_count_within_the_window(self, store: Store) -> None:
        """Each hit returns the number of occurrences in the window ending at it."""
        with store.transaction() as tx:
            counts = [
                tx.record("r", "g", NOW + timedelta(minutes=m), timedelta(minutes=10))
                for m in (0, 1, 2)
            ]
        assert counts == [1, 2, 3]

    def test_occurrences_that_slid_out_do_not_count(self, store: Store) -> None:
        """An occurrence older than the window is not counted."""
        with store.transaction() as tx:
            tx.record("r", "g", NOW, timedelta(minutes=10))
            assert tx.record("r", "g", NOW + timedelta(minutes=11), timedelta(minutes=10)) == 1

    def test_groups_are_counted_apart(self, store: Store) -> None:
        """Different group keys have their own counters."""
        with store.transaction() as tx:
            tx.record("r", "a", NOW, timedelta(hours=1))
            assert tx.record("r", "b", NOW, timedelta(hours=1)) == 1

    def test_pruning_removes_old_buckets(self, store: Store) -> None:
        """Pruned buckets (those of the hours before the horizon) no longer count."""
        with store.transaction() as tx:
            tx.record("r", "g", NOW, timedelta(days=1))
            assert tx.prune_occurrences(NOW + timedelta(hours=1, seconds=2)) == 1
            assert tx.count("r", "g", NOW, timedelta(days=1)) == 0


class TestSignals:
    def test_a_signal_is_recorded_once_per_event_key(self, store: Store) -> None:
        """Recording the same event twice is a no-op the second time."""
        signal = Signal(source="sentry", title="boom", occurred_at=NOW)
        with store.transaction() as tx:
            assert tx.record_signal("k1", signal, rules=["r"], outcome="routed", now=NOW)
            assert not tx.record_signal("k1", signal, rules=["r"], outcome="routed", now=NOW)
        [row] = store.signal_rows()
        assert (row["fingerprint"], row["rules"], row["occurred_at"]) == (
            signal.fingerprint,
            ["r"],
            NOW,
        )

    def test_text_holding_a_nul_character_is_stored_on_every_backend(self, store: Store) -> None:
        """PostgreSQL's text cannot hold NUL: it is stored as U+FFFD there, and a batch
        of signals is never refused for one vendor value that held it."""
        signal = Signal(source="sentry", service="api\x00", title="boom\x00!", occurred_at=NOW)
        with store.transaction() as plain:
            batch = BatchTransaction(plain.connection)
            assert batch.record_signals([("k\x00", signal)], now=NOW) == [True]
            batch.flush()
        with store.transaction() as tx:
            assert not tx.record_signal("k\x00", signal, rules=[], outcome="routed", now=NOW)
        [row] = store.signal_rows()
        kept = (row["service"], row["title"])
        assert kept in {("api\x00", "boom\x00!"), ("api\ufffd", "boom\ufffd!")}

    def test_a_title_too_long_for_an_index_entry_is_stored_on_every_backend(
        self, store: Store
    ) -> None:
        """The indexed theme is cut (PostgreSQL refuses index entries over 2.7 KB)."""
        signal = Signal(source="sentry", title="x" + "é" * 6000, occurred_at=NOW)
        with store.transaction() as tx:
            assert tx.record_signal("k1", signal, rules=[], outcome="routed", now=NOW)
        [row] = store.signal_rows()
        assert (len(row["title"]), len(row["theme"])) == (6001, 500)


class TestIncidents:
    def test_saving_an_incident_again_replaces_it(self, store: Store) -> None:
        """The newest state of an incident wins."""
        incident = Incident(id="P1", title="down", created_at=NOW)
        acknowledged = incident.model_copy(update={"acknowledged_at": NOW + timedelta(minutes=3)})
        with store.transaction() as tx:
            tx.save_incident(incident, now=NOW)
            tx.save_incident(acknowledged, now=NOW)
        assert store.incidents() == [acknowledged]


class TestLinks:
    def test_a_generation_is_claimed_once(self, store: Store) -> None:
        """The second claim of the same rule, group and generation gets None."""
        with store.transaction() as tx:
            assert tx.claim_link(**link_values()) is not None
            assert tx.claim_link(**link_values(marker="m-2")) is None

    def test_the_current_link_is_the_newest_generation(self, store: Store) -> None:
        """A second generation supersedes the first."""
        with store.transaction() as tx:
            tx.claim_link(**link_values())
            tx.claim_link(**link_values(generation=2, marker="m-2"))
            current = tx.current_link("r", "fingerprint=abc")
        assert current is not None
        assert (current.generation, current.marker) == (2, "m-2")

    def test_occurrences_are_counted_atomically(self, store: Store) -> None:
        """count_occurrence adds one and moves last_seen forward only."""
        with store.transaction() as tx:
            link = tx.claim_link(**link_values())
            assert link is not None
            tx.count_occurrence(link.id, at=NOW + timedelta(hours=1), now=NOW)
            tx.count_occurrence(link.id, at=NOW - timedelta(hours=1), now=NOW)
        stored = store.link(link.id)
        assert stored is not None
        assert (stored.occurrences, stored.last_seen_at) == (3, NOW + timedelta(hours=1))

    def test_a_link_is_found_by_its_ticket(self, store: Store) -> None:
        """Inbound ticket changes find their link by tracker and key."""
        with store.transaction() as tx:
            link = tx.claim_link(**link_values())
            assert link is not None
            tx.update_link(link.id, key="OPS-1", status="open")
        found = store.link_for_ticket("local", "OPS-1")
        assert found is not None
        assert found.ref() is not None

    @pytest.mark.parametrize(
        ("stored", "asked", "found"),
        [
            ("acme/api#7", "Acme/API#7", True),
            ("OPS-1", "ops-1", True),
            ("aBc12", "AbC12", False),  # another tracker's keys may tell case apart
        ],
    )
    def test_github_and_jira_keys_are_found_whatever_their_letter_case(
        self, store: Store, stored: str, asked: str, found: bool
    ) -> None:
        with store.transaction() as tx:
            link = tx.claim_link(**link_values())
            assert link is not None
            tx.update_link(link.id, key=stored, status="open")
        assert (store.link_for_ticket("local", asked) is not None) is found


class TestClosures:
    def test_every_closure_of_a_link_is_kept(self, store: Store) -> None:
        """Closing, reopening and closing again leaves two closures, oldest first."""
        with store.transaction() as tx:
            link = tx.claim_link(**link_values())
            assert link is not None
            tx.record_closure(link.id, closed_at=NOW, resolution="fixed")
            tx.record_reopening(link.id, at=NOW + timedelta(hours=1), cause="regression")
            tx.record_closure(link.id, closed_at=NOW + timedelta(hours=2), resolution="done")
        first, second = store.closures()
        assert (first.closed_at, first.resolution, first.reopened_at, first.reopen_cause) == (
            NOW,
            "fixed",
            NOW + timedelta(hours=1),
            "regression",
        )
        assert (second.closed_at, second.resolution, second.reopened_at) == (
            NOW + timedelta(hours=2),
            "done",
            None,
        )

    def test_a_reopening_marks_only_the_newest_open_closure(self, store: Store) -> None:
        """A second reopening leaves the closure reopened before as it was."""
        with store.transaction() as tx:
            link = tx.claim_link(**link_values())
            assert link is not None
            tx.record_closure(link.id, closed_at=NOW, resolution=None)
            tx.record_reopening(link.id, at=NOW + timedelta(hours=1), cause="ticket")
            tx.record_closure(link.id, closed_at=NOW + timedelta(hours=2), resolution=None)
            tx.record_reopening(link.id, at=NOW + timedelta(hours=3), cause="regression")
        assert [(c.reopened_at, c.reopen_cause) for c in store.closures(link_id=link.id)] == [
            (NOW + timedelta(hours=1), "ticket"),
            (NOW + timedelta(hours=3), "regression"),
        ]

    def test_reopening_a_link_without_a_closure_changes_nothing(self, store: Store) -> None:
        """A link closed before closures were recorded has none to mark, and no error."""
        with store.transaction() as tx:
            link = tx.claim_link(**link_values())
            other = tx.claim_link(**link_values(generation=2, marker="m-2"))
            assert link is not None
            assert other is not None
            tx.record_closure(other.id, closed_at=NOW, resolution=None)
            tx.record_reopening(link.id, at=NOW, cause="ticket")
        [closure] = store.closures()
        assert (closure.link_id, closure.reopened_at) == (other.id, None)

    def test_closures_can_be_read_for_one_link(self, store: Store) -> None:
        """`closures(link_id=...)` leaves out the other links' closures."""
        with store.transaction() as tx:
            link = tx.claim_link(**link_values())
            other = tx.claim_link(**link_values(generation=2, marker="m-2"))
            assert link is not None
            assert other is not None
            tx.record_closure(link.id, closed_at=NOW, resolution=None)
            tx.record_closure(other.id, closed_at=NOW, resolution=None)
        assert [c.link_id for c in store.closures(link_id=other.id)] == [other.id]

    def test_a_batch_transaction_records_closures_too(self, store: Store) -> None:
        """Closures are written at once through a batch, next to its cached links."""
        with store.transaction() as plain:
            batch = BatchTransaction(plain.connection)
            link = batch.claim_link(**link_values())
            assert link is not None
            batch.record_closure(link.id, closed_at=NOW, resolution="fixed")
            batch.record_reopening(link.id, at=NOW + timedelta(hours=1), cause="regression")
            batch.flush()
        [closure] = store.closures()
        assert (closure.resolution, closure.reopen_cause) == ("fixed", "regression")


class TestOutbox:
    def test_an_effect_is_planned_once_per_key(self, store: Store) -> None:
        """Replanning the same effect key is a no-op."""
        with store.transaction() as tx:
            assert tx.add_effect("e1", "comment", {"x": 1}, now=NOW) is not None
            assert tx.add_effect("e1", "comment", {"x": 1}, now=NOW) is None

    def test_a_buried_effect_becomes_a_dead_letter_that_can_be_retried(self, store: Store) -> None:
        """Dead letters keep the error and go back to the outbox when retried."""
        with store.transaction() as tx:
            tx.add_effect("e1", "comment", {"x": 1}, now=NOW)
        [effect] = store.claim_effects(now=NOW, lease=LEASE)
        letter_id = store.bury_effect(
            effect, now=NOW, error="Jira said no", error_type="BadRequestError", status_code=400
        )
        [letter] = store.dead_letters()
        assert (letter.id, letter.error, letter.status_code) == (letter_id, "Jira said no", 400)
        assert store.requeue_dead_letter(letter_id, now=NOW) == effect.id
        assert store.dead_letters() == []
        assert [e.id for e in store.claim_effects(now=NOW, lease=LEASE)] == [effect.id]

    def test_a_dead_letter_is_retried_only_once(self, store: Store) -> None:
        """A second retry of the same letter returns None."""
        with store.transaction() as tx:
            tx.add_effect("e1", "comment", {}, now=NOW)
        [effect] = store.claim_effects(now=NOW, lease=LEASE)
        letter_id = store.bury_effect(effect, now=NOW, error="x", error_type="E")
        store.requeue_dead_letter(letter_id, now=NOW)
        assert store.requeue_dead_letter(letter_id, now=NOW) is None


class TestOpening:
    def test_an_unknown_database_is_a_configuration_error(self) -> None:
        """Only SQLite and PostgreSQL are supported, and the error names their URLs."""
        with pytest.raises(ConfigurationError, match="unsupported store 'mysql'") as raised:
            Store("mysql://root@localhost/db")
        for scheme in ("sqlite:///", "postgresql://", "postgres://", "postgresql+psycopg://"):
            assert scheme in str(raised.value)

    @pytest.mark.postgres
    @pytest.mark.parametrize("scheme", ["postgres", "postgresql+psycopg"])
    def test_every_postgresql_spelling_opens_the_same_database(
        self, postgres_schema_url: str, scheme: str
    ) -> None:
        """`postgres://` (Heroku, Render, Supabase) and `postgresql+psycopg://` are PostgreSQL."""
        spelled = f"{scheme}://{postgres_schema_url.split('://', 1)[1]}"
        store = Store(spelled)
        try:
            assert store.dialect == "postgresql"
            store.put_delivery("sentry", "d1", {}, b"{}", now=NOW)
        finally:
            store.close()
        plain = Store(postgres_schema_url)
        try:
            assert [d.delivery_id for d in plain.deliveries()] == ["d1"]
        finally:
            plain.close()

    def test_a_malformed_url_is_a_configuration_error(self) -> None:
        """A string that is no URL names the accepted forms."""
        with pytest.raises(ConfigurationError, match="not a store URL"):
            Store("feedbackloop.db")

    def test_the_repr_hides_the_password(self) -> None:
        """Database passwords never show in reprs."""
        store = Store.__new__(Store)
        store.url = "postgresql://bob:hunter2@db/x"
        assert "hunter2" not in repr(store)


class TestInboxBatches:
    def test_a_delivery_is_stored_without_its_credential_headers(self, store: Store) -> None:
        """Secrets sent as headers are checked on arrival, never kept; the rest is kept."""
        headers = {
            "X-Feedbackloop-Token": "dd-secret",
            "Authorization": "Basic c2VjcmV0",
            "Sentry-Hook-Signature": "ab12",
        }
        [(delivery_id, new)] = store.put_deliveries([("datadog", "d1", headers, b"{}")], now=NOW)
        [stored] = store.deliveries()
        assert (stored.id, new) == (delivery_id, True)
        assert stored.headers == {"Sentry-Hook-Signature": "ab12"}
        assert (stored.body, stored.received_at) == (b"{}", NOW)

    def test_a_batch_reports_new_and_known_deliveries_in_order(self, store: Store) -> None:
        """One transaction for many deliveries; redeliveries, even within the batch, are not new."""
        store.put_delivery("sentry", "d1", {}, b"1", now=NOW)
        results = store.put_deliveries(
            [
                ("sentry", "d1", {}, b"1"),
                ("sentry", "d2", {}, b"2"),
                ("sentry", "d2", {}, b"2"),
                ("github", "d1", {}, b"3"),
            ],
            now=NOW,
        )
        assert [new for _, new in results] == [False, True, False, True]
        assert results[1][0] == results[2][0]
        assert len(store.deliveries()) == 3

    def test_a_database_failure_while_saving_is_a_store_error(self, store: Store) -> None:
        """The inbox's callers (the webhook app) answer "unavailable", not a crash."""
        with store.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE deliveries")
        with pytest.raises(StoreError):
            store.put_deliveries([("sentry", "d1", {}, b"1")], now=NOW)

    def test_a_delivery_id_longer_than_the_inbox_keeps_still_tells_redeliveries_apart(
        self, store: Store
    ) -> None:
        """Kept as its digest: the delivery is saved, and its redelivery is known."""
        long_id = "x" * 300
        [(row_id, new)] = store.put_deliveries([("sentry", long_id, {}, b"1")], now=NOW)
        [(again, repeated)] = store.put_deliveries([("sentry", long_id, {}, b"1")], now=NOW)
        assert (new, repeated, again) == (True, False, row_id)
        assert store.deliveries()[0].delivery_id.startswith("sha256:")

    def test_a_large_batch_gives_each_delivery_its_own_row_id(self, store: Store) -> None:
        """Past a hundred rows (one multi-row INSERT on SQLite), ids still match deliveries."""
        store.put_delivery("sentry", "d7", {}, b"7", now=NOW)
        batch = [("sentry", f"d{n}", {}, str(n).encode()) for n in range(250)]
        results = store.put_deliveries([*batch, ("sentry", "d3", {}, b"3")], now=NOW)
        bodies = {stored.id: stored.body for stored in store.deliveries()}
        assert [bodies[row_id] for row_id, _ in results] == [body for *_, body in batch] + [b"3"]
        assert [new for _, new in results] == [n != 7 for n in range(250)] + [False]
