"""TPC-H data: generated once per scale factor with DuckDB's ``dbgen``, then written per source format.

:func:`generate` keeps the generated tables in ``<folder>/tpch.duckdb`` (built
under a temporary name and renamed when complete, so an interrupted run starts
over). The writers turn one table into what its source loads: ``|``-separated
CSV for ``LOAD DATA`` and ``COPY`` (quoted where needed, ``""`` for a quote),
newline-delimited JSON, or parquet. :func:`local_tables` copies them into an
in-memory DuckDB under the sources' schema names: the oracle and the lower bound.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from sqlglot import exp

from benchmarks.tpch import extensions
from benchmarks.tpch.schema import SOURCES, TABLES

DATABASE = "tpch.duckdb"


def folder_name(sf: float) -> str:
    """``sf0.1``, ``sf1``: the cache folder of one scale factor."""
    return f"sf{sf:g}"


def generate(folder: Path, sf: float) -> Path:
    """The DuckDB file holding TPC-H at ``sf`` in ``folder``, generated if absent."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / DATABASE
    if target.exists():
        return target
    partial = folder / (DATABASE + ".partial")
    partial.unlink(missing_ok=True)
    connection = duckdb.connect(str(partial))
    try:
        extensions.load(connection, "tpch")
        connection.execute("CALL dbgen(sf = $sf)", {"sf": sf})
        connection.execute("CHECKPOINT")
    finally:
        connection.close()
    partial.rename(target)
    return target


def row_counts(database: Path) -> dict[str, int]:
    """Rows per table of a generated database."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return {
            name: connection.execute(exp.select("count(*)").from_(name).sql("duckdb")).fetchone()[0] for name in TABLES
        }


def _copy(database: Path, table: str, target: Path, options: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    columns = TABLES[table].column_names
    query = exp.select(*columns).from_(table).sql("duckdb")
    destination = exp.Literal.string(str(partial)).sql("duckdb")
    with duckdb.connect(str(database), read_only=True) as connection:
        connection.execute(f"COPY ({query}) TO {destination} ({options})")
    partial.rename(target)
    return target


def write_csv(database: Path, table: str, target: Path) -> Path:
    """``table`` as ``|``-separated CSV without a header (columns in :data:`TABLES` order)."""
    return _copy(database, table, target, "FORMAT csv, DELIMITER '|', HEADER false, QUOTE '\"', ESCAPE '\"'")


def write_json(database: Path, table: str, target: Path) -> Path:
    """``table`` as newline-delimited JSON (decimals as JSON numbers, dates as strings)."""
    return _copy(database, table, target, "FORMAT json")


def write_parquet(database: Path, table: str, target: Path) -> Path:
    """``table`` as one parquet file, with DuckDB's types (DECIMAL(15,2), DATE)."""
    return _copy(database, table, target, "FORMAT parquet")


def local_tables(database: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with every table copied in as ``<source>.<table>`` (e.g. ``shop.lineitem``)."""
    connection = duckdb.connect()
    literal = exp.Literal.string(str(database)).sql("duckdb")
    connection.execute(f"ATTACH {literal} AS generated (READ_ONLY)")
    for source in SOURCES:
        connection.execute(exp.Create(kind="SCHEMA", this=exp.to_table(source), exists=True).sql("duckdb"))
    for table in TABLES.values():
        copy = exp.Create(
            kind="TABLE",
            this=exp.table_(table.name, db=table.source),
            expression=exp.select("*").from_(exp.table_(table.name, db="main", catalog="generated")),
        )
        connection.execute(copy.sql("duckdb"))
    connection.execute("DETACH generated")
    return connection
