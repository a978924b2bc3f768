"""PEP 249 (DB-API 2.0) over the engine, plus Arrow and pandas helpers for notebooks.

``connect(catalog="catalog", profile=None)`` returns a :class:`Connection`.
Cursors stream: rows move from the sources as they are fetched. Parameters use
``?`` (qmark) or ``:name`` (named, with a dict) and are bound as literals in the
syntax tree, never formatted into the SQL text.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time as _time

import pyarrow as pa

from c360.errors import Error, InterfaceError, ProgrammingError
from c360.types import duckdb_type


def _select_all(schema: str, name: str):
    """``SELECT * FROM schema.name`` as a sqlglot tree."""
    from sqlglot import exp

    return exp.select("*").from_(exp.table_(name, db=schema, quoted=True))


class _TypeObject:
    """Compares equal to every DuckDB type name in its group (PEP 249 type objects)."""

    def __init__(self, *prefixes: str):
        self.prefixes = prefixes

    def __eq__(self, other) -> bool:
        return isinstance(other, str) and other.upper().startswith(self.prefixes)

    def __hash__(self) -> int:
        return hash(self.prefixes)


STRING = _TypeObject("VARCHAR", "CHAR", "TEXT", "UUID", "JSON")
BINARY = _TypeObject("BLOB", "BYTEA")
NUMBER = _TypeObject("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                     "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL", "BOOLEAN")
DATETIME = _TypeObject("DATE", "TIME", "TIMESTAMP", "INTERVAL")
ROWID = _TypeObject("ROWID")

Date = _dt.date
Time = _dt.time
Timestamp = _dt.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> _dt.date:  # noqa: N802 - PEP 249 name
    return Date(*_time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> _dt.time:  # noqa: N802 - PEP 249 name
    return Time(*_time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> _dt.datetime:  # noqa: N802 - PEP 249 name
    return Timestamp(*_time.localtime(ticks)[:6])


#: the SQL a connection may read (``postgres`` loads :mod:`c360.postgres` and sqlglot's PostgreSQL dialect, only
#: for the connections that ask for it)
DIALECTS = ("duckdb", "postgres")
#: rows fetched at once from a direct lookup's DuckDB cursor as tuples (rows mode of :class:`Cursor`)
ROW_CHUNK = 1024


def connect(catalog="catalog", profile: str | None = None, *, engine=None, dialect: str = "duckdb") -> "Connection":
    """Open a connection to the c360 project whose catalog is at ``catalog``.

    ``profile`` picks the catalog profile (default ``$C360_PROFILE`` or
    ``embedded``). Nothing is contacted until a query needs a source.
    ``dialect`` is the SQL the connection reads: ``duckdb`` (the default, as
    the CLI) or ``postgres`` (PostgreSQL's SQL and meaning, as ``c360 serve``
    reads it: :mod:`c360.postgres`; parameters then are ``$1``, ``$2``...).
    """
    if dialect not in DIALECTS:
        raise InterfaceError(f"Unknown dialect '{dialect}': use one of {', '.join(DIALECTS)}")
    if engine is None:
        import os

        from c360.catalog import Catalog
        from c360.engine import Engine

        engine = Engine(Catalog(catalog, profile=profile or os.environ.get("C360_PROFILE")))
    return Connection(engine, dialect=dialect)


class Connection:
    def __init__(self, engine, *, dialect: str = "duckdb"):
        self.engine = engine
        #: the SQL this connection reads (``duckdb`` or ``postgres``)
        self.dialect = dialect
        self._closed = False
        self._cursors: list[Cursor] = []

    @property
    def catalog(self):
        return self.engine.catalog

    def _check(self) -> None:
        if self._closed:
            raise InterfaceError("The connection is closed")

    def cursor(self) -> "Cursor":
        self._check()
        cursor = Cursor(self)
        self._cursors.append(cursor)
        return cursor

    def execute(self, sql: str, params=None) -> "Cursor":
        """Shortcut: a new cursor with ``sql`` executed."""
        return self.cursor().execute(sql, params)

    def commit(self) -> None:
        """Nothing to commit: c360 is read-only."""
        self._check()

    def rollback(self) -> None:
        self._check()

    def close(self) -> None:
        if self._closed:
            return
        for cursor in self._cursors:
            cursor.close()
        self._closed = True
        self.engine.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Cursor:
    arraysize = 1

    def __init__(self, connection: Connection):
        self.connection = connection
        self.arraysize = 1
        self.rowcount = -1
        self.description = None
        self.arrow_schema: pa.Schema | None = None
        self._execution = None
        self._batches = None
        #: a direct lookup's execution whose rows come from DuckDB as Python tuples, without Arrow
        #: (:attr:`c360.engine.Execution.rows_ready`); None once its last row was read, or in Arrow mode
        self._row_source = None
        self._rows_mode = False
        self._rows: list[tuple] = []
        self._position = 0
        self._fetched = 0
        self._closed = False
        self._lock = threading.Lock()

    # --- executing ------------------------------------------------------------------------------

    def execute(self, sql: str, params=None) -> "Cursor":
        self._check()
        self._finish()
        if not isinstance(sql, str):
            raise ProgrammingError("The query must be a string")
        if self.connection.dialect == "postgres":
            from c360.postgres import translate

            translation = translate(sql, params, schema=self._schema)
            sql, params = translation.sql, translation.params or None
        execution = self.connection.engine.prepare(sql, params)
        with self._lock:
            self._execution = execution
        execution.start()
        self.arrow_schema = execution.schema
        self.description = None if execution.schema is None else [
            (field.name, duckdb_type(field.type), None, None, *_precision(field.type), field.nullable)
            for field in execution.schema
        ]
        self._rows_mode = execution.rows_ready
        self._row_source = execution if self._rows_mode else None
        self._batches = None if self._rows_mode else execution.reader()
        self._rows, self._position, self._fetched = [], 0, 0
        self.rowcount = -1
        return self

    def _schema(self) -> dict:
        """``{source: {table: {column: type}}}`` for typing PostgreSQL SQL (read only when a query needs it)."""
        from c360.introspect import list_relations

        engine, schema = self.connection.engine, {}
        for source, name, kind in list_relations(engine.catalog, engine.views):
            if kind == "table":
                columns = engine.catalog.table(source, name).arrow_schema()
            else:
                columns = engine.schema_of(_select_all(source, name))
            schema.setdefault(source, {})[name] = {f.name: duckdb_type(f.type) for f in columns}
        return schema

    def executemany(self, sql: str, seq_of_params) -> "Cursor":
        for params in seq_of_params:
            self.execute(sql, params)
        return self

    @property
    def scans(self):
        """Per source scan of the last query: the SQL or file list sent, rows, bytes, seconds."""
        with self._lock:
            execution = self._execution
        return execution.reports if execution is not None else []

    def cancel(self) -> None:
        """Cancel the running query from another thread (sources included)."""
        with self._lock:
            execution = self._execution
        if execution is not None:
            execution.cancel()

    # --- fetching -------------------------------------------------------------------------------

    def _next_rows(self) -> list[tuple] | None:
        """Rows mode: the next rows as tuples from DuckDB; None at the end (the execution closed itself)."""
        source = self._row_source
        rows = source.fetch_rows(ROW_CHUNK) if source is not None else []
        if len(rows) < ROW_CHUNK:
            self._row_source = None
        self._fetched += len(rows)
        if self._row_source is None:
            self.rowcount = self._fetched
        return rows or None

    def _next_batch(self) -> pa.RecordBatch | None:
        if self._rows_mode:  # the rest, after rows were read as tuples: back to Arrow by its schema
            rows = self._next_rows()
            if rows is None:
                return None
            return pa.RecordBatch.from_pylist([dict(zip(self.arrow_schema.names, row)) for row in rows],
                                              schema=self.arrow_schema)
        if self._batches is None:
            raise ProgrammingError("No query has been executed")
        try:
            return next(self._batches)
        except StopIteration:
            self.rowcount = self._fetched
            return None

    def _fill(self) -> bool:
        while self._position >= len(self._rows):
            if self._rows_mode:
                rows = self._next_rows()
                if rows is None:
                    return False
                self._rows, self._position = rows, 0
                continue
            batch = self._next_batch()
            if batch is None:
                return False
            self._rows = list(zip(*[column.to_pylist() for column in batch.columns])) if batch.num_columns else []
            if not batch.num_columns:
                self._rows = [()] * batch.num_rows
            self._position = 0
            self._fetched += batch.num_rows
        return True

    def fetchone(self):
        self._check()
        if not self._fill():
            return None
        row = self._rows[self._position]
        self._position += 1
        return row

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        self._check()
        size = self.arraysize if size is None else size
        rows = []
        while len(rows) < size and self._fill():
            take = self._rows[self._position:self._position + size - len(rows)]
            rows.extend(take)
            self._position += len(take)
        return rows

    def fetchall(self) -> list[tuple]:
        self._check()
        rows = []
        while self._fill():
            rows.extend(self._rows[self._position:])
            self._position = len(self._rows)
        return rows

    def fetch_batches(self):
        """The remaining result as a stream of Arrow record batches."""
        self._check()
        if self._rows_mode and self._fetched == 0 and self._row_source is not None:  # nothing read: Arrow itself
            self._rows_mode, self._batches, self._row_source = False, self._row_source.reader(), None
        if self._position < len(self._rows):
            rest = self._rows[self._position:]
            self._position = len(self._rows)
            yield pa.RecordBatch.from_pylist(
                [dict(zip(self.arrow_schema.names, row)) for row in rest], schema=self.arrow_schema
            )
        while True:
            rows_mode = self._rows_mode
            batch = self._next_batch()
            if batch is None:
                return
            if not rows_mode:  # (rows mode counted them)
                self._fetched += batch.num_rows
            yield batch

    def fetch_arrow(self) -> pa.Table:
        """The remaining result as one Arrow table."""
        return pa.Table.from_batches(list(self.fetch_batches()), schema=self.arrow_schema)

    def fetch_df(self):
        """The remaining result as a pandas DataFrame."""
        return self.fetch_arrow().to_pandas()

    def __iter__(self):
        while True:
            row = self.fetchone()
            if row is None:
                return
            yield row

    # --- housekeeping ---------------------------------------------------------------------------

    def setinputsizes(self, sizes) -> None:
        pass

    def setoutputsize(self, size, column=None) -> None:
        pass

    def _check(self) -> None:
        if self._closed:
            raise InterfaceError("The cursor is closed")
        self.connection._check()

    def _finish(self) -> None:
        """End the current query: its result reader and, even if no row was ever fetched, its execution
        (scan threads and the DuckDB cursor: left running past the engine's close, they abort the process)."""
        if self._batches is not None:
            self._batches.close()
        self._batches = None
        if self._execution is not None:
            self._execution.close()

    def close(self) -> None:
        if self._closed:
            return
        self._finish()
        self._closed = True

    def __enter__(self) -> "Cursor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _precision(arrow: pa.DataType) -> tuple:
    if pa.types.is_decimal(arrow):
        return arrow.precision, arrow.scale
    return None, None


__all__ = [
    "BINARY", "DATETIME", "NUMBER", "ROWID", "STRING", "Binary", "Connection", "Cursor", "Date",
    "DateFromTicks", "Error", "Time", "TimeFromTicks", "Timestamp", "TimestampFromTicks", "connect",
]
