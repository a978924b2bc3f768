"""Ask DuckDB what a query would return, without any rows: column names and Arrow types.

The planner rewrites queries; DuckDB's binder is the authority on what the
original meant. :func:`schema` runs a query over empty stand-ins for its scans
(each scan's Arrow schema as an empty table) on a locked connection of its own
and returns the result's Arrow schema. Used to type a pushed fragment's columns
(``sum(bigint)`` is ``HUGEINT`` in DuckDB whatever the source returns) and to give
a rewritten query the column names DuckDB would have given the user's text
(``count_star()``, ``(a + 1)``).
"""

from __future__ import annotations

import contextlib
import threading

import duckdb
import pyarrow as pa
from sqlglot import exp

from c360 import policy
from c360.planner.parse import residual_sql

_local = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = duckdb.connect(config=policy.locked_config(threads=1))
        policy.lock(connection)
        _local.connection = connection
    return connection


def names(query: exp.Expression, scans, cursor=None) -> list[str]:
    """The column names DuckDB gives ``query``'s result (bound, not run)."""
    with _bound(query, scans, cursor) as (cursor, sql, values):
        return list(cursor.sql(sql, params=values or None).columns)


def schema(query: exp.Expression, scans, cursor=None) -> pa.Schema:
    """The Arrow schema of ``query`` (DuckDB SQL over ``scans``' placeholders); duckdb.Error if it does not bind.

    ``cursor`` is a cursor of the engine's own connection, so the query may call the functions the engine
    registered (the model's scorer); without one, a locked connection of this module's is used.
    """
    with _bound(query, scans, cursor) as (cursor, sql, values):
        return cursor.execute(sql, values).to_arrow_table().schema


@contextlib.contextmanager
def _bound(query: exp.Expression, scans, cursor=None):
    """``(cursor, sql, values)``: ``query`` as DuckDB SQL, with an empty table under each scan it reads."""
    cursor = cursor if cursor is not None else _connection().cursor()
    try:
        used = {table.name for table in query.find_all(exp.Table)}
        for scan in scans:
            if scan.name in used:
                cursor.register(scan.name, scan.table.arrow_schema().empty_table())
        sql, values = residual_sql(query)
        yield cursor, sql, values
    finally:
        cursor.close()
