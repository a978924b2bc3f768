"""SQLite: the embedded stand-in for a relational source (stdlib ``sqlite3``).

Types come from the declared column types (``DECIMAL(12,2)``, ``DATE``,
``TIMESTAMP`` …), the way SQLite's own affinity rules read them. Dates and
timestamps are stored as ISO text, so a date literal is sent as that text and
compared as text, which orders the same way. ``LIKE`` in SQLite ignores ASCII
case, so it is pushed only as a superset and re-checked by DuckDB.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path

import pyarrow as pa
from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite

from c360.errors import NotFoundError, SourceError
from connectors.base import Capabilities, Column, TableSchema, source_label
from connectors.sql import RELATIONAL_FILTERS, CursorScan, render_select

#: SQLite virtual-machine steps between two checks of a scan's cancel switch (well under a millisecond)
PROGRESS_STEPS = 10_000


class SqliteDialect(SQLite):
    """SQLite as c360 stores dates: ISO text, so date/timestamp literals are sent as text."""

    class Generator(SQLite.Generator):
        def cast_sql(self, expression: exp.Cast, safe_prefix=None) -> str:
            target = expression.to
            value = expression.this
            if isinstance(value, exp.Literal) and value.is_string and target.is_type(
                exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ,
                exp.DataType.Type.DATETIME,
            ):
                text = value.this.replace("T", " ")
                if target.is_type(exp.DataType.Type.DATE):
                    text = text[:10]
                elif len(text) == 10:
                    text += " 00:00:00"
                return self.sql(exp.Literal.string(text))
            return super().cast_sql(expression, safe_prefix)


_DECIMAL = re.compile(r"(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*(?:,\s*(\d+))?\s*\)", re.I)


def arrow_type_for(declared: str) -> pa.DataType:
    """Arrow type for a SQLite declared column type (affinity rules, plus dates and decimals)."""
    text = (declared or "").upper()
    match = _DECIMAL.search(text)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2) or 0))
    if "BOOL" in text:
        return pa.bool_()
    if "INT" in text:
        return pa.int64()
    if text.startswith("DATE") and "TIME" not in text:
        return pa.date32()
    if "TIMESTAMP" in text or "DATETIME" in text:
        return pa.timestamp("us")
    if any(word in text for word in ("CHAR", "CLOB", "TEXT")):
        return pa.string()
    if any(word in text for word in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    if "DECIMAL" in text or "NUMERIC" in text:
        return pa.float64()
    if not text or "BLOB" in text:
        return pa.string() if not text else pa.binary()
    return pa.float64()


class SqliteConnector:
    kind = "sqlite"
    dialect = SqliteDialect
    capabilities = Capabilities(
        filters=RELATIONAL_FILTERS,
        limit=True,
        top_n=True,
        like_exact=False,
        statements=True,
    )
    OPTIONS = {"path": "the SQLite database file, relative to the catalog folder"}
    REQUIRED = ("path",)

    def __init__(self, name: str, options: dict, *, base_dir: Path):
        self.name = name
        self.path = (Path(base_dir) / str(options["path"])).resolve()
        self.location = str(self.path)
        self._local = threading.local()

    def _connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise NotFoundError(f"{source_label(self)} does not exist: no file {self.path}")
        try:
            return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.Error as error:
            raise SourceError(f"{source_label(self)} cannot be opened: {error}") from None

    def tables(self) -> list[str]:
        connection = self._connect()
        try:
            rows = connection.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ).fetchall()
        finally:
            connection.close()
        return [row[0] for row in rows]

    def schema(self, name: str) -> TableSchema:
        connection = self._connect()
        try:
            rows = connection.execute(
                "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)", (name,)
            ).fetchall()
            indexes = [
                tuple(row[0] for row in connection.execute(
                    "SELECT name FROM pragma_index_info(?) ORDER BY seqno", (index,)).fetchall())
                for (index,) in connection.execute("SELECT name FROM pragma_index_list(?)", (name,)).fetchall()
            ]
        finally:
            connection.close()
        columns = tuple(Column(column, arrow_type_for(declared), not notnull) for column, declared, notnull, _ in rows)
        primary_key = tuple(column for column, _, _, pk in sorted(rows, key=lambda r: r[3]) if pk)
        if primary_key:
            indexes.append(primary_key)
        return TableSchema(name, columns, (name,), primary_key=primary_key, indexes=tuple(indexes))

    def scan(self, request):
        sql = render_select(request, self.dialect)
        holder: dict = {}

        def open_cursor():
            connection = self._connect()
            holder["connection"] = connection
            # SQLite's interrupt() is lost when it comes before the statement runs: the handler also checks
            # the scan's cancel switch while SQLite works, so a cancel at any moment stops it
            connection.set_progress_handler(lambda: scan.cancelled.is_set(), PROGRESS_STEPS)
            return connection.execute(sql)

        def kill():
            connection = holder.get("connection")
            if connection is not None:
                connection.interrupt()

        def on_error(error, *, cancelled):
            if isinstance(error, SourceError):
                return error
            return SourceError(f"{source_label(self)} failed: {error}")

        scan = CursorScan(request, sql, open_cursor, kill=kill, on_error=on_error)
        original_close = scan.close

        def close():
            original_close()
            connection = holder.pop("connection", None)
            if connection is not None:
                connection.close()

        scan.close = close
        return scan
