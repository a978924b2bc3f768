"""One ODBC statement's rows through arrow-odbc: the driver fills Arrow buffers, no Python object per value.

The bulk transport of ``odbc`` sources whose dialect is ``postgres``
(:func:`serves`): ``arrow-odbc`` binds column buffers and fetches whole blocks
of rows into Arrow arrays (~3-5x pyodbc's rows per second here, see
``docs/transport.md``). It is asked for the promised schema itself (so an
unconstrained NUMERIC comes as the schema's float64, DOUBLE PRECISION as
float64 rather than the float32 psqlODBC's ``SQL_FLOAT`` would suggest),
except for ``timestamp with time zone``: arrow-odbc aborts the process on a
zone it did not produce, so such columns are fetched naive (the session is in
UTC) and labelled UTC by :func:`connectors.arrow_cast.cast_exactly`.

Cancelling needs the server's own help: arrow-odbc does not expose its
statement handle to ``SQLCancel`` from another thread, so the fetch learns its
backend's ``pg_backend_pid()`` before sending the statement and a cancel runs
``pg_cancel_backend(pid)`` from a second connection. T-SQL has no such call an
ordinary login may use (``KILL`` needs ALTER ANY CONNECTION), so SQL Server
sources stay on pyodbc, whose ``SQLCancel`` works for everyone.
"""

from __future__ import annotations

import math
import re
import threading
from typing import Iterator

import pyarrow as pa

from connectors.arrow_cast import cast_exactly

BATCH_ROWS = 16_384
#: Upper bound arrow-odbc's buffers assume for unbounded text/bytes columns (``text``, ``bytea``):
#: a longer value raises :class:`ValueTooLarge` (never truncated), and the scan reruns on pyodbc.
MAX_VALUE_BYTES = 1 << 16
#: Bytes of fetch buffers per batch: arrow-odbc sizes them by the widest possible row, so a
#: ``text`` column makes batches of ~1,000 rows instead of BATCH_ROWS, in bounded memory.
MAX_BATCH_BYTES = 64 << 20

_STATE = re.compile(r"State: (\w{5}), Native error: -?\d+, Message: (.*?)(?:;\n|\n|$)", re.DOTALL)


class ValueTooLarge(ValueError):
    """A value is longer than the buffers arrow-odbc bound for its column (:data:`MAX_VALUE_BYTES`)."""


def serves(dialect_name: str) -> bool:
    """Whether arrow-odbc can read (and a cancel can stop) statements of this dialect."""
    if dialect_name != "postgres":
        return False
    try:
        import arrow_odbc  # noqa: F401
    except ImportError:
        return False
    return True


def odbc_error(error: Exception) -> tuple[str, str]:
    """(SQLSTATE, the driver's message) of an arrow-odbc error."""
    found = _STATE.search(str(error))
    if found is None:
        return "", str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return found.group(1), found.group(2).strip()


def transport_schema(schema: pa.Schema) -> pa.Schema:
    """The schema arrow-odbc is asked to fill: ``schema`` with time zones dropped (see the module docstring)."""
    fields = []
    for field in schema:
        kind = field.type
        if pa.types.is_timestamp(kind) and kind.tz is not None:
            kind = pa.timestamp(kind.unit)
        fields.append(pa.field(field.name, kind, field.nullable))
    return pa.schema(fields)


class ArrowOdbcFetch:
    """Runs ``sql`` on an arrow-odbc connection of its own and yields batches of ``schema``.

    ``open()`` connects and learns ``backend`` (the server process to cancel);
    ``batches()`` sends the statement with the driver's query timeout;
    ``close()`` drops the reader and the connection.
    """

    def __init__(self, connection_string: str, sql: str, schema: pa.Schema, *, timeout: float | None = None,
                 login_timeout: int = 5):
        self._connection_string = connection_string
        self.sql = sql
        self.schema = schema
        self.timeout = timeout
        self.login_timeout = login_timeout
        self.backend: int | None = None
        self.exhausted = False
        self._connection = None
        self._reader = None
        self._state = threading.Lock()

    def open(self) -> None:
        from arrow_odbc import connect

        connection = connect(self._connection_string, login_timeout_sec=self.login_timeout)
        list(connection.read_arrow_batches("SET TIME ZONE 'UTC'"))  # timestamptz values arrive as UTC
        (backend,) = list(connection.read_arrow_batches("SELECT pg_backend_pid()"))[0].column(0).to_pylist()
        with self._state:
            self._connection, self.backend = connection, int(backend)

    def batches(self) -> Iterator[pa.RecordBatch]:
        seconds = max(1, math.ceil(self.timeout)) if self.timeout else None
        reader = self._connection.read_arrow_batches(
            self.sql,
            batch_size=BATCH_ROWS,
            max_text_size=MAX_VALUE_BYTES,
            max_binary_size=MAX_VALUE_BYTES,
            max_bytes_per_batch=MAX_BATCH_BYTES,
            schema=transport_schema(self.schema),
            query_timeout_sec=seconds,
        )
        self._reader = reader
        while True:
            try:
                batch = next(reader)
            except StopIteration:
                break
            except Exception as error:
                if "too large to be written into the allocated buffer" in str(error):
                    raise ValueTooLarge(f"a value is longer than {MAX_VALUE_BYTES} bytes") from None
                raise
            yield cast_exactly(batch, self.schema)
        self.exhausted = True

    def close(self) -> None:
        with self._state:
            self._reader = None
            self._connection = None  # arrow-odbc frees the statement and disconnects when collected
