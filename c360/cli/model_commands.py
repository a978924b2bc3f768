"""``c360 train``, ``c360 score`` and ``c360 model export-sql`` / ``view-columns``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from c360.cli.app import app
from c360.cli.output import check_output, replacing
from c360.cli.query_commands import CatalogOption, ProfileOption, open_catalog, open_connection
from c360.errors import ProgrammingError

model_app = typer.Typer(help="Work with the trained model in models/: export it as SQL, wire it into customer_360.",
                        no_args_is_help=True)
app.add_typer(model_app, name="model")


def _date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ProgrammingError(f"{option} must be a date like 2026-06-30, got '{text}'") from None


def _models_dir(catalog: Path | None, profile: str | None, models: Path | None) -> tuple[Path, Path]:
    project = open_catalog(catalog, profile).project_dir
    return (models or project / "models"), project / "queries" / "customer_360.sql"


@app.command()
def train(
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
    models: Path = typer.Option(
        None, "--models",
        help="Where to write the model and card [default: the project's models/]",
    ),
    end: str = typer.Option(
        None, "--end",
        help="Where the data ends (exclusive), YYYY-MM-DD [default: day after the last order]",
    ),
    horizon: str = typer.Option("30d", "--horizon",
                                help="The label window: purchase within this many days (30d, 90d, 12w)."),
    cutoffs: int = typer.Option(None, "--cutoffs", min=1,
                                help="Training cutoffs (snapshots of the views) [default: up to 6 that fit the data]"),
    every: int = typer.Option(None, "--every", min=1,
                              help="Days between training cutoffs [default: half the horizon, at least 7]"),
    rounds: int = typer.Option(60, "--rounds", min=1, help="Boosting rounds."),
    update_view: bool = typer.Option(True, "--update-view/--no-update-view",
                                     help="Regenerate customer_360's prediction columns for this model."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    engine: str = typer.Option("c360", "--engine",
                               help="Where the training sets are computed: c360 (this machine) or spark "
                                    "(docs/spark.md); the model is trained the same way"),
    master: str = typer.Option(None, "--master", help="With --engine spark: the Spark master [default local[*]]"),
    rows_per_partition: int = typer.Option(None, "--rows-per-partition", min=1,
                                           help="With --engine spark: rows per JDBC range partition [default 250000]"),
):
    """Train the purchase-propensity model on leak-free snapshots, evaluate it out of time, write models/."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from c360.cli.data_commands import stderr_console
    from c360.model import report, training, view_sql

    if engine not in ("c360", "spark"):
        raise ProgrammingError(f"--engine must be c360 or spark, got '{engine}'")
    models_dir, view_path = _models_dir(catalog, profile, models)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    options = dict(end=_date(end, "--end"), cutoffs=cutoffs, every=every, horizon=training.parse_horizon(horizon),
                   rounds=rounds, say=typer.echo)
    reads: list[str] = []  # with --engine spark: how Spark read each table, printed under the model's line
    if engine == "spark":
        from c360.cli.spark_commands import describe_reads, partitioning, spark_errors
        from c360.spark import training as spark_training
        from c360.spark.session import start

        opened = open_catalog(catalog, profile)
        spark = start(master)
        with spark_errors(), Progress(*columns, console=stderr_console(), disable=quiet) as bar:
            card = spark_training.train(spark, opened, models_dir, **options,
                                        partitioning=partitioning(rows_per_partition),
                                        reads=lambda sources: reads.extend(describe_reads(sources)),
                                        note=lambda text, total: bar.add_task(text, total=total),
                                        advance=lambda task, n: bar.advance(task, n))
    else:
        with open_connection(catalog, profile) as connection, Progress(*columns, console=stderr_console(),
                                                                      disable=quiet) as bar:
            card = training.train(connection, models_dir, **options,
                                  note=lambda text, total: bar.add_task(text, total=total),
                                  advance=lambda task, n: bar.advance(task, n))
    typer.echo(f"model {card.version} ({card.horizon_days}-day horizon) written to {models_dir} "
               f"(training cutoffs {card.training_cutoffs[0]} .. "
               f"{card.training_cutoffs[-1]}, {card.rows['training']:,} rows; evaluation cutoff "
               f"{card.evaluation_cutoff}, {card.rows['evaluation']:,} rows)")
    for line in reads:
        typer.echo(line)
    typer.echo(report.metrics_table(card.metrics, card.horizon_days))
    typer.echo("")
    typer.echo(report.comparison_table(card.metrics, card.horizon_days))
    typer.echo("")
    typer.echo(report.verdict(card.metrics))
    typer.echo("")
    typer.echo(report.calibration_table(card.metrics, card.horizon_days))
    if update_view and view_path.is_file() and view_sql.update_view(view_path, card):
        typer.echo(f"updated the prediction columns of {view_path}")


@app.command()
def score(
    as_of: str = typer.Option(None, "--as-of", help="Score customer_360 as of this date, YYYY-MM-DD [default: today]"),
    output: Path = typer.Option(..., "--output", "-o", help="File to write: .parquet or .csv"),
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
    engine: str = typer.Option("c360", "--engine", help="Where to score: c360 (this machine) or spark (docs/spark.md)"),
    master: str = typer.Option(None, "--master", help="With --engine spark: the Spark master [default local[*]]"),
    rows_per_partition: int = typer.Option(None, "--rows-per-partition", min=1,
                                           help="With --engine spark: rows per JDBC range partition [default 250000]"),
):
    """Write every customer's predictions (as of a date) to a parquet or csv file."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    from c360.model import card as cards
    from c360.model.view_sql import column_name, purchase_column

    suffix = output.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise ProgrammingError(f"--output must end in .parquet or .csv, got '{output.name}'")
    check_output(output)
    models_dir, _ = _models_dir(catalog, profile, None)
    card = cards.read(models_dir)
    day = _date(as_of, "--as-of") or dt.date.today()
    names = ["customer_id", purchase_column(card), *[column_name(c) for c in card.categories],
             "predicted_category", "model_version"]
    if engine not in ("c360", "spark"):
        raise ProgrammingError(f"--engine must be c360 or spark, got '{engine}'")
    if engine == "spark":
        from c360.cli.spark_commands import describe_reads, open_project

        project = open_project(catalog, profile, master=master, conf=None, as_of=day.isoformat(),
                               rows_per_partition=rows_per_partition)
        table = project.frame("customer_360").select(*names).orderBy("customer_id").toArrow()
        for line in describe_reads(project.sources):
            typer.echo(line)
    else:
        from c360.cli.running import run

        with open_connection(catalog, profile) as connection:
            connection.execute(f"SET VARIABLE as_of = DATE '{day.isoformat()}'")
            # the progress line of `c360 query` while it runs; Ctrl-C cancels it at the sources
            table = run(connection.cursor(), f"SELECT {', '.join(names)} FROM customer_360 ORDER BY customer_id")
    with replacing(output) as path:
        if suffix == ".parquet":
            pq.write_table(table, path)
        else:
            pcsv.write_csv(table, path)
    typer.echo(f"wrote {table.num_rows:,} predictions as of {day} (model {card.version}) to {output}")


@model_app.command("export-sql")
def export_sql(
    output: Path = typer.Option(None, "--output", "-o", help="Write the SQL to this file [default: stdout]"),
    dialect: str = typer.Option(
        "duckdb", "--dialect",
        help="SQL dialect (sqlglot name: duckdb, postgres, tsql, mysql, ...)",
    ),
    table: str = typer.Option("customer_360", "--table", help="Table or view holding the model's input columns."),
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
):
    """Write the model as plain SQL (trees as CASE expressions) that runs on any SQL engine."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import SqlglotError

    check_output(output)
    try:  # before the model (and xgboost) is loaded: a typo is refused at once
        Dialect.get_or_raise(dialect)
    except ValueError as error:
        raise ProgrammingError(f"cannot write the model as {dialect} SQL: {error}") from None
    from c360.cli.running import wait
    from c360.model.export_sql import export
    from c360.model.scorer import Scorer

    models_dir, _ = _models_dir(catalog, profile, None)

    def write_sql():
        loaded = Scorer.load(models_dir)
        return loaded, export(loaded.booster, loaded.card, table=table, dialect=dialect)

    try:
        loaded, sql = wait(write_sql, lambda elapsed: f"writing the model as {dialect} SQL {elapsed:.1f}s")
    except (SqlglotError, ValueError) as error:  # a construct the dialect lacks, or an unknown dialect
        raise ProgrammingError(f"cannot write the model as {dialect} SQL: {error}") from None
    if output is None:
        typer.echo(sql, nl=False)
    else:
        with replacing(output) as path:
            path.write_text(sql)
        typer.echo(f"wrote model {loaded.card.version} as {dialect} SQL ({len(sql):,} characters) to {output}")


@model_app.command("view-columns")
def view_columns(
    write: bool = typer.Option(False, "--write", help="Rewrite queries/customer_360.sql instead of printing it."),
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
):
    """Print (or, with --write, write) queries/customer_360.sql wrapped with the prediction columns of models/."""
    from c360.model import card as cards
    from c360.model import view_sql

    models_dir, view_path = _models_dir(catalog, profile, None)
    card = cards.read(models_dir)
    if write:
        changed = view_sql.update_view(view_path, card)
        typer.echo(f"{'updated' if changed else 'already up to date:'} {view_path}")
    else:
        typer.echo(view_sql.with_predictions(view_path.read_text(), card), nl=False)
