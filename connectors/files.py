"""Files as tables: what the JSON-files and blob connectors share.

A file table is a set of files under a *store* (a local folder, or a blob
container) chosen by a :class:`Layout`: a base prefix, optional globs, a format
(``json``/``jsonl``/``csv``/``parquet``) and optional :class:`Partitioning`
that turns each file's path into partition column values
(``2026/11/01/13/`` -> ``partition_hour``; ``date=2026-11-01/`` -> ``date``).

Only the store differs between connectors: it lists ``(key, size)`` pairs and
hands out a local path for a key (the file itself, or a streamed download).
Everything else happens here:

* :meth:`Layout.entries` lists the table's files, narrowed to the matching
  periods' folders when a template's time column is bounded
  (pruning itself is in :mod:`connectors.partitions`);
* :func:`discover` samples a few files for the data columns;
* :class:`FileScan` reads the chosen files in groups with DuckDB's built-in
  ``read_json``/``read_csv``/``read_parquet`` (never ``INSTALL``), one SELECT
  per group generated from sqlglot trees, streaming record batches.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import tempfile
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from c360.errors import (
    CatalogError,
    DatabaseError,
    FileFormatError,
    NotFoundError,
    QueryCancelledError,
    did_you_mean,
)
from c360.types import arrow_type, duckdb_type
from connectors.base import FILTER_OPS, Capabilities, Column, Scan, ScanRequest, TableSchema, source_label
from connectors.partitions import (
    HivePartitioning,
    Partitioning,
    TemplatePartitioning,
    column_name,
    quote_columns,
    time_bounds,
    typed_partitions,
)

FORMATS = ("json", "jsonl", "csv", "parquet")
BATCH_ROWS = 8192
SAMPLE_FILES = 5
#: Bytes of a newline-delimited file downloaded to sample its columns (whole lines only).
SAMPLE_BYTES = 1 << 20
SHOWN_FILES = 10
#: How many listed prefixes and downloaded keys a store remembers (for tests and diagnostics).
HISTORY = 10_000
#: Most files, and bytes, one DuckDB query reads (a group is fetched before it is read).
GROUP_FILES = 256
GROUP_BYTES = 256 << 20

# --- the store and the files of a table ----------------------------------------------------------


@dataclass(frozen=True)
class FileEntry:
    """One listed file: its key under the store's root and its partition values from the path."""

    key: str
    size: int
    partitions: tuple[tuple[str, object], ...] = ()


class LocalFolder:
    """A folder as a store: keys are ``/``-separated paths relative to ``root``."""

    def __init__(self, root: Path):
        self.root = root
        #: The latest prefixes listed, in order (what listing pruning is judged by).
        self.listed: deque[str] = deque(maxlen=HISTORY)

    def list(self, prefix: str) -> Iterator[tuple[str, int]]:
        """Every file whose key starts with ``prefix``, in key order."""
        self.listed.append(prefix)
        directory, _, _stem = prefix.rpartition("/")
        start = self.root / directory if directory else self.root
        if not start.is_dir():
            return
        for folder, subfolders, names in os.walk(start):
            subfolders.sort()
            for name in sorted(names):
                full = Path(folder, name)
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key, full.stat().st_size

    def folders(self, prefix: str) -> tuple[list[str], bool]:
        """The visible subfolders right under ``prefix`` (``name/``), and whether files sit there too."""
        start = self.root / prefix
        if not start.is_dir():
            return [], False
        names, has_files = [], False
        for child in sorted(start.iterdir()):
            if child.name.startswith(("_", ".")):
                continue
            if child.is_dir():
                names.append(child.name + "/")
            elif child.stat().st_size > 0:
                has_files = True
        return names, has_files

    @contextlib.contextmanager
    def fetch(self, key: str, cancelled: threading.Event, head: int | None = None) -> Iterator[Path]:
        """The file itself (nothing is copied, so ``head`` does not matter)."""
        yield self.root / key


def glob_regex(pattern: str) -> re.Pattern:
    """A regex for a ``/``-separated glob: ``*`` and ``?`` stay inside one folder, ``**/`` spans any."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(pattern[i]))
                i += 1
            else:
                out.append("[" + pattern[i + 1 : end].replace("\\", "\\\\") + "]")
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def literal_prefix(pattern: str) -> str:
    """The folders of ``pattern`` before its first wildcard (``a/b/*.json`` -> ``a/b/``)."""
    parts = pattern.split("/")
    fixed = []
    for part in parts[:-1]:
        if any(ch in part for ch in "*?["):
            break
        fixed.append(part)
    return "".join(f"{p}/" for p in fixed)


# --- a table's layout ----------------------------------------------------------------------------


@dataclass
class Layout:
    """Where a table's files are and how to read them."""

    prefix: str  # under the store's root; partitions are parsed relative to it
    format: str
    patterns: tuple[str, ...] = ()  # globs relative to the store's root; empty = every file
    partitioning: Partitioning | None = None
    regexes: list = field(default_factory=list, repr=False)

    def __post_init__(self):
        if self.format not in FORMATS:
            raise CatalogError(
                f"Unknown file format '{self.format}'.{did_you_mean(self.format, FORMATS)} "
                f"Use one of {', '.join(FORMATS)}"
            )
        self.regexes = [glob_regex(p) for p in self.patterns]

    def describe(self) -> str:
        return ", ".join(self.patterns) if self.patterns else (self.prefix or "(all files)")

    def prefixes(self, filters=(), table: TableSchema | None = None, store=None) -> list[str]:
        """The key prefixes to list: the table's own, or only the folders the filters allow.

        A template's bounded time column selects the periods' folders; for hive
        folders, the first level's ``key=value`` folders are listed (one cheap
        call) and only those whose value satisfies the filters on that key are
        kept. Either way the result is a superset of the matching files.
        """
        literal = {literal_prefix(p) for p in self.patterns} if self.patterns else {self.prefix}
        whole = sorted(p for p in literal if not any(p != q and p.startswith(q) for q in literal))
        partitioning = self.partitioning
        if table is None or whole != [self.prefix] or not filters:
            return whole
        if isinstance(partitioning, HivePartitioning) and store is not None:
            folders = partitioning.folders(store, self.prefix, filters, table)
            return whole if folders is None else [self.prefix + folder for folder in folders]
        if not isinstance(partitioning, TemplatePartitioning):
            return whole
        column = table.column(partitioning.column)
        if column is None or not column.partition:
            return whole
        low, high = time_bounds(filters, column.name)
        if low is None or high is None:
            return whole
        folders = partitioning.folders(low, high)
        return whole if folders is None else [self.prefix + folder for folder in folders]

    def entries(self, store, prefixes: list[str] | None = None) -> list[FileEntry]:
        """The table's files under ``prefixes`` (default: all), in key order, with partition values.

        Empty files, hidden files and folders (``_SUCCESS``, ``.x.tmp``, ``_temporary/``) and files
        outside the partition layout are not part of the table.
        """
        found = []
        prefixes = self.prefixes() if prefixes is None else prefixes
        seen = set()
        for prefix in prefixes:
            for key, size in store.list(prefix):
                relative = key[len(self.prefix) :] if key.startswith(self.prefix) else key
                if key in seen or key.endswith("/") or any(p.startswith(("_", ".")) for p in relative.split("/")):
                    continue
                if size == 0:  # no rows; also how folder placeholders of hierarchical accounts look
                    continue
                if self.regexes and not any(r.match(key) for r in self.regexes):
                    continue
                seen.add(key)
                values = {}
                if self.partitioning is not None:
                    values = self.partitioning.parse(relative)
                    if values is None:
                        continue
                found.append(FileEntry(key, size, tuple(values.items())))
        found.sort(key=lambda e: e.key)
        return found


def describe_files(entries: list[FileEntry]) -> str:
    """``3 files: a, b, c`` (the first few, then how many more)."""
    noun = "file" if len(entries) == 1 else "files"
    shown = ", ".join(e.key for e in entries[:SHOWN_FILES])
    more = f", … ({len(entries) - SHOWN_FILES} more)" if len(entries) > SHOWN_FILES else ""
    return f"{len(entries)} {noun}: {shown}{more}" if entries else "0 files"


class FileTables:
    """Table schemas for the file sources (json, blob): declared columns plus partition columns, or
    columns discovered by sampling a few files.

    The connector supplies ``declared`` (the catalog's tables), ``store``, ``_known(name)``,
    ``layout(table)`` and ``_entries(table, layout)``.
    """

    def schema(self, name: str) -> TableSchema:
        """Declared columns (plus partitions), or columns discovered by sampling a few files."""
        table = self._known(name)
        declaration = self.declared.get(table) or {}
        if "columns" in declaration:
            return self.declared_schema(table, declaration)
        layout = self.layout(table)
        entries = self._entries(table, layout)
        return TableSchema(table, tuple(discover(self.store, layout, entries, source=source_label(self))))

    def declared_schema(self, table: str, declared) -> TableSchema:
        """The declared ``columns`` plus the partition columns (hive keys need a listing)."""
        columns = declared_columns(declared["columns"], where=where_of(declared, "columns"))
        layout = self.layout(table)
        partition_columns = []
        if layout.partitioning is not None:
            needs_listing = not isinstance(layout.partitioning, TemplatePartitioning)
            partition_columns = layout.partitioning.columns(self._entries(table, layout) if needs_listing else [])
        return TableSchema(table, with_partitions(columns, partition_columns))


#: What file sources claim: DuckDB reads the files, evaluating filters, limits and top-N on the way.
FILE_CAPABILITIES = Capabilities(projection=True, filters=FILTER_OPS, limit=True, limit_exact=True, top_n=True,
                                 partitions=True, like_exact=True)


def describe_scan(entries: list[FileEntry], request: ScanRequest, fmt: str, group_files: int) -> str:
    """What EXPLAIN shows for a file scan: the file list, then the SQL DuckDB runs per group of files."""
    sent = describe_files(entries)
    if entries:
        top_n = bool(request.order_by) and request.limit is not None
        present = None if fmt in ("json", "jsonl") else {c.name.lower() for c in request.table.columns}
        example = group_query(fmt, [entries[0].key], typed_partitions([entries[0]], request.table), request,
                              present, columns=list(request.columns), top_n=top_n)
        sent += f"; SQL per group of up to {group_files} files, shown for the first file: {example}"
    return sent


# --- reading one file ----------------------------------------------------------------------------


def _read_call(fmt: str, paths, data_columns: list[Column] | None, *, filename: bool = False) -> exp.Table:
    """``read_json('f', columns = {...}, format = 'auto')`` and friends, as a sqlglot table."""
    if isinstance(paths, (list, tuple)):
        target = exp.Array(expressions=[exp.Literal.string(str(p)) for p in paths])
    else:
        target = exp.Literal.string(str(paths))
    args: list[exp.Expression] = [target]

    def named(key: str, value: exp.Expression) -> exp.Expression:
        return exp.EQ(this=exp.column(key), expression=value)

    if fmt in ("json", "jsonl"):
        function = "read_json"
        if data_columns:
            struct = exp.Struct(
                expressions=[
                    exp.PropertyEQ(this=exp.Literal.string(c.name), expression=exp.Literal.string(duckdb_type(c.type)))
                    for c in data_columns
                ]
            )
            args.append(named("columns", struct))
        args.append(named("format", exp.Literal.string("auto")))
    elif fmt == "csv":
        function = "read_csv"
        args.append(named("header", exp.true()))
    else:
        function = "read_parquet"
    # Partition values come from our own parsing of the path, never DuckDB's guess.
    args.append(named("hive_partitioning", exp.false()))
    if filename:
        args.append(named("filename", exp.Literal.string(FILE_COLUMN)))
    if isinstance(paths, (list, tuple)):
        args.append(named("union_by_name", exp.true()))
    return exp.Table(this=exp.Anonymous(this=function, expressions=args))


@functools.lru_cache(maxsize=256)
def _sql_type(type_: pa.DataType, array: bool = False) -> exp.DataType:
    name = duckdb_type(type_)
    return exp.DataType.build(f"{name}[]" if array else name, dialect="duckdb")


def _text(value) -> exp.Expression:
    return exp.null() if value is None else exp.Literal.string(str(value))


def _literal(value, type_: pa.DataType) -> exp.Expression:
    """``CAST('value' AS type)`` (or a typed NULL)."""
    return exp.Cast(this=_text(value), to=_sql_type(type_).copy())


#: The column DuckDB adds with each row's file name when a group's files differ in partition values.
FILE_COLUMN = "__c360_file"


def group_query(
    fmt: str,
    paths: list,
    partitions: list[dict],
    request: ScanRequest,
    present: set[str] | None,
    *,
    columns: list[str],
    top_n: bool,
) -> str:
    """The SELECT that reads a group of files for ``request``: projection, filters and limit pushed in.

    ``partitions`` holds each file's partition values. They become columns of
    the rows: a literal when the whole group shares them, else picked by file
    name (``[v1, v2][list_position(['f1', 'f2'], file)]``, which keeps the
    files' row order), so every filter, on data or partition columns, is
    evaluated by DuckDB. ``present`` is the set of column names the group's
    csv/parquet files have (others read as NULL); JSON gets the explicit
    ``columns=`` struct instead.
    """
    table = request.table
    needed = {n.lower() for n in columns}
    for expression in (*request.filters, *(request.order_by if top_n else ())):
        needed.update(column_name(c, table).lower() for c in expression.find_all(exp.Column))
    data_columns = [c for c in table.columns if not c.partition and c.name.lower() in needed]
    if not data_columns and fmt in ("json", "jsonl"):
        # Rows must still be counted when only partition columns (or none) are asked for.
        data_columns = [c for c in table.columns if not c.partition][:1]
    partition_columns = [c for c in table.columns if c.partition]
    inner = []
    for column in data_columns:
        name = exp.to_identifier(column.name, quoted=True)
        if fmt in ("json", "jsonl"):
            inner.append(exp.column(name, table="f").as_(name))
        elif present is not None and column.name.lower() in present:
            target = exp.DataType.build(duckdb_type(column.type), dialect="duckdb")
            inner.append(exp.cast(exp.column(name, table="f"), target).as_(name))
        else:
            inner.append(_literal(None, column.type).as_(name))
    by_file = False
    for column in partition_columns:
        name = exp.to_identifier(column.name, quoted=True)
        values = [values.get(column.name) for values in partitions]
        if all(value == values[0] for value in values):
            inner.append(_literal(values[0], column.type).as_(name))
            continue
        by_file = True
        position = exp.Anonymous(
            this="list_position",
            expressions=[
                exp.Array(expressions=[exp.Literal.string(str(path)) for path in paths]),
                exp.column(FILE_COLUMN, table="f"),
            ],
        )
        choices = exp.Cast(this=exp.Array(expressions=[_text(v) for v in values]),
                           to=_sql_type(column.type, True).copy())
        inner.append(exp.Bracket(this=choices, expressions=[position]).as_(name))
    source = _read_call(fmt, list(paths), data_columns if fmt in ("json", "jsonl") else None,
                        filename=by_file).as_("f")
    rows = exp.select(*inner).from_(source)
    query = exp.select(*[exp.column(_spelled(table, n), quoted=True) for n in columns]).from_(rows.subquery("file"))
    condition = [quote_columns(f, table) for f in request.filters]
    if condition:
        query = query.where(exp.and_(*condition))
    if top_n:
        query = query.order_by(*[quote_columns(o, table) for o in request.order_by])
    if request.limit is not None:
        query = query.limit(request.limit)
    return query.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)


def _spelled(table: TableSchema, name: str) -> str:
    column = table.column(name)
    return column.name if column else name


# --- errors --------------------------------------------------------------------------------------


def json_error_line(path: Path) -> tuple[int, str] | None:
    """The 1-based line and message of the first JSON syntax error in ``path``, or None if it parses.

    Handles newline-delimited files, arrays and concatenated values; reads line
    by line so a large newline-delimited file is never held whole.
    """
    decoder = json.JSONDecoder()
    with open(path, encoding="utf-8", errors="replace") as handle:
        head = handle.read(4096).lstrip()
    if head.startswith("["):
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            json.loads(text)
        except json.JSONDecodeError as error:
            return error.lineno, error.msg
        return None
    pending, start = "", 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not pending:
                start = number
            pending += line
            text = pending.strip()
            if not text:
                pending = ""
                continue
            try:
                position = 0
                while position < len(text):
                    _, position = decoder.raw_decode(text, position)
                    while position < len(text) and text[position].isspace():
                        position += 1
                pending = ""
            except json.JSONDecodeError as error:
                if error.pos >= len(text) - 1 and text[-1] not in "}]\"":
                    continue  # a value spanning lines: read on
                return start + error.lineno - 1, error.msg
    if pending.strip():
        try:
            json.loads(pending)
        except json.JSONDecodeError as error:
            return start + error.lineno - 1, error.msg
    return None


def format_error(fmt: str, label: str, path: Path, error: Exception, source: str) -> DatabaseError:
    """A FileFormatError naming the file (and for JSON the line) behind DuckDB's ``error``.

    A file removed between listing and reading is a NotFoundError instead.
    """
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    message = message.replace(str(path), label)
    if not path.exists():
        return NotFoundError(f"{source}: file '{label}' was listed but no longer exists")
    if fmt in ("json", "jsonl"):
        found = json_error_line(path)
        if found is not None:
            line, reason = found
            return FileFormatError(f"{source}: file '{label}' is not valid JSON at line {line}: {reason}")
    return FileFormatError(f"{source}: file '{label}' could not be read as {fmt}: {message}")


# --- discovery -----------------------------------------------------------------------------------


def sample(entries: list[FileEntry], count: int = SAMPLE_FILES) -> list[FileEntry]:
    """Up to ``count`` entries spread over the listing (first and last included)."""
    if len(entries) <= count:
        return list(entries)
    step = (len(entries) - 1) / (count - 1)
    return [entries[round(i * step)] for i in range(count)]


def discover(store, layout: Layout, entries: list[FileEntry], *, source: str) -> list[Column]:
    """Data columns found by sampling a few files, followed by the partition columns."""
    chosen = sample(entries)
    cancelled = threading.Event()
    by_lines = layout.format in ("jsonl", "csv")
    with contextlib.ExitStack() as stack:
        paths = [
            stack.enter_context(
                store.fetch(e.key, cancelled, SAMPLE_BYTES if by_lines and e.size > SAMPLE_BYTES else None)
            )
            for e in chosen
        ]
        sql = exp.select(exp.Star()).from_(_read_call(layout.format, paths, None)).limit(0).sql(dialect="duckdb")
        connection = duckdb.connect()
        try:
            schema = connection.execute(sql).to_arrow_table().schema
        except duckdb.Error as error:
            for entry, path in zip(chosen, paths):
                one_file = exp.select(exp.Star()).from_(_read_call(layout.format, path, None)).limit(0)
                try:
                    connection.execute(one_file.sql(dialect="duckdb")).fetchall()
                except duckdb.Error as one:
                    raise format_error(layout.format, entry.key, path, one, source) from None
            first = str(error).splitlines()[0]
            raise FileFormatError(f"{source}: files of table could not be read together: {first}") from None
        finally:
            connection.close()
    partition_columns = layout.partitioning.columns(entries) if layout.partitioning else []
    taken = {c.name.lower() for c in partition_columns}
    data = [Column(f.name, f.type) for f in schema if f.name.lower() not in taken]
    return data + partition_columns


def declared_columns(declared, *, where: str) -> list[Column]:
    """Columns from a table's ``columns: {name: TYPE}`` mapping."""
    if not isinstance(declared, dict):
        raise CatalogError(f"{where}: 'columns' must map column names to types")
    built = []
    for name, type_name in declared.items():
        try:
            built.append(Column(name, arrow_type(str(type_name))))
        except CatalogError as error:
            raise CatalogError(f"{where}: column '{name}': {error}") from None
    return built


def with_partitions(columns: list[Column], partition_columns: list[Column]) -> tuple[Column, ...]:
    """Declared columns plus partition columns; a declared column named like one becomes it."""
    by_name = {c.name.lower(): c for c in partition_columns}
    out = [by_name.pop(c.name.lower()) if c.name.lower() in by_name else c for c in columns]
    return tuple(out + list(by_name.values()))


def where_of(mapping, key: str | None = None) -> str:
    where = getattr(mapping, "where", None)
    return where(key) if callable(where) else "catalog"


def check_keys(declared, allowed: dict, *, what: str) -> None:
    for key in declared:
        if key not in allowed:
            raise CatalogError(
                f"{where_of(declared, key)}: {what} has unknown setting '{key}'.{did_you_mean(key, allowed)} "
                f"Known: {', '.join(allowed)}"
            )


# --- the scan ------------------------------------------------------------------------------------


class FileScan(Scan):
    """Reads the chosen files in groups, streaming DuckDB's record batches.

    Files are read ``group_files`` at a time (and at most ``group_bytes`` per
    group) by one DuckDB query each, so thousands of small hourly files cost a
    few queries, not thousands; a store that downloads fetches a group's files
    in parallel. ``read_files`` lists, in order, the keys actually fetched
    (opened locally, downloaded from blob storage), so a test or EXPLAIN
    ANALYZE can see what pruning saved. :meth:`cancel` interrupts DuckDB and
    stops between groups and between download chunks.
    """

    def __init__(self, request: ScanRequest, sent: str, *, store, layout: Layout, entries: list[FileEntry],
                 source: str, group_files: int = GROUP_FILES, group_bytes: int = GROUP_BYTES):
        super().__init__(request, sent)
        self.store, self.layout, self.entries, self.source = store, layout, entries, source
        self.group_files, self.group_bytes = max(1, group_files), group_bytes
        self.read_files: list[str] = []
        self._connection: duckdb.DuckDBPyConnection | None = None

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
                        columns.append(_spelled(request.table, name))
        self._connection = duckdb.connect(config={"threads": 1})
        remaining = request.limit
        kept: list[pa.Table] = []
        try:
            for group in self.groups():
                if self.cancelled.is_set() or remaining == 0:
                    return
                limited = ScanRequest(request.table, request.columns, request.filters, request.order_by,
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
        sql = exp.select(exp.Star()).from_(_read_call(self.layout.format, paths, None)).limit(0).sql(dialect="duckdb")
        try:
            return {name.lower() for name in self._connection.execute(sql).to_arrow_table().schema.names}
        except duckdb.Error as error:
            raise group_error(self.layout.format, keys, paths, error, self.source) from None

    def _final_top_n(self, rows: pa.Table) -> Iterator[pa.RecordBatch]:
        request = self.request
        self._connection.register("__c360_candidates", rows)
        query = (
            exp.select(*[exp.column(_spelled(request.table, n), quoted=True) for n in request.columns])
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
    workers = min(getattr(store, "parallel", 1), len(keys))
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


def group_error(fmt: str, keys: list[str], paths: list[Path], error: Exception, source: str) -> DatabaseError:
    """The error for a group that failed: it names the file DuckDB names, or the first bad one found."""
    text = str(error).split("\n")[0]  # later lines quote the whole SQL, every file name included
    for key, path in sorted(zip(keys, paths), key=lambda pair: -len(str(pair[1]))):
        if str(path) in text:
            return format_error(fmt, key, path, error, source)
    for key, path in zip(keys, paths):
        if not path.exists():
            return format_error(fmt, key, path, error, source)
        if fmt in ("json", "jsonl") and json_error_line(path) is not None:
            return format_error(fmt, key, path, error, source)
    first = text or type(error).__name__
    for key, path in zip(keys, paths):
        first = first.replace(str(path), key)
    return FileFormatError(f"{source}: files {keys[0]} … {keys[-1]} could not be read as {fmt}: {first}")


@contextlib.contextmanager
def temporary_copy(chunks: Iterator[bytes], cancelled: threading.Event, suffix: str = "") -> Iterator[Path]:
    """Write ``chunks`` to a temporary file (stopping if cancelled), yield its path, then delete it."""
    handle = tempfile.NamedTemporaryFile(prefix="c360-", suffix=suffix, delete=False)
    try:
        with handle:
            for chunk in chunks:
                if cancelled.is_set():
                    break
                handle.write(chunk)
        yield Path(handle.name)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)


__all__ = [
    "FORMATS",
    "HISTORY",
    "FileEntry",
    "FileScan",
    "Layout",
    "LocalFolder",
    "declared_columns",
    "describe_files",
    "discover",
    "group_query",
    "glob_regex",
    "json_error_line",
    "literal_prefix",
    "sample",
    "temporary_copy",
    "with_partitions",
]
