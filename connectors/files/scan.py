"""Reading a file table's chosen files: groups of files, one DuckDB query each, streamed as record batches.

Files are read ``group_files`` at a time (and at most ``group_bytes`` per
group) by one query (:func:`connectors.files.query.group_query`), so thousands
of small hourly files cost a few queries, not thousands. A store that
downloads fetches a group's files in parallel and deletes them once the group
is read. Each scan has its own connection to its source's DuckDB, never the
engine's (which cannot read files), so cancelling one scan interrupts only it; it
parses on the source's ``threads`` (one per core, at most 4, by default), with
room for 16 MB of result ahead of the reader so the parse is not held to one
thread. A join reduction's long list of keys is registered on that connection as
a table the parse is joined against (:func:`connectors.files.query.key_tables`).
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa
from sqlglot import exp

from c360.errors import QueryCancelledError
from connectors.base import Scan, ScanRequest
from connectors.files.errors import group_error
from connectors.files.layout import FileEntry, Layout
from connectors.files.partitions import column_name, quote_columns, typed_partitions
from connectors.files.query import columns_query, group_query, spelled

BATCH_ROWS = 8192
#: How much of a scan's result DuckDB may hold ahead of the reader. At DuckDB's default (976.5 KiB) a
#: scan that returns most of what it parses runs its parse on one thread, whatever ``threads`` says.
STREAM_BUFFER = "16MB"
#: Most files, and bytes, one DuckDB query reads (a group is fetched before it is read).
GROUP_FILES = 256
GROUP_BYTES = 256 << 20


class FileScan(Scan):
    """Reads the chosen files in groups, streaming DuckDB's record batches.

    ``read_files`` lists, in order, the keys actually fetched (opened locally,
    downloaded from blob storage), so a test or EXPLAIN ANALYZE can see what
    pruning saved. A limit stops reading once enough rows came; a top-N keeps
    each group's best rows and orders them once at the end. :meth:`cancel`
    interrupts DuckDB and stops between groups and between download chunks.
    """

    def __init__(self, request: ScanRequest, sent, *, store, layout: Layout, entries: list[FileEntry],
                 source: str, database, group_files: int = GROUP_FILES, group_bytes: int = GROUP_BYTES,
                 keys: tuple[tuple, dict[str, pa.Table]] | None = None):
        super().__init__(request, sent)
        #: the filters as DuckDB gets them, and the key tables they read (:func:`~connectors.files.query.key_tables`)
        self.filters, self.key_tables = keys if keys is not None else (request.filters, {})
        self.store, self.layout, self.entries, self.source = store, layout, entries, source
        self.group_files, self.group_bytes = max(1, group_files), group_bytes
        #: makes the scan's DuckDB connection (the source's :meth:`FileConnector.cursor`)
        self.database = database
        self.read_files: list[str] = []
        self._connection: duckdb.DuckDBPyConnection | None = None

    @property
    def sent(self) -> str:
        """What EXPLAIN shows; given as a function, it is made when first asked for (an example SQL costs a
        scan ~8 ms of sqlglot that a query nobody explains does not need)."""
        if callable(self._sent):
            self._sent = self._sent()
        return self._sent

    @sent.setter
    def sent(self, value) -> None:
        self._sent = value

    def groups(self) -> Iterator[list[FileEntry]]:
        """The entries in order, cut into groups of at most ``group_files`` files and ``group_bytes``."""
        group, size = [], 0
        for entry in self.entries:
            if group and (len(group) >= self.group_files or size + entry.size > self.group_bytes):
                yield group
                group, size = [], 0
            group.append(entry)
            size += entry.size
        if group:
            yield group

    def _batches(self) -> Iterator[pa.RecordBatch]:
        request = self.request
        top_n = bool(request.order_by) and request.limit is not None
        columns = list(request.columns)
        if top_n:
            for ordered in request.order_by:
                for column in ordered.find_all(exp.Column):
                    name = column_name(column, request.table)
                    if name.lower() not in {c.lower() for c in columns}:
                        columns.append(spelled(request.table, name))
        self._connection = self.database()
        for name, keys in self.key_tables.items():
            self._connection.register(name, keys)
        remaining = request.limit
        kept: list[pa.Table] = []
        try:
            for group in self.groups():
                if self.cancelled.is_set() or remaining == 0:
                    return
                limited = ScanRequest(request.table, request.columns, self.filters, request.order_by,
                                      remaining if not top_n else request.limit, request.timeout)
                for batch in self._read(group, limited, columns, top_n):
                    if top_n:
                        kept.append(pa.Table.from_batches([batch]))
                        continue
                    if remaining is not None:
                        batch = batch.slice(0, remaining)
                        remaining -= batch.num_rows
                    yield batch
                    if self.cancelled.is_set():
                        return
            if top_n and kept and not self.cancelled.is_set():
                yield from self._final_top_n(pa.concat_tables(kept))
        finally:
            self._connection.close()

    def _read(self, group: list[FileEntry], request: ScanRequest, columns: list[str], top_n: bool):
        """One group's batches (the store's own errors are already c360 errors)."""
        keys = [entry.key for entry in group]
        with fetch_all(self.store, keys, self.cancelled) as paths:
            if self.cancelled.is_set():
                return
            self.read_files.extend(keys)
            fmt = self.layout.format
            present = self._columns_of(keys, paths) if fmt in ("csv", "parquet") else None
            partitions = typed_partitions(group, request.table)
            sql = group_query(fmt, paths, partitions, request, present, columns=columns, top_n=top_n)
            try:
                reader = self._connection.execute(sql).to_arrow_reader(BATCH_ROWS)
                for batch in reader:
                    yield batch
                    if self.cancelled.is_set():
                        return
            except duckdb.InterruptException:
                if self.cancelled.is_set():
                    return
                raise QueryCancelledError(f"{self.source}: reading {keys[0]} was interrupted") from None
            except duckdb.Error as error:
                if self.cancelled.is_set():
                    return
                raise group_error(fmt, keys, paths, error, self.source) from None

    def _columns_of(self, keys: list[str], paths: list[Path]) -> set[str]:
        """The column names a csv/parquet group's files have (lower-cased)."""
        try:
            schema = self._connection.execute(columns_query(self.layout.format, paths)).to_arrow_table().schema
        except duckdb.Error as error:
            raise group_error(self.layout.format, keys, paths, error, self.source) from None
        return {name.lower() for name in schema.names}

    def _final_top_n(self, rows: pa.Table) -> Iterator[pa.RecordBatch]:
        request = self.request
        self._connection.register("__c360_candidates", rows)
        query = (
            exp.select(*[exp.column(spelled(request.table, n), quoted=True) for n in request.columns])
            .from_("__c360_candidates")
            .order_by(*[quote_columns(o, request.table) for o in request.order_by])
            .limit(request.limit)
        )
        yield from self._connection.execute(query.sql(dialect="duckdb")).to_arrow_reader(BATCH_ROWS)

    def cancel(self) -> None:
        super().cancel()
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.interrupt()


@contextlib.contextmanager
def fetch_all(store, keys: list[str], cancelled: threading.Event) -> Iterator[list[Path]]:
    """Local paths for ``keys`` (fetched ``store.parallel`` at a time), released together afterwards."""
    workers = min(store.parallel, len(keys))
    with contextlib.ExitStack() as stack:
        managers = [store.fetch(key, cancelled) for key in keys]
        if workers <= 1:
            yield [stack.enter_context(manager) for manager in managers]
            return
        with ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(manager.__enter__) for manager in managers]
            paths, failure = [], None
            for manager, future in zip(managers, futures):
                try:
                    paths.append(future.result())
                    stack.push(manager)
                except Exception as error:  # noqa: BLE001 - the first failure is re-raised below
                    failure = failure or error
        if failure is not None:
            raise failure
        yield paths
