"""One MySQL statement's rows through pymysql: the fallback transport, and the one for small results.

:class:`PyMySQLFetch` runs a statement on a pymysql connection of its own
(the connector's ``connect(streaming=True)``: an unbuffered ``SSCursor``, so
rows move only as batches are consumed) and turns rows into record batches of
the promised schema. It builds a Python object per value (~150-180 k rows/s
here), which is why bulk reads go through :mod:`connectors.mysql_duckdb`; it
stays for servers that transport cannot serve and for values only it reads
exactly (DECIMAL wider than 38 digits arrives as text here, as DOUBLE there).

Dates, times of day, timestamps and decimals are decoded as text and parsed by
Arrow a whole column at a time (:func:`connectors.arrow_cast.cast_array`: zero
dates and TIME values outside a day become NULL); BIT becomes an integer.
"""

from __future__ import annotations

import threading
from typing import Iterator

import pyarrow as pa
import pymysql
import pymysql.cursors
from pymysql.constants import FIELD_TYPE
from pymysql.converters import conversions

from connectors.arrow_cast import cast_array

BATCH_ROWS = 8192


def _bit(value):
    return int.from_bytes(value if isinstance(value, bytes) else bytes(value, "latin1"), "big")


#: How scans decode values: dates, times, timestamps and decimals stay text, parsed a whole
#: column at a time by Arrow (see :func:`rows_to_batch`); BIT becomes an integer.
DECODERS = {
    **conversions,
    FIELD_TYPE.DATE: str,
    FIELD_TYPE.DATETIME: str,
    FIELD_TYPE.TIMESTAMP: str,
    FIELD_TYPE.NEWDECIMAL: str,
    FIELD_TYPE.DECIMAL: str,
    FIELD_TYPE.TIME: str,
    FIELD_TYPE.BIT: _bit,
}

_PARSED_FROM_TEXT = (
    pa.types.is_timestamp, pa.types.is_date32, pa.types.is_time64, pa.types.is_decimal, pa.types.is_floating,
)


def rows_to_batch(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    """One record batch of ``schema`` from rows decoded by :data:`DECODERS` (columns by position)."""
    columns = list(zip(*rows)) if rows else [() for _ in schema]
    arrays = []
    for field, values in zip(schema, columns):
        if any(test(field.type) for test in _PARSED_FROM_TEXT) and any(isinstance(v, str) for v in values):
            text = pa.array([None if v is None else str(v) for v in values], type=pa.string())
            arrays.append(cast_array(text, field.type))
        else:
            try:
                arrays.append(pa.array(values, type=field.type))
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                arrays.append(cast_array(pa.array(values), field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class PyMySQLFetch:
    """Runs ``sql`` on a streaming pymysql connection of its own and yields batches of ``schema``.

    ``thread_id`` is the server's id for the connection (set before the
    statement is sent), so another thread can ``KILL QUERY`` it; ``close()``
    stops a statement whose rows were not all read and drops the connection.
    """

    def __init__(self, connector, sql: str, schema: pa.Schema, *, timeout: float | None = None):
        # ``timeout`` only keeps the signature of DuckDBMySQLFetch: pymysql also serves MySQL proper, which has no
        # max_statement_time, so here the client's KILL QUERY alone stops a statement
        self.connector = connector
        self.sql = sql
        self.schema = schema
        self.thread_id: int | None = None
        self.exhausted = False
        self._connection = None
        self._cursor = None
        self._state = threading.Lock()
        self._closed = False

    def open(self) -> None:
        """Connect (no statement yet): afterwards ``thread_id`` is known."""
        connection = self.connector.connect(streaming=True)
        with self._state:
            if self._closed:
                connection.close()
                return
            self._connection = connection
            self.thread_id = connection.thread_id()

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self._connection is None:
            self.open()
        cursor = self._connection.cursor()
        self._cursor = cursor
        cursor.execute(self.sql)
        while True:
            rows = cursor.fetchmany(BATCH_ROWS)
            if not rows:
                break
            yield rows_to_batch(rows, self.schema)
        self.exhausted = True

    def close(self) -> None:
        """Stop the statement if rows are left unread, and drop the connection."""
        with self._state:
            self._closed = True
            connection, self._connection = self._connection, None
        if connection is None:
            return
        cursor, self._cursor = self._cursor, None
        if not self.exhausted and self.thread_id is not None and cursor is not None:
            try:
                self.connector.kill_query(self.thread_id)  # else the server keeps streaming to nobody
            except Exception:  # noqa: BLE001 - the connection is closed below either way
                pass
            # pymysql drains every unread row when an unbuffered cursor or result is closed or
            # collected; the KILL above already stopped them, so tell both there is nothing to read.
            result = getattr(cursor, "_result", None)
            if result is not None:
                result.unbuffered_active = False
            cursor.connection = None
        try:
            connection.close()
        except pymysql.err.Error:
            pass  # already gone (killed, or the server closed it)
