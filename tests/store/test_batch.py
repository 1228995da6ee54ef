"""Batch ingestion: `ingest_many` through a `BatchTransaction` decides as one by one does.

A `BatchTransaction` answers every read as a plain `StoreTransaction` would, whether
its groups were preloaded or read on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

from feedbackloop import FeedbackLoop, Signal
from feedbackloop.connectors.local import LocalTracker
from feedbackloop.rules import F, OpenTicket, Rule, RuleSet, Threshold
from feedbackloop.store import Store, StoreTransaction, TicketLink
from feedbackloop.store import _schema as s
from feedbackloop.store._batch import BatchTransaction, _Series
from feedbackloop.store._windows import add_counts
from feedbackloop.testing import make_signal

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
            # (T0+30s, T0+90s]: the occurrence at T0+30s is on the window's open edge.
            assert batch.record("r", "g", T0 + timedelta(seconds=90), within) == 1
            assert batch.count("r", "g", T0 + timedelta(seconds=30), within) == 2
            batch.flush()
        with store.transaction() as tx:
            assert tx.count("r", "g", T0 + timedelta(seconds=90), within) == 1
            assert tx.count("r", "g", T0 + timedelta(seconds=30), within) == 2
        store.close()


# --- reading a batch's groups up front -------------------------------------------------

HOUR = timedelta(hours=1)
LATER = T0 + HOUR
RULES = ("r1", "r2")
KEYS = ("g1", "g2", "g3")
PAIRS = [(rule, key) for rule in RULES for key in KEYS]
SPANS = [
    (T0 + timedelta(minutes=5), HOUR),
    (T0 + timedelta(seconds=60), timedelta(seconds=30)),
    (T0 + timedelta(seconds=45), timedelta(seconds=1)),
    (T0 + timedelta(seconds=20, microseconds=500_000), timedelta(seconds=2)),
]
"""(at, within) of the counts compared at the end of a batch and after it."""
SURVEY = [
    *(("count", pair, at, within) for pair in PAIRS for at, within in SPANS),
    *(("link", pair, T0, HOUR) for pair in PAIRS),
]
"""Operations that end every run: each group's counts and current link."""


def link_values(rule: str, group_key: str, generation: int, **overrides: Any) -> dict[str, Any]:
    """What `claim_link` takes, as the lifecycle passes it."""
    values: dict[str, Any] = {
        "rule": rule,
        "group_key": group_key,
        "generation": generation,
        "tracker": "local",
        "marker": f"{rule}/{group_key}/{generation}",
        "status": "pending",
        "fingerprint": f"fp-{group_key}",
        "theme": "timeout in handler <n>",
        "title": f"timeout in {group_key}",
        "fields": {"labels": ["ops"]},
        "origin_source": "sentry",
        "origin_external_id": None,
        "sync_origin": 1,
        "previous_id": None,
        "occurrences": 1,
        "first_seen_at": T0,
        "last_seen_at": T0,
        "last_comment_at": T0,
        "updated_at": T0,
        "attempts": 0,
    }
    values.update(overrides)
    return values


def claim_generations(tx: StoreTransaction, rule: str, group_key: str, n: int) -> list[TicketLink]:
    """Links of generations 1..n of a group, each but the newest closed."""
    links: list[TicketLink] = []
    for generation in range(1, n + 1):
        link = tx.claim_link(
            **link_values(
                rule,
                group_key,
                generation,
                status="open" if generation == n else "closed",
                previous_id=links[-1].id if links else None,
            )
        )
        assert link is not None
        links.append(link)
    return links


Pair = tuple[str, str]
Occurrence = tuple[Pair, datetime]
Operation = tuple[str, Pair, datetime, timedelta]
Group = tuple[str, str, datetime | None]


def seed(store: Store, occurrences: Iterable[Occurrence], generations: dict[Pair, int]) -> None:
    """Store the occurrences, and each group's generations of links."""
    with store.transaction() as tx:
        for (rule, key), at in occurrences:
            tx.record(rule, key, at, HOUR)
        for (rule, key), n in generations.items():
            claim_generations(tx, rule, key, n)


def apply(tx: StoreTransaction, operations: Iterable[Operation]) -> list[object]:
    """Each operation's answer: a count, or the group's current link (then counted at `at`)."""
    answers: list[object] = []
    for kind, (rule, key), at, within in operations:
        if kind == "count":
            answers.append(tx.count(rule, key, at, within))
        elif kind == "record":
            answers.append(tx.record(rule, key, at, within))
        else:
            link = tx.current_link(rule, key)
            answers.append(link)
            if kind == "seen" and link is not None:
                tx.count_occurrence(link.id, at=at, now=LATER)
    return answers


def stored(store: Store) -> tuple[list[int], list[TicketLink]]:
    """What a later transaction reads: counts of every group over `SPANS`, and the links."""
    with store.transaction() as tx:
        counts = [tx.count(rule, key, at, within) for rule, key in PAIRS for at, within in SPANS]
    return counts, store.links()


def run(
    occurrences: list[Occurrence],
    generations: dict[Pair, int],
    operations: list[Operation],
    transaction: Callable[[Connection], StoreTransaction],
    preload: list[Group] | None = None,
    first_at: datetime | None = None,
) -> tuple[list[object], tuple[list[int], list[TicketLink]]]:
    """The answers of `operations` in one transaction on a seeded store, and what it left."""
    store = Store("sqlite://")
    try:
        seed(store, occurrences, generations)
        with store.transaction() as plain:
            tx = transaction(plain.connection)
            if isinstance(tx, BatchTransaction) and preload is not None:
                tx.preload(preload, first_at=first_at)
            answers = apply(tx, [*operations, *SURVEY])
            if isinstance(tx, BatchTransaction):
                tx.flush()
        return answers, stored(store)
    finally:
        store.close()


pairs = st.sampled_from(PAIRS)
moments = st.one_of(
    st.integers(min_value=0, max_value=90).map(lambda s: T0 + timedelta(seconds=s)),
    st.integers(min_value=0, max_value=90 * 10**6).map(lambda us: T0 + timedelta(microseconds=us)),
)
"""Times in the minute and a half after T0: on a second, or anywhere within one."""
windows = st.one_of(
    st.integers(min_value=1, max_value=90).map(lambda s: timedelta(seconds=s)),
    st.integers(min_value=1, max_value=3 * 10**6).map(lambda us: timedelta(microseconds=us)),
)
hours_of_moments = st.integers(min_value=-3 * 3600 * 10**6, max_value=3 * 3600 * 10**6).map(
    lambda us: T0 + timedelta(microseconds=us)
)
long_windows = st.integers(min_value=1, max_value=4 * 3600 * 10**6).map(
    lambda us: timedelta(microseconds=us)
)
"""Times and windows over hours: counts read whole minutes and hours from the rollups."""
names = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12)
"""Rule names and group keys of any text SQLite stores (NUL included)."""
occurrence_lists = st.lists(st.tuples(pairs, moments), max_size=25)
link_generations = st.dictionaries(pairs, st.integers(min_value=1, max_value=3), max_size=4)
operation_lists = st.lists(
    st.tuples(st.sampled_from(["count", "record", "link", "seen"]), pairs, moments, windows),
    max_size=20,
)
asked_groups = st.lists(
    st.tuples(
        pairs,
        st.none()
        | st.integers(min_value=-90, max_value=90).map(lambda s: T0 + timedelta(seconds=s)),
    ),
    max_size=6,
).map(lambda groups: [(rule, key, since) for (rule, key), since in groups])
"""A few of the groups, some asked twice, each with a `since` or None (its link only)."""

_property = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class TestPreload:
    @_property
    @given(
        occurrences=occurrence_lists,
        generations=link_generations,
        operations=operation_lists,
    )
    def test_a_batch_reading_groups_on_first_use_answers_as_a_plain_transaction(
        self,
        occurrences: list[Occurrence],
        generations: dict[Pair, int],
        operations: list[Operation],
    ) -> None:
        """Counts, records and current links, and what flush leaves, equal a plain one's."""
        expected = run(occurrences, generations, operations, StoreTransaction)
        assert run(occurrences, generations, operations, BatchTransaction) == expected

    @_property
    @given(
        occurrences=occurrence_lists,
        generations=link_generations,
        operations=operation_lists,
        asked=asked_groups,
        first_at=st.none() | moments,
    )
    def test_a_batch_with_preloaded_groups_answers_as_a_plain_transaction(
        self,
        occurrences: list[Occurrence],
        generations: dict[Pair, int],
        operations: list[Operation],
        asked: list[Group],
        first_at: datetime | None,
    ) -> None:
        """Preloading any groups, from any moment, changes no answer and nothing flushed.

        The groups not asked for share a rule or a key with those asked: their rows come
        back from the preload's queries and must not be mixed in. With `first_at`, the
        buckets read as one sum must be read one by one again by counts at moments
        before it, or over windows shorter than the summed buckets.
        """
        expected = run(occurrences, generations, operations, StoreTransaction)
        got = run(occurrences, generations, operations, BatchTransaction, asked, first_at)
        assert got == expected

    @_property
    @given(
        occurrences=st.lists(st.tuples(pairs, hours_of_moments), max_size=25),
        operations=st.lists(
            st.tuples(st.sampled_from(["count", "record"]), pairs, hours_of_moments, long_windows),
            max_size=20,
        ),
        asked=st.lists(st.tuples(pairs, hours_of_moments), max_size=6),
        first_at=st.none() | hours_of_moments,
    )
    def test_a_batch_over_hours_of_history_answers_as_a_plain_transaction(
        self,
        occurrences: list[Occurrence],
        operations: list[Operation],
        asked: list[tuple[Pair, datetime]],
        first_at: datetime | None,
    ) -> None:
        """Summed buckets spanning whole minutes and hours are read from their rollups."""
        groups = [(rule, key, since) for (rule, key), since in asked]
        expected = run(occurrences, {}, operations, StoreTransaction)
        assert run(occurrences, {}, operations, BatchTransaction, groups, first_at) == expected

    def test_a_window_covering_the_summed_buckets_counts_them_once(self, store: Store) -> None:
        """The buckets all the batch's windows cover come back as one sum, counted right."""
        seed(store, [(("r1", "g1"), T0 + timedelta(seconds=n)) for n in range(30)], {})
        at = T0 + timedelta(seconds=40)
        with store.transaction() as plain:
            batch = BatchTransaction(plain.connection)
            batch.preload([("r1", "g1", at - HOUR)], first_at=at)
            assert batch.record("r1", "g1", at, HOUR) == 31
            assert batch.count("r1", "g1", at, timedelta(seconds=15)) == 5

    def test_a_day_long_window_beside_an_hour_long_one_reads_its_history_as_one_sum(
        self, store: Store
    ) -> None:
        """Rules counting over a day and over an hour in one batch: each group's history
        comes back summed from its own window's edge, not second by second from the
        longest window's edge, and counts as a plain transaction does."""
        day = timedelta(days=1)
        at = T0 + day
        minutes = [s.to_micros(T0 + timedelta(minutes=n)) for n in range(24 * 60)]
        with store.transaction() as tx:
            add_counts(
                tx.connection, {(rule, "g", m): 1 for rule in ("day", "hour") for m in minutes}
            )
        with store.transaction() as plain:
            expected = [plain.count("day", "g", at, day), plain.count("hour", "g", at, HOUR)]
            batch = BatchTransaction(plain.connection)
            batch.preload([("day", "g", at - day), ("hour", "g", at - HOUR)], first_at=at)
            assert [
                batch.count("day", "g", at, day),
                batch.count("hour", "g", at, HOUR),
            ] == expected
            assert expected == [24 * 60 - 1, 60 - 1]  # the windows' opening minutes are out
            assert len(batch._series["day", "g"].starts) < 5

    def test_groups_sharing_a_rule_or_a_key_with_preloaded_ones_keep_their_own_state(
        self, store: Store
    ) -> None:
        """Preloading (r1, g1) and (r2, g2) leaves out (r1, g2) and (r2, g1), on every backend."""
        cross = [("r1", "g1"), ("r1", "g2"), ("r2", "g1"), ("r2", "g2")]
        seed(
            store,
            [
                (pair, T0 + timedelta(seconds=n))
                for n, pair in enumerate(cross)
                for _ in range(n + 1)
            ],
            {pair: n + 1 for n, pair in enumerate(cross)},
        )
        with store.transaction() as plain:
            expected = [
                (plain.count(rule, key, LATER, HOUR * 2), plain.current_link(rule, key))
                for rule, key in cross
            ]
            batch = BatchTransaction(plain.connection)
            batch.preload([("r1", "g1", T0 - HOUR), ("r2", "g2", T0 - HOUR)])
            answers = [
                (batch.count(rule, key, LATER, HOUR * 2), batch.current_link(rule, key))
                for rule, key in cross
            ]
        assert [(count, link and link.generation) for count, link in answers] == [
            (1, 1),
            (2, 2),
            (3, 3),
            (4, 4),
        ]
        assert answers == expected

    def test_more_groups_than_one_query_reads_are_each_counted_once(self, store: Store) -> None:
        """A preload split into several queries adds no group's buckets twice."""
        keys = [f"g{n}" for n in range(450)]
        groups = [(rule, key) for rule in RULES for key in keys]
        with store.transaction() as plain:
            batch = BatchTransaction(plain.connection)
            for rule, key in groups:
                batch.record(rule, key, T0, HOUR)
            batch.flush()
        with store.transaction() as plain:
            batch = BatchTransaction(plain.connection)
            batch.preload((rule, key, T0 - HOUR) for rule, key in groups)
            counts = {batch.count(rule, key, T0, HOUR) for rule, key in groups}
        assert counts == {1}

    def test_buckets_before_the_preloaded_moment_are_read_when_a_count_reaches_them(
        self, memory_store: Store
    ) -> None:
        """A window longer than the preload asked for still counts the older occurrences."""
        seed(memory_store, [(("r1", "g1"), T0 - timedelta(minutes=30)), (("r1", "g1"), T0)], {})
        with memory_store.transaction() as plain:
            batch = BatchTransaction(plain.connection)
            batch.preload([("r1", "g1", T0 - timedelta(minutes=1))])
            assert batch.count("r1", "g1", T0, timedelta(minutes=1)) == 1
            assert batch.count("r1", "g1", T0, HOUR) == 2

    def test_preloading_a_group_the_batch_already_counted_keeps_its_occurrences(
        self, memory_store: Store
    ) -> None:
        """A group recorded in the batch before its preload keeps the batch's own count."""
        seed(memory_store, [(("r1", "g1"), T0)], {})
        with memory_store.transaction() as plain:
            batch = BatchTransaction(plain.connection)
            assert batch.record("r1", "g1", T0, HOUR) == 2
            batch.preload([("r1", "g1", T0 - HOUR), ("r1", "g2", None)])
            assert batch.count("r1", "g1", T0, HOUR) == 2
            batch.flush()
        with memory_store.transaction() as tx:
            assert tx.count("r1", "g1", T0, HOUR) == 2

    @_property
    @given(
        groups=st.lists(st.tuples(names, names), min_size=1, max_size=6, unique=True),
    )
    def test_groups_with_any_text_in_their_names_are_preloaded_as_read_one_by_one(
        self, groups: list[tuple[str, str]]
    ) -> None:
        """Rules and group keys with quotes, backslashes, emoji or blanks are found."""
        store = Store("sqlite://")
        with store.transaction() as tx:
            for rule, key in groups:
                tx.record(rule, key, T0, HOUR)
                claim_generations(tx, rule, key, 2)
        with store.transaction() as plain:
            expected = [
                (plain.count(rule, key, T0, HOUR), plain.current_link(rule, key))
                for rule, key in groups
            ]
            batch = BatchTransaction(plain.connection)
            batch.preload((rule, key, T0 - HOUR) for rule, key in groups)
            answers = [
                (batch.count(rule, key, T0, HOUR), batch.current_link(rule, key))
                for rule, key in groups
            ]
        store.close()
        assert answers == expected

    def test_a_group_key_holding_a_nul_character_is_preloaded(self, memory_store: Store) -> None:
        """A NUL in a label value (so in the group key) is stored, and found by a preload."""
        key = "labels.team=pay\x00ments"
        with memory_store.transaction() as tx:
            tx.record("r1", key, T0, HOUR)
        with memory_store.transaction() as plain:
            batch = BatchTransaction(plain.connection)
            batch.preload([("r1", key, T0 - HOUR)])
            counted = batch.count("r1", key, T0, HOUR)
        assert counted == 1

    def test_a_link_read_by_id_does_not_become_its_groups_current_link(
        self, memory_store: Store
    ) -> None:
        """Reading an old generation by id leaves the newest one current, as in a plain one."""
        with memory_store.transaction() as tx:
            first, second = claim_generations(tx, "r1", "g1", 2)
        with memory_store.transaction() as plain:
            batch = BatchTransaction(plain.connection)
            assert batch.link(first.id) == first
            current = batch.current_link("r1", "g1")
        assert current == second


# --- recording signals ------------------------------------------------------------------


def keyed(*keys: str) -> list[tuple[str, Signal]]:
    return [(key, make_signal(title=f"signal {key}")) for key in keys]


class TestSeries:
    @given(
        added=st.lists(st.tuples(st.integers(-50, 50), st.integers(1, 5)), max_size=40),
        asked=st.lists(st.tuples(st.integers(-60, 60), st.integers(-60, 60)), max_size=10),
    )
    def test_a_window_holds_the_occurrences_added_to_its_buckets(
        self, added: list[tuple[int, int]], asked: list[tuple[int, int]]
    ) -> None:
        """In any order of buckets, late ones included; a reversed window holds none."""
        series = _Series()
        for bucket, n in added:
            series.add(bucket, n)
        for low, high in asked:
            assert series.total(low, high) == sum(n for b, n in added if low <= b <= high)

    @given(
        added=st.lists(st.tuples(st.integers(-50, 50), st.integers(1, 5)), max_size=40),
        merged=st.lists(st.tuples(st.integers(-50, 50), st.integers(1, 5)), max_size=40),
        asked=st.lists(st.tuples(st.integers(-60, 60), st.integers(-60, 60)), max_size=10),
    )
    def test_merging_rows_counts_them_as_adding_them_one_by_one(
        self,
        added: list[tuple[int, int]],
        merged: list[tuple[int, int]],
        asked: list[tuple[int, int]],
    ) -> None:
        """Rows loaded in any order, into a series that already holds buckets."""
        series = _Series()
        for bucket, n in added:
            series.add(bucket, n)
        series.merge(merged)
        for low, high in asked:
            expected = sum(n for b, n in [*added, *merged] if low <= b <= high)
            assert series.total(low, high) == expected


class TestRecordSignals:
    def test_signals_recorded_in_a_batch_are_stored_with_their_outcomes(self, store: Store) -> None:
        """After flush each new signal's row holds the rules, outcome and link it was given."""
        with store.transaction() as plain:
            link = plain.claim_link(**link_values("r1", "g1", 1))
            assert link is not None
            batch = BatchTransaction(plain.connection)
            assert batch.record_signals(keyed("a", "b"), now=T0) == [True, True]
            batch.set_signal_outcome("a", rules=["r1", "r2"], outcome="fired", link_id=link.id)
            batch.set_signal_outcome("b", rules=[], outcome="unmatched", link_id=None)
            batch.flush()
        rows = {row["event_key"]: row for row in store.signal_rows()}
        assert {
            key: (row["rules"], row["outcome"], row["link_id"]) for key, row in rows.items()
        } == {
            "a": (["r1", "r2"], "fired", link.id),
            "b": ([], "unmatched", None),
        }
        assert (rows["a"]["title"], rows["a"]["recorded_at"]) == ("signal a", T0)

    def test_a_key_stored_before_the_batch_is_reported_and_not_stored_again(
        self, store: Store
    ) -> None:
        """A key recorded earlier is False, and its row stays as it was."""
        with store.transaction() as tx:
            tx.record_signal("a", make_signal(title="first"), rules=["r1"], outcome="fired", now=T0)
        with store.transaction() as plain:
            batch = BatchTransaction(plain.connection)
            assert batch.record_signals(keyed("a", "b"), now=LATER) == [False, True]
            batch.set_signal_outcome("b", rules=[], outcome="unmatched", link_id=None)
            batch.flush()
        rows = store.signal_rows()
        assert [(row["event_key"], row["title"], row["outcome"]) for row in rows] == [
            ("a", "first", "fired"),
            ("b", "signal b", "unmatched"),
        ]

    def test_a_key_repeated_in_one_call_is_false_after_its_first(self, store: Store) -> None:
        """Duplicates within the signals are False after the first, and stored once."""
        with store.transaction() as plain:
            batch = BatchTransaction(plain.connection)
            assert batch.record_signals(keyed("a", "b", "a", "a", "b"), now=T0) == [
                True,
                True,
                False,
                False,
                False,
            ]
            batch.flush()
        keys = [row["event_key"] for row in store.signal_rows()]
        assert sorted(keys) == ["a", "b"]

    def test_the_outcome_of_a_signal_stored_before_the_batch_is_set_at_flush(
        self, store: Store
    ) -> None:
        """set_signal_outcome reaches rows the batch did not record itself."""
        with store.transaction() as tx:
            tx.record_signal("a", make_signal(), rules=[], outcome="pending", now=T0)
        with store.transaction() as plain:
            batch = BatchTransaction(plain.connection)
            batch.set_signal_outcome("a", rules=["r1"], outcome="held", link_id=None)
            batch.flush()
        [row] = store.signal_rows()
        assert (row["rules"], row["outcome"]) == (["r1"], "held")

    def test_a_key_recorded_by_an_earlier_call_of_the_batch_is_false(self, store: Store) -> None:
        """A second record_signals in one batch sees the first one's keys as recorded."""
        with store.transaction() as plain:
            batch = BatchTransaction(plain.connection)
            batch.record_signals(keyed("a"), now=T0)
            again = batch.record_signals(keyed("a", "b"), now=T0)
            batch.flush()
        assert again == [False, True]


# --- links by id ----------------------------------------------------------------------


class TestLinksById:
    def test_existing_links_are_returned_by_id_and_unknown_ids_skipped(self, store: Store) -> None:
        """links_by_id(ids) maps each stored id to its link; ids with no link are left out."""
        with store.transaction() as tx:
            first, second = claim_generations(tx, "r1", "g1", 2)
            other = tx.claim_link(**link_values("r2", "g1", 1))
            found = tx.links_by_id([second.id, first.id, 999_999, second.id])
        assert other is not None
        assert found == {first.id: first, second.id: second}

    def test_no_ids_read_no_links(self, store: Store) -> None:
        """An empty id list is an empty mapping."""
        with store.transaction() as tx:
            claim_generations(tx, "r1", "g1", 1)
            assert tx.links_by_id([]) == {}

    def test_a_link_reads_back_with_every_value_it_was_claimed_with(self, store: Store) -> None:
        """Rows convert to TicketLink field by field: JSON fields as dicts, flags as bools."""
        values = link_values("r1", "g1", 1, sync_origin=1, fields={"labels": ["ops"], "n": 2})
        with store.transaction() as tx:
            claimed = tx.claim_link(**values)
            assert claimed is not None
            [read] = tx.links_by_id([claimed.id]).values()
        assert read == claimed
        assert {name: getattr(read, name) for name in values} == {**values, "sync_origin": True}
        assert (read.key, read.url, read.created_at, read.closed_at) == (None, None, None, None)

    def test_a_batch_returns_its_own_versions_of_links_it_changed(self, store: Store) -> None:
        """Links the batch read show its changes (occurrences before flush); others are read."""
        with store.transaction() as tx:
            [counted] = claim_generations(tx, "r1", "g1", 1)
            [updated] = claim_generations(tx, "r1", "g2", 1)
            [untouched] = claim_generations(tx, "r2", "g1", 1)
        with store.transaction() as plain:
            batch = BatchTransaction(plain.connection)
            batch.preload([("r1", "g1", None), ("r1", "g2", None)])
            batch.count_occurrence(counted.id, at=LATER, now=LATER)
            batch.update_link(updated.id, key="OPS-1", status="open")
            found = batch.links_by_id([counted.id, updated.id, untouched.id, 999_999])
            batch.flush()
            expected = plain.links_by_id([counted.id, updated.id, untouched.id])
        assert found == expected
        assert (found[counted.id].occurrences, found[counted.id].last_seen_at) == (2, LATER)
        assert found[updated.id].key == "OPS-1"
        assert found[untouched.id] == untouched


class TestFinishEffect:
    def test_an_effect_finished_in_a_transaction_is_done(self, store: Store) -> None:
        """finish_effect marks the effect done, and no worker claims it again."""
        with store.transaction() as tx:
            effect_id = tx.add_effect("e1", "comment", {"x": 1}, now=T0)
            assert effect_id is not None
        [claimed] = store.claim_effects(now=T0, lease=HOUR)
        with store.transaction() as tx:
            tx.finish_effect(claimed.id, now=LATER)
        [effect] = store.effects()
        assert (effect.id, effect.status, effect.last_error) == (effect_id, "done", None)
        assert store.claim_effects(now=LATER + HOUR, lease=HOUR) == []
