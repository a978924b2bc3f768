"""Files as tables: what the JSON-files and blob connectors share.

A file table is a set of files under a *store* (a local folder, or a blob
container) chosen by a :class:`Layout`: a base prefix, optional globs, a format
(``json``/``jsonl``/``csv``/``parquet``) and optional :class:`Partitioning`
that turns each file's path into partition column values
(``2026/11/01/13/`` -> ``partition_hour``; ``date=2026-11-01/`` -> ``date``).

Only the store differs between connectors: it lists ``(key, size)`` pairs and
hands out a local path for a key (the file itself, or a streamed download).
Everything else happens here:

* :func:`prune` keeps the files whose partition values satisfy the pushed
  predicates over partition columns, evaluated exactly by DuckDB over a small
  Arrow table of the listed files' values;
* :func:`discover` samples a few files for the data columns;
* :class:`FileScan` reads the chosen files one at a time with DuckDB's built-in
  ``read_json``/``read_csv``/``read_parquet`` (never ``INSTALL``), one SELECT
  per file generated from sqlglot trees, streaming record batches.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import unquote

import duckdb
import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from c360.errors import CatalogError, FileFormatError, NotFoundError, QueryCancelledError, did_you_mean
from c360.types import arrow_type, duckdb_type
from connectors.base import Column, Scan, ScanRequest, TableSchema

FORMATS = ("json", "jsonl", "csv", "parquet")
BATCH_ROWS = 8192
SAMPLE_FILES = 5
SHOWN_FILES = 10

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

    def list(self, prefix: str) -> Iterator[tuple[str, int]]:
        """Every file whose key starts with ``prefix``, in key order."""
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

    @contextlib.contextmanager
    def fetch(self, key: str, cancelled: threading.Event) -> Iterator[Path]:
        """The file itself (nothing is copied)."""
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


# --- partitioning --------------------------------------------------------------------------------

_TOKENS = {"yyyy": r"(?P<yyyy>\d{4})", "MM": r"(?P<MM>\d{2})", "dd": r"(?P<dd>\d{2})",
           "HH": r"(?P<HH>\d{2})", "mm": r"(?P<mm>\d{2})"}


class Partitioning:
    """Partition columns read from a file's path relative to the table's base prefix."""

    columns_declared: dict[str, str] = {}

    @staticmethod
    def from_declaration(declared, *, where: str) -> "Partitioning | None":
        """Parse a table's ``partitioning:`` (``{template:, column:}`` or ``{style: hive}``)."""
        if declared is None:
            return None
        if not isinstance(declared, dict):
            raise CatalogError(f"{where}: 'partitioning' must be a mapping ({{template:, column:}} or {{style: hive}})")
        if "template" in declared:
            unknown = set(declared) - {"template", "column"}
            if unknown:
                raise CatalogError(f"{where}: unknown partitioning setting '{sorted(unknown)[0]}' (template, column)")
            return TemplatePartitioning(str(declared["template"]), str(declared.get("column", "partition_time")), where)
        if declared.get("style") == "hive":
            unknown = set(declared) - {"style", "columns"}
            if unknown:
                raise CatalogError(f"{where}: unknown partitioning setting '{sorted(unknown)[0]}' (style, columns)")
            return HivePartitioning(dict(declared.get("columns") or {}), where)
        raise CatalogError(
            f"{where}: 'partitioning' needs a 'template' (like \"{{yyyy}}/{{MM}}/{{dd}}/{{HH}}/\") or 'style: hive'"
        )

    def parse(self, relative: str) -> dict | None:
        """Partition values of the file at ``relative``, or None if it is outside the layout."""
        raise NotImplementedError

    def columns(self, entries: list[FileEntry]) -> list[Column]:
        raise NotImplementedError


class TemplatePartitioning(Partitioning):
    """Stream Analytics style ``{yyyy}/{MM}/{dd}/{HH}/``: one TIMESTAMP column."""

    def __init__(self, template: str, column: str, where: str):
        self.template, self.column = template, column
        pattern, i = [], 0
        for match in re.finditer(r"\{(\w+)\}", template):
            token = match.group(1)
            if token not in _TOKENS:
                raise CatalogError(
                    f"{where}: unknown token '{{{token}}}' in partition template (use {{yyyy}} {{MM}} {{dd}} {{HH}} {{mm}})"
                )
            pattern.append(re.escape(template[i : match.start()]))
            pattern.append(_TOKENS[token])
            i = match.end()
        pattern.append(re.escape(template[i:]))
        self.regex = re.compile("".join(pattern))

    def parse(self, relative: str) -> dict | None:
        match = self.regex.match(relative)
        if match is None:
            return None
        parts = match.groupdict()
        try:
            value = dt.datetime(
                int(parts.get("yyyy") or 1970), int(parts.get("MM") or 1), int(parts.get("dd") or 1),
                int(parts.get("HH") or 0), int(parts.get("mm") or 0),
            )
        except ValueError:
            return None
        return {self.column: value}

    def columns(self, entries: list[FileEntry]) -> list[Column]:
        return [Column(self.column, pa.timestamp("us"), partition=True)]


class HivePartitioning(Partitioning):
    """``key=value/`` folders; each key a column typed DATE, BIGINT or VARCHAR by its values."""

    NULL = "__HIVE_DEFAULT_PARTITION__"

    def __init__(self, declared: dict, where: str):
        self.declared = {}
        for name, type_name in declared.items():
            try:
                self.declared[name] = arrow_type(str(type_name))
            except CatalogError as error:
                raise CatalogError(f"{where}: partition column '{name}': {error}") from None

    def parse(self, relative: str) -> dict | None:
        values = {}
        for segment in relative.split("/")[:-1]:
            key, sep, value = segment.partition("=")
            if sep and key:
                value = unquote(value)
                values[key] = None if value == self.NULL else value
        return values

    def columns(self, entries: list[FileEntry]) -> list[Column]:
        seen: dict[str, list] = {}
        for entry in entries:
            for key, value in entry.partitions:
                seen.setdefault(key, []).append(value)
        for name in self.declared:
            seen.setdefault(name, [])
        return [Column(name, self.declared.get(name) or _infer(values), partition=True) for name, values in seen.items()]


def _infer(values: list) -> pa.DataType:
    present = [v for v in values if v is not None]
    if present and all(re.fullmatch(r"[+-]?\d{1,18}", v) for v in present):
        return pa.int64()
    if present and all(_is_date(v) for v in present):
        return pa.date32()
    return pa.string()


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))


def partition_array(entries: list[FileEntry], column: Column) -> pa.Array:
    """The values of partition ``column`` for each entry, typed as the column."""
    raw = [dict(entry.partitions).get(column.name) for entry in entries]
    if any(isinstance(v, str) for v in raw):
        return pa.array(raw, pa.string()).cast(column.type)
    return pa.array(raw, column.type)


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
            raise CatalogError(f"Unknown file format '{self.format}'.{did_you_mean(self.format, FORMATS)} Use one of {', '.join(FORMATS)}")
        self.regexes = [glob_regex(p) for p in self.patterns]

    def describe(self) -> str:
        return ", ".join(self.patterns) if self.patterns else (self.prefix or "(all files)")

    def entries(self, store) -> list[FileEntry]:
        """The table's files, in key order, with partition values; hidden files (``_x``, ``.x``) skipped."""
        found = []
        prefixes = sorted({literal_prefix(p) for p in self.patterns}) if self.patterns else [self.prefix]
        seen = set()
        for prefix in prefixes:
            for key, size in store.list(prefix):
                name = key.rsplit("/", 1)[-1]
                if key in seen or name.startswith(("_", ".")) or key.endswith("/"):
                    continue
                if self.regexes and not any(r.match(key) for r in self.regexes):
                    continue
                seen.add(key)
                values = {}
                if self.partitioning is not None:
                    relative = key[len(self.prefix) :] if key.startswith(self.prefix) else key
                    values = self.partitioning.parse(relative)
                    if values is None:
                        continue
                found.append(FileEntry(key, size, tuple(values.items())))
        found.sort(key=lambda e: e.key)
        return found


# --- pruning -------------------------------------------------------------------------------------


def partition_filters(filters, table: TableSchema) -> list[exp.Expression]:
    """The filters whose columns are all partition columns of ``table``."""
    chosen = []
    for expression in filters:
        names = [column_name(c, table) for c in expression.find_all(exp.Column)]
        columns = [table.column(n) for n in names]
        if names and all(c is not None and c.partition for c in columns):
            chosen.append(expression)
    return chosen


def prune(entries: list[FileEntry], filters, table: TableSchema) -> list[FileEntry]:
    """The entries whose partition values satisfy every partition-only filter (exact, via DuckDB)."""
    chosen = partition_filters(filters, table)
    if not chosen or not entries:
        return entries
    partition_columns = [c for c in table.columns if c.partition]
    arrays = {"__file": pa.array(range(len(entries)), pa.int64())}
    for column in partition_columns:
        arrays[column.name] = partition_array(entries, column)
    files = pa.table(arrays)
    condition = exp.and_(*[quote_columns(f, table) for f in chosen])
    query = exp.select(exp.column("__file", quoted=True)).from_("files").where(condition)
    sql = query.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    connection = duckdb.connect()
    try:
        connection.register("files", files)
        keep = {row[0] for row in connection.execute(sql).fetchall()}
    finally:
        connection.close()
    return [entry for i, entry in enumerate(entries) if i in keep]


def column_name(node: exp.Column, table: TableSchema) -> str:
    """The table column a sqlglot column refers to; ``social.followers`` is a field of ``social``."""
    if table.column(node.name) is None and node.table and table.column(node.table) is not None:
        return table.column(node.table).name
    return node.name


def quote_columns(expression: exp.Expression, table: TableSchema) -> exp.Expression:
    """A copy with every column unqualified, quoted and spelled as ``table`` spells it.

    ``social.followers`` (sqlglot reads it as column ``followers`` of table
    ``social``) becomes the struct field access ``"social"."followers"`` when
    ``social`` is a column and ``followers`` is not.
    """
    copy = expression.copy()
    for column in list(copy.find_all(exp.Column)):
        known = table.column(column.name)
        if known is None and column.table and table.column(column.table) is not None:
            root = exp.column(exp.to_identifier(table.column(column.table).name, quoted=True))
            access = exp.Dot(this=root, expression=exp.to_identifier(column.name, quoted=True))
            column.replace(access)
            continue
        column.set("table", None)
        column.set("db", None)
        column.set("catalog", None)
        column.set("this", exp.to_identifier(known.name if known else column.name, quoted=True))
    return copy


def describe_files(entries: list[FileEntry]) -> str:
    """``3 files: a, b, c`` (the first few, then how many more)."""
    noun = "file" if len(entries) == 1 else "files"
    shown = ", ".join(e.key for e in entries[:SHOWN_FILES])
    more = f", … ({len(entries) - SHOWN_FILES} more)" if len(entries) > SHOWN_FILES else ""
    return f"{len(entries)} {noun}: {shown}{more}" if entries else "0 files"


# --- reading one file ----------------------------------------------------------------------------


def _read_call(fmt: str, paths, data_columns: list[Column] | None) -> exp.Table:
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
    if isinstance(paths, (list, tuple)):
        args.append(named("union_by_name", exp.true()))
    return exp.Table(this=exp.Anonymous(this=function, expressions=args))


def _literal(value, type_: pa.DataType) -> exp.Expression:
    target = exp.DataType.build(duckdb_type(type_), dialect="duckdb")
    if value is None:
        return exp.cast(exp.null(), target)
    return exp.cast(exp.Literal.string(str(value)), target)


def file_query(
    fmt: str,
    path,
    request: ScanRequest,
    partitions: dict,
    present: set[str] | None,
    *,
    columns: list[str],
    top_n: bool,
) -> str:
    """The SELECT that reads one file for ``request``: projection, filters and limit pushed in.

    Partition values become literal columns of the file's rows, so every filter
    (on data or partition columns) is evaluated by DuckDB. ``present`` is the
    set of the file's own column names for csv/parquet (missing ones read as
    NULL); JSON gets the explicit ``columns=`` struct instead.
    """
    table = request.table
    needed = {n.lower() for n in columns}
    for expression in (*request.filters, *(request.order_by if top_n else ())):
        needed.update(column_name(c, table).lower() for c in expression.find_all(exp.Column))
    data_columns = [c for c in table.columns if not c.partition and c.name.lower() in needed]
    if not data_columns and fmt in ("json", "jsonl"):
        # Rows must still be counted when only partition columns (or none) are asked for.
        data_columns = [c for c in table.columns if not c.partition][:1]
    inner = []
    for column in data_columns:
        name = exp.to_identifier(column.name, quoted=True)
        if fmt in ("json", "jsonl"):
            inner.append(exp.column(name))
        elif present is not None and column.name.lower() in present:
            inner.append(exp.cast(exp.column(name), exp.DataType.build(duckdb_type(column.type), dialect="duckdb")).as_(name))
        else:
            inner.append(_literal(None, column.type).as_(name))
    for column in table.columns:
        if column.partition:
            inner.append(_literal(partitions.get(column.name), column.type).as_(exp.to_identifier(column.name, quoted=True)))
    source = _read_call(fmt, path, data_columns if fmt in ("json", "jsonl") else None)
    rows = exp.select(*inner).from_(source).subquery("file")
    query = exp.select(*[exp.column(_spelled(table, n), quoted=True) for n in columns]).from_(rows)
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


def format_error(fmt: str, label: str, path: Path, error: Exception, source: str) -> FileFormatError:
    """A FileFormatError naming the file (and for JSON the line) behind DuckDB's ``error``."""
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    message = message.replace(str(path), label)
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
    with contextlib.ExitStack() as stack:
        paths = [stack.enter_context(store.fetch(e.key, cancelled)) for e in chosen]
        sql = exp.select(exp.Star()).from_(_read_call(layout.format, paths, None)).limit(0).sql(dialect="duckdb")
        connection = duckdb.connect()
        try:
            schema = connection.execute(sql).to_arrow_table().schema
        except duckdb.Error as error:
            for entry, path in zip(chosen, paths):
                try:
                    connection.execute(exp.select(exp.Star()).from_(_read_call(layout.format, path, None)).sql(dialect="duckdb")).fetchall()
                except duckdb.Error as one:
                    raise format_error(layout.format, entry.key, path, one, source) from None
            raise FileFormatError(f"{source}: files of table could not be read together: {str(error).splitlines()[0]}") from None
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
    """Reads the chosen files one at a time, streaming DuckDB's record batches.

    ``read_files`` lists, in order, the keys actually fetched (opened locally,
    downloaded from blob storage), so a test or EXPLAIN ANALYZE can see what
    pruning saved. :meth:`cancel` interrupts DuckDB and stops between files
    and between download chunks.
    """

    def __init__(self, request: ScanRequest, sent: str, *, store, layout: Layout, entries: list[FileEntry],
                 source: str, on_error: Callable[[Exception], Exception] | None = None):
        super().__init__(request, sent)
        self.store, self.layout, self.entries, self.source = store, layout, entries, source
        self.read_files: list[str] = []
        self._on_error = on_error
        self._connection: duckdb.DuckDBPyConnection | None = None

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
            for entry in self.entries:
                if self.cancelled.is_set() or remaining == 0:
                    return
                limited = ScanRequest(request.table, request.columns, request.filters, request.order_by,
                                      remaining if not top_n else request.limit, request.timeout)
                for batch in self._read(entry, limited, columns, top_n):
                    if top_n:
                        kept.append(pa.Table.from_batches([batch]))
                        continue
                    if remaining is not None:
                        batch = batch.slice(0, remaining)
                        remaining -= batch.num_rows
                    yield batch
                    if self.cancelled.is_set():
                        return
            if top_n and kept:
                yield from self._final_top_n(pa.concat_tables(kept), columns)
        finally:
            self._connection.close()

    def _read(self, entry: FileEntry, request: ScanRequest, columns: list[str], top_n: bool):
        try:
            with self.store.fetch(entry.key, self.cancelled) as path:
                if self.cancelled.is_set():
                    return
                self.read_files.append(entry.key)
                present = None
                if self.layout.format in ("csv", "parquet"):
                    present = self._columns_of(entry, path)
                sql = file_query(self.layout.format, path, request, dict(entry.partitions), present,
                                 columns=columns, top_n=top_n)
                try:
                    reader = self._connection.execute(sql).to_arrow_reader(BATCH_ROWS)
                    for batch in reader:
                        yield batch
                        if self.cancelled.is_set():
                            return
                except duckdb.InterruptException:
                    if self.cancelled.is_set():
                        return
                    raise QueryCancelledError(f"{self.source}: reading '{entry.key}' was interrupted") from None
                except duckdb.Error as error:
                    if self.cancelled.is_set():
                        return
                    raise format_error(self.layout.format, entry.key, path, error, self.source) from None
        except (FileFormatError, QueryCancelledError):
            raise
        except Exception as error:  # noqa: BLE001 - a store failure becomes the connector's named error
            if self._on_error is None:
                raise
            raise self._on_error(error) from None

    def _columns_of(self, entry: FileEntry, path: Path) -> set[str]:
        sql = exp.select(exp.Star()).from_(_read_call(self.layout.format, path, None)).limit(0).sql(dialect="duckdb")
        try:
            return {name.lower() for name in self._connection.execute(sql).to_arrow_table().schema.names}
        except duckdb.Error as error:
            raise format_error(self.layout.format, entry.key, path, error, self.source) from None

    def _final_top_n(self, rows: pa.Table, columns: list[str]) -> Iterator[pa.RecordBatch]:
        request = self.request
        self._connection.register("candidates", rows)
        query = (
            exp.select(*[exp.column(_spelled(request.table, n), quoted=True) for n in request.columns])
            .from_("candidates")
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


def not_found(source: str, what: str) -> NotFoundError:
    return NotFoundError(f"{source}: {what}")


__all__ = [
    "FORMATS",
    "FileEntry",
    "FileScan",
    "HivePartitioning",
    "Layout",
    "LocalFolder",
    "Partitioning",
    "TemplatePartitioning",
    "declared_columns",
    "describe_files",
    "discover",
    "file_query",
    "glob_regex",
    "json_error_line",
    "literal_prefix",
    "partition_filters",
    "prune",
    "sample",
    "temporary_copy",
    "with_partitions",
]
