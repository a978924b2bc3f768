"""The options and the catalog opening every command shares (apart from :mod:`c360.cli.app`, so that a
command module the application itself registers can import them without an import loop)."""

from __future__ import annotations

from pathlib import Path

import typer

from c360 import settings

CatalogOption = typer.Option(
    None, "--catalog", "-c", help=f"Catalog folder or file [env {settings.BY_NAME['catalog'].env}; default ./catalog]"
)
ProfileOption = typer.Option(
    None, "--profile", "-p", help=f"Profile of each source [env {settings.BY_NAME['profile'].env}; default embedded]"
)


def open_catalog(catalog: Path | None, profile: str | None):
    """The catalog, with the project's ``.env`` read first (:mod:`c360.cli.dotenv`; the environment wins).

    A catalog that loaded is remembered (:func:`c360.cli.constant.remember`), so ``SELECT 1`` need not load it."""
    from c360.catalog import Catalog
    from c360.cli import constant, dotenv

    path, profile = Path(catalog or settings.get("catalog")), profile or settings.get("profile")
    opened = Catalog(path, profile=profile)
    dotenv.load(opened.project_dir)
    constant.remember(path, opened.profile)
    return opened
