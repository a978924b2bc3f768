"""``c360 query``, ``explain``, ``sources``, ``tables``, ``describe``, ``refresh``."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

import typer

from c360.cli.app import app
from c360.cli.options import CatalogOption, ProfileOption, open_catalog  # noqa: F401 - used and re-exported
from c360.cli.output import check_output, print_table, write_result


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


AsOfOption = typer.Option(
    None, "--as-of", help="Evaluate views as of this date (YYYY-MM-DD): SET VARIABLE as_of = DATE '…'"
)
VarOption = typer.Option(
    None, "--var", help="Set a variable the views read with getvariable(): NAME=VALUE (a SQL literal or bare text)"
)


def open_connection(catalog: Path | None, profile: str | None, *, as_of: str | None = None, variables=None):
    """A DB-API connection, with ``--as-of`` / ``--var`` set as connection variables."""
    from c360.dbapi import connect
    from c360.engine import Engine

    connection = connect(engine=Engine(open_catalog(catalog, profile)))
    cursor = connection.cursor()
    if as_of:
        cursor.execute("SET VARIABLE as_of = CAST(? AS DATE)", [as_of])
    for item in variables or []:
        name, _, value = item.partition("=")
        if not name.isidentifier() or not _:
            from c360.errors import ProgrammingError

            raise ProgrammingError(f"--var takes NAME=VALUE, got '{item}'")
        cursor.execute(f"SET VARIABLE {name} = ?", [value])
    return connection


@app.command()
def query(
    sql: str = typer.Argument(..., help="The SQL (DuckDB dialect); '-' reads it from stdin"),
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
    format: Format = typer.Option(
        Format.table, "--format", "-f",
        help="Output: a table for people, or csv/json/parquet",
    ),
    output: Path = typer.Option(None, "--output", "-o", help="Write the result to this file instead of stdout"),
    limit: int = typer.Option(
        None, "--max-rows", min=1,
        help="Rows drawn in table format: the first and last halves, with the total [default: 40 on a terminal, "
        "all when piped]; files get everything",
    ),
    vertical: bool = typer.Option(
        None, "--vertical/--horizontal", "-x",
        help="One record per block (like psql's \\x); by default chosen for a single row too wide for the terminal",
    ),
    as_of: str = AsOfOption,
    var: list[str] = VarOption,
):
    """Run one SQL query across the catalog's sources."""
    if sql == "-":
        sql = sys.stdin.read()
    check_output(output)
    quick = as_of is None and not var and format == Format.table and output is None
    table = _constant(sql, catalog, profile) if quick else None
    if table is None:
        from c360.cli.running import run

        with open_connection(catalog, profile, as_of=as_of, variables=var) as connection:
            table = run(connection.cursor(), sql)
    if table is None:
        return  # a statement without a result (SET VARIABLE)
    if format == Format.table and output is None:
        print_table(table, max_rows=limit, vertical=vertical)
    else:
        write_result(table, format.value if format != Format.table else "csv", output)


def _constant(sql: str, catalog: Path | None, profile: str | None):
    """``SELECT 1`` and its kind, answered without loading the engine (:mod:`c360.cli.constant`); None otherwise."""
    from c360 import settings
    from c360.cli.constant import answer

    return answer(sql, Path(catalog or settings.get("catalog")), profile or settings.get("profile"))


@app.command()
def explain(
    sql: str = typer.Argument(..., help="The SQL to explain"),
    analyze: bool = typer.Option(False, "--analyze", help="Run it, and add rows, bytes and seconds per source"),
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
    as_of: str = AsOfOption,
    var: list[str] = VarOption,
):
    """Show, per source, the exact SQL or file list sent and what stays local, and why."""
    from c360.cli.running import run, wait

    with open_connection(catalog, profile, as_of=as_of, variables=var) as connection:
        if not analyze:  # planning asks the sources for their schemas: the progress line while they answer
            typer.echo(wait(lambda: connection.engine.explain(sql), lambda elapsed: f"planning {elapsed:.1f}s"))
            return

        # it runs the query: the same progress line and Ctrl-C as `c360 query`
        lines = run(connection.cursor(), f"EXPLAIN ANALYZE {sql}")
        typer.echo("\n".join(lines.column(0).to_pylist()))


@app.command()
def sources(catalog: Path = CatalogOption, profile: str = ProfileOption):
    """List the catalog's sources (no source is contacted)."""
    import pyarrow as pa

    cat = open_catalog(catalog, profile)
    rows = [
        {"source": s.name, "kind": s.kind, "where": cat.describe_source(s.name).split("(", 1)[1].rstrip(")"),
         "description": s.description}
        for s in cat.sources.values()
    ]
    print_table(pa.Table.from_pylist(rows) if rows else pa.table({"source": pa.array([], pa.string())}))


@app.command()
def tables(
    source: str = typer.Argument(None, help="Only this source's tables"),
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
):
    """List tables (source.table), and the project's views."""
    import pyarrow as pa

    from c360.cli.running import wait

    cat = open_catalog(catalog, profile)
    asked: list[str] = []
    found, failures = wait(lambda: cat.every_table([source] if source else None, asking=asked.append),
                           lambda elapsed: f"listing tables {elapsed:.1f}s · {asked[-1] if asked else ''}".rstrip(" ·"))
    if source and failures:
        raise failures[0]
    for error in failures:
        typer.echo(f"warning: {error}", err=True)
    rows = [{"table": f"{name}.{table}", "kind": "table"} for name, table in found]
    if not source:
        from c360.views import load_views

        rows += [{"table": v.name, "kind": "view"} for v in load_views(cat.project_dir / "queries").values()]
    print_table(pa.Table.from_pylist(rows) if rows else pa.table({"table": pa.array([], pa.string())}))


@app.command()
def describe(
    table: str = typer.Argument(..., help="source.table, or a view name"),
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
):
    """Show a table's (or view's) columns and types."""
    import pyarrow as pa

    from c360.cli.running import run

    with open_connection(catalog, profile) as connection:  # a progress line while a source is asked
        described = run(connection.cursor(), f"DESCRIBE {_quoted(table)}")
    rows = [
        {"column": row["column_name"], "type": row["column_type"], "nullable": row["null"] == "YES",
         "notes": row["extra"] or ""}
        for row in described.to_pylist()
    ]
    print_table(pa.Table.from_pylist(rows))


def _quoted(table: str) -> str:
    from sqlglot import exp

    return exp.to_table(table, dialect="duckdb").sql(dialect="duckdb")


@app.command()
def refresh(
    source: str = typer.Argument(None, help="Only this source"),
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
):
    """Forget cached schemas and discover them again."""
    from c360.cli.running import wait

    cat = open_catalog(catalog, profile)
    for name in wait(lambda: cat.refresh(source), lambda elapsed: f"refreshing schemas {elapsed:.1f}s"):
        typer.echo(f"{name}: {len(cat.tables(name))} tables")
