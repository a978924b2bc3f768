"""The DuckDB SELECT that reads a group of files, built from sqlglot trees, and what EXPLAIN shows of it.

Files are read with DuckDB's built-in ``read_json``/``read_csv``/``read_parquet``
(never ``INSTALL``): projection, every pushed filter, a limit and a top-N go
into the SELECT, so rows that fail them never become Arrow. Partition values
come from c360's own parsing of the path (``hive_partitioning = false``), as
literals when a group shares them, else picked by file name. Values are
sqlglot literals; nothing is formatted into SQL text.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from c360.types import duckdb_type
from connectors.base import Column, ScanRequest, TableSchema
from connectors.files.layout import FileEntry, describe_files
from connectors.files.partitions import column_name, quote_columns, typed_partitions

#: The column DuckDB adds with each row's file name when a group's files differ in partition values.
FILE_COLUMN = "__c360_file"
#: An ``IN`` list of more integer keys than this (a join reduction's) is read from a table of the keys the
#: scan registers, which DuckDB joins the parse against. A literal list costs its parse and bind; a table a
#: fixed ~10 ms. TPC-H SF 1 partsupp, list against table: 396 and 747 keys 0.01 s faster as a list, 1,582
#: alike (0.10 s), 3,907 keys 0.12 s against 0.11 s, 10,664 keys 0.15 s against 0.12 s, 29,581 0.24 s against
#: 0.15 s (0.16 s not reduced at all).
KEY_TABLE = 1_000
#: The key table's one column, and its names' stem (a number per table made)
KEY_COLUMN = "__c360_key"
_key_tables = itertools.count(1)


def read_call(fmt: str, paths, data_columns: list[Column] | None, *, filename: bool = False) -> exp.Table:
    """``read_json('f', columns = {...}, format = 'auto')`` and friends, as a sqlglot table.

    ``paths`` is one path or a list (read together, columns united by name);
    ``data_columns`` fixes JSON's columns and types (None: DuckDB samples them).
    """
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


def key_tables(request: ScanRequest) -> tuple[ScanRequest, dict[str, pa.Table]]:
    """``request`` with each long ``IN`` list of integer keys on an integer column (more than
    :data:`KEY_TABLE`) read from a table instead, ``column IN (SELECT __c360_key FROM __c360_keys_7)``, and
    those tables by name, for the scan to register on its connection. The meaning is the list's: the
    keys are whole numbers without NULL, compared with an integer column either way."""
    tables: dict[str, pa.Table] = {}
    filters = []
    for predicate in request.filters:
        keys = _integer_keys(predicate, request.table)
        if keys is None or len(keys) <= KEY_TABLE:
            filters.append(predicate)
            continue
        name = f"__c360_keys_{next(_key_tables)}"
        tables[name] = pa.table({KEY_COLUMN: pa.array(keys, pa.int64())})
        lookup = exp.select(exp.column(KEY_COLUMN)).from_(name).subquery()
        filters.append(exp.In(this=predicate.this.copy(), query=lookup))
    if not tables:
        return request, tables
    return dataclasses.replace(request, filters=tuple(filters)), tables


def _integer_keys(predicate: exp.Expression, table: TableSchema) -> list[int] | None:
    """The keys of ``column IN (1, 2, …)`` (literals, or :func:`connectors.sql.integer_keys` text) on an
    integer column, each in BIGINT's range; None for anything else."""
    if not isinstance(predicate, exp.In) or predicate.args.get("query") or predicate.args.get("negate") \
            or not isinstance(predicate.this, exp.Column):
        return None
    column = table.column(predicate.this.name)
    if column is None or not pa.types.is_integer(column.type):
        return None
    keys: list[int] = []
    for value in predicate.expressions:
        if isinstance(value, exp.Var):
            parts = value.name.split(",")
        elif isinstance(value, exp.Literal) and not value.is_string and value.is_int:
            parts = [value.this]
        else:
            return None
        try:
            keys.extend(int(part) for part in parts)
        except ValueError:
            return None
    if any(not -(1 << 63) <= key < (1 << 63) for key in keys):
        return None
    return keys


def columns_query(fmt: str, paths) -> str:
    """``SELECT * FROM read_...(paths) LIMIT 0``: what DuckDB finds in the files, without reading rows."""
    return exp.select(exp.Star()).from_(read_call(fmt, paths, None)).limit(0).sql(dialect="duckdb")


@functools.lru_cache(maxsize=256)
def _sql_type(type_: pa.DataType, array: bool = False) -> exp.DataType:
    name = duckdb_type(type_)
    return exp.DataType.build(f"{name}[]" if array else name, dialect="duckdb")


def _text(value) -> exp.Expression:
    return exp.null() if value is None else exp.Literal.string(str(value))


def _literal(value, type_: pa.DataType) -> exp.Expression:
    """``CAST('value' AS type)`` (or a typed NULL)."""
    return exp.Cast(this=_text(value), to=_sql_type(type_).copy())


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
    source = read_call(fmt, list(paths), data_columns if fmt in ("json", "jsonl") else None,
                       filename=by_file).as_("f")
    rows = exp.select(*inner).from_(source)
    query = exp.select(*[exp.column(spelled(table, n), quoted=True) for n in columns]).from_(rows.subquery("file"))
    condition = [quote_columns(f, table) for f in request.filters]
    if condition:
        query = query.where(exp.and_(*condition))
    if top_n:
        query = query.order_by(*[quote_columns(o, table) for o in request.order_by])
    if request.limit is not None:
        query = query.limit(request.limit)
    return query.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)


def spelled(table: TableSchema, name: str) -> str:
    """``name`` as ``table`` spells it (columns match case-insensitively)."""
    column = table.column(name)
    return column.name if column else name


def describe_scan(entries: list[FileEntry], request: ScanRequest, fmt: str, group_files: int) -> str:
    """What EXPLAIN shows for a file scan: the file list, then the SQL DuckDB runs per group of files
    (``request`` as :func:`key_tables` left it)."""
    sent = describe_files(entries)
    if entries:
        top_n = bool(request.order_by) and request.limit is not None
        present = None if fmt in ("json", "jsonl") else {c.name.lower() for c in request.table.columns}
        example = group_query(fmt, [entries[0].key], typed_partitions([entries[0]], request.table), request,
                              present, columns=list(request.columns), top_n=top_n)
        sent += f"; SQL per group of up to {group_files} files, shown for the first file: {example}"
    return sent
