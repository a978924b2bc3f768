"""MySQL and MariaDB, through pymysql.

Discovery reads ``information_schema``; every string column's collation is
probed on the server itself (``'a' = 'A'``, ``'a' = 'a '``, ``'e' = 'é'``), and a
column is ``exact_strings`` only when all three are false there: MariaDB's
default ``*_general_ci`` collations ignore case and accents, and its PAD SPACE
collations (including ``utf8mb4_bin``) ignore trailing spaces in ``=``.

A scan opens its own connection, sends one SELECT built by
:func:`connectors.sql.render_select` and streams the result with an unbuffered
cursor (``SSCursor``), so rows move only as batches are consumed. ``cancel()``
and the request's timeout send ``KILL QUERY <id>`` from a second connection.
Sessions use ``time_zone = '+00:00'`` (TIMESTAMP columns come back in UTC) and
an empty ``sql_mode`` (backslash escapes in literals mean what sqlglot wrote).
"""

from __future__ import annotations

import datetime
import re
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pymysql
import pymysql.cursors
from pymysql.constants import FIELD_TYPE
from pymysql.converters import conversions, convert_time

from c360.errors import (
    CatalogError,
    QueryCancelledError,
    SourceError,
    SourceTimeoutError,
    SourceUnreachableError,
    UnknownTableError,
    did_you_mean,
)
from c360.secrets import redact, resolve
from connectors.base import Capabilities, Column, TableSchema, source_label
from connectors.dialects import C360MySQL
from connectors.sql import RELATIONAL_FILTERS, CursorScan, render_select, unreachable_reason

CONNECT_TIMEOUT = 5
INIT_COMMAND = "SET SESSION time_zone = '+00:00', SESSION sql_mode = ''"

# MySQL error numbers c360 words itself.
ER_ACCESS_DENIED = 1045
ER_BAD_DB = 1049
ER_NO_SUCH_THREAD = 1094
CR_CONNECTION_ERROR = 2002
CR_CONN_HOST_ERROR = 2003
CR_SERVER_GONE = 2006
CR_SERVER_LOST = 2013


def _time(value):
    converted = convert_time(value)
    return converted if isinstance(converted, datetime.time) else None  # TIME beyond 00:00..23:59


def _bit(value):
    return int.from_bytes(value if isinstance(value, bytes) else bytes(value, "latin1"), "big")


#: How scans decode values: dates, times of day, timestamps and decimals stay text, parsed
#: a whole column at a time by Arrow (see :func:`rows_to_batch`); BIT becomes an integer.
DECODERS = {
    **conversions,
    FIELD_TYPE.DATE: str,
    FIELD_TYPE.DATETIME: str,
    FIELD_TYPE.TIMESTAMP: str,
    FIELD_TYPE.NEWDECIMAL: str,
    FIELD_TYPE.DECIMAL: str,
    FIELD_TYPE.TIME: _time,
    FIELD_TYPE.BIT: _bit,
}

_PARSED_FROM_TEXT = (pa.types.is_timestamp, pa.types.is_date32, pa.types.is_decimal, pa.types.is_floating)


def rows_to_batch(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    """One record batch of ``schema`` from rows decoded by :data:`DECODERS`.

    Text columns meant as dates, timestamps or decimals are cast by Arrow in one
    call per column; MySQL's zero dates (``0000-00-00``) and any other value
    Arrow cannot parse become NULL.
    """
    columns = list(zip(*rows)) if rows else [() for _ in schema]
    arrays = []
    for field, values in zip(schema, columns):
        if any(test(field.type) for test in _PARSED_FROM_TEXT) and any(isinstance(v, str) for v in values):
            arrays.append(_parse_text(values, field.type))
        else:
            try:
                arrays.append(pa.array(values, type=field.type))
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                arrays.append(pa.array(values).cast(field.type, safe=False))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _parse_text(values, target: pa.DataType) -> pa.Array:
    text = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    if pa.types.is_timestamp(target) or pa.types.is_date32(target):
        text = pc.if_else(pc.starts_with(text, "0000-00-00"), pa.scalar(None, pa.string()), text)
    try:
        return text.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([_parse_one(v, target) for v in text.to_pylist()], type=target)


def _parse_one(value: str | None, target: pa.DataType):
    """One value Arrow's bulk cast refused (``2024-00-10``): its Python value, or None."""
    if value is None:
        return None
    try:
        return pa.array([value], type=pa.string()).cast(target)[0].as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


_INTEGERS = {
    "tinyint": (pa.int8(), pa.int16()),
    "smallint": (pa.int16(), pa.int32()),
    "mediumint": (pa.int32(), pa.int32()),
    "int": (pa.int32(), pa.int64()),
    "integer": (pa.int32(), pa.int64()),
    "bigint": (pa.int64(), pa.uint64()),
}
_STRINGS = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json"}
_BINARIES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}


def arrow_type_for(data_type: str, column_type: str, precision, scale) -> pa.DataType:
    """The Arrow type for a column as ``information_schema.COLUMNS`` describes it.

    ``tinyint(1)`` (what ``BOOLEAN`` becomes) is a boolean; DECIMAL wider than
    38 digits and types Arrow has no match for (spatial) fall back to float64
    and binary.
    """
    data_type = data_type.lower()
    column_type = column_type.lower()
    if data_type == "tinyint" and column_type.startswith("tinyint(1)"):
        return pa.bool_()
    if data_type in _INTEGERS:
        signed, unsigned = _INTEGERS[data_type]
        return unsigned if "unsigned" in column_type else signed
    if data_type in ("decimal", "numeric"):
        precision, scale = int(precision or 10), int(scale or 0)
        return pa.decimal128(precision, scale) if precision <= 38 else pa.float64()
    if data_type == "float":
        return pa.float32()
    if data_type in ("double", "real"):
        return pa.float64()
    if data_type == "bit":
        return pa.int64()
    if data_type == "year":
        return pa.int16()
    if data_type == "date":
        return pa.date32()
    if data_type in ("datetime", "timestamp"):
        return pa.timestamp("us")
    if data_type == "time":
        return pa.time64("us")
    if data_type in _STRINGS:
        return pa.string()
    return pa.binary()


_COLLATION_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class MySQLConnector:
    """One MySQL/MariaDB database as a c360 source."""

    kind = "mysql"
    dialect = C360MySQL
    capabilities = Capabilities(
        projection=True,
        filters=RELATIONAL_FILTERS,
        limit=True,
        limit_exact=True,
        top_n=True,
        like_exact=False,
    )
    OPTIONS = {
        "host": "server host name or address (default 127.0.0.1)",
        "port": "TCP port (default 3306)",
        "user": "login name",
        "password": "the login's password, as a reference: ${ENV:NAME}",
        "database": "the database (schema) whose tables this source exposes",
        "unix_socket": "path of the server's unix socket, used instead of host and port",
    }
    REQUIRED = ("user", "database")

    def __init__(self, name: str, options: dict, *, base_dir: Path | None = None):
        self.name = name
        self.options = options
        self.host = str(options.get("host") or "127.0.0.1")
        try:
            self.port = int(options.get("port") or 3306)
        except (TypeError, ValueError):
            raise CatalogError(f"Source '{name}' (mysql): 'port' must be a number, not {options.get('port')!r}") from None
        self.user = str(options.get("user") or "")
        self.database = str(options.get("database") or "")
        self.unix_socket = options.get("unix_socket") or None
        self.location = str(self.unix_socket) if self.unix_socket else f"{self.host}:{self.port}"
        self._collations: dict[str, bool] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MySQLConnector({self.name!r}, {self.location}, database={self.database!r})"

    # --- connections ----------------------------------------------------------------------------

    def connect(self, *, streaming: bool = False) -> pymysql.connections.Connection:
        """A new connection (the password resolved now); SourceUnreachableError and friends if refused."""
        password = resolve(self.options.get("password") or "", source=self.name)
        where = {"unix_socket": self.unix_socket} if self.unix_socket else {"host": self.host, "port": self.port}
        try:
            return pymysql.connect(
                user=self.user,
                password=password,
                database=self.database,
                charset="utf8mb4",
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT,
                init_command=INIT_COMMAND,
                conv=DECODERS if streaming else None,
                cursorclass=pymysql.cursors.SSCursor if streaming else pymysql.cursors.Cursor,
                **where,
            )
        except pymysql.err.Error as error:
            raise self._error(error) from None

    def _error(self, error: Exception, *, cancelled: bool = False, timed_out: float | None = None) -> Exception:
        """The c360 error for a pymysql error: fixed wording, the source named, no secret."""
        if isinstance(error, SourceError | QueryCancelledError):
            return error
        code = error.args[0] if error.args and isinstance(error.args[0], int) else None
        message = str(error.args[1]) if len(error.args) > 1 else str(error)
        label = source_label(self)
        if timed_out is not None:
            return SourceTimeoutError(f"{label} did not finish within {timed_out:g}s; the query was stopped there")
        if cancelled:
            return QueryCancelledError(f"{label}: the query was cancelled")
        if code == ER_ACCESS_DENIED:
            return SourceError(f"{label} refused the login for user '{self.user}': access denied")
        if code == ER_BAD_DB:
            return SourceError(f"{label} has no database '{self.database}'")
        if code in (CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR) or isinstance(error, OSError):
            return SourceUnreachableError(f"{label} is unreachable: {unreachable_reason(message)}")
        if code in (CR_SERVER_GONE, CR_SERVER_LOST):
            return SourceUnreachableError(f"{label} closed the connection: {redact(message)}")
        suffix = f" (MySQL error {code})" if code else ""
        return SourceError(f"{label} failed: {redact(message)}{suffix}")

    def _query(self, sql: str, params=None) -> list[tuple]:
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        except pymysql.err.Error as error:
            raise self._error(error) from None
        finally:
            connection.close()

    # --- discovery ------------------------------------------------------------------------------

    def tables(self) -> list[str]:
        """Base tables and views of the database, by name."""
        rows = self._query(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME",
            (self.database,),
        )
        return [row[0] for row in rows]

    def schema(self, name: str) -> TableSchema:
        """Columns of table ``name`` with Arrow types and collation facts; UnknownTableError if none."""
        rows = self._query(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, IS_NULLABLE,"
            " COLLATION_NAME, CHARACTER_SET_NAME FROM information_schema.COLUMNS"
            " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            (self.database, name),
        )
        if not rows:
            raise UnknownTableError(
                f"Unknown table '{self.name}.{name}'.{did_you_mean(name, self.tables())}"
            )
        exact = self._collation_exactness({(row[6], row[7]) for row in rows if row[6]})
        columns = []
        for column, data_type, column_type, precision, scale, nullable, collation, charset in rows:
            arrow = arrow_type_for(data_type, column_type, precision, scale)
            is_text = pa.types.is_string(arrow)
            columns.append(
                Column(
                    name=column,
                    type=arrow,
                    nullable=nullable == "YES",
                    collation=collation if is_text else None,
                    exact_strings=exact.get(collation, True) if is_text and collation else True,
                )
            )
        return TableSchema(name, tuple(columns), (name,))

    def _collation_exactness(self, collations: set[tuple[str, str]]) -> dict[str, bool]:
        """Whether ``=`` under each collation tells case, trailing spaces and accents apart, as the server says."""
        with self._lock:
            unknown = [(c, cs) for c, cs in collations if c not in self._collations]
        if unknown:
            probes = []
            for collation, charset in unknown:
                if not (_COLLATION_NAME.match(collation) and _COLLATION_NAME.match(charset or "")):
                    continue
                same = "CONVERT(_utf8mb4'{}' USING {}) COLLATE {}"
                pairs = [("a", "A"), ("a", "a "), ("e", "\u00e9")]
                tests = " OR ".join(
                    f"({same.format(x, charset, collation)} = {same.format(y, charset, collation)})" for x, y in pairs
                )
                probes.append((collation, f"SELECT COALESCE({tests}, 0)"))
            results = {}
            for collation, probe in probes:
                try:
                    (blind,) = self._query(probe)[0]
                except SourceError:
                    blind = True  # a collation the probe cannot exercise: assume the worst
                results[collation] = not bool(blind)
            with self._lock:
                self._collations.update(results)
        with self._lock:
            return {c: self._collations.get(c, False) for c, _ in collations}

    # --- scans ----------------------------------------------------------------------------------

    def scan(self, request) -> MySQLScan:
        """Prepare the SELECT for ``request``; nothing is sent until its batches are read."""
        sql = render_select(request, self.dialect)
        return MySQLScan(self, request, sql)

    def kill_query(self, thread_id: int) -> None:
        """``KILL QUERY thread_id`` from a connection of its own (the busy one cannot say it)."""
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute("KILL QUERY %s", (int(thread_id),))
        except pymysql.err.OperationalError as error:
            if not error.args or error.args[0] != ER_NO_SUCH_THREAD:  # already finished: nothing to stop
                raise self._error(error) from None
        finally:
            connection.close()



class MySQLScan(CursorScan):
    """One streaming SELECT on a connection of its own; cancel and timeout kill it on the server."""

    to_batch = staticmethod(rows_to_batch)  # this module's: dates, times and decimals arrive as text

    def __init__(self, connector: MySQLConnector, request, sql: str):
        super().__init__(request, sql, self._open, kill=self._kill, on_error=self._translate)
        self._connector = connector
        self._connection = None
        self._thread_id: int | None = None
        self._state = threading.Lock()

    def _open(self):
        connection = self._connector.connect(streaming=True)
        with self._state:
            self._connection = connection
            self._thread_id = connection.thread_id()
            if self.cancelled.is_set():
                raise QueryCancelledError(f"{source_label(self._connector)}: the query was cancelled")
        if self.request.timeout:
            self.start_timer(self.request.timeout)
        cursor = connection.cursor()
        cursor.execute(self.sent)
        return cursor

    def _kill(self) -> None:
        with self._state:
            thread_id = self._thread_id
        if thread_id is not None and not self._exhausted:
            try:
                self._connector.kill_query(thread_id)
            except SourceError:
                pass  # cannot reach the server to stop it; the reader still stops reading

    def _translate(self, error: Exception, *, cancelled: bool) -> Exception:
        timeout = self.request.timeout if self._timed_out else None
        return self._connector._error(error, cancelled=cancelled, timed_out=timeout)

    def close(self) -> None:
        """Stop the timer, stop the statement if rows are left unread, and drop the connection."""
        super().close()
        with self._state:
            connection, self._connection = self._connection, None
        if connection is None:
            return
        cursor, self._cursor = self._cursor, None
        if not self._exhausted and not self.cancelled.is_set() and self._thread_id is not None:
            try:
                self._connector.kill_query(self._thread_id)  # else the server keeps streaming to nobody
            except SourceError:
                pass  # the connection is closed below either way
        if cursor is not None and not self._exhausted:
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
