"""``c360 export trino``: the project as Trino catalog files and CREATE VIEW statements (docs/trino.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from c360.cli.app import app
from c360.cli.options import CatalogOption, ProfileOption, open_catalog
from c360.errors import ProgrammingError

export_app = typer.Typer(help="Export the project (catalog, views, model) to another engine.", no_args_is_help=True)
app.add_typer(export_app, name="export")


def _locations(values: list[str] | None) -> dict[str, str]:
    out = {}
    for value in values or ():
        name, sep, url = value.partition("=")
        if not sep or not name or not url:
            raise ProgrammingError(f"--location takes SOURCE=URL, not '{value}'")
        out[name] = url
    return out


@export_app.command("trino")
def trino(
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write catalog/*.properties, tables.sql, views.sql"),
    as_of: str = typer.Option(
        None, "--as-of",
        help="Bake this date (YYYY-MM-DD) into the views (default: current_date, the answer as of today)",
    ),
    storage_account: str = typer.Option(
        None, "--storage-account", help="Azure storage account of the blob and JSON sources' files"),
    location: list[str] = typer.Option(
        None, "--location",
        help="SOURCE=URL: the storage URL standing for a blob source's container or a JSON source's folder"),
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
):
    """Write Trino catalog files for each source and the views and model as Trino CREATE VIEW statements."""
    from c360.export.trino import export_trino

    date = None
    if as_of is not None:
        try:
            date = dt.date.fromisoformat(as_of)
        except ValueError:
            raise ProgrammingError(f"--as-of takes a date as YYYY-MM-DD, not '{as_of}'") from None
    opened = open_catalog(catalog, profile)
    result = export_trino(opened, as_of=date, locations=_locations(location), storage_account=storage_account)
    written = result.write(out)
    typer.echo(f"wrote {len(written)} files to {out}: {sum(1 for p in written if p.suffix == '.properties')} "
               f"catalogs, {len(result.views)} views ({', '.join(result.views)})")
