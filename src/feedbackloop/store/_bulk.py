"""Statements run for many rows at once, past SQLAlchemy's per-row work on SQLite.

SQLAlchemy's executemany spends more per row building and processing parameter dicts
than SQLite spends storing the row, and its multi-row `INSERT ... RETURNING` renders
the SQL anew for each batch. On SQLite a `Bulk` statement goes to the driver instead,
each value converted by its column type's own bind processor; the SQL is compiled from
the statement once per set of row keys, so it stays the schema's. Other databases get
SQLAlchemy's own executemany, which batches well there.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

__all__ = ["Bulk"]

_Prepared = tuple[str, Callable[[dict[str, Any]], Any], list[tuple[int, Callable[[Any], Any]]]]


class Bulk:
    """A statement, built per dialect by `build`, run for many rows at once."""

    def __init__(self, build: Callable[[str], Any]) -> None:
        self._build = functools.cache(build)
        # By row keys: the SQL, a getter of a row's values in its parameters' order,
        # and the conversions by position (most values need none).
        self._sqlite: dict[tuple[str, ...], _Prepared] = {}

    def run(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        """Execute the statement once per row (all rows have the same keys)."""
        dialect = connection.dialect
        if dialect.name != "sqlite":
            connection.execute(self._build(dialect.name), rows)
            return
        sql, values = self._sqlite_values(connection, rows)
        connection.exec_driver_sql(sql, values)

    def returning(
        self, connection: Connection, rows: list[dict[str, Any]]
    ) -> list[tuple[Any, ...]]:
        """Execute the statement once per row and return what its RETURNING clause gave.

        The returned values are the driver's (no result processing): meant for ids,
        keys and text.
        """
        dialect = connection.dialect
        if dialect.name != "sqlite":
            return [tuple(row) for row in connection.execute(self._build(dialect.name), rows)]
        sql, values = self._sqlite_values(connection, rows)
        cursor = connection.connection.cursor()
        try:
            returned: list[tuple[Any, ...]] = []
            for row_values in values:
                cursor.execute(sql, row_values)
                returned.extend(cursor.fetchall())
            return returned
        finally:
            cursor.close()

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
            for index, to_db in conversions:
                row_values[index] = to_db(row_values[index])
            values.append(tuple(row_values))
        return sql, values

    def _prepare(self, connection: Connection, keys: tuple[str, ...]) -> _Prepared:
        dialect = connection.dialect
        compiled = self._build("sqlite").compile(dialect=dialect, column_keys=list(keys))
        names = compiled.positiontup or []
        processors = [compiled.binds[name].type.bind_processor(dialect) for name in names]
        return (
            compiled.string,
            operator.itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],),
            [(i, to_db) for i, to_db in enumerate(processors) if to_db is not None],
        )
