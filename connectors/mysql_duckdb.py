"""One MySQL statement's rows through DuckDB's MySQL scanner, straight into Arrow.

The bulk transport for ``mysql`` sources on MariaDB: ``mysql_query`` of the
``duckdb-extension-mysql`` wheel (loaded from the installed package, never
downloaded) reads the statement's result with the MySQL client library's binary
protocol into DuckDB vectors and hands them over as Arrow, without a Python
object per value: ~2-4x pymysql's rows per second and fewer bytes on the wire
(``benchmarks/transport.py``; figures in ``docs/transport.md``).

Each connector has a DuckDB database of its own (:class:`MySQLLink`), never the
engine's: it loads the extension, attaches the server once with the password
in an in-memory secret, then turns off external access. Each fetch takes a
DuckDB cursor, opens a DuckDB transaction (so the pooled MySQL connection stays
the same for the whole fetch), reads ``CONNECTION_ID()`` (what ``KILL QUERY``
needs) and sends::

    SET STATEMENT sql_mode = '', net_write_timeout = N, optimizer_switch = 'subquery_cache=off' FOR <the statement>

``sql_mode`` empty gives sqlglot's literals and operators their meaning (see
:mod:`connectors.mysql`), ``time_zone`` is ``+00:00`` for every connection the
scanner opens. ``SET STATEMENT`` is MariaDB's: MySQL proper is read through
pymysql (:attr:`MySQLLink.serves`).

What arrives is cast to the promised schema by
:func:`connectors.arrow_cast.cast_exactly`; the scanner is set to give zero and
incomplete dates as NULL and BIT(1) as bytes, TIME as text. DECIMAL wider than
38 digits arrives as DOUBLE: when the schema asks a decimal and the scanner
offers a double, :class:`NotExact` is raised before any row is read and the
caller falls back to pymysql.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from typing import Iterator

import duckdb
import pyarrow as pa

from connectors.arrow_cast import NotExact, cast_exactly

#: MariaDB's subquery cache keys a correlated subquery's answer on the outer values compared under
#: their column's collation, so with a case-insensitive column 'PARIS ' reuses what 'paris' found,
#: even when the subquery compares them exactly (COLLATE ..._nopad_bin): a wrong answer, so it is off
#: for every statement c360 sends (found by the fuzzer, seed 302045).
NO_SUBQUERY_CACHE = "optimizer_switch = 'subquery_cache=off'"

BATCH_ROWS = 16_384
#: seconds past a scan's timeout after which MariaDB stops the statement itself (the client kills it at the timeout)
SERVER_GRACE = 1.0
ALIAS = "source"

#: DuckDB settings of the connector's own database (GLOBAL: every cursor sees them).
SETTINGS = {
    "mysql_session_time_zone": "+00:00",  # TIMESTAMP columns come back in UTC
    "mysql_incomplete_dates_as_nulls": True,  # 2024-00-10 -> NULL, as 0000-00-00 already is
    "mysql_bit1_as_boolean": False,  # BIT(1) is an integer in c360's schema, like every BIT(n)
    "mysql_tinyint1_as_boolean": True,  # BOOLEAN columns (tinyint(1)) -> bool, as in the schema
    "mysql_time_as_time": False,  # TIME as text: -838:59:59 must become NULL, not fail
    "mysql_enable_transactions": False,  # no START TRANSACTION: each statement reads on its own
}

_extension_lock = threading.Lock()
_extension_path: str | None = None


def extension_path() -> str | None:
    """The MySQL extension of the installed ``duckdb-extension-mysql`` wheel, or None.

    The wheel names the file ``mysql.duckdb_extension``; DuckDB derives the entry
    point from the file name (``mysql_scanner``), so a link with that name is made
    once per process in a temporary folder.
    """
    global _extension_path
    with _extension_lock:
        if _extension_path is None:
            try:
                import duckdb_extension_mysql
            except ImportError:
                return None
            package = os.path.dirname(duckdb_extension_mysql.__file__)
            folder = os.path.join(package, "extensions", f"v{duckdb.__version__}")
            shipped = os.path.join(folder, "mysql.duckdb_extension")
            if not os.path.exists(shipped):
                return None  # built for another DuckDB version
            links = tempfile.mkdtemp(prefix="c360-duckdb-mysql-")
            atexit.register(shutil.rmtree, links, ignore_errors=True)
            _extension_path = os.path.join(links, "mysql_scanner.duckdb_extension")
            os.symlink(shipped, _extension_path)
        return _extension_path


def _quoted(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


class MySQLLink:
    """A connector's own DuckDB database with its MySQL server attached (lazily, once)."""

    def __init__(self, connector):
        self.connector = connector
        self._database: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    @staticmethod
    def serves(version: str) -> bool:
        """Whether this transport can read exactly from a server reporting ``version``."""
        return "mariadb" in version.lower() and extension_path() is not None

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new DuckDB connection on the attached database; the connector's errors if it cannot attach."""
        with self._lock:
            if self._database is None:
                self._database = self._attach()
            return self._database.cursor()

    def _attach(self) -> duckdb.DuckDBPyConnection:
        from c360.secrets import resolve

        connector = self.connector
        database = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False, "threads": 1}
        )
        try:
            database.execute(f"LOAD {_quoted(extension_path())}")
            for name, value in SETTINGS.items():
                database.execute(f"SET GLOBAL {name} = {_quoted(value) if isinstance(value, str) else value}")
            password = resolve(connector.options.get("password") or "", source=connector.name)
            where = (
                {"SOCKET": connector.unix_socket}
                if connector.unix_socket
                else {"HOST": connector.host, "PORT": connector.port}
            )
            secret = {**where, "USER": connector.user, "PASSWORD": password, "DATABASE": connector.database}
            fields = ", ".join(
                f"{key} {value if isinstance(value, int) else _quoted(value)}" for key, value in secret.items()
            )
            database.execute(f"CREATE TEMPORARY SECRET c360_source (TYPE mysql, {fields})")
            compress = "compress=true" if connector.compress else "compress=false"
            database.execute(f"ATTACH {_quoted(compress)} AS {ALIAS} (TYPE mysql, SECRET c360_source)")
            database.execute("DROP SECRET c360_source")
            database.execute("SET GLOBAL enable_external_access = false")
            database.execute("SET GLOBAL lock_configuration = true")
        except BaseException:
            database.close()
            raise
        return database

    def close(self) -> None:
        with self._lock:
            database, self._database = self._database, None
        if database is not None:
            database.close()


class DuckDBMySQLFetch:
    """Runs ``sql`` through the connector's :class:`MySQLLink` and yields batches of ``schema``.

    Same members as :class:`connectors.mysql_pymysql.PyMySQLFetch`: ``open()``
    learns ``thread_id`` before anything is sent, ``batches()`` sends and
    streams, ``close()`` (any thread) stops reading and releases the cursor.
    """

    def __init__(self, connector, sql: str, schema: pa.Schema, *, timeout: float | None = None):
        self.connector = connector
        self.sql = sql
        self.schema = schema
        #: the scan's timeout: the server stops the statement itself a little later (``max_statement_time``), in
        #: case the client's KILL QUERY landed before the statement was sent
        self.timeout = timeout
        self.thread_id: int | None = None
        self.exhausted = False
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._state = threading.Lock()
        self._closed = False

    def open(self) -> None:
        cursor = self.connector.link.cursor()
        with self._state:
            if self._closed:
                cursor.close()
                return
            self._cursor = cursor
        cursor.execute("BEGIN")  # one pooled MySQL connection until COMMIT
        (self.thread_id,) = cursor.execute(f"SELECT * FROM mysql_query('{ALIAS}', 'SELECT CONNECTION_ID()')").fetchone()

    def statement(self) -> str:
        """What the server receives: the statement under c360's session settings."""
        seconds = int(self.connector.net_write_timeout)
        limit = f"max_statement_time = {self.timeout + SERVER_GRACE:g}, " if self.timeout else ""
        return (f"SET STATEMENT sql_mode = '', net_write_timeout = {seconds}, {limit}{NO_SUBQUERY_CACHE} "
                f"FOR {self.sql}")

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self._cursor is None:
            self.open()
        cursor = self._cursor
        if cursor is None:
            return
        result = cursor.execute(f"SELECT * FROM mysql_query('{ALIAS}', ?)", [self.statement()])
        reader = result.to_arrow_reader(BATCH_ROWS)
        for arriving, promised in zip(reader.schema, self.schema):
            if pa.types.is_floating(arriving.type) and pa.types.is_decimal(promised.type):
                raise NotExact(f"column {promised.name} arrives as {arriving.type}, not {promised.type}")
        for batch in reader:
            yield cast_exactly(batch, self.schema)
        self.exhausted = True

    def close(self) -> None:
        with self._state:
            self._closed = True
            cursor, self._cursor = self._cursor, None
        if cursor is None:
            return
        if not self.exhausted and self.thread_id is not None:
            try:
                self.connector.kill_query(self.thread_id)  # else the client library drains every unread row
            except Exception:  # noqa: BLE001 - the cursor is closed below either way
                pass
        try:
            if not self.exhausted:
                cursor.interrupt()
            cursor.close()
        except duckdb.Error:
            pass  # already closed
