"""Reading a copy: a connector over one copy's DuckDB file, so the planner pushes into it as into a source.

The planner offers it what it offers any relational source -- projection, every
filter, limit and top-N -- and the SELECT runs in the copy's own read-only DuckDB
(external access off), streaming Arrow batches to the engine. A copy sorted by its
key and indexed on it (ART) answers a lookup by key by reading one row; each copy's DuckDB runs one thread.
Each data file is opened once per process (files never change: a refresh writes a
new one), and each scan gets its own cursor, which :meth:`CopyScan.cancel` interrupts.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel

from c360.acceleration.declaration import format_duration
from c360.errors import SourceError
from connectors.base import Capabilities, Column, ScanRequest, TableSchema
from connectors.sql import RELATIONAL_FILTERS, StatementScan, render_select
from connectors.sql import _quote_columns as quote_columns

KIND = "accelerated"
#: the source name a copy's scans carry (EXPLAIN: ``acceleration.customer_360``)
SOURCE = "acceleration"
BATCH_ROWS = 65_536

_OPEN: OrderedDict[str, duckdb.DuckDBPyConnection] = OrderedDict()
_OPEN_LOCK = threading.Lock()
_KEEP_OPEN = 16


def open_copy(path: Path) -> duckdb.DuckDBPyConnection:
    """The process's read-only connection to a data file (opened on first use; a few kept open)."""
    key = str(path)
    with _OPEN_LOCK:
        connection = _OPEN.get(key)
        if connection is None:
            try:
                connection = duckdb.connect(key, read_only=True, config={
                    "enable_external_access": False,
                    "autoinstall_known_extensions": False,
                    "autoload_known_extensions": False,
                    "threads": 1,  # a lookup is a few rows: one thread, no scheduling across cores
                    "lock_configuration": True,
                })
            except duckdb.Error as error:
                raise SourceError(f"The accelerated copy {path.name} cannot be opened: "
                                  f"{str(error).splitlines()[0]}") from None
            _OPEN[key] = connection
            while len(_OPEN) > _KEEP_OPEN:
                _OPEN.popitem(last=False)  # closed when its last cursor is gone
        _OPEN.move_to_end(key)
        return connection.cursor()


class CopyConnector:
    """One copy, as a source: ``name`` is the copy's table or view name; ``copy`` the manifest's."""

    kind = KIND
    dialect = "duckdb"
    capabilities = Capabilities(filters=RELATIONAL_FILTERS, limit=True, top_n=True, like_exact=True)

    def __init__(self, name: str, path: Path, manifest):
        self.name = SOURCE
        self.copy = name
        self.path = Path(path)
        self.manifest = manifest
        self.location = str(self.path)
        self._heads: dict[tuple, str] = {}

    def table_schema(self) -> TableSchema:
        schema = self.manifest.arrow_schema()
        columns = tuple(Column(f.name, f.type, f.nullable) for f in schema)
        return TableSchema(self.copy, columns, ("data",), row_count=self.manifest.rows)

    def freshness(self, bound: float | None) -> str:
        """``accelerated copy of customer_360 as of 2026-12-06 17:02:11 UTC (age 3m12s, bound 15m00s)``."""
        import datetime as dt

        stamp = dt.datetime.fromtimestamp(self.manifest.refreshed_at, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        age = format_duration(self.manifest.age())
        bound_text = f", bound {format_duration(bound)}" if bound is not None else ""
        stale = "; its last refresh failed (see `c360 accelerate status`)" if self.manifest.stale else ""
        return f"accelerated copy of {self.copy}, refreshed {stamp} UTC (age {age}{bound_text}){stale}"

    def tables(self) -> list[str]:
        return [self.copy]

    def schema(self, name: str) -> TableSchema:
        return self.table_schema()

    def scan(self, request):
        return CopyScan(self._select(request), request, self.path)

    def _select(self, request) -> str:
        """The SELECT for ``request`` (:func:`connectors.sql.render_select`'s text): the column list, which a
        lookup repeats with every value, generated once per set of columns."""
        if request.statement is not None or request.order_by or request.limit is not None or not request.filters:
            return render_select(request, self.dialect)
        key = (request.table.remote_name, request.columns)
        head = self._heads.get(key)
        if head is None:
            head = render_select(ScanRequest(table=request.table, columns=request.columns), self.dialect)
            self._heads[key] = head
        condition = None
        for expression in request.filters:
            quoted = quote_columns(expression)
            condition = quoted if condition is None else exp.and_(condition, quoted, copy=False)
        return f"{head} WHERE {condition.sql(dialect=self.dialect, unsupported_level=ErrorLevel.RAISE)}"


class CopyScan(StatementScan):
    """One SELECT on a copy's data file, streamed in Arrow batches."""

    def __init__(self, sent: str, request, path: Path):
        super().__init__(sent, request.table.arrow_schema(request.columns), timeout=request.timeout, request=request)
        self.path = path
        self._cursor = None

    def open_cursor(self):
        """A cursor on the copy's read-only DuckDB (the engine runs a whole query there when it reads only
        this copy: :func:`local_sql`)."""
        return open_copy(self.path)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        self._cursor = open_copy(self.path)
        reader = self._cursor.execute(self.sent).to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            yield batch
        self._exhausted = True

    def _translate(self, error: Exception, *, cancelled: bool) -> Exception:
        if isinstance(error, SourceError):
            return error
        return SourceError(f"The accelerated copy {self.path.name} failed: {str(error).splitlines()[0]}")

    def _kill(self) -> None:
        if self._cursor is not None:
            try:
                self._cursor.interrupt()
            except duckdb.Error:
                pass

    def close(self) -> None:
        super().close()
        if self._cursor is not None:
            try:
                self._cursor.close()
            except duckdb.Error:
                pass
            self._cursor = None


def local_sql(sql: str, scan_name: str, sent: str) -> str | None:
    """``sql`` (the engine's residual query) with the scan ``scan_name`` replaced by ``(sent)``, the SELECT
    the scan sends to its copy; None if the name qualifies a column anywhere (the engine names every scan's
    reference with an alias). Found with sqlglot's tokenizer, so a string that holds the name is left alone."""
    from sqlglot.tokens import TokenType

    tokens = Dialect.get_or_raise("duckdb").tokenize(sql)
    pieces, position, found = [], 0, False
    for index, token in enumerate(tokens):
        if token.token_type not in (TokenType.VAR, TokenType.IDENTIFIER) or token.text != scan_name:
            continue
        before = tokens[index - 1].token_type if index else None
        after = tokens[index + 1].token_type if index + 1 < len(tokens) else None
        if TokenType.DOT in (before, after):
            return None
        pieces += [sql[position:token.start], f"({sent})"]
        position, found = token.end + 1, True
    return "".join(pieces) + sql[position:] if found else None
