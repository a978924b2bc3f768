"""``c360 spark query`` and ``c360 spark build``: the project on Apache Spark (docs/spark.md)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from enum import Enum
from pathlib import Path

import typer

from c360.cli.app import app
from c360.cli.options import CatalogOption, ProfileOption, open_catalog
from c360.errors import ProgrammingError

spark_app = typer.Typer(help="Run the project's SQL, views and model on Apache Spark (pip install 'c360[spark]').",
                        no_args_is_help=True)
app.add_typer(spark_app, name="spark")

MasterOption = typer.Option(None, "--master",
                            help="Spark master, passed through: local[*] (default), local[2], spark://host:7077, "
                                 "yarn, k8s://...")
ConfOption = typer.Option(None, "--conf", help="A Spark setting KEY=VALUE (repeatable), e.g. spark.executor.memory=4g")
AsOfOption = typer.Option(None, "--as-of", help="Evaluate the views as of this date, YYYY-MM-DD [default: today]")
RowsOption = typer.Option(None, "--rows-per-partition", min=1,
                          help="Rows per JDBC range partition [default 250000]")
PartitionsOption = typer.Option(None, "--max-partitions", min=1,
                                help="Most JDBC range partitions per table [default: 2 x Spark's parallelism]")
PushdownOption = typer.Option(True, "--pushdown/--no-pushdown",
                              help="Send single-source joins, GROUP BYs and windows to the source whole, as c360's "
                                   "engine does (--no-pushdown: Spark reads the tables and computes them)")


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ProgrammingError(f"--as-of must be a date like 2026-06-30, got '{text}'") from None


def _conf(pairs: list[str] | None) -> dict:
    conf = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ProgrammingError(f"--conf takes KEY=VALUE, got '{pair}'")
        conf[key.strip()] = value
    return conf


@contextlib.contextmanager
def spark_errors():
    """Spark's own errors (an unknown column, a source Spark cannot reach) as one c360 error line: the first
    line of Spark's message, secrets redacted, no Java stack."""
    from pyspark.errors import PySparkException

    from c360.secrets import redact

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):  # PySpark logs each error as JSON
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        yield
    except PySparkException as error:
        message = (str(error).strip().splitlines() or ["(no message)"])[0]
        raise ProgrammingError(f"Spark: {redact(message)}") from None


def open_project(catalog, profile, *, master, conf, as_of, rows_per_partition=None, max_partitions=None,
                 pushdown=True):
    """The project on a SparkSession (started here), as of ``as_of``."""
    from c360.spark.project import SparkProject
    from c360.spark.session import start

    opened = open_catalog(catalog, profile)
    spark = start(master, conf=_conf(conf))
    return SparkProject(spark, opened, as_of=_date(as_of), pushdown=pushdown,
                        **partitioning(rows_per_partition, max_partitions))


def partitioning(rows_per_partition=None, max_partitions=None) -> dict:
    """The JDBC partitioning options given on the command line (none: the defaults)."""
    given = {"rows_per_partition": rows_per_partition, "max_partitions": max_partitions}
    return {key: value for key, value in given.items() if value}


def describe_reads(sources) -> list[str]:
    """One line per table read (and statement pushed): how Spark read it, for people and the benchmark."""
    lines = []
    for read in sources.reads.values():
        how = (f"a statement the source computes (pushed), {read.partitions} JDBC partition(s)"
               + (f" on {read.partition_column}" if read.partition_column else "") if read.statement
               else f"{read.partitions} JDBC partitions on {read.partition_column}" if read.partition_column
               else f"{len(read.paths)} time folder(s) of the view's window" if read.pruned
               else f"{len(read.paths)} path(s)" if read.paths else "1 JDBC partition")
        lines.append(f"  {read.source}.{read.table}: {how}")
    return lines


@spark_app.command("query")
def query_command(
    sql: str = typer.Argument(..., help="A SELECT in c360's SQL (DuckDB's dialect), over source.table and views"),
    as_of: str = AsOfOption,
    format: Format = typer.Option(Format.table, "--format", "-f", help="Output: table, csv, json or parquet"),
    output: Path = typer.Option(None, "--output", "-o", help="Write to this file [default: stdout]"),
    show_sql: bool = typer.Option(False, "--show-sql", help="Print the Spark SQL the query becomes, and run nothing"),
    master: str = MasterOption,
    conf: list[str] = ConfOption,
    rows_per_partition: int = RowsOption,
    max_partitions: int = PartitionsOption,
    pushdown: bool = PushdownOption,
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
) -> None:
    """Run one query on Spark: catalog tables read in parallel, views translated to Spark SQL."""
    from c360.cli.output import check_output, print_table, write_result

    if show_sql:
        from c360.spark.views import translate_query
        from c360.views import load_views

        views = load_views(open_catalog(catalog, profile).project_dir / "queries")
        typer.echo(translate_query(sql, views).sql)
        return
    check_output(output)
    project = open_project(catalog, profile, master=master, conf=conf, as_of=as_of,
                           rows_per_partition=rows_per_partition, max_partitions=max_partitions, pushdown=pushdown)
    with spark_errors():
        table = project.query(sql).toArrow()
    if format is Format.table and output is None:
        print_table(table)
    else:
        write_result(table, "csv" if format is Format.table else format.value, output)


@spark_app.command("build")
def build_command(
    view: str = typer.Argument(..., help="The view to compute for every customer (customer_360, rfm, ...)"),
    output: str = typer.Option(..., "--output", "-o",
                               help="Folder Spark writes the parquet files to (local, hdfs://, abfss://)"),
    as_of: str = AsOfOption,
    master: str = MasterOption,
    conf: list[str] = ConfOption,
    rows_per_partition: int = RowsOption,
    max_partitions: int = PartitionsOption,
    pushdown: bool = PushdownOption,
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
) -> None:
    """Compute a view for every customer on Spark and write it as parquet (replacing the folder)."""
    import time

    project = open_project(catalog, profile, master=master, conf=conf, as_of=as_of,
                           rows_per_partition=rows_per_partition, max_partitions=max_partitions, pushdown=pushdown)
    started = time.perf_counter()
    with spark_errors():
        frame = project.frame(view)
        frame.write.mode("overwrite").parquet(output)
        rows = project.spark.read.parquet(output).count()
    day = project.as_of or dt.date.today()
    typer.echo(f"wrote {rows:,} rows of {view} as of {day} to {output} in {time.perf_counter() - started:.1f}s")
    for line in describe_reads(project.sources):
        typer.echo(line)
