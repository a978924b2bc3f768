"""``c360 generate`` and ``c360 demo``: make the demo's data, then ask one question across it."""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from pathlib import Path

import typer

from c360.cli.app import app
from c360.errors import ProgrammingError

#: The generator's default categories (c360.generate.model.DEFAULT_CATEGORIES; a test keeps them equal),
#: spelled here so ``c360 --help`` does not import the generator.
DEFAULT_CATEGORIES = ("Technology", "Apparel", "Cosmetics", "Home", "Sports")

DEMO_CUSTOMERS = 400
DEMO_DAYS = 120
#: The demo's "today": its data ends here and its query asks as of this day, so the demo prints the same
#: table on every machine and every day (the README shows it; tests/cli/test_readme.py compares).
DEMO_AS_OF = date(2026, 12, 1)



def stderr_console():
    """The rich console progress bars draw on (stderr); rich is imported only by commands that draw."""
    from rich.console import Console

    return Console(stderr=True)


def _categories(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if len(set(n.lower() for n in names)) != len(names) or not names:
        raise ProgrammingError(f"--categories must be distinct, comma-separated names, got '{text}'")
    return names


def _end(text: str | None, option: str = "--end") -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ProgrammingError(f"{option} must be a date like 2026-11-23, got '{text}'") from None


def servers_ready(catalog: Path) -> None:
    """Before loading the servers: the project's ``.env`` read, Azurite started if needed, and the demo
    passwords this run creates (for variables that were unset) written to ``.env`` for later commands."""
    from c360 import settings
    from c360.cli import dotenv
    from c360.generate.servers import prepare_servers

    project = dotenv.project_of(catalog)
    dotenv.load(project)
    created = [s.env for s in settings.SETTINGS if s.demo is not None and s.env not in os.environ]
    console = stderr_console()
    prepare_servers(catalog, console=console)
    written = dotenv.remember(project, [name for name in created if name in os.environ])
    if written is not None:
        console.print(f"wrote {', '.join(created)} to {written} (mode 600); c360 reads it, so later commands need "
                      "no exports", highlight=False)


def _target(target: str, out: Path, catalog: Path, progress, explicit_out: bool):
    if target == "embedded":
        from c360.generate.targets import EmbeddedTarget

        if explicit_out:
            return EmbeddedTarget(out)
        return EmbeddedTarget.from_catalog(catalog, out)
    if target == "servers":
        from c360.generate.servers import ServersTarget

        return ServersTarget.from_catalog(catalog, out, progress=progress)
    raise ProgrammingError(f"--target must be 'embedded' or 'servers', got '{target}'")


def default_out(out: Path | None, catalog: Path) -> Path:
    """``--out``, or ``demo-data/`` beside the catalog folder (where the demo catalog's paths lead)."""
    return out if out is not None else Path(catalog).resolve().parent / "demo-data"


def make_data(config, target: str, out: Path | None, catalog: Path, *, quiet: bool = False,
              workers: int = 1, layout_from_catalog: bool | None = None) -> dict:
    """Generate ``config`` into ``target`` with a progress bar; returns the row counts.

    Embedded files go where the catalog's ``embedded`` profile points, unless ``out`` is given:
    then they take the demo layout under ``out``. The manifest goes to ``out`` (default:
    ``demo-data/`` beside the catalog folder).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from c360.generate import generate as run_generator
    from c360.generate import write_manifest

    console = stderr_console()
    explicit_out = out is not None if layout_from_catalog is None else not layout_from_catalog
    out = default_out(out, catalog)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=quiet, transient=False) as progress:
        task = progress.add_task("generating customers", total=config.customers)

        def note(description: str, total: int | None = None):
            return progress.add_task(description, total=total)

        sink = _target(target, out, catalog, (progress, note), explicit_out)
        counts = run_generator(config, sink, progress=lambda n: progress.advance(task, n), workers=workers)
    write_manifest(out, config, counts)
    return counts


@app.command()
def generate(
    customers: int = typer.Option(10_000, "--customers", "-n", min=1, help="How many customers to generate."),
    days: int = typer.Option(365, "--days", "-d", min=1, help="Days of history before --end."),
    seed: int = typer.Option(42, "--seed", "-s", help="Random seed: the same seed and arguments give the same data."),
    end: str = typer.Option(None, "--end", help="Last day (exclusive) of the history, YYYY-MM-DD. Default: today."),
    categories: str = typer.Option(
        ",".join(DEFAULT_CATEGORIES), "--categories",
        help="Product categories, comma-separated.",
    ),
    target: str = typer.Option(
        "embedded", "--target", "-t",
        help="embedded (SQLite, JSON, local blob folder) or servers (MariaDB, PostgreSQL/ODBC, Azurite), as the "
        "catalog's profiles declare them.",
    ),
    out: Path = typer.Option(
        None, "--out", "-o",
        help="Put the embedded files in this folder (demo layout) instead of where the catalog's embedded profile "
        "points; the manifest goes here too (default: demo-data/ beside the catalog folder).",
    ),
    browsing_format: str = typer.Option(
        "jsonl", "--browsing-format",
        help="File format of browsing aggregates: jsonl or parquet (the demo catalog declares jsonl).",
    ),
    catalog: Path = typer.Option(
        Path("catalog"), "--catalog",
        help="Catalog folder (for --target servers: where to load).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    workers: int = typer.Option(
        1, "--workers", "-w", min=1,
        help="Processes simulating customers in parallel (same output).",
    ),
    browsing_days: int = typer.Option(
        None, "--browsing-days", min=1,
        help="Keep only the last N days of browsing aggregates (a clickstream retention period; orders are unchanged)."
        " Default: all --days.",
    ),
):
    """Generate realistic Customer 360 data (deterministic for a seed) into the demo's sources."""
    from c360.browsing import FORMATS
    from c360.generate import Config

    if browsing_format not in FORMATS:
        raise ProgrammingError(f"--browsing-format must be jsonl or parquet, got '{browsing_format}'")
    config = Config(customers=customers, days=days, seed=seed, end=_end(end), categories=_categories(categories),
                    browsing_format=browsing_format, browsing_days=browsing_days)
    if target == "servers":
        servers_ready(catalog)
    started = time.perf_counter()
    counts = make_data(config, target, out, catalog, quiet=quiet, workers=workers)
    out = default_out(out, catalog)
    summary = ", ".join(f"{value:,} {name}" for name, value in counts.items())
    typer.echo(f"generated {summary} into {target} ({out}) in {time.perf_counter() - started:.1f}s")


DEMO_SQL = """
WITH spend AS (
    SELECT o.customer_id,
           count(DISTINCT o.order_id)          AS orders,
           sum(i.quantity * i.unit_price)      AS spend
    FROM shop.orders AS o
    JOIN shop.order_items AS i ON i.order_id = o.order_id
    WHERE o.status = 'completed'
    GROUP BY o.customer_id
), browsing AS (
    SELECT customer_id,
           arg_max(category, seconds)          AS top_category
    FROM clicks.browsing
    WHERE partition_hour >= TIMESTAMP '{since}'
    GROUP BY customer_id
)
SELECT c.customer_id                            AS id,
       c.first_name || ' ' || trim(c.last_name) AS name,
       s.orders,
       s.spend,
       b.top_category                           AS browsed_30d,
       p.interests[1]                           AS interest
FROM crm.customers AS c
JOIN spend AS s ON s.customer_id = c.customer_id
JOIN browsing AS b ON b.customer_id = c.customer_id
LEFT JOIN partners.enrichment AS p ON p.customer_id = c.customer_id
ORDER BY s.spend DESC, c.customer_id
LIMIT {limit}
"""


def demo_sql(end: date, limit: int = 5) -> str:
    """The demo's one federated query: top spenders with CRM, shop, partner and 30-day browsing data (its
    result fits an 80-column terminal, so what the README shows is what a newcomer sees)."""
    since = (end - timedelta(days=30)).isoformat() + " 00:00:00"
    return DEMO_SQL.format(since=since, limit=int(limit))


@app.command()
def demo(
    servers: bool = typer.Option(
        False, "--servers",
        help="Use MariaDB, PostgreSQL/ODBC and Azurite (the catalog's servers profile) instead of embedded files; "
        "the passwords it creates go to .env, which c360 reads.",
    ),
    catalog: Path = typer.Option(Path("catalog"), "--catalog", help="Catalog folder."),
    out: Path = typer.Option(
        None, "--out", "-o",
        help="Folder for the manifest and staging files (default: demo-data/ beside the catalog folder); the data goes"
        " where the catalog points.",
    ),
    customers: int = typer.Option(
        DEMO_CUSTOMERS, "--customers", "-n", min=1,
        help="Customers to generate for the demo.",
    ),
    seed: int = typer.Option(42, "--seed", "-s", help="Random seed."),
    days: int = typer.Option(DEMO_DAYS, "--days", "-d", min=31, help="Days of history to generate."),
    as_of: str = typer.Option(
        DEMO_AS_OF.isoformat(), "--as-of",
        help="The demo's today: the data ends on this day and the query asks as of it (fixed, so every run prints "
        "the same table).",
    ),
    show_sql: bool = typer.Option(False, "--show-sql", help="Print the federated query too."),
):
    """Generate a small dataset and print a Customer 360 view of a few customers from all four sources."""
    import c360
    from c360.cli.output import print_table
    from c360.cli.running import run
    from c360.generate import Config

    day = _end(as_of, "--as-of")
    profile = "servers" if servers else "embedded"
    if servers:
        servers_ready(catalog)
    config = Config(customers=customers, days=days, seed=seed, end=day)
    started = time.perf_counter()
    counts = make_data(config, profile, out, catalog, layout_from_catalog=True)
    generated = time.perf_counter() - started
    sql = demo_sql(config.end)
    started = time.perf_counter()
    connection = c360.connect(catalog=str(catalog), profile=profile)
    from c360.cli.constant import remember

    remember(catalog, profile)  # the catalog loaded: `c360 query "SELECT 1"` need not load it again
    try:
        table = run(connection.cursor(), sql)  # a progress line on a terminal, Ctrl-C cancels at the sources
    finally:
        connection.close()
    queried = time.perf_counter() - started
    if show_sql:
        typer.echo(sql.strip())
    sources = "crm + shop + partners + clicks"
    typer.echo(f"Top {table.num_rows} spenders as of {day} · {sources} ({profile})")
    print_table(table, vertical=False)
    typer.echo(f"data: {counts['customers']:,} customers, {counts['orders']:,} orders, {counts['partners']:,} "
               f"partners, {counts['browsing']:,} browsing rows ({generated:.1f}s)")
    typer.echo(f'query: {queried:.2f}s · next: c360 query "SELECT * FROM shop.orders LIMIT 5"'
               + (" --profile servers" if servers else ""))
