"""Statements run for many rows at once, past SQLAlchemy's per-row work on SQLite.

SQLAlchemy's executemany spends more per row building and processing parameter dicts
than SQLite spends storing the row, its multi-row `INSERT ... RETURNING` renders
the SQL anew for each batch, and even one row costs several times what SQLite spends
on it. On SQLite a `Bulk` statement goes to the driver instead,
each value converted by its column type's own bind processor; the SQL is compiled from
the statement once per set of row keys, so it stays the schema's. Other databases get
SQLAlchemy's own executemany, which batches well there.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, StatementError

__all__ = ["Bulk"]

_Prepared = tuple[str, Callable[[dict[str, Any]], Any], list[tuple[int, Callable[[Any], Any]]]]

_ROWS_PER_INSERT = 100
"""Rows in one multi-row INSERT: its parameters stay under 999, the limit of old SQLite."""


class Bulk:
    """A statement, built per dialect by `build`, run for many rows at once (or one).

    On SQLite the driver's errors are raised as SQLAlchemy's, as if it had run them.
    """

    def __init__(self, build: Callable[[str], Any]) -> None:
        self._build = functools.cache(build)
        # By row keys: the SQL, a getter of a row's values in its parameters' order,
        # and the conversions by position (most values need none).
        self._sqlite: dict[tuple[str, ...], _Prepared] = {}

    def run(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        """Execute the statement once per row (all rows have the same keys).

        On SQLite the rows go to the driver's cursor directly, in the connection's
        transaction (begun here if none is, as SQLAlchemy's own `execute` would).
        """
        dialect = connection.dialect
        if dialect.name != "sqlite":
            connection.execute(self._build(dialect.name), rows)
            return
        sql, values = self._sqlite_values(connection, rows)
        with _driver_cursor(connection, sql) as cursor:
            cursor.executemany(sql, values)

    def returning(
        self, connection: Connection, rows: list[dict[str, Any]]
    ) -> list[tuple[Any, ...]]:
        """Insert the rows and return what the INSERT's RETURNING clause gave, in no
        particular order (SQLite promises none for a multi-row INSERT).

        The returned values are the driver's (no result processing): meant for ids,
        keys and text. On SQLite the rows go in as multi-row INSERTs, a hundred at a time.
        """
        dialect = connection.dialect
        if dialect.name != "sqlite":
            return [tuple(row) for row in connection.execute(self._build(dialect.name), rows)]
        sql, values = self._sqlite_values(connection, rows)
        returned: list[tuple[Any, ...]] = []
        with _driver_cursor(connection, sql) as cursor:
            for start in range(0, len(values), _ROWS_PER_INSERT):
                chunk = values[start : start + _ROWS_PER_INSERT]
                cursor.execute(
                    _with_rows(sql, len(chunk[0]), len(chunk)),
                    [value for row_values in chunk for value in row_values],
                )
                returned.extend(cursor.fetchall())
        return returned

    def _sqlite_values(
        self, connection: Connection, rows: list[dict[str, Any]]
    ) -> tuple[str, list[tuple[Any, ...]]]:
        keys = tuple(rows[0])
        prepared = self._sqlite.get(keys)
        if prepared is None:
            prepared = self._sqlite[keys] = self._prepare(connection, keys)
        sql, values_of, conversions = prepared
        values = []
        for row in rows:
            row_values = list(values_of(row))
            try:
                for index, to_db in conversions:
                    row_values[index] = to_db(row_values[index])
            except Exception as exc:
                # A value its column cannot take (a programming error): raised as
                # SQLAlchemy raises it, without the row's values.
                raise StatementError(
                    f"a value could not be converted for its column: {type(exc).__name__}",
                    sql,
                    None,
                    exc,
                    hide_parameters=True,
                ) from exc
            values.append(tuple(row_values))
        return sql, values

    def _prepare(self, connection: Connection, keys: tuple[str, ...]) -> _Prepared:
        dialect = connection.dialect
        compiled = self._build("sqlite").compile(dialect=dialect, column_keys=list(keys))
        names = compiled.positiontup or []
        processors = [compiled.binds[name].type.bind_processor(dialect) for name in names]
        get = operator.itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
        # Values the statement sets itself (`.values(status="done")`) are binds too; a
        # parameter it needs, or a column default SQLAlchemy would compute, must be given.
        missing = [name for name in names if name not in keys]
        computed = {c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)}
        needed = [name for name in missing if compiled.binds[name].required or name in computed]
        if needed:
            raise KeyError(f"rows lack {', '.join(needed)} for: {compiled.string}")
        fixed = {name: compiled.binds[name].effective_value for name in missing}
        return (
            compiled.string,
            (lambda row: get({**fixed, **row})) if fixed else get,
            [(i, to_db) for i, to_db in enumerate(processors) if to_db is not None],
        )


@contextmanager
def _driver_cursor(connection: Connection, sql: str) -> Iterator[Any]:
    """The driver's cursor, inside a transaction of `connection`; the driver's errors
    raised as SQLAlchemy's."""
    if not connection.in_transaction():
        connection.begin()  # as `connection.execute` would: the caller commits
    cursor = connection.connection.cursor()
    try:
        yield cursor
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(connection, sql, exc) from exc
    finally:
        cursor.close()


def _wrapped(connection: Connection, sql: str, error: Exception) -> Exception:
    """The driver's `error` as SQLAlchemy would raise it (`OperationalError`,
    `IntegrityError`, ...), so callers handle one family; without the parameters, which
    may hold webhook bodies."""
    wrapped = DBAPIError.instance(
        sql, None, error, connection.dialect.loaded_dbapi.Error, hide_parameters=True
    )
    assert isinstance(wrapped, Exception)
    return wrapped


@functools.lru_cache(maxsize=256)
def _with_rows(sql: str, width: int, count: int) -> str:
    """`sql`, a one-row INSERT of `width` parameters, inserting `count` rows instead."""
    one = "(" + ", ".join(["?"] * width) + ")"
    head, found, tail = sql.partition(f"VALUES {one}")
    if not found or f"VALUES {one}" in tail:
        raise ValueError(f"not a one-row INSERT of {width} parameters: {sql}")
    return f"{head}VALUES {', '.join([one] * count)}{tail}"
