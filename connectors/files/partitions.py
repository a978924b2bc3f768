"""Partition columns read from file paths, and pruning the file list by predicates over them.

Two layouts are understood:

* a Stream Analytics style template such as ``{yyyy}/{MM}/{dd}/{HH}/``: one
  TIMESTAMP column holding the start of the folder's period;
* hive style ``key=value/`` folders: one column per key, typed DATE, BIGINT or
  VARCHAR by the values seen (or as declared).

Pruning is exact: the listed files' partition values go into a small Arrow
table and DuckDB evaluates the pushed predicates over it. For templates, the
bounds those predicates put on the time column also narrow the *listing* to
the folders of the matching periods (:meth:`TemplatePartitioning.folders`), so
a query for two hours lists two folders, not the whole history; for hive
folders, the first level's values are filtered the same exact way
(:meth:`HivePartitioning.folders`).

A pushed filter's columns are spelled the way the table spells them by
:func:`quote_columns` (``social.followers`` is a field of the struct column
``social``), here for pruning and in :mod:`connectors.files.query` for the
read query. Pruning runs on a private in-memory DuckDB connection, never the
engine's.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import unquote

import duckdb
import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from c360.errors import CatalogError
from c360.policy import locked_config
from c360.types import arrow_type
from connectors.base import Column, TableSchema
from connectors.sql import conjuncts

#: Most folders listed one by one when a template's time bounds narrow the listing.
MAX_LISTED_FOLDERS = 32

_TOKENS = {"yyyy": r"(?P<yyyy>\d{4})", "MM": r"(?P<MM>\d{2})", "dd": r"(?P<dd>\d{2})",
           "HH": r"(?P<HH>\d{2})", "mm": r"(?P<mm>\d{2})"}
#: Template tokens from the coarsest to the finest period.
_ORDER = ("yyyy", "MM", "dd", "HH", "mm")


class Partitioning:
    """Partition columns read from a file's path relative to the table's base prefix."""

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

    def columns(self, entries: list) -> list[Column]:
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
                    f"{where}: unknown token '{{{token}}}' in partition template "
                    "(use {yyyy} {MM} {dd} {HH} {mm})"
                )
            pattern.append(re.escape(template[i : match.start()]))
            pattern.append(_TOKENS[token])
            i = match.end()
        pattern.append(re.escape(template[i:]))
        self.regex = re.compile("".join(pattern))
        #: (token, index in the template just after it and its ``/``, if any), in template order.
        self.tokens = []
        for match in re.finditer(r"\{(\w+)\}", template):
            end = match.end() + (1 if template[match.end() : match.end() + 1] == "/" else 0)
            self.tokens.append((match.group(1), end))

    def folders(self, low: dt.datetime, high: dt.datetime) -> list[str] | None:
        """The folders (relative, like ``2026/11/01/``) whose periods can hold values in [low, high].

        Uses the finest level that needs at most :data:`MAX_LISTED_FOLDERS`
        folders; None when no level is small enough or the template's tokens
        are not in coarse-to-fine order (then the whole prefix is listed).
        """
        names = [token for token, _ in self.tokens]
        if names != list(_ORDER[: len(names)]):
            return None
        if low > high:
            return []
        for level in range(len(names) - 1, -1, -1):
            starts = _periods(low, high, names[level], MAX_LISTED_FOLDERS)
            if starts is not None:
                end = self.tokens[level][1]
                return [_render(self.template[:end], start) for start in starts]
        return None

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

    def columns(self, entries: list) -> list[Column]:
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

    def folders(self, store, prefix: str, filters, table: TableSchema) -> list[str] | None:
        """The first-level ``key=value/`` folders under ``prefix`` that the filters on ``key`` allow.

        None (list everything) when files sit beside the folders, the folders
        are not all of one key, or no top-level conjunct constrains that key
        alone. The folders' values are checked exactly, as files are by :func:`prune`.
        """
        names, has_files = store.folders(prefix)
        if has_files or not names:
            return None
        pairs = [name[:-1].partition("=") for name in names]
        keys = {key for key, sep, _ in pairs if sep}
        if len(keys) != 1 or any(not sep for _, sep, _ in pairs):
            return None
        column = table.column(keys.pop())
        if column is None or not column.partition:
            return None
        alone = [
            conjunct
            for expression in filters
            for conjunct in conjuncts(expression)
            if list(conjunct.find_all(exp.Column))
            and all(column_name(c, table).lower() == column.name.lower() for c in conjunct.find_all(exp.Column))
        ]
        if not alone:
            return None
        folders = [
            _Folder(name, ((column.name, None if value == self.NULL else unquote(value)),))
            for name, (_, _, value) in zip(names, pairs)
        ]
        try:
            kept = prune(folders, alone, TableSchema("folders", (column,)))
        except (pa.ArrowInvalid, duckdb.Error):
            return None  # a folder value that does not fit the column's type: list everything
        return [folder.key for folder in kept]

    def columns(self, entries: list) -> list[Column]:
        seen: dict[str, list] = {}
        for entry in entries:
            for key, value in entry.partitions:
                seen.setdefault(key, []).append(value)
        for name in self.declared:
            seen.setdefault(name, [])
        return [Column(name, self.declared.get(name) or _infer(values), partition=True)
                for name, values in seen.items()]


@dataclass(frozen=True)
class _Folder:
    key: str
    partitions: tuple


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


def typed_partitions(entries: list, table: TableSchema) -> list[dict]:
    """Each entry's partition values, converted to the types of ``table``'s partition columns."""
    columns = [column for column in table.columns if column.partition]
    values = {column.name: partition_array(entries, column).to_pylist() for column in columns}
    return [{name: values[name][i] for name in values} for i in range(len(entries))]


def partition_array(entries: list, column: Column) -> pa.Array:
    """The values of partition ``column`` for each entry, typed as the column."""
    raw = [dict(entry.partitions).get(column.name) for entry in entries]
    if any(isinstance(v, str) for v in raw):
        return pa.array(raw, pa.string()).cast(column.type)
    return pa.array(raw, column.type)


def partition_filters(filters, table: TableSchema) -> list[exp.Expression]:
    """The filters whose columns are all partition columns of ``table``."""
    chosen = []
    for expression in filters:
        names = [column_name(c, table) for c in expression.find_all(exp.Column)]
        columns = [table.column(n) for n in names]
        if names and all(c is not None and c.partition for c in columns):
            chosen.append(expression)
    return chosen


def prune(entries: list, filters, table: TableSchema) -> list:
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
    connection = duckdb.connect(config=locked_config(threads=1))  # user predicates run here: no files
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




def _floor(value: dt.datetime, token: str) -> dt.datetime:
    keep = _ORDER.index(token)
    return dt.datetime(
        value.year,
        value.month if keep >= 1 else 1,
        value.day if keep >= 2 else 1,
        value.hour if keep >= 3 else 0,
        value.minute if keep >= 4 else 0,
    )


def _next(value: dt.datetime, token: str) -> dt.datetime:
    if token == "yyyy":
        return value.replace(year=value.year + 1)
    if token == "MM":
        return value.replace(year=value.year + value.month // 12, month=value.month % 12 + 1)
    step = {"dd": dt.timedelta(days=1), "HH": dt.timedelta(hours=1), "mm": dt.timedelta(minutes=1)}[token]
    return value + step


def _periods(low: dt.datetime, high: dt.datetime, token: str, limit: int) -> list[dt.datetime] | None:
    """Starts of the ``token`` periods from low's to high's; None if more than ``limit``."""
    starts, current = [], _floor(low, token)
    while current <= high:
        if len(starts) == limit:
            return None
        starts.append(current)
        current = _next(current, token)
    return starts


def _render(template: str, value: dt.datetime) -> str:
    text = {"yyyy": f"{value.year:04d}", "MM": f"{value.month:02d}", "dd": f"{value.day:02d}",
            "HH": f"{value.hour:02d}", "mm": f"{value.minute:02d}"}
    return re.sub(r"\{(\w+)\}", lambda m: text[m.group(1)], template)


def time_bounds(filters, column: str, connection=None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Inclusive bounds that ``filters`` (ANDed) put on timestamp ``column``; None where unbounded.

    Only top-level conjuncts of the forms ``column <op> constant``, ``column
    BETWEEN a AND b`` and ``column IN (...)`` count; everything else leaves the
    bounds wider, never narrower, so the result is always a superset. The constants are evaluated in
    ``connection`` (a locked DuckDB the caller keeps open, used by this thread alone), else in a new one.
    """
    low = high = None

    def tighten(lo, hi):
        nonlocal low, high
        if lo is not None:
            low = lo if low is None else max(low, lo)
        if hi is not None:
            high = hi if high is None else min(high, hi)

    own = connection is None
    if own:
        connection = duckdb.connect(config=locked_config(threads=1))  # user predicates run here: no files
    try:
        for expression in filters:
            for conjunct in conjuncts(expression):
                tighten(*_bounds_of(conjunct, column, connection))
    finally:
        if own:
            connection.close()
    return low, high


#: A date or timestamp literal's text that Python reads as DuckDB casts it to TIMESTAMP (no zone, no 'T', at most
#: microseconds); other text goes to DuckDB.
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?")
_TIMESTAMPS = (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ, exp.DataType.Type.DATETIME)


def _literal_moment(node: exp.Expression) -> dt.datetime | None:
    """``node``'s value as ``CAST(node AS TIMESTAMP)`` in DuckDB when it is a plain literal (``TIMESTAMP '...'``,
    ``DATE '...'``, a string, or how a bound datetime parameter reads), read in Python; None for anything else.
    A live tail's scan evaluates its bounds at every poll: three DuckDB statements (~2 ms each on a loaded machine)
    for what is nearly always three such literals."""
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        text, kind = node.this.this, node.to.this
        if kind is exp.DataType.Type.DATE:
            if len(text) != 10:
                return None
        elif kind not in _TIMESTAMPS:
            return None
    elif isinstance(node, exp.Literal) and node.is_string:
        text = node.this
    else:
        return None
    if not _MOMENT.fullmatch(text):
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:  # a month 13, a 30 February: DuckDB says what it makes of it
        return None


_FLIPPED = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE, exp.EQ: exp.EQ}


def _bounds_of(conjunct: exp.Expression, column: str, connection):
    def is_column(node) -> bool:
        return isinstance(node, exp.Column) and not node.table and node.name.lower() == column.lower()

    def constant(node) -> dt.datetime | None:
        if node is None or any(True for _ in node.find_all(exp.Column)):
            return None
        read = _literal_moment(node)
        if read is not None:
            return read
        cast = exp.select(exp.cast(node.copy(), exp.DataType.build("TIMESTAMP"))).sql(dialect="duckdb")
        try:
            value = connection.execute(cast).fetchone()[0]
        except duckdb.Error:
            return None
        return value if isinstance(value, dt.datetime) else None

    kind = type(conjunct)
    if kind in _FLIPPED:
        left, right = conjunct.this, conjunct.expression
        if is_column(right) and not is_column(left):
            left, right, kind = right, left, _FLIPPED[kind]
        if not is_column(left):
            return None, None
        value = constant(right)
        if value is None:
            return None, None
        if kind in (exp.GT, exp.GTE):
            return value, None
        if kind in (exp.LT, exp.LTE):
            return None, value
        return value, value
    if isinstance(conjunct, exp.Between) and is_column(conjunct.this):
        return constant(conjunct.args.get("low")), constant(conjunct.args.get("high"))
    if isinstance(conjunct, exp.In) and is_column(conjunct.this) and conjunct.expressions:
        values = [constant(v) for v in conjunct.expressions]
        if all(v is not None for v in values):
            return min(values), max(values)
    return None, None
