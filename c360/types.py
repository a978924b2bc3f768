"""Converting between DuckDB type names (what catalogs and sqlglot speak) and Arrow types.

DuckDB itself is the authority on both directions, so a declared
``STRUCT(followers BIGINT, sentiment DOUBLE)`` means exactly what DuckDB means.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import threading

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from c360.errors import CatalogError

_lock = threading.Lock()
_connection: duckdb.DuckDBPyConnection | None = None


def _duckdb() -> duckdb.DuckDBPyConnection:
    global _connection
    if _connection is None:
        _connection = duckdb.connect()
    return _connection


@functools.lru_cache(maxsize=1024)
def arrow_type(duckdb_type: str) -> pa.DataType:
    """The Arrow type DuckDB produces for ``duckdb_type``; CatalogError if it is not a type."""
    try:
        parsed = exp.DataType.build(duckdb_type, dialect="duckdb")
    except (sqlglot.errors.ParseError, ValueError):
        raise CatalogError(f"'{duckdb_type}' is not a type") from None
    cast = exp.select(exp.cast(exp.null(), parsed).as_("x")).sql(dialect="duckdb")
    with _lock:
        try:
            return _duckdb().execute(cast).arrow().schema.field("x").type
        except duckdb.Error:
            raise CatalogError(f"'{duckdb_type}' is not a type") from None


#: DuckDB's names for the plain Arrow types, so naming a result's columns does not hand DuckDB a Python
#: object (its scan of one imports pandas, ~0.4 s); tests/test_types.py checks each against DuckDB.
_PLAIN = {
    pa.bool_(): "BOOLEAN", pa.int8(): "TINYINT", pa.int16(): "SMALLINT", pa.int32(): "INTEGER",
    pa.int64(): "BIGINT", pa.uint8(): "UTINYINT", pa.uint16(): "USMALLINT", pa.uint32(): "UINTEGER",
    pa.uint64(): "UBIGINT", pa.float32(): "FLOAT", pa.float64(): "DOUBLE", pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR", pa.binary(): "BLOB", pa.large_binary(): "BLOB", pa.date32(): "DATE",
    pa.time64("us"): "TIME", pa.timestamp("us"): "TIMESTAMP", pa.timestamp("us", "UTC"): "TIMESTAMP WITH TIME ZONE",
}


@functools.lru_cache(maxsize=1024)
def duckdb_type(arrow: pa.DataType) -> str:
    """DuckDB's name for the type it gives an Arrow column of type ``arrow``."""
    if arrow in _PLAIN:
        return _PLAIN[arrow]
    if pa.types.is_decimal128(arrow):
        return f"DECIMAL({arrow.precision},{arrow.scale})"
    return described_by_duckdb(arrow)


def described_by_duckdb(arrow: pa.DataType) -> str:
    """DuckDB's own ``DESCRIBE`` of an empty Arrow column of type ``arrow`` (the slow, general way)."""
    empty = pa.table({"x": pa.array([], type=arrow)})
    with _lock:
        cursor = _duckdb().cursor()
        try:
            cursor.register("t", empty)
            return cursor.execute("DESCRIBE SELECT x FROM t").fetchone()[1]
        finally:
            cursor.close()


def json_default(value):
    """``json.dumps(default=...)`` for what Arrow hands back: dates as ISO text, decimals exact."""
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def is_string(arrow: pa.DataType) -> bool:
    return pa.types.is_string(arrow) or pa.types.is_large_string(arrow)
