"""Any database behind an ODBC driver, through pyodbc: SQL Server / Azure SQL first.

The catalog gives a ``connection_string`` (with ``${ENV:...}`` references for
secrets, resolved only when connecting) and the ``dialect`` the database
speaks: ``tsql`` for SQL Server and Azure SQL (FreeTDS or Microsoft's driver),
``postgres`` for PostgreSQL (psqlODBC; tests use it as the stand-in server).

Discovery reads ``INFORMATION_SCHEMA.TABLES`` and ``COLUMNS`` of one schema
(``dbo`` / ``public`` unless ``schema`` says otherwise); tables are
addressed as ``source.table`` and sent as ``schema.table``.

String equality is exact only where the server compares like DuckDB: never in
T-SQL (``=`` ignores trailing spaces under every collation, and the usual
``*_CI_AS`` collations also ignore case), always for PostgreSQL's ``text`` and
``varchar`` under deterministic collations, never for its blank-padded
``character(n)``.

psqlODBC reads a whole result into memory before the first row unless the
connection string says ``UseDeclareFetch=1;Fetch=10000``; say it for large tables
(it costs little speed and bounds memory: ``docs/transport.md``).

``scan(request)`` renders one SELECT; :class:`OdbcScan` runs it, and depends only
on the statement's text, the Arrow schema of its result (columns by position,
cast exactly by :mod:`connectors.arrow_cast`) and the source's timeout, so the
planner may hand it any statement the database can run. Rows move through
arrow-odbc (:mod:`connectors.odbc_arrow`) where a cancel can reach the server
without the statement handle (PostgreSQL: ``pg_cancel_backend``), else through
pyodbc, whose ``cancel()`` calls ``SQLCancel`` on the running statement from the
cancelling thread; ``transport:`` in the catalog chooses explicitly. Either way
the scan opens its own connection, and a timeout is set as the driver's query
timeout, backed by a timer that cancels for drivers that ignore it.
"""

from __future__ import annotations

import datetime
import math
import re
import struct
import threading
from pathlib import Path

import pyarrow as pa
import pyodbc

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
from connectors import odbc_arrow
from connectors.base import Capabilities, Column, TableSchema, source_label
from connectors.dialects import dialect_class
from connectors.odbc_arrow import ArrowOdbcFetch, ValueTooLarge, odbc_error
from connectors.sql import (
    BATCH_ROWS,
    RELATIONAL_FILTERS,
    StatementScan,
    render_select,
    rows_to_batch,
    unreachable_reason,
)

LOGIN_TIMEOUT = 5
#: SQL Server's ``datetimeoffset`` ODBC type, which pyodbc returns as raw bytes unless told.
SQL_SS_TIMESTAMPOFFSET = -155
DEFAULT_SCHEMA = {"tsql": "dbo", "postgres": "public"}
#: Whether LIKE tells case apart under the dialect's usual collation.
LIKE_EXACT = {"tsql": False, "postgres": True}
#: SQLSTATEs meaning the statement ran out of time or was cancelled.
TIMEOUT_STATES = {"HYT00", "HYT01"}
CANCEL_STATES = {"HY008", "57014"}
TRANSPORTS = ("auto", "arrow-odbc", "pyodbc")


def parse_connection_string(text: str) -> dict[str, str]:
    """``key=value;`` pairs (values may be ``{braced;}``), keys lowercased."""
    pairs = {}
    for match in re.finditer(r"\s*([^=;]+?)\s*=\s*(\{(?:[^}]|\}\})*\}|[^;]*)\s*(?:;|$)", text):
        value = match.group(2)
        if value.startswith("{") and value.endswith("}"):
            value = value[1:-1].replace("}}", "}")
        pairs[match.group(1).lower()] = value
    return pairs


def location_of(connection_string: str) -> str:
    """``host:port`` (or the DSN) from a connection string: never a credential."""
    pairs = parse_connection_string(connection_string)
    server = pairs.get("server") or pairs.get("servername") or pairs.get("address") or pairs.get("host") or ""
    server = re.sub(r"^(tcp|np|lpc):", "", server.strip(), flags=re.IGNORECASE)
    port = pairs.get("port", "").strip()
    if "," in server:
        server, port = (part.strip() for part in server.split(",", 1))
    if "${" in server or "${" in port:
        server, port = "", ""  # a reference: not known until connect time, and maybe a secret
    if server:
        return f"{server}:{port}" if port else server
    if pairs.get("dsn"):
        return f"dsn {pairs['dsn']}"
    return "odbc"


def datetimeoffset(raw: bytes) -> datetime.datetime:
    """A SQL Server ``datetimeoffset`` (SQL_SS_TIMESTAMPOFFSET_STRUCT bytes) as an aware datetime."""
    year, month, day, hour, minute, second, nanoseconds, tz_hours, tz_minutes = struct.unpack("<6hI2h", raw)
    offset = datetime.timezone(datetime.timedelta(hours=tz_hours, minutes=tz_minutes))
    return datetime.datetime(year, month, day, hour, minute, second, nanoseconds // 1000, tzinfo=offset)


def arrow_type_for(dialect: str, data_type: str, precision, scale) -> pa.DataType:
    """The Arrow type for an ``INFORMATION_SCHEMA.COLUMNS.DATA_TYPE`` in ``dialect``."""
    data_type = data_type.lower()
    if data_type in ("bit", "boolean", "bool"):
        return pa.bool_()
    if data_type == "tinyint":
        return pa.int16() if dialect == "tsql" else pa.int8()  # T-SQL tinyint is 0..255
    if data_type == "smallint":
        return pa.int16()
    if data_type in ("int", "integer"):
        return pa.int32()
    if data_type == "bigint":
        return pa.int64()
    if data_type in ("decimal", "numeric"):
        if precision is None or int(precision) > 38:
            return pa.float64()
        return pa.decimal128(int(precision), int(scale or 0))
    if data_type == "money":
        return pa.decimal128(19, 4)
    if data_type == "smallmoney":
        return pa.decimal128(10, 4)
    if data_type == "real":
        return pa.float32()
    if data_type == "float":
        return pa.float32() if precision is not None and int(precision) <= 24 else pa.float64()
    if data_type == "double precision":
        return pa.float64()
    if data_type == "date":
        return pa.date32()
    if data_type in ("timestamp", "rowversion") and dialect == "tsql":
        return pa.binary()  # T-SQL's timestamp is a row version, not a time
    if data_type in ("datetime", "datetime2", "smalldatetime", "timestamp", "timestamp without time zone"):
        return pa.timestamp("us")
    if data_type in ("timestamp with time zone", "datetimeoffset"):
        return pa.timestamp("us", tz="UTC")
    if data_type in ("time", "time without time zone"):
        return pa.time64("us")
    if data_type in ("binary", "varbinary", "image", "bytea"):
        return pa.binary()
    return pa.string()  # char, varchar, nvarchar, text, uuid, xml, json, time with time zone, ...


SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "pg_toast", "sys", "guest"}


class OdbcConnector:
    """One schema of a database reached through an ODBC driver."""

    kind = "odbc"
    OPTIONS = {
        "connection_string": "the ODBC connection string; put secrets in it as ${ENV:NAME} references",
        "dialect": "the SQL dialect the database speaks (sqlglot name): tsql (default), postgres, ...",
        "schema": "the schema whose tables this source exposes (default dbo for tsql, public for postgres)",
        "transport": "how rows move: auto (default: arrow-odbc for postgres, else pyodbc), arrow-odbc or pyodbc",
    }
    REQUIRED = ("connection_string",)

    def __init__(self, name: str, options: dict, *, base_dir: Path | None = None):
        self.name = name
        self.connection_string = str(options["connection_string"])
        self.dialect_name = str(options.get("dialect") or "tsql").lower()
        try:
            self.dialect = dialect_class(self.dialect_name)
        except ValueError:
            raise CatalogError(
                f"Source '{name}' (odbc): unknown dialect '{self.dialect_name}' (try tsql or postgres)"
            ) from None
        self.schema_name = str(options.get("schema") or DEFAULT_SCHEMA.get(self.dialect_name, "dbo"))
        self.location = location_of(self.connection_string)
        self.transport = str(options.get("transport") or "auto").lower()
        if self.transport not in TRANSPORTS:
            raise CatalogError(
                f"Source '{name}' (odbc): 'transport' must be one of {', '.join(TRANSPORTS)}, not {self.transport!r}"
            )
        if self.transport == "arrow-odbc" and self.dialect_name != "postgres":
            raise CatalogError(
                f"Source '{name}' (odbc): transport arrow-odbc needs dialect postgres "
                "(a cancel could not reach the server)"
            )
        self.capabilities = Capabilities(
            filters=RELATIONAL_FILTERS,
            limit=True,
            top_n=True,
            like_exact=LIKE_EXACT.get(self.dialect_name, False),
            statements=self.dialect_name in ("postgres", "tsql"),
            windows=self.dialect_name in ("postgres", "tsql"),
        )

    def __repr__(self) -> str:
        return f"OdbcConnector({self.name!r}, {self.dialect_name} at {self.location}, schema={self.schema_name!r})"

    # --- connections ----------------------------------------------------------------------------

    def connect(self) -> pyodbc.Connection:
        """A new autocommit connection, the connection string resolved now."""
        resolved = resolve(self.connection_string, source=self.name)
        try:
            connection = pyodbc.connect(resolved, autocommit=True, timeout=LOGIN_TIMEOUT)
        except pyodbc.Error as error:
            raise self._error(error, connecting=True) from None
        try:
            if self.dialect_name == "postgres":
                connection.execute("SET TIME ZONE 'UTC'")  # timestamptz values arrive as UTC
            elif self.dialect_name == "tsql":
                connection.add_output_converter(SQL_SS_TIMESTAMPOFFSET, datetimeoffset)
        except pyodbc.Error as error:
            connection.close()
            raise self._error(error) from None
        return connection

    def _error(self, error: Exception, *, connecting=False, cancelled=False, timed_out=None) -> Exception:
        """The c360 error for a pyodbc error: fixed wording, the source named, no secret."""
        if isinstance(error, SourceError | QueryCancelledError | CatalogError):
            return error
        if not isinstance(error, pyodbc.Error) and type(error).__module__.startswith("arrow_odbc"):
            state, message = odbc_error(error)
        else:
            state = error.args[0] if len(error.args) > 1 else ""
            message = str(error.args[1] if len(error.args) > 1 else error)
        message = re.sub(r"\s*\(\d+\) \(SQL\w+\)\s*$", "", message)  # driver-manager call suffix
        message = re.sub(r"^(\[[^\]]*\]\s*)+", "", message).strip()
        label = source_label(self)
        if timed_out is not None or state in TIMEOUT_STATES:
            seconds = f" within {timed_out:g}s" if timed_out is not None else ""
            return SourceTimeoutError(f"{label} did not finish{seconds}; the query was stopped there")
        if cancelled or (state in CANCEL_STATES and not connecting):
            return QueryCancelledError(f"{label}: the query was cancelled")
        lowered = message.lower()
        if state in ("28000", "28P01") or "password authentication failed" in lowered or "login failed" in lowered:
            return SourceError(f"{label} refused the login: {redact(message.splitlines()[0])}")
        if "can't open lib" in lowered or "data source name not found" in lowered:
            return SourceError(f"{label}: the ODBC driver is not installed ({redact(message)}); see odbcinst -q -d")
        if connecting and state.startswith("08"):
            if "role" in lowered and "does not exist" in lowered:
                return SourceError(f"{label} refused the login: {redact(message.splitlines()[0])}")
            return SourceUnreachableError(f"{label} is unreachable: {unreachable_reason(message)}")
        first = redact(" ".join(message.split()))
        return SourceError(f"{label} failed: {first}" + (f" (SQLSTATE {state})" if state else ""))

    def _query(self, sql: str, *params) -> list[tuple]:
        connection = self.connect()
        try:
            return [tuple(row) for row in connection.execute(sql, *params).fetchall()]
        except pyodbc.Error as error:
            raise self._error(error) from None
        finally:
            connection.close()

    # --- discovery ------------------------------------------------------------------------------

    def tables(self) -> list[str]:
        """Tables and views: the default schema's by name, other schemas' as ``schema.table``
        (so ``source.schema.table`` addresses them)."""
        rows = self._query(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM INFORMATION_SCHEMA.TABLES ORDER BY TABLE_SCHEMA, TABLE_NAME"
        )
        own = [table for schema, table in rows if schema == self.schema_name]
        others = [f"{schema}.{table}" for schema, table in rows
                  if schema != self.schema_name and schema.lower() not in SYSTEM_SCHEMAS
                  and not schema.lower().startswith(("pg_", "db_"))]
        return own + others

    def schema(self, name: str) -> TableSchema:
        """Columns of ``name`` (or ``schema.table``); UnknownTableError if it has none."""
        schema_name, table = self.schema_name, name
        if "." in name:
            schema_name, table = name.split(".", 1)
        rows = self._query(
            "SELECT COLUMN_NAME, DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, IS_NULLABLE, COLLATION_NAME"
            " FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            schema_name,
            table,
        )
        if not rows:
            raise UnknownTableError(f"Unknown table '{self.name}.{name}'.{did_you_mean(name, self.tables())}")
        columns = []
        for column, data_type, precision, scale, nullable, collation in rows:
            arrow = arrow_type_for(self.dialect_name, data_type, precision, scale)
            is_text = pa.types.is_string(arrow)
            columns.append(
                Column(
                    name=column,
                    type=arrow,
                    nullable=str(nullable).upper() == "YES",
                    collation=collation if is_text else None,
                    exact_strings=self.exact_strings(data_type, collation) if is_text else True,
                )
            )
        primary_key, indexes, row_count = self._statistics(schema_name, table)
        return TableSchema(name, tuple(columns), (schema_name, table), primary_key=primary_key, indexes=indexes,
                           row_count=row_count)

    #: per dialect: ``(index name, is primary, column)`` rows in index order, and the row estimate
    STATISTICS = {
        "postgres": (
            "SELECT ic.relname, i.indisprimary, a.attname FROM pg_index i"
            " JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
            " JOIN pg_class ic ON ic.oid = i.indexrelid"
            " JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) ON true"
            " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum"
            " WHERE n.nspname = ? AND t.relname = ? ORDER BY ic.relname, k.position",
            "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = ? AND c.relname = ?",
        ),
        "tsql": (
            "SELECT i.name, i.is_primary_key, c.name FROM sys.indexes i"
            " JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id"
            " JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id"
            " WHERE i.object_id = OBJECT_ID(QUOTENAME(?) + '.' + QUOTENAME(?)) AND ic.is_included_column = 0"
            " ORDER BY i.name, ic.key_ordinal",
            "SELECT SUM(p.rows) FROM sys.partitions p WHERE p.index_id IN (0, 1)"
            " AND p.object_id = OBJECT_ID(QUOTENAME(?) + '.' + QUOTENAME(?))",
        ),
    }

    def _statistics(self, schema_name: str, table: str):
        """``(primary key, indexes, estimated rows)`` from the database's own catalog; unknown for other
        dialects (and when the login may not read it)."""
        queries = self.STATISTICS.get(self.dialect_name)
        if queries is None:
            return (), None, None
        try:
            rows = self._query(queries[0], schema_name, table)
            estimate = self._query(queries[1], schema_name, table)
        except SourceError:
            return (), None, None
        by_index: dict[str, list[str]] = {}
        primary: tuple[str, ...] = ()
        for index, is_primary, column in rows:
            by_index.setdefault(index, []).append(column)
        for index, is_primary, _ in rows:
            if is_primary:
                primary = tuple(by_index[index])
        row_count = int(estimate[0][0]) if estimate and estimate[0][0] is not None and estimate[0][0] >= 0 else None
        return primary, tuple(tuple(c) for c in by_index.values()), row_count

    def exact_strings(self, data_type: str, collation: str | None) -> bool:
        """Whether ``=`` on this string column means what it means in DuckDB."""
        if self.dialect_name != "postgres":
            return False  # T-SQL pads before comparing, whatever the collation; others: unknown
        if data_type.lower() in ("character", "char", "bpchar", "uuid", "citext"):
            return False  # blank-padded, or compared by a type of its own
        return collation in (None, "default", "C", "POSIX", "ucs_basic") or not self._nondeterministic(collation)

    def _nondeterministic(self, collation: str) -> bool:
        rows = self._query("SELECT collisdeterministic FROM pg_collation WHERE collname = ?", collation)
        return not rows or not all(row[0] for row in rows)

    # --- scans ----------------------------------------------------------------------------------

    def scan(self, request) -> OdbcScan:
        """Prepare the SELECT for ``request`` in the source's dialect; nothing runs until batches are read."""
        sql = render_select(request, self.dialect)
        schema = request.table.arrow_schema(request.columns)
        return OdbcScan(self, sql, schema, timeout=request.timeout, request=request)

    def uses_arrow_odbc(self) -> bool:
        """Whether scans move rows through arrow-odbc (else pyodbc)."""
        if self.transport == "auto":
            return odbc_arrow.serves(self.dialect_name)
        return self.transport == "arrow-odbc"

    def cancel_backend(self, backend: int) -> None:
        """Stop the statement running in PostgreSQL backend ``backend``, from a connection of its own."""
        self._query("SELECT pg_cancel_backend(?)", int(backend))


class OdbcScan(StatementScan):
    """One statement on a connection of its own, through arrow-odbc or pyodbc (see the module docstring)."""

    #: Seconds after the driver's own query timeout before the backstop timer cancels.
    GRACE = 0.5

    def __init__(self, connector: OdbcConnector, sql: str, schema: pa.Schema, *, timeout=None, request=None):
        super().__init__(sql, schema, timeout=timeout, request=request)
        self._connector = connector
        self._connection = None
        self._statement = None
        self._fetch: ArrowOdbcFetch | None = None
        self._state = threading.Lock()
        self.transport = "arrow-odbc" if connector.uses_arrow_odbc() else "pyodbc"

    def _batches(self):
        if self.transport == "arrow-odbc":
            try:
                yield from self._arrow_odbc()
                return
            except ValueTooLarge:
                if self.stats.rows:
                    raise SourceError(
                        f"{source_label(self._connector)} sent a value longer than arrow-odbc's buffers after the "
                        "first rows; set 'transport: pyodbc' for this source"
                    ) from None
                self._close_fetch()
                self.transport = "pyodbc"  # reads values of any length
        yield from self._pyodbc()

    def _cancelled_error(self) -> Exception:
        return QueryCancelledError(f"{source_label(self._connector)}: the query was cancelled")

    def _arrow_odbc(self):
        resolved = resolve(self._connector.connection_string, source=self._connector.name)
        fetch = ArrowOdbcFetch(resolved, self.sent, self.schema, timeout=self.timeout, login_timeout=LOGIN_TIMEOUT)
        with self._state:
            self._fetch = fetch
        try:
            fetch.open()
        except Exception as error:  # noqa: BLE001 - worded as a connection failure
            raise self._connector._error(error, connecting=True) from None
        if self.cancelled.is_set():
            raise self._cancelled_error()
        if self.timeout:
            self.start_timer(self.timeout + self.GRACE)
        yield from fetch.batches()
        self._exhausted = fetch.exhausted

    def _pyodbc(self):
        connection = self._connector.connect()
        cursor = connection.cursor()
        with self._state:
            self._connection, self._statement = connection, cursor
            if self.cancelled.is_set():
                raise self._cancelled_error()
        if self.timeout:
            try:
                connection.timeout = max(1, math.ceil(self.timeout))  # SQL_ATTR_QUERY_TIMEOUT where supported
            except pyodbc.Error:
                pass  # this driver has no query timeout; the timer below cancels instead
            if self._timer is None:
                self.start_timer(self.timeout + self.GRACE)
        cursor.execute(self.sent)
        while True:
            rows = cursor.fetchmany(BATCH_ROWS)
            if not rows:
                break
            yield rows_to_batch(rows, self.schema)
        self._exhausted = True

    def _kill(self) -> None:
        # Under the lock: close() must not free the statement while SQLCancel is using it.
        with self._state:
            if self._fetch is not None and self._fetch.backend is not None and not self._fetch.exhausted:
                try:
                    self._connector.cancel_backend(self._fetch.backend)
                except SourceError:
                    pass  # cannot reach the server to stop it; the reader still stops reading
            if self._statement is not None and not self._exhausted:
                try:
                    self._statement.cancel()
                except pyodbc.Error:
                    pass  # the statement finished meanwhile: nothing left to stop

    def _translate(self, error: Exception, *, cancelled: bool) -> Exception:
        if isinstance(error, pyodbc.Error) and len(error.args) > 1:
            state = error.args[0]
        elif type(error).__module__.startswith("arrow_odbc"):
            state = odbc_error(error)[0]
        else:
            state = ""
        timed_out = self._timed_out or (self.timeout and state in TIMEOUT_STATES | CANCEL_STATES and not cancelled)
        if timed_out:
            return self._connector._error(error, timed_out=self.timeout)
        return self._connector._error(error, cancelled=cancelled)

    def close(self) -> None:
        """Stop the timer, cancel a statement with unread rows, and drop the connection."""
        super().close()
        self._close_fetch()
        with self._state:  # waits for a SQLCancel in flight on another thread
            connection, statement = self._connection, self._statement
            self._connection = self._statement = None
            if statement is not None:
                try:
                    if not self._exhausted:
                        statement.cancel()
                    statement.close()
                except pyodbc.Error:
                    pass  # already cancelled or closed by the driver
            if connection is not None:
                try:
                    connection.close()
                except pyodbc.Error:
                    pass

    def _close_fetch(self) -> None:
        with self._state:
            fetch, self._fetch = self._fetch, None
        if fetch is not None:
            if not fetch.exhausted and fetch.backend is not None and not self.cancelled.is_set():
                try:
                    self._connector.cancel_backend(fetch.backend)  # rows left unread: stop the server's work
                except SourceError:
                    pass
            fetch.close()
