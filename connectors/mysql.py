"""MySQL and MariaDB: pymysql for metadata, DuckDB's MySQL scanner for bulk rows.

Discovery reads ``information_schema``; every string column's collation is
probed on the server itself (``'a' = 'A'``, ``'a' = 'a '``, ``'e' = 'é'``), and a
column is ``exact_strings`` only when all three are false there: MariaDB's
default ``*_general_ci`` collations ignore case and accents, and its PAD SPACE
collations (including ``utf8mb4_bin``) ignore trailing spaces in ``=``.

``scan(request)`` renders one SELECT (:func:`connectors.sql.select_for`, hinted by
:mod:`connectors.mysql_lookups`);
:class:`MySQLScan` runs it. The scan depends only on the statement's text, the
Arrow schema its result must have and the source's timeout, so the planner may
hand it any statement the server can run (joins, GROUP BY ...) with the schema
of its result; columns are matched by position and cast exactly
(:mod:`connectors.arrow_cast`).

Rows move through one of two transports (``transport:`` in the catalog, default
``auto``): ``duckdb`` (:mod:`connectors.mysql_duckdb`, Arrow without a Python
object per value; MariaDB only) or ``pymysql`` (:mod:`connectors.mysql_pymysql`,
the fallback: MySQL proper, a missing extension wheel, DECIMAL wider than 38
digits). Either way the statement runs on a connection of its own and streams;
``cancel()`` and the timeout send ``KILL QUERY <id>`` from a second connection.
Sessions use ``time_zone = '+00:00'`` (TIMESTAMP columns come back in UTC), an
empty ``sql_mode`` (backslash escapes in literals mean what sqlglot wrote) and
``net_write_timeout`` = :data:`NET_WRITE_TIMEOUT`: the engine drains every
stream at the server's pace (:mod:`c360.channel`), so a long wait to write is a
stuck client, not a slow consumer. On MariaDB the subquery cache is off
(:data:`NO_SUBQUERY_CACHE`).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pymysql
import pymysql.cursors
from sqlglot import ErrorLevel

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
from connectors.arrow_cast import NotExact
from connectors.base import Capabilities, Column, TableSchema, source_label
from connectors.dialects import C360MySQL
from connectors.mysql_duckdb import NO_SUBQUERY_CACHE, DuckDBMySQLFetch, MySQLLink
from connectors.mysql_join_order import drive_from_filtered_side
from connectors.mysql_lookups import Layout, scan_instead_of_lookups
from connectors.mysql_pymysql import DECODERS, PyMySQLFetch
from connectors.mysql_ranges import split_in_ranges
from connectors.parallel import ParallelScan
from connectors.sql import RELATIONAL_FILTERS, StatementScan, select_for, unreachable_reason

CONNECT_TIMEOUT = 5
#: Seconds the server may wait to write to c360 before it drops the connection (MySQL's default is 60).
NET_WRITE_TIMEOUT = 600

TRANSPORTS = ("auto", "duckdb", "pymysql")
#: statements a long scan of a large table is split into by default (:mod:`connectors.mysql_ranges`)
PARALLEL = 2

# MySQL error numbers c360 words itself.
ER_ACCESS_DENIED = 1045
ER_BAD_DB = 1049
ER_NO_SUCH_THREAD = 1094
CR_CONNECTION_ERROR = 2002
CR_CONN_HOST_ERROR = 2003
CR_SERVER_GONE = 2006
CR_SERVER_LOST = 2013


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


#: Phrases of the MySQL client library's messages (DuckDB's scanner passes no error number on).
_SCANNER_CODES = (
    ("Access denied", ER_ACCESS_DENIED),
    ("Unknown database", ER_BAD_DB),
    ("Can't connect", CR_CONN_HOST_ERROR),
    ("Lost connection", CR_SERVER_LOST),
    ("has gone away", CR_SERVER_GONE),
)
_SCANNER_PREFIX = re.compile(
    r'^(?:[A-Za-z ]+ Error: )+Failed to [a-z ]+ MySQL (?:query|database)(?: with parameters)? "'
)


def _scanner_error(error: Exception) -> tuple[int | None, str]:
    """(MySQL error number if known, the server's own message) from a DuckDB scanner error."""
    text = str(error).split("\n\n", 1)[0].strip()
    if _SCANNER_PREFIX.match(text):
        # "...MySQL query \"<statement>\": <message>": the statement may hold '": ', the message rarely
        text = text.rsplit('": ', 1)[-1] if '": ' in text else text
    text = re.sub(r"\. Attempted host: .*$", "", text).strip() or "the server stopped the statement"
    code = next((code for phrase, code in _SCANNER_CODES if phrase in text), None)
    return code, text


_COLLATION_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def has_window_functions(version: str) -> bool:
    """Whether a server of ``version`` (``SELECT VERSION()``) has window functions: MariaDB from 10.2,
    MySQL from 8.0 (a MariaDB handshake's ``5.5.5-`` prefix is not its version)."""
    mariadb = "mariadb" in version.lower()
    found = re.match(r"(\d+)\.(\d+)", version.removeprefix("5.5.5-") if mariadb else version)
    if found is None:
        return False
    release = (int(found.group(1)), int(found.group(2)))
    return release >= ((10, 2) if mariadb else (8, 0))


class MySQLConnector:
    """One MySQL/MariaDB database as a c360 source."""

    kind = "mysql"
    dialect = C360MySQL
    capabilities = Capabilities(
        filters=RELATIONAL_FILTERS,
        limit=True,
        top_n=True,
        like_exact=False,
        statements=True,
        windows=True,
    )
    OPTIONS = {
        "host": "server host name or address (default 127.0.0.1)",
        "port": "TCP port (default 3306)",
        "user": "login name",
        "password": "the login's password, as a reference: ${ENV:NAME}",
        "database": "the database (schema) whose tables this source exposes",
        "unix_socket": "path of the server's unix socket, used instead of host and port",
        "transport": "how rows move: auto (default: duckdb on MariaDB, else pymysql), duckdb or pymysql",
        "compress": "true to compress the rows' protocol (fewer bytes, more CPU: slow links; duckdb transport only)",
        "parallel": "how many statements over key ranges a long scan or aggregate of a table of 1,000,000+ rows "
                    "runs as, at once (default 2; 1 never splits)",
        "page_cache_mb": "the server's page cache in MB as c360 counts it (default: its innodb_buffer_pool_size); "
                         "a long IN list on a larger table is read by a scan, not through an index",
    }
    REQUIRED = ("user", "database")

    def __init__(self, name: str, options: dict, *, base_dir: Path | None = None):
        self.name = name
        self.options = options
        self.host = str(options.get("host") or "127.0.0.1")
        try:
            self.port = int(options.get("port") or 3306)
        except (TypeError, ValueError):
            port = options.get("port")
            raise CatalogError(f"Source '{name}' (mysql): 'port' must be a number, not {port!r}") from None
        self.user = str(options.get("user") or "")
        self.database = str(options.get("database") or "")
        self.unix_socket = options.get("unix_socket") or None
        self.location = str(self.unix_socket) if self.unix_socket else f"{self.host}:{self.port}"
        self.transport = str(options.get("transport") or "auto").lower()
        if self.transport not in TRANSPORTS:
            raise CatalogError(
                f"Source '{name}' (mysql): 'transport' must be one of {', '.join(TRANSPORTS)}, not {self.transport!r}"
            )
        self.compress = options.get("compress") in (True, "true", "yes", 1, "1")
        if self.compress and self.transport == "pymysql":
            raise CatalogError(f"Source '{name}' (mysql): 'compress' needs the duckdb transport "
                               "(pymysql cannot compress the protocol)")
        #: the session's net_write_timeout in seconds (tests lower it to prove streams never wait)
        self.net_write_timeout = NET_WRITE_TIMEOUT
        self.link = MySQLLink(self)
        self._version: str | None = None
        self._cache_bytes: int | None = None
        self._layouts: dict[str, Layout | None] = {}
        self._bounds: dict[tuple[str, str], tuple[int, int] | None] = {}
        try:
            self.parallel = PARALLEL if options.get("parallel") is None else int(options["parallel"])
        except (TypeError, ValueError):
            self.parallel = 0
        if self.parallel < 1:
            raise CatalogError(f"Source '{name}' (mysql): 'parallel' must be a whole number of statements "
                               f"(1 or more), not {options.get('parallel')!r}")
        if options.get("page_cache_mb") is not None:
            try:
                self._cache_bytes = int(float(options["page_cache_mb"]) * 1_000_000)
            except (TypeError, ValueError):
                raise CatalogError(f"Source '{name}' (mysql): 'page_cache_mb' must be a number of megabytes, "
                                   f"not {options['page_cache_mb']!r}") from None
        self._collations: dict[str, bool] = {}
        self._exact: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MySQLConnector({self.name!r}, {self.location}, database={self.database!r})"

    # --- connections ----------------------------------------------------------------------------

    def connect(self, *, streaming: bool = False) -> pymysql.connections.Connection:
        """A new connection (the password resolved now); SourceUnreachableError and friends if refused."""
        password = resolve(self.options.get("password") or "", source=self.name)
        where = {"unix_socket": self.unix_socket} if self.unix_socket else {"host": self.host, "port": self.port}
        try:
            connection = pymysql.connect(
                user=self.user,
                password=password,
                database=self.database,
                charset="utf8mb4",
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT,
                init_command="SET SESSION time_zone = '+00:00', SESSION sql_mode = '',"
                f" SESSION net_write_timeout = {int(self.net_write_timeout)}",
                conv=DECODERS if streaming else None,
                cursorclass=pymysql.cursors.SSCursor if streaming else pymysql.cursors.Cursor,
                **where,
            )
            if "mariadb" in connection.get_server_info().lower():
                with connection.cursor() as cursor:  # see NO_SUBQUERY_CACHE
                    cursor.execute(f"SET SESSION {NO_SUBQUERY_CACHE}")
            return connection
        except pymysql.err.Error as error:
            raise self._error(error) from None

    def _error(self, error: Exception, *, cancelled: bool = False, timed_out: float | None = None) -> Exception:
        """The c360 error for a pymysql or DuckDB-scanner error: fixed wording, the source named, no secret."""
        if isinstance(error, SourceError | QueryCancelledError):
            return error
        if isinstance(error, duckdb.Error):
            code, message = _scanner_error(error)
        else:
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
        primary_key, indexes, row_count = self._statistics(name)
        return TableSchema(name, tuple(columns), (name,), primary_key=primary_key, indexes=indexes,
                           row_count=row_count)

    def _statistics(self, name: str):
        """``(primary key, indexes, estimated rows)`` from ``information_schema`` (InnoDB's row estimate)."""
        indexes = self._indexes(name)
        estimate = self._query(
            "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
            (self.database, name),
        )
        row_count = int(estimate[0][0]) if estimate and estimate[0][0] is not None else None
        return indexes.get("PRIMARY", ()), tuple(indexes.values()), row_count

    def _indexes(self, name: str) -> dict[str, tuple[str, ...]]:
        """Each index of table ``name`` (``PRIMARY`` for the primary key) and its columns in order."""
        rows = self._query(
            "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS"
            " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY INDEX_NAME, SEQ_IN_INDEX",
            (self.database, name),
        )
        by_index: dict[str, tuple[str, ...]] = {}
        for index, column in rows:
            by_index[index] = by_index.get(index, ()) + (column,)
        return by_index

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

    def exact_collation(self, column: Column) -> str | None:
        """A collation under which ``=``, ``<`` and grouping on ``column`` compare code points without
        padding, as DuckDB compares bytes: MariaDB's ``<charset>_nopad_bin``, MySQL 8's ``utf8mb4_0900_bin``;
        None when the server has neither for the column's character set."""
        charset = (column.collation or "").split("_", 1)[0]
        if not charset or not _COLLATION_NAME.match(charset):
            return None
        with self._lock:
            if charset in self._exact:
                return self._exact[charset]
        wanted = [f"{charset}_nopad_bin", f"{charset}_0900_bin"]
        rows = self._query(
            "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN (%s, %s)", wanted
        )
        found = {row[0] for row in rows}
        chosen = next((name for name in wanted if name in found), None)
        with self._lock:
            self._exact[charset] = chosen
        return chosen

    # --- scans ----------------------------------------------------------------------------------

    def scan(self, request) -> MySQLScan | ParallelScan:
        """Prepare the SELECT for ``request``; nothing is sent until its batches are read. A long IN list on
        a table larger than the server's page cache scans it (:mod:`connectors.mysql_lookups`); a pushed join
        of a filtered table with one found by its primary key starts from the filtered one
        (:mod:`connectors.mysql_join_order`); a long statement on a large table runs as a few over key
        ranges at once (:mod:`connectors.mysql_ranges`)."""
        notes: list[str] = []
        select = scan_instead_of_lookups(select_for(request), self._layout, self.cache_bytes, notes)
        if request.statement is not None:
            select = drive_from_filtered_side(select, self._layout, notes)
        schema = request.table.arrow_schema(request.columns)
        ways = self.parallel if request.parallel else 1
        split = split_in_ranges(select, schema, ways, self._layout, self._key_bounds)
        if split is not None:
            parts = [self._statement(part, schema, request, notes) for part in split.statements]
            scan = ParallelScan(request, parts, schema, split.combine)
            scan.notes.append(split.note)
            return scan
        return self._statement(select, schema, request, notes)

    def _statement(self, select, schema: pa.Schema, request, notes: list[str]) -> MySQLScan:
        sql = select.sql(dialect=self.dialect, unsupported_level=ErrorLevel.RAISE)
        scan = MySQLScan(self, sql, schema, timeout=request.timeout, request=request)
        scan.notes.extend(notes)
        return scan

    def _key_bounds(self, table: str, column: str) -> tuple[int, int] | None:
        """The smallest and largest value of integer column ``column`` (asked once: they only balance the
        ranges of :mod:`connectors.mysql_ranges`, whose ends are open); None when not integers."""
        if (table, column) not in self._bounds:
            key, where = _quoted(column), f"{_quoted(self.database)}.{_quoted(table)}"
            low, high = self._query(f"SELECT MIN({key}), MAX({key}) FROM {where}")[0]
            integers = type(low) is int and type(high) is int
            self._bounds[(table, column)] = (low, high) if integers else None
        return self._bounds[(table, column)]

    def bulk_fetch(self) -> type:
        """The fetch class for statements of this source: DuckDB's scanner where it serves, else pymysql."""
        if self.transport == "pymysql":
            return PyMySQLFetch
        if self.transport == "auto" and not MySQLLink.serves(self.server_version()):
            return PyMySQLFetch
        return DuckDBMySQLFetch

    def server_version(self) -> str:
        """``SELECT VERSION()``, asked once: ``10.11.19-MariaDB-0+deb12u1``, ``8.0.36``."""
        if self._version is None:
            self._version = str(self._query("SELECT VERSION()")[0][0])
        return self._version

    def _layout(self, table: str) -> Layout | None:
        """The table's size, indexes and row estimate, asked once per table (only for a hint's decision)."""
        if table not in self._layouts:
            rows = self._query(
                "SELECT DATA_LENGTH, TABLE_ROWS FROM information_schema.TABLES"
                " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                (self.database, table),
            )
            self._layouts[table] = Layout(
                None if rows[0][0] is None else int(rows[0][0]),
                self._indexes(table),
                None if rows[0][1] is None else int(rows[0][1]),
            ) if rows else None
        return self._layouts[table]

    def cache_bytes(self) -> int | None:
        """The server's page cache: the ``page_cache_mb`` option, else ``@@innodb_buffer_pool_size`` asked
        once; None when unknown. Lookups in a table larger than this read pages at random from disk
        (:mod:`connectors.mysql_lookups`)."""
        if self._cache_bytes is None:
            try:
                value = self._query("SELECT @@innodb_buffer_pool_size")[0][0]
            except SourceError:  # not InnoDB, or no right to read it: no cache known
                value = None
            self._cache_bytes = int(value) if value is not None else 0
        return self._cache_bytes or None

    def window_functions(self) -> bool:
        """Whether this server computes window functions (asked by the planner before sending one)."""
        return has_window_functions(self.server_version())

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

    def close(self) -> None:
        """Close the connector's own DuckDB database (and the MySQL connections it keeps)."""
        self.link.close()


class MySQLScan(StatementScan):
    """One statement on a connection of its own; cancel and timeout kill it on the server.

    Needs only ``sql``, the Arrow ``schema`` of its result and ``timeout``
    (see the module docstring); ``transport`` names what moved the rows.
    """

    def __init__(self, connector: MySQLConnector, sql: str, schema: pa.Schema, *, timeout=None, request=None):
        super().__init__(sql, schema, timeout=timeout, request=request)
        self._connector = connector
        self._fetch = None
        self._state = threading.Lock()
        self.transport: str | None = None

    def _batches(self):
        fetch_class = self._connector.bulk_fetch()
        if fetch_class is DuckDBMySQLFetch and _sums_decimals(self.sent, self.schema):
            fetch_class = PyMySQLFetch  # the scanner would read the sum as a DOUBLE: one run, not two
        fetch = self._start(fetch_class)
        try:
            yield from fetch.batches()
        except NotExact:
            if self.stats.rows or fetch is not self._fetch:
                raise
            fetch.close()
            fetch = self._start(PyMySQLFetch)  # reads DECIMAL wider than 38 digits exactly, as text
            yield from fetch.batches()
        self._exhausted = fetch.exhausted

    def _start(self, fetch_class):
        fetch = fetch_class(self._connector, self.sent, self.schema, timeout=self.timeout)
        self.transport = "duckdb" if fetch_class is DuckDBMySQLFetch else "pymysql"
        with self._state:
            self._fetch = fetch
        fetch.open()
        if self.cancelled.is_set():
            raise QueryCancelledError(f"{source_label(self._connector)}: the query was cancelled")
        if self.timeout and self._timer is None:
            self.start_timer(self.timeout)
        return fetch

    @property
    def _thread_id(self) -> int | None:
        with self._state:
            return self._fetch.thread_id if self._fetch is not None else None

    def _kill(self) -> None:
        thread_id = self._thread_id
        if thread_id is not None:
            try:
                self._connector.kill_query(thread_id)
            except SourceError:
                pass  # cannot reach the server to stop it; the reader still stops reading

    def _translate(self, error: Exception, *, cancelled: bool) -> Exception:
        timeout = self.timeout if self._timed_out else None
        return self._connector._error(error, cancelled=cancelled, timed_out=timeout)

    def close(self) -> None:
        """Stop the timer, stop the statement if rows are left unread, and drop the connection."""
        super().close()
        with self._state:
            fetch = self._fetch
        if fetch is not None:
            fetch.close()


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _sums_decimals(sent: str, schema: pa.Schema) -> bool:
    """Whether ``sent`` likely returns a SUM of decimals: MariaDB widens it past 38 digits (``DECIMAL(65,4)``), which
    DuckDB's scanner reads as a DOUBLE (:class:`NotExact`, then a second run through pymysql). Such statements go
    to pymysql at once; they are aggregates, so their rows are few next to what the server read."""
    return "SUM(" in sent.upper() and any(pa.types.is_decimal(field.type) for field in schema)
