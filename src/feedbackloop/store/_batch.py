"""A transaction for a run of signals: read each group's state once, write it once.

`ingest_many` and `process_pending` route many signals in one transaction. Through a
plain `StoreTransaction` every signal costs half a dozen statements (record the
signal, bump and sum its window counter, lock and bump its ticket link, set its
outcome). `BatchTransaction` keeps the same protocol (the rule engine's window counts,
the lifecycle's link steps) but reads the counter buckets and ticket links of all the
batch's groups up front (`preload`, a query per table, the buckets that every window
of the batch covers summed into one) or of a group on first use, works on them in
memory, and writes everything back in a few multi-row statements (`Bulk`) when the
batch ends. On SQLite even the signal rows wait for the end: their keys are looked up
first, and the rows are inserted with their outcomes.

Within one transaction this changes nothing a reader could see: the batch holds the
write lock on SQLite, and on PostgreSQL the links it read are locked (`FOR UPDATE`)
until it commits. Counter increments are written as `count = count + n`, so a
concurrent worker's increments are never lost; a batch does not see the increments
other workers commit while it runs (as if it had run just before them).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import operator
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Connection,
    String,
    and_,
    bindparam,
    func,
    select,
    tuple_,
    union_all,
)

from feedbackloop._models import Signal
from feedbackloop.store import _schema as s
from feedbackloop.store import _windows as windows
from feedbackloop.store._bulk import Bulk
from feedbackloop.store._records import TicketLink
from feedbackloop.store._store import (
    _LINK_FIELDS,
    _SET_OUTCOME,
    StoreTransaction,
    _as_stored,
    _count_link_occurrences,
    _insert_new,
    _link,
    _signal_row,
)

__all__ = ["BatchTransaction"]

_CHUNK = 400
"""Groups per preload query: well under SQLite's and PostgreSQL's parameter limits."""


_T = TypeVar("_T")


def _chunks(items: list[_T]) -> Iterator[list[_T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


# Reading many (rule, group key) pairs must seek in the (rule, group_key, ...) key.
# PostgreSQL does so for `(rule, group_key) IN (...)`, SQLite scans the whole table:
# there the pairs go in as one JSON parameter, joined through json_each, which seeks.
# (A VALUES list would seek too, but SQLAlchemy compiles it anew at every call.)
def _of_groups(dialect: str, table: Any, *columns: Any) -> Any:
    if dialect != "sqlite":
        asked = tuple_(table.c.rule, table.c.group_key).in_(bindparam("b_pairs", expanding=True))
        return select(*columns).where(asked)
    asked = _asked_pairs()
    on = and_(table.c.rule == asked.c.rule, table.c.group_key == asked.c.group_key)
    return select(*columns).join_from(asked, table, on)


@functools.cache
def _asked_pairs() -> Any:
    """SQLite: the pairs of the JSON parameter, decoded once however many parts of a
    statement join them (a CTE used more than once is materialised)."""
    each = func.json_each(bindparam("b_pairs", type_=String())).table_valued("value")
    return select(
        func.json_extract(each.c.value, "$[0]").label("rule"),
        func.json_extract(each.c.value, "$[1]").label("group_key"),
    ).cte("asked")


_NEAR = 10 * 60 * windows.SECOND
"""Groups whose windows open further apart than this (rules counting over windows of
different lengths) are read by separate queries: reading the seconds between their
edges one by one would cost more than another query."""


def _near_edges(
    edges: dict[tuple[str, str], tuple[int, int]],
) -> Iterator[dict[tuple[str, str], tuple[int, int]]]:
    """`edges` (lowest and latest low of each group's windows) in runs whose latest
    lows lie within `_NEAR` of one another, so that each run's summed buckets start
    close to every one of its windows' edges."""
    run: dict[tuple[str, str], tuple[int, int]] = {}
    start = 0
    for pair, edge in sorted(edges.items(), key=lambda item: item[1][1]):
        if run and edge[1] - start > _NEAR:
            yield run
            run = {}
        if not run:
            start = edge[1]
        run[pair] = edge
    if run:
        yield run


def _pairs(dialect: str, pairs: list[tuple[str, str]]) -> Any:
    return json.dumps(pairs) if dialect == "sqlite" else pairs


@functools.cache
def _series_query(dialect: str, shape: windows.Shape) -> Any:
    """The groups' buckets from `b_low` on, one by one, except those in `[b_lo, b_hi]`:
    their sum, from whole minutes and hours where they fit (tiles of `shape`), as one
    bucket `b_hi`."""
    o = s.occurrences
    summed_first = bindparam("b_lo", type_=BigInteger())
    summed_last = bindparam("b_hi", type_=BigInteger())

    def rows(table: Any, condition: Any, *columns: Any) -> Any:
        return _of_groups(dialect, table, table.c.rule, table.c.group_key, *columns).where(
            condition
        )

    parts = [
        rows(
            o,
            and_(o.c.bucket >= bindparam("b_low"), o.c.bucket < summed_first),
            o.c.bucket,
            o.c.count,
        ),
        rows(o, o.c.bucket > summed_last, o.c.bucket, o.c.count),
    ]
    if shape:
        tiled = union_all(
            *windows.tile_parts(shape, lambda table, where: rows(table, where, table.c.count))
        ).subquery()
        summed = select(tiled.c.rule, tiled.c.group_key, summed_last, func.sum(tiled.c.count))
        parts.append(summed.group_by(tiled.c.rule, tiled.c.group_key))
    return union_all(*parts)


@functools.cache
def _links_query(dialect: str) -> Any:
    """The newest link of each group (locked on PostgreSQL, as `current_link` locks it)."""
    t = s.ticket_links
    older = t.alias("older")
    newest = (
        select(func.max(older.c.generation))
        .where(older.c.rule == t.c.rule, older.c.group_key == t.c.group_key)
        .scalar_subquery()
    )
    query = _of_groups(dialect, t, *t.c).where(t.c.generation == newest)
    return query.order_by(t.c.id).with_for_update(of=t)


class _Series:
    """The buckets of one (rule, group key) known to the batch: loaded plus added.

    `summed` is a range of buckets loaded as one sum, kept under its highest bucket:
    right for every window that covers the whole range. The buckets are kept in order
    with running totals, so a window's count is two bisections whatever the number of
    buckets, and adding to the newest bucket (traffic in time order) is O(1).
    """

    __slots__ = ("low", "starts", "summed", "totals")

    def __init__(self) -> None:
        self.starts: list[int] = []  # bucket starts, ascending
        self.totals: list[int] = []  # occurrences in the buckets up to each one
        self.low: int | None = None  # buckets from here on are loaded
        self.summed: tuple[int, int] | None = None

    def add(self, bucket: int, n: int) -> None:
        """Count `n` more occurrences in `bucket`."""
        starts, totals = self.starts, self.totals
        index = bisect.bisect_left(starts, bucket)
        if index == len(starts) or starts[index] != bucket:
            starts.insert(index, bucket)
            totals.insert(index, totals[index - 1] if index else 0)
        for later in range(index, len(totals)):
            totals[later] += n

    def merge(self, counts: Iterable[tuple[int, int]]) -> None:
        """Count many (bucket, n) at once, in any order: sorted and summed once, where
        `add` would shift the running totals after every bucket that lands early."""
        merged: dict[int, int] = dict(zip(self.starts, self._counts(), strict=True))
        for bucket, n in counts:
            merged[bucket] = merged.get(bucket, 0) + n
        self.starts = sorted(merged)
        self.totals = list(itertools.accumulate(merged[bucket] for bucket in self.starts))

    def _counts(self) -> list[int]:
        before = [0, *self.totals][: len(self.totals)]
        return [total - earlier for total, earlier in zip(self.totals, before, strict=True)]

    def total(self, low: int, high: int) -> int:
        """Occurrences in the buckets `[low, high]`."""
        first = bisect.bisect_left(self.starts, low)
        end = bisect.bisect_right(self.starts, high)
        if end <= first:
            return 0
        return self.totals[end - 1] - (self.totals[first - 1] if first else 0)


class BatchTransaction(StoreTransaction):
    """A `StoreTransaction` that defers its writes to `flush()`; see the module doc.

    Call `flush()` before the transaction commits.
    """

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._series: dict[tuple[str, str], _Series] = {}
        self._added: defaultdict[tuple[str, str, int], int] = defaultdict(int)
        self._links: dict[tuple[str, str], TicketLink | None] = {}
        self._by_id: dict[int, TicketLink] = {}
        # occurrences, first and last seen (micros), now
        self._seen: dict[int, tuple[int, int, int, datetime]] = {}
        self._outcomes: list[dict[str, Any]] = []
        self._sqlite = connection.dialect.name == "sqlite"
        self._rows: dict[str, dict[str, Any]] = {}  # signals recorded at `flush` (SQLite)

    # --- reading a batch's state up front -----------------------------------------------

    def preload(
        self,
        groups: Iterable[tuple[str, str, datetime | None]],
        *,
        first_at: datetime | None = None,
    ) -> None:
        """Read the counters and links of many groups in a few queries.

        `groups` holds `(rule, group key, since)`: the batch will count that group's
        occurrences from `since` on (None: the rule has no threshold, only its link is
        needed). `first_at`, when given, is the earliest moment the batch will count
        at: the buckets that every window from then on covers (after the latest
        `since`, up to `first_at`) are read as one sum per group, not one row per
        second. Groups whose windows open far apart (rules counting over an hour and
        over a day) are read by separate queries, each summing from its own groups'
        latest `since`. Groups the batch already knows are skipped; reading them later on
        first use gives the same answers, one query each, as does counting a window
        that does not cover the summed buckets.
        """
        edges: dict[tuple[str, str], tuple[int, int] | None] = {}  # lowest, latest low
        for rule, group_key, moment in groups:
            if "\x00" in rule or "\x00" in group_key:
                continue  # SQLite's JSON functions cut text at NUL: read on first use
            known = edges.setdefault((rule, group_key), None)
            if moment is not None:
                low = windows.lowest_counted(moment)
                edges[rule, group_key] = (
                    (low, low) if known is None else (min(known[0], low), max(known[1], low))
                )
        series = {
            pair: edge
            for pair, edge in edges.items()
            if edge is not None and pair not in self._series
        }
        for near in _near_edges(series):
            latest = max(edge[1] for edge in near.values())
            summed = None if first_at is None else (latest, s.to_micros(first_at))
            self._preload_series({pair: edge[0] for pair, edge in near.items()}, summed)
        links = [pair for pair in edges if pair not in self._links]
        if links:
            self._preload_links(links)

    def _preload_series(
        self, series: dict[tuple[str, str], int], summed: tuple[int, int] | None
    ) -> None:
        low = min(series.values())
        if summed is not None and summed[0] > summed[1]:
            summed = None  # the batch spans more than a window: nothing is always covered
        for pair in series:
            loaded = self._series[pair] = _Series()
            loaded.low = low
            loaded.summed = summed
        lo, hi = summed or (low, low - 1)  # an empty range sums nothing
        dialect = self.connection.dialect.name
        shape, values = windows.tile_values(lo, hi)
        values.update(b_low=low, b_lo=lo, b_hi=hi)
        for chunk in _chunks(list(series)):
            rows: defaultdict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
            for rule, group_key, bucket, count in self.connection.execute(
                _series_query(dialect, shape), {"b_pairs": _pairs(dialect, chunk), **values}
            ):
                rows[rule, group_key].append((bucket, int(count)))
            for pair, counts in rows.items():
                self._series[pair].merge(counts)

    def _preload_links(self, pairs: list[tuple[str, str]]) -> None:
        dialect = self.connection.dialect.name
        for pair in pairs:
            self._links[pair] = None
        # In one order, so that two batches lock their shared links alike (PostgreSQL).
        for chunk in _chunks(sorted(pairs)):
            rows = self.connection.execute(
                _links_query(dialect), {"b_pairs": _pairs(dialect, chunk)}
            )
            for row in rows:
                link = _link(row)
                newest = self._links[link.rule, link.group_key]
                if newest is None or link.generation > newest.generation:
                    self._remember(self._by_id.get(link.id, link), current=True)

    # --- window counters ----------------------------------------------------------------

    def _load(self, rule: str, group_key: str, low: int, high: int) -> _Series:
        """The group's series, complete for the window of buckets `[low, high]`."""
        series = self._series.get((rule, group_key))
        if series is None:
            series = self._series[rule, group_key] = _Series()
        summed = series.summed
        if summed is not None and not (low <= summed[0] and summed[1] <= high):
            # A window the summed buckets do not all fall in: read them one by one.
            series = self._series[rule, group_key] = self._unsummed(rule, group_key, series)
        if series.low is None or low < series.low:
            self._load_into(series, rule, group_key, low, series.low)
            series.low = low
        return series

    def _unsummed(self, rule: str, group_key: str, series: _Series) -> _Series:
        """`series` with its buckets read one by one, this batch's additions included."""
        assert series.low is not None
        fresh = _Series()
        self._load_into(fresh, rule, group_key, series.low, None)
        fresh.low = series.low
        fresh.merge(
            (bucket, n)
            for (added_rule, added_key, bucket), n in self._added.items()
            if added_rule == rule and added_key == group_key and bucket >= series.low
        )
        return fresh

    def _load_into(
        self, series: _Series, rule: str, group_key: str, low: int, below: int | None
    ) -> None:
        o = s.occurrences
        query = select(o.c.bucket, o.c.count).where(
            o.c.rule == rule, o.c.group_key == group_key, o.c.bucket >= low
        )
        if below is not None:
            query = query.where(o.c.bucket < below)
        series.merge((bucket, int(count)) for bucket, count in self.connection.execute(query))

    def record(self, rule: str, group_key: str, at: datetime, within: timedelta) -> int:
        """Record one occurrence at `at` and return the count in `(at - within, at]`."""
        low, high = windows.window(at, within)
        bucket = windows.bucket_of(high)
        series = self._load(rule, group_key, low, high)
        series.add(bucket, 1)
        self._added[rule, group_key, bucket] += 1
        return series.total(low, high)

    def count(self, rule: str, group_key: str, at: datetime, within: timedelta) -> int:
        """Occurrences in `(at - within, at]`, to the second, this batch's included."""
        low, high = windows.window(at, within)
        return self._load(rule, group_key, low, high).total(low, high)

    # --- signals ------------------------------------------------------------------------

    def record_signals(self, signals: Sequence[tuple[str, Signal]], *, now: datetime) -> list[bool]:
        """Record (event key, signal) pairs once each; True for those recorded now.

        A key recorded before, or earlier in `signals`, is False. On SQLite the rows
        are inserted by `flush`, with the outcomes `set_signal_outcome` gave them;
        elsewhere they are inserted now and their outcomes set by `flush`.
        """
        # Keys in the form the database answers with, so that its answers match them.
        dialect = self.connection.dialect.name
        signals = [(_as_stored(dialect, key), signal) for key, signal in signals]
        rows: dict[str, dict[str, Any]] = {}
        for key, signal in signals:
            if key not in rows:
                rows[key] = _signal_row(key, signal, now)
        if self._sqlite:
            # The batch holds SQLite's write lock (BEGIN IMMEDIATE): no other writer can
            # record a key between this look and the insert in `flush`.
            # Rows of an earlier call of this batch are recorded too, if not yet written.
            fresh = set(rows) - self._rows.keys() - self._recorded_keys(list(rows))
            self._rows.update((key, rows[key]) for key in rows if key in fresh)
        else:
            # Elsewhere the insert itself decides: a concurrent batch recording the same
            # key waits on the unique index until this one commits, then skips it.
            statement = _insert_new(self.connection.dialect.name)["signal"]
            fresh = set(self.connection.execute(statement, list(rows.values())).scalars())
        recorded = []
        for key, _ in signals:
            recorded.append(key in fresh)
            fresh.discard(key)
        return recorded

    def _recorded_keys(self, keys: list[str]) -> set[str]:
        column = s.signals.c.event_key
        query = select(column).where(column.in_(bindparam("keys", expanding=True)))
        found: set[str] = set()
        for chunk in _chunks(keys):
            found.update(self.connection.execute(query, {"keys": chunk}).scalars())
        return found

    def set_signal_outcome(
        self, event_key: str, *, rules: Sequence[str], outcome: str, link_id: int | None
    ) -> None:
        """Record what the rules decided for a recorded signal (written by `flush`)."""
        row = self._rows.get(event_key)
        if row is not None:
            row.update(rules=list(rules), outcome=outcome, link_id=link_id)
        else:
            self._outcomes.append(
                {"b_key": event_key, "rules": list(rules), "outcome": outcome, "link_id": link_id}
            )

    # --- ticket links -------------------------------------------------------------------

    def _remember(self, link: TicketLink, *, current: bool = False) -> TicketLink:
        """Keep the batch's version of `link`; `current`: it is its group's newest.

        A link read by id or theme may be an older generation: it becomes the group's
        current link only if it already was.
        """
        self._by_id[link.id] = link
        pair = (link.rule, link.group_key)
        known = self._links.get(pair)
        if current or (known is not None and known.id == link.id):
            self._links[pair] = link
        return link

    def _fresh(self, link: TicketLink | None) -> TicketLink | None:
        """A link read from the database, or the batch's newer version of it."""
        if link is None:
            return None
        known = self._by_id.get(link.id)
        return known if known is not None else self._remember(link)

    def current_link(self, rule: str, group_key: str) -> TicketLink | None:
        """The newest link of a group: read (and locked) once per batch."""
        if (rule, group_key) in self._links:
            return self._links[rule, group_key]
        link = super().current_link(rule, group_key)
        if link is None:
            self._links[rule, group_key] = None
            return None
        return self._remember(self._by_id.get(link.id, link), current=True)

    def claim_link(self, **values: Any) -> TicketLink | None:
        """Insert a new link generation; None when another worker claimed it first."""
        claimed = super().claim_link(**values)
        if claimed is None:
            self._links.pop((values["rule"], values["group_key"]), None)
            return None
        return self._remember(claimed, current=True)

    def update_link(self, link_id: int, **values: Any) -> None:
        """Change fields of a link."""
        super().update_link(link_id, **values)
        link = self._by_id.get(link_id)
        if link is not None:
            self._remember(_replaced(link, values))

    def count_occurrence(self, link_id: int, *, at: datetime, now: datetime) -> None:
        """Add one occurrence to a link (written by `flush`)."""
        micros = s.to_micros(at)
        count, first, last, _ = self._seen.get(link_id, (0, micros, micros, now))
        self._seen[link_id] = (count + 1, min(first, micros), max(last, micros), now)
        link = self._by_id.get(link_id)
        if link is not None:
            self._remember(
                _replaced(
                    link,
                    {
                        "occurrences": link.occurrences + 1,
                        "first_seen_at": min(link.first_seen_at, at),
                        "last_seen_at": max(link.last_seen_at, at),
                        "updated_at": now,
                    },
                )
            )

    def link(self, link_id: int) -> TicketLink | None:
        """One link by id."""
        known = self._by_id.get(link_id)
        return known if known is not None else self._fresh(super().link(link_id))

    def links_by_id(self, link_ids: Iterable[int]) -> dict[int, TicketLink]:
        """The links of `link_ids` that exist, by id: the batch's versions where it has them."""
        wanted = set(link_ids)
        found = super().links_by_id(wanted - self._by_id.keys())
        found.update((i, self._by_id[i]) for i in wanted & self._by_id.keys())
        return found

    def open_link_for_theme(self, *, fingerprint: str, theme: str) -> TicketLink | None:
        """An open (or pending) link whose group shares the fingerprint or the theme."""
        return self._fresh(super().open_link_for_theme(fingerprint=fingerprint, theme=theme))

    def link_for_ticket(self, tracker: str, key: str) -> TicketLink | None:
        """The link of ticket `key` in `tracker`: the batch's version of it."""
        return self._fresh(super().link_for_ticket(tracker, key))

    # --- writing back ---------------------------------------------------------------------

    def flush(self) -> None:
        """Write the batch's signals, counters, link occurrences and outcomes, in a few
        statements."""
        c = self.connection
        if self._rows:
            _INSERT_SIGNALS.run(c, list(self._rows.values()))
            self._rows = {}
        windows.add_counts(c, self._added)
        self._added.clear()
        if self._seen:
            _COUNT_LINK_OCCURRENCES.run(
                c,
                [
                    {"b_id": link_id, "b_n": n, "b_first": first, "b_last": last, "b_now": now}
                    for link_id, (n, first, last, now) in sorted(self._seen.items())
                ],
            )
            self._seen.clear()
        if self._outcomes:
            _SET_OUTCOMES.run(c, self._outcomes)
            self._outcomes = []


_LINK_POSITION = {name: index for index, name in enumerate(_LINK_FIELDS)}
_link_values = operator.attrgetter(*_LINK_FIELDS)


def _replaced(link: TicketLink, changes: dict[str, Any]) -> TicketLink:
    """`dataclasses.replace(link, **changes)` at a fraction of the cost (once per signal)."""
    values = list(_link_values(link))
    for name, value in changes.items():
        values[_LINK_POSITION[name]] = value
    return TicketLink(*values)


def _build_insert_signals(dialect: str) -> Any:
    return s.insert_for(dialect, s.signals).on_conflict_do_nothing(index_elements=["event_key"])


_INSERT_SIGNALS = Bulk(_build_insert_signals)
_COUNT_LINK_OCCURRENCES = Bulk(_count_link_occurrences)
_SET_OUTCOMES = Bulk(lambda dialect: _SET_OUTCOME)
