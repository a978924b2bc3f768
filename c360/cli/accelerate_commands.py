"""``c360 accelerate refresh`` and ``status``: the project's accelerated copies (docs/acceleration.md)."""

from __future__ import annotations

import datetime as dt
import sys
from enum import Enum
from pathlib import Path

import typer

from c360.cli.options import CatalogOption, ProfileOption, open_catalog
from c360.cli.output import print_table, write_result
from c360.errors import CatalogError, Error, did_you_mean


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


accelerate_app = typer.Typer(
    help="Refreshed local copies of tables and views, used by queries when fresh enough (max_staleness).",
    no_args_is_help=True,
)


def _chosen(catalog, name: str | None) -> list:
    if not catalog.accelerations:
        raise CatalogError("The catalog declares no acceleration (add an 'acceleration:' block; "
                           "see docs/acceleration.md)")
    if name is None:
        return list(catalog.accelerations.values())
    found = catalog.accelerations.get(name.lower())
    if found is None:
        raise CatalogError(f"'{name}' is not accelerated.{did_you_mean(name, catalog.accelerations)} "
                           f"Accelerated: {', '.join(sorted(catalog.accelerations))}")
    return [found]


@accelerate_app.command("refresh")
def refresh_command(
    name: str = typer.Argument(None, help="The view or source.table to refresh (default: every declared copy)"),
    as_of: str = typer.Option(None, "--as-of", help="Refresh a dated copy of a view, as of this date (YYYY-MM-DD)"),
    full: bool = typer.Option(False, "--full", help="Read everything, even for an append copy"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar"),
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
) -> None:
    """Refresh copies now: read the live sources and replace each copy atomically (progress, rows, seconds)."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from c360.acceleration.refresh import refresh

    date = None
    if as_of is not None:
        try:
            date = dt.date.fromisoformat(as_of)
        except ValueError:
            raise typer.BadParameter(f"--as-of must be a date (YYYY-MM-DD), not {as_of!r}") from None
    opened = open_catalog(catalog, profile)
    failures, chosen = 0, []
    console = Console(stderr=True)
    try:
        chosen = _chosen(opened, name)
        for acceleration in chosen:
            columns = (SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} rows"),
                       TimeElapsedColumn())
            with Progress(*columns, console=console, disable=quiet, transient=True) as progress:
                task = progress.add_task(f"refreshing {acceleration.name}", total=None)
                try:
                    result = refresh(opened, acceleration, as_of=date, full=full,
                                     progress=lambda rows, t=task: progress.update(t, completed=rows))
                except Error as error:
                    failures += 1
                    print(f"{acceleration.name}: refresh failed, the previous copy stays (marked stale): {error}",
                          file=sys.stderr)
                    continue
            print(f"{result.copy}: {result.mode}, {result.rows_read:,} rows read, {result.rows:,} rows in the copy, "
                  f"{result.bytes / 1e6:.1f} MB, {result.seconds:.2f}s")
    finally:
        opened.close()
    if failures:
        raise Error(f"{failures} of {len(chosen)} refreshes failed; `c360 accelerate status` shows each error")


@accelerate_app.command("status")
def status_command(
    format: Format = typer.Option(Format.table, "--format", "-f", help="table for people; csv or json for programs"),
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
) -> None:
    """Every copy: age, rows, size, last refresh and its error (a copy whose last refresh failed is stale)."""
    from c360.acceleration.status import status_table

    opened = open_catalog(catalog, profile)
    try:
        table = status_table(opened)
    finally:
        opened.close()
    if format == Format.table:
        print_table(table.select(["copy", "age", "rows", "size_mb", "last_refresh", "watermark", "stale",
                                  "last_error"]))
    else:
        write_result(table, format.value, None)
