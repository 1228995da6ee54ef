"""Window arithmetic: which counter buckets a window counts, at which widths.

Occurrences are counted in one-second buckets (`occurrences`), and the same counts are
rolled up into minute and hour buckets (`occurrence_rollups`). A window is exact to the
second, and counting it reads the seconds at its two edges, the minutes next to them
and the whole hours between: a day-long window is at most 260 rows, not 86,400.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Connection, bindparam, func, select

from feedbackloop.store import _schema as s
from feedbackloop.store._bulk import Bulk

__all__ = [
    "ROLLUPS",
    "SECOND",
    "Shape",
    "Tile",
    "add_counts",
    "bucket_of",
    "count",
    "lowest_counted",
    "seconds_of",
    "tile_parts",
    "tile_values",
    "tiles",
    "window",
]

SECOND = 1_000_000
"""Width of a window-counter bucket, in microseconds: window counts are exact to it."""

ROLLUPS = (60 * SECOND, 3600 * SECOND)
"""The widths counts are rolled up into, finest first, each a multiple of the last."""

Tile = tuple[int, int, int]
"""`(width, first, last)`: the buckets of `width` starting from `first` to `last`."""


def bucket_of(micros: int, width: int = SECOND) -> int:
    """The start of the bucket of `width` holding the moment `micros` (floored, also
    before 1970)."""
    return micros - micros % width


def _start_from(micros: int, width: int) -> int:
    """The first start of a bucket of `width` at or after `micros`."""
    return -(-micros // width) * width


def lowest_counted(since: datetime) -> int:
    """The lowest bucket start a window opening at `since` counts: the second after the
    one holding `since`. Times compare by their second (as `InMemoryWindowCounts`
    compares them), which is exact for times on whole seconds: a window of 10 s at
    09:00:10 holds 09:00:01 to 09:00:10, not 09:00:00."""
    return bucket_of(s.to_micros(since)) + SECOND


def window(at: datetime, within: timedelta) -> tuple[int, int]:
    """The lowest and highest bucket start counted in `(at - within, at]`."""
    return lowest_counted(at - within), s.to_micros(at)


def seconds_of(low: int, high: int) -> tuple[int, int]:
    """The first and last one-second bucket starting in `[low, high]` (first > last:
    none does)."""
    return _start_from(low, SECOND), bucket_of(high)


def tiles(low: int, high: int) -> list[Tile]:
    """The fewest buckets, of any width, that together hold exactly the seconds starting
    in `[low, high]`; in time order, at most two of each width and one of the widest."""
    first, last = seconds_of(low, high)
    if first > last:
        return []
    return _tiled(first, last, (SECOND, *ROLLUPS))


def _tiled(first: int, last: int, widths: tuple[int, ...]) -> list[Tile]:
    width, coarser = widths[0], widths[1:]
    if not coarser:
        return [(width, first, last)]
    outer = coarser[0]
    inner_first = _start_from(first, outer)  # the first whole coarser bucket
    inner_end = bucket_of(last + width, outer)  # and the end of the last one
    if inner_first >= inner_end:
        return [(width, first, last)]
    found = [(width, first, inner_first - width)] if first < inner_first else []
    found += _tiled(inner_first, inner_end - outer, coarser)
    if inner_end <= last:
        found.append((width, inner_end, last))
    return found


# --- counting in the store ---------------------------------------------------------------

Shape = tuple[int, ...]
"""The widths of a window's tiles, in order: which statement counts them."""


def tile_values(low: int, high: int) -> tuple[Shape, dict[str, int]]:
    """The shape of `tiles(low, high)`, and their bounds as the parameters that
    `tile_parts` of that shape names."""
    shape = []
    values = {}
    for index, (width, first, last) in enumerate(tiles(low, high)):
        shape.append(width)
        values[f"b_t{index}_lo"], values[f"b_t{index}_hi"] = first, last
    return tuple(shape), values


def tile_parts(shape: Shape, build: Callable[[Any, Any], Any]) -> list[Any]:
    """One statement part per tile of `shape`: `build(table, condition)` for the table
    holding the tile's width and the condition selecting its buckets."""
    parts = []
    for index, width in enumerate(shape):
        table = s.occurrences if width == SECOND else s.occurrence_rollups
        lo = bindparam(f"b_t{index}_lo", type_=BigInteger())
        hi = bindparam(f"b_t{index}_hi", type_=BigInteger())
        condition: Any = table.c.bucket.between(lo, hi)
        if width != SECOND:
            condition = condition & (table.c.width == width // SECOND)
        parts.append(build(table, condition))
    return parts


def _count_part(table: Any, condition: Any) -> Any:
    total = select(func.coalesce(func.sum(table.c.count), 0)).where(
        table.c.rule == bindparam("b_rule"),
        table.c.group_key == bindparam("b_group_key"),
        condition,
    )
    return total.scalar_subquery()


@functools.cache
def _count_statement(shape: Shape) -> Any:
    parts = tile_parts(shape, _count_part)
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return select(total)


def count(connection: Connection, rule: str, group_key: str, low: int, high: int) -> int:
    """Occurrences of a group in the buckets starting in `[low, high]`."""
    shape, values = tile_values(low, high)
    if not shape:
        return 0
    found = connection.execute(
        _count_statement(shape), {"b_rule": rule, "b_group_key": group_key, **values}
    ).scalar_one()
    return int(found)


def _add(table: Any, keys: list[str]) -> Callable[[str], Any]:
    def build(dialect: str) -> Any:
        """Add `count` occurrences to a bucket (`count + n`: no increment is lost)."""
        upsert = s.insert_for(dialect, table)
        return upsert.on_conflict_do_update(
            index_elements=keys, set_={"count": table.c.count + upsert.excluded.count}
        )

    return build


_ADD_SECONDS = Bulk(_add(s.occurrences, ["rule", "group_key", "bucket"]))
_ADD_ROLLUPS = Bulk(_add(s.occurrence_rollups, ["rule", "group_key", "width", "bucket"]))


def add_counts(connection: Connection, added: Mapping[tuple[str, str, int], int]) -> None:
    """Add occurrences, by (rule, group key, one-second bucket), to the seconds and to
    their rollups; in key order, so that concurrent writers lock rows alike."""
    if not added:
        return
    rolled: defaultdict[tuple[str, str, int, int], int] = defaultdict(int)
    for (rule, group_key, bucket), n in added.items():
        for width in ROLLUPS:
            rolled[rule, group_key, width // SECOND, bucket_of(bucket, width)] += n
    _ADD_SECONDS.run(
        connection,
        [
            {"rule": rule, "group_key": group_key, "bucket": bucket, "count": n}
            for (rule, group_key, bucket), n in sorted(added.items())
        ],
    )
    _ADD_ROLLUPS.run(
        connection,
        [
            {"rule": rule, "group_key": group_key, "width": width, "bucket": bucket, "count": n}
            for (rule, group_key, width, bucket), n in sorted(rolled.items())
        ],
    )
