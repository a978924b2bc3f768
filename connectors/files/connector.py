""":class:`FileConnector`: what the json and blob connectors share — tables of files in a store, read by DuckDB.

A subclass says only what differs per kind: ``kind``, its catalog
``OPTIONS``/``REQUIRED`` and ``TABLE_OPTIONS``, how its store opens
(:meth:`FileConnector.open_store`), which tables it has (:meth:`tables`), each
table's :class:`~connectors.files.layout.Layout`, and the sentences for a
missing root and a table without files. Everything else is here: table names
matched case-insensitively, schemas (declared columns plus partition columns,
or columns discovered by sampling), the listing pruned by partition filters,
and the scan.

Every filter operation, a limit and a top-N are claimed and exact, because
DuckDB evaluates them itself while reading the files; filters on partition
columns also choose which files are listed and read at all.
"""

from __future__ import annotations

import os
import threading

import duckdb

from c360.errors import CatalogError, NotFoundError, UnknownTableError, did_you_mean
from connectors.base import FILTER_OPS, Capabilities, ScanRequest, TableSchema, source_label
from connectors.declared import check_keys, declared_columns, where_of
from connectors.files.discover import discover
from connectors.files.layout import FileEntry, Layout
from connectors.files.partitions import TemplatePartitioning, prune
from connectors.files.query import describe_scan, key_tables
from connectors.files.scan import GROUP_FILES, STREAM_BUFFER, FileScan

#: The table settings every file source knows; a kind adds where its files are.
TABLE_OPTIONS = {
    "columns": "declared columns {name: TYPE}; otherwise discovered by sampling files",
    "partitioning": "{template: '{yyyy}/{MM}/{dd}/{HH}/', column: name} or {style: hive}",
    "description": "free text",
}
#: The settings every file source knows, whatever its kind.
SOURCE_OPTIONS = {
    "threads": "DuckDB threads parsing one scan's files (default: one per core, at most 4)",
}
#: Most threads a scan parses with by default: more than a few only compete with the engine and other scans.
MOST_THREADS = 4
#: What file sources claim: DuckDB reads the files, evaluating filters, limits and top-N on the way.
FILE_CAPABILITIES = Capabilities(filters=FILTER_OPS, limit=True, top_n=True, partitions=True, like_exact=True)


class FileConnector:
    """Tables of files under one store; see the module docstring for what a subclass provides."""

    kind: str
    dialect = "duckdb"
    capabilities = FILE_CAPABILITIES
    OPTIONS: dict[str, str]
    REQUIRED: tuple[str, ...]
    #: The settings a table of this kind may declare (name -> help).
    TABLE_OPTIONS: dict[str, str]
    #: Most files one DuckDB query reads (see :class:`connectors.files.scan.FileScan`).
    group_files = GROUP_FILES
    #: A join reduction's keys, however many, go in one scan (a table of keys, not a list to parse:
    #: :func:`connectors.files.query.key_tables`); each further scan would parse the files again.
    keys_per_statement: int | None = None
    location: str

    def __init__(self, name: str, options: dict):
        self.name = name
        self.options = options
        self.declared = dict(options.get("tables") or {})
        for table, declaration in self.declared.items():
            check_keys(declaration or {}, self.TABLE_OPTIONS, what=f"table '{name}.{table}'")
        self._store = None
        self._duckdb: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self.threads = scan_threads(name, self.kind, options.get("threads"))

    # --- what differs per kind -------------------------------------------------------------------

    def open_store(self):
        """The source's store (:class:`~connectors.files.store.LocalFolder` or ``AzureContainer``)."""
        raise NotImplementedError

    def tables(self) -> list[str]:
        raise NotImplementedError

    def layout(self, table: str) -> Layout:
        raise NotImplementedError

    def check_root(self) -> None:
        """Raise NotFoundError if the store's root (a folder) is missing; called before every listing."""

    def no_files(self, table: str, layout: Layout) -> str:
        """How to say that ``table`` has no files at all (after ``Source '...' (...):``)."""
        raise NotImplementedError

    # --- the store -------------------------------------------------------------------------------

    @property
    def store(self):
        """The store, opened on first use."""
        with self._lock:
            if self._store is None:
                self._store = self.open_store()
            return self._store

    def close(self) -> None:
        """Release the store's client and the source's DuckDB, if they were opened."""
        with self._lock:
            store, self._store = self._store, None
            database, self._duckdb = self._duckdb, None
        if store is not None:
            store.close()
        if database is not None:
            database.close()

    # --- tables ----------------------------------------------------------------------------------

    def known(self, table: str) -> str:
        """The table's name as declared or found (matched case-insensitively); did-you-mean when unknown."""
        if table in self.declared:
            return table
        names = self.tables()
        match = next((t for t in names if t.lower() == table.lower()), None)
        if match is None:
            raise UnknownTableError(f"Unknown table '{self.name}.{table}'.{did_you_mean(table, names)}")
        return match

    def schema(self, name: str) -> TableSchema:
        """Declared columns (plus partitions), or columns discovered by sampling a few files."""
        table = self.known(name)
        declaration = self.declared.get(table) or {}
        if "columns" in declaration:
            return self.declared_schema(table, declaration)
        layout = self.layout(table)
        entries = self.entries(table, layout)
        if not entries:
            raise NotFoundError(
                f"{source_label(self)}: table '{table}' has only empty files ({layout.describe()}): "
                "its columns cannot be discovered from them; declare them under 'columns'"
            )
        return TableSchema(table, tuple(discover(self.store, layout, entries, source=source_label(self))))

    def declared_schema(self, table: str, declared) -> TableSchema:
        """The declared ``columns`` plus the partition columns (hive keys need a listing).

        A declared column named like a partition column becomes that partition column.
        """
        columns = declared_columns(declared["columns"], where=where_of(declared, "columns"))
        layout = self.layout(table)
        partition_columns = []
        if layout.partitioning is not None:
            needs_listing = not isinstance(layout.partitioning, TemplatePartitioning)
            partition_columns = layout.partitioning.columns(self.entries(table, layout) if needs_listing else [])
        by_name = {c.name.lower(): c for c in partition_columns}
        merged = [by_name.pop(c.name.lower()) if c.name.lower() in by_name else c for c in columns]
        return TableSchema(table, tuple(merged + list(by_name.values())))

    def entries(self, table: str, layout: Layout, request: ScanRequest | None = None) -> list[FileEntry]:
        """The table's files; only the folders the filters allow are listed when ``request`` has filters.

        No files at all is a NotFoundError; no files in the folders asked for is an empty table, and
        so is a table whose matching files are all empty (0 bytes: no rows).
        """
        self.check_root()
        store = self.store
        prefixes = layout.prefixes(request.filters, request.table, store) if request else layout.prefixes()
        empty: list[str] = []
        found = layout.entries(store, prefixes, empty=empty)
        if not found and not empty and prefixes == layout.prefixes():
            raise NotFoundError(f"{source_label(self)}: {self.no_files(table, layout)}")
        return found

    # --- scanning --------------------------------------------------------------------------------

    def scan(self, request: ScanRequest) -> FileScan:
        """List the table's files and prune them by the partition filters; reads (or downloads) nothing yet."""
        table = self.known(request.table.name)
        layout = self.layout(table)
        entries = prune(self.entries(table, layout, request), request.filters, request.table)
        keyed, keys = key_tables(request)

        def sent() -> str:
            return describe_scan(entries, keyed, layout.format, self.group_files)

        return FileScan(request, sent, store=self.store, layout=layout, entries=entries, source=source_label(self),
                        group_files=self.group_files, database=self.cursor, keys=(keyed.filters, keys))

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection for one scan to the source's own DuckDB, made on first use (a fresh DuckDB costs a
        scan about 40 ms before its first rows: 0.15 s against 0.11 s for TPC-H Q2's partsupp). Its
        ``threads`` are shared by the source's scans; each scan sets its own result buffer."""
        with self._lock:
            if self._duckdb is None:
                # a reduced scan's parse is joined against its keys (query.key_tables); DuckDB, which estimates no
                # rows for a JSON parse, would build its hash table from the parse (partsupp's 800,000 rows), not
                # the keys. A setting of the whole DuckDB, made once.
                self._duckdb = duckdb.connect(config={"threads": self.threads,
                                                      "disabled_optimizers": "build_side_probe_side"})
            cursor = self._duckdb.cursor()
        cursor.execute(f"SET streaming_buffer_size = '{STREAM_BUFFER}'")
        return cursor


def scan_threads(name: str, kind: str, value) -> int:
    """The catalog's ``threads`` for a file source: a whole number of 1 or more, or one per core (at most 4)."""
    if value is None:
        return max(1, min(MOST_THREADS, os.cpu_count() or 1))
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CatalogError(f"Source '{name}' ({kind}): 'threads' must be a whole number (1 or more), not {value!r}")
    return value
