"""Reading a copy: a connector over one copy's DuckDB file, so the planner pushes into it as into a source.

The planner offers it what it offers any relational source -- projection, every
filter, limit and top-N -- and the SELECT runs in the copy's own read-only DuckDB
(external access off), streaming Arrow batches to the engine. A copy sorted by its
key and indexed on it (ART) answers a lookup by key by reading one row; each copy's DuckDB runs one thread.
Each data file is opened once per process (files never change: a refresh writes a
new one), and each scan gets its own cursor, which :meth:`CopyScan.cancel` interrupts.

The live part of a ``live_tail`` copy (the rows past its watermark) is the table's own source, read through
the process's :class:`LiveTail` when the table is files in time-templated folders: listed at most every
:data:`LIVE_LISTING_SECONDS`, each file read once, answered from memory (see :class:`LiveTail`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel

from c360.acceleration.declaration import format_duration
from c360.errors import NotFoundError, SourceError
from c360.lockdown import lock
from connectors.base import Capabilities, Column, Scan, ScanRequest, TableSchema
from connectors.files.layout import LISTING_THREADS
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


#: DuckDB's optimizer passes a plain SELECT of one copy's table (columns, WHERE, at most ORDER BY ... LIMIT: no
#: join, aggregate, window, CTE or subquery) gains nothing from, switched off where such a SELECT runs repeated
#: (:func:`open_lookup`). For a lookup of ~60 columns they are about a sixth of DuckDB's CPU (the join order's
#: cardinality estimate, statistics propagation, the common-subplan search). Kept: filter pushdown (the key's
#: filter reaches the scan, its zone maps and ART index), expression rewriting, top-N, limit pushdown, late
#: materialization, row-group pruning, IN and LIKE rewrites, column pruning. Optimizers never change an answer.
LOOKUP_OPTIMIZERS_OFF = (
    "build_side_probe_side", "column_lifetime", "common_aggregate", "common_subexpressions", "common_subplan",
    "compressed_materialization", "cte_filter_pusher", "cte_inlining", "deliminator", "duplicate_groups",
    "empty_result_pullup", "filter_pullup", "join_elimination", "join_filter_pushdown", "join_order",
    "materialized_cte", "sampling_pushdown", "statistics_propagation", "sum_rewriter", "top_n_window_elimination",
    "unnest_rewriter", "window_self_join",
)
#: the name a copy's table has where :func:`open_lookup` attaches its file
LOOKUP_TABLE = ("c360_copy", "data")

_LOOKUPS: OrderedDict[str, duckdb.DuckDBPyConnection] = OrderedDict()


def open_lookup(path: Path) -> duckdb.DuckDBPyConnection:
    """A cursor on the process's lookup DuckDB of a data file: an in-memory DuckDB that attaches it read-only
    (its table is ``c360_copy.data``) with :data:`LOOKUP_OPTIMIZERS_OFF` off, then turns external access off
    and locks its configuration. Only for plain SELECTs of that table (a repeated lookup's,
    :class:`c360.acceleration.direct.CopyStatement`); everything else runs where :func:`open_copy` opens it.
    One per file and process (sessions share its buffer cache), a few kept open."""
    key = str(path)
    with _OPEN_LOCK:
        connection = _LOOKUPS.get(key)
        if connection is None:
            connection = duckdb.connect(config={
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "threads": 1,
                "disabled_optimizers": ",".join(LOOKUP_OPTIMIZERS_OFF),
            })
            try:
                connection.execute(f"ATTACH '{key.replace(chr(39), chr(39) * 2)}' AS {LOOKUP_TABLE[0]} (READ_ONLY)")
                connection.execute("SET enable_external_access = false")
                lock(connection)
            except duckdb.Error as error:
                connection.close()
                raise SourceError(f"The accelerated copy {path.name} cannot be opened: "
                                  f"{str(error).splitlines()[0]}") from None
            _LOOKUPS[key] = connection
            while len(_LOOKUPS) > _KEEP_OPEN:
                _LOOKUPS.popitem(last=False)
        _LOOKUPS.move_to_end(key)
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
        _interrupt(self._cursor)

    def close(self) -> None:
        super().close()
        _close(self._cursor)
        self._cursor = None


def _interrupt(cursor) -> None:
    """Stop what ``cursor`` (a DuckDB cursor, or None) runs, from any thread; best effort."""
    if cursor is not None:
        try:
            cursor.interrupt()
        except duckdb.Error:
            pass


def _close(cursor) -> None:
    if cursor is not None:
        try:
            cursor.close()
        except duckdb.Error:
            pass


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


# --- the live tail: the rows past a copy's watermark, read from the source's files ---------------------

#: A live tail's listing of its folders is reused for at most this long (seconds, counted from when the listing
#: started): a window the stream writes is read by a query at most this much later than without the cache.
LIVE_LISTING_SECONDS = 2.0
#: A folder's rows are kept at most this long (seconds) before the folder is read again in full, so a file
#: rewritten with the same key and size is never served older than this.
LIVE_KEEP_SECONDS = 300.0
#: Folders a live tail keeps in memory (the newest hours; the least recently asked for go first).
LIVE_FOLDERS = 48

_TAILS: dict[tuple, "LiveTail"] = {}
_TAILS_LOCK = threading.Lock()


def live_connector(source):
    """What the live part of a ``live_tail`` copy scans: ``source`` (the table's own connector), its scans
    answered by the process's :class:`LiveTail` of that table when the table is files in hour folders."""
    return source if isinstance(source, LiveTailConnector) else LiveTailConnector(source)


class LiveTailConnector:
    """``source`` with its scans served from the process's :class:`LiveTail` (see there); any other member
    is the source's. A scan the tail cannot serve (no time-templated folders, no bound on both sides, a whole
    statement) is the source's own."""

    def __init__(self, source):
        self.source = source

    def __getattr__(self, name):  # kind, dialect, capabilities, location, name, schema, tables, ...
        return getattr(self.source, name)

    def scan(self, request):
        from connectors.files.partitions import TemplatePartitioning

        files = getattr(self.source, "inner", self.source)  # an optional source's own connector
        if request.statement is not None or not callable(getattr(files, "layout", None)):
            return self.source.scan(request)
        table = files.known(request.table.name)
        layout = files.layout(table)
        column = request.table.column(layout.partitioning.column) if isinstance(
            layout.partitioning, TemplatePartitioning) else None
        if column is None or not column.partition or layout.prefixes() != [layout.prefix]:
            return self.source.scan(request)
        key = (files.kind, files.store.location, layout.prefix, table)
        with _TAILS_LOCK:
            tail = _TAILS.get(key)
            if tail is None:
                tail = _TAILS[key] = LiveTail()
        try:
            files.check_root()
            scan = tail.scan(files, layout, column.name, request)
        except NotFoundError:  # the source's own scan says it (an optional source reads as empty)
            scan = None
        return self.source.scan(request) if scan is None else scan


class LiveTail:
    """One table of hour folders (``clicks.browsing``), as the live tails of a process read it.

    A scan lists only the folders its partition filters bound on both sides allow (the watermark and the
    app's hours), reusing a listing of the same folders for :data:`LIVE_LISTING_SECONDS` (renewed ahead on a
    thread while it is served); reads only the
    files of a folder it has not read before (a file is known by its key and size: ``c360 stream aggregate``
    writes each closed window once, in one put; a file gone or changed re-reads its folder), keeping each
    folder's rows in memory for at most :data:`LIVE_KEEP_SECONDS`; and answers the request's columns,
    filters, order and limit from those rows in a DuckDB kept open. So the pages polling one customer each
    share one listing and one read of the newest windows instead of each listing, downloading and opening
    a DuckDB per poll.
    """

    def __init__(self):
        from c360.lockdown import locked_config

        self._lock = threading.Lock()
        self._database = duckdb.connect(config=locked_config(threads=1))
        self._listed: dict[tuple, tuple[float, list]] = {}
        #: folder prefix -> its rows in memory
        self._folders: OrderedDict[str, _Folder] = OrderedDict()
        self.files_read = 0  # files read since the tail was made (tests and EXPLAIN)
        self._pool: ThreadPoolExecutor | None = None
        self._renewer: ThreadPoolExecutor | None = None
        self._renewing: set[tuple] = set()

    def scan(self, files, layout, column: str, request) -> "TailScan | None":
        """The scan for ``request``, or None when its filters do not bound ``column`` on both sides."""
        from connectors.files.layout import describe_files
        from connectors.files.partitions import time_bounds

        cursor = self._database.cursor()
        try:
            low, high = time_bounds(request.filters, column, cursor)
        finally:
            cursor.close()
        folders = layout.partitioning.folders(low, high) if low is not None and high is not None else None
        if folders is None:
            return None
        prefixes = tuple(layout.prefix + folder for folder in folders)
        listing = self._listing(files, layout, prefixes, request.table)
        with self._lock:
            known = {prefix: self._folders.get(prefix) for prefix in prefixes}
        unread = sum(1 for e in listing[1] if (e.key, e.size) not in _ids(known, e.key))
        select = render_select(_kept(request), "duckdb")  # once: what runs on the rows, and what EXPLAIN says
        sent = (f"{describe_files(listing[1])} (live tail: {unread} not read before; the rest from memory), "
                f"then in DuckDB: {select}")
        return TailScan(request, sent, self, files, layout, prefixes, listing, select)

    def _listing(self, files, layout, prefixes: tuple, table) -> tuple[float, list]:
        """(when it started, the files of ``prefixes``' folders), listed at most :data:`LIVE_LISTING_SECONDS` ago.
        A listing past half its bound is renewed on a thread of its own while it is still served, and the new
        files it finds are read there too, so polling pages rarely wait for a listing or a download."""
        now = time.monotonic()
        with self._lock:
            listed = self._listed.get(prefixes)
            fresh = listed is not None and now - listed[0] <= LIVE_LISTING_SECONDS
            renew = fresh and now - listed[0] > LIVE_LISTING_SECONDS / 2 and prefixes not in self._renewing
            if renew:
                self._renewing.add(prefixes)
                if self._renewer is None:
                    self._renewer = ThreadPoolExecutor(1, thread_name_prefix="c360-live-tail-renew")
        if renew:
            self._renewer.submit(self._renew, files, layout, prefixes, table)
        return listed if fresh else self._list(files.store, layout, prefixes)

    def _renew(self, files, layout, prefixes: tuple, table) -> None:
        """A listing ahead of its bound, and the new files it lists read. An error stays in this future, unread:
        the query that finds the listing past its bound lists (and reads) again itself, and reports it then."""
        try:
            self.rows(files, layout, prefixes, self._list(files.store, layout, prefixes), table, lambda scan: None)
        finally:
            with self._lock:
                self._renewing.discard(prefixes)

    def _list(self, store, layout, prefixes: tuple) -> tuple[float, list]:
        started = time.monotonic()
        if len(prefixes) <= 1:
            entries = layout.entries(store, list(prefixes))
        else:  # the folders at once, on threads kept for the next listing (starting threads is not free)
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(LISTING_THREADS, thread_name_prefix="c360-live-tail")
            listed = self._pool.map(lambda prefix: layout.entries(store, [prefix]), prefixes)
            entries = sorted((e for part in listed for e in part), key=lambda e: e.key)
        with self._lock:
            now = time.monotonic()
            self._listed = {k: v for k, v in self._listed.items() if now - v[0] <= LIVE_LISTING_SECONDS}
            kept = self._listed.get(prefixes)
            if kept is None or kept[0] < started:
                self._listed[prefixes] = (started, entries)
        return started, entries

    def rows(self, files, layout, prefixes: tuple, listing: tuple[float, list], table, reading) -> pa.Table:
        """Every row of ``prefixes``' folders (all of ``table``'s columns) as of ``listing`` or a later one,
        reading only what is not in memory; ``reading(scan)`` is told of each file scan started (so a cancel
        reaches it)."""
        columns = tuple(c.name for c in table.columns)
        schema = table.arrow_schema(columns)
        listed_at, entries = listing
        tables = []
        for prefix in prefixes:
            mine = [e for e in entries if e.key.startswith(prefix)]
            ids = frozenset((e.key, e.size) for e in mine)
            now = time.monotonic()
            with self._lock:
                kept = self._folders.get(prefix)
            if kept is not None and now - kept.read_at > LIVE_KEEP_SECONDS:
                kept = None
            if kept is not None and kept.listed_at >= listed_at:  # read from this listing or a later one
                tables.append(kept.rows)
                continue
            if kept is not None and kept.ids <= ids:
                read_at, rows = kept.read_at, kept.rows
                new = [e for e in mine if (e.key, e.size) not in kept.ids]
            else:  # first read, past the keep bound, or a file gone or changed: the whole folder
                read_at, rows, new = now, schema.empty_table(), mine
            if new:
                # one chunk per folder: DuckDB scans an Arrow table of hundreds of small chunks ~10x slower
                rows = pa.concat_tables([rows, self._read(files, layout, new, table, columns, reading)]
                                        ).combine_chunks()
            with self._lock:
                current = self._folders.get(prefix)
                if current is None or current.listed_at <= listed_at:
                    self._folders[prefix] = _Folder(read_at, listed_at, ids, rows)
                self._folders.move_to_end(prefix)
                while len(self._folders) > LIVE_FOLDERS:
                    self._folders.popitem(last=False)
            tables.append(rows)
        return pa.concat_tables(tables) if tables else schema.empty_table()

    def _read(self, files, layout, entries: list, table, columns: tuple, reading) -> pa.Table:
        from connectors.base import ScanRequest as Request
        from connectors.base import source_label
        from connectors.files.scan import FileScan

        scan = FileScan(Request(table, columns), "", store=files.store, layout=layout, entries=entries,
                        source=source_label(files), group_files=files.group_files, database=files.cursor)
        reading(scan)
        rows = pa.Table.from_batches(list(scan.batches()), schema=table.arrow_schema(columns))
        with self._lock:
            self.files_read += len(entries)
        return rows


#: The name a live tail's rows have in its DuckDB while a scan's SELECT runs on them.
TAIL_ROWS = "__c360_live_tail"


def _kept(request) -> ScanRequest:
    """``request`` over the rows in memory (:data:`TAIL_ROWS`) instead of the source's table."""
    import dataclasses

    return dataclasses.replace(request, table=dataclasses.replace(request.table, remote_name=(TAIL_ROWS,)))


@dataclass(frozen=True)
class _Folder:
    """One folder's rows in memory: first read at ``read_at``, as of the listing started at ``listed_at``, holding
    the files ``ids`` (key, size)."""

    read_at: float
    listed_at: float
    ids: frozenset
    rows: pa.Table


def _ids(known: dict, key: str) -> frozenset:
    for prefix, kept in known.items():
        if kept is not None and key.startswith(prefix):
            return kept.ids
    return frozenset()


class TailScan(Scan):
    """A live tail's answer to one request: reads what is new, then runs the request's SELECT in memory."""

    def __init__(self, request, sent: str, tail: LiveTail, files, layout, prefixes: tuple, listing: tuple,
                 select: str):
        super().__init__(request, sent)
        self._tail, self._files, self._layout = tail, files, layout
        self._prefixes, self._listing, self._select = prefixes, listing, select
        self._cursor = None
        self._reading = None

    def _batches(self) -> Iterator[pa.RecordBatch]:
        rows = self._tail.rows(self._files, self._layout, self._prefixes, self._listing, self.request.table,
                               self._watch)
        if self.cancelled.is_set():
            return
        self._cursor = self._tail._database.cursor()
        self._cursor.register(TAIL_ROWS, rows)
        try:
            reader = self._cursor.execute(self._select).to_arrow_reader(BATCH_ROWS)
            yield from reader
        except duckdb.Error as error:
            if self.cancelled.is_set():
                return
            raise SourceError(f"The live tail of {self.request.table.name} failed: "
                              f"{str(error).splitlines()[0]}") from None

    def _watch(self, scan) -> None:
        self._reading = scan
        if self.cancelled.is_set():
            scan.cancel()

    def cancel(self) -> None:
        super().cancel()
        if self._reading is not None:
            self._reading.cancel()
        _interrupt(self._cursor)

    def close(self) -> None:
        _close(self._cursor)
        self._cursor = None
