"""Reading a copy: a connector over one copy's DuckDB file, so the planner pushes into it as into a source.

The planner offers it what it offers any relational source -- projection, every
filter, limit and top-N -- and the SELECT runs in the copy's own read-only DuckDB
(external access off), streaming Arrow batches to the engine. A copy sorted by its
key answers a lookup by key from DuckDB's zone maps without reading the rest.
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

from c360.acceleration.declaration import format_duration
from c360.errors import SourceError
from connectors.base import Capabilities, Column, TableSchema
from connectors.sql import RELATIONAL_FILTERS, StatementScan, render_select

KIND = "accelerated"
#: the source name a copy's scans carry (EXPLAIN: ``acceleration.customer_360``)
SOURCE = "acceleration"
BATCH_ROWS = 65_536

_OPEN: OrderedDict[str, duckdb.DuckDBPyConnection] = OrderedDict()
_OPEN_LOCK = threading.Lock()
_KEEP_OPEN = 16


def _connection(path: Path) -> duckdb.DuckDBPyConnection:
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
        sql = render_select(request, self.dialect)
        return CopyScan(sql, request, self.path)


class CopyScan(StatementScan):
    """One SELECT on a copy's data file, streamed in Arrow batches."""

    def __init__(self, sent: str, request, path: Path):
        super().__init__(sent, request.table.arrow_schema(request.columns), timeout=request.timeout, request=request)
        self.path = path
        self._cursor = None

    def _batches(self) -> Iterator[pa.RecordBatch]:
        self._cursor = _connection(self.path)
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
