"""What the catalog declares about a table: its ``columns: {name: TYPE}`` and its other settings.

The catalog (:mod:`c360.catalog`) reads declared columns for any source; the
file connectors also check each table's settings against the ones their kind
knows. Errors point at the YAML line (``catalog/shop.yaml:12``) when the
mapping came from a catalog file, else say ``catalog``.
"""

from __future__ import annotations

from c360.errors import CatalogError, did_you_mean
from c360.types import arrow_type
from connectors.base import Column


def declared_columns(columns, *, where: str) -> list[Column]:
    """Columns from a table's ``columns: {name: TYPE}`` mapping, in order.

    ``where`` is the ``columns:`` line; a CatalogError for an unknown type
    names the column, at its own line when the mapping came from a file.
    """
    if not isinstance(columns, dict):
        raise CatalogError(f"{where}: 'columns' must map column names to types")
    built = []
    for name, type_name in columns.items():
        try:
            built.append(Column(name, arrow_type(str(type_name))))
        except CatalogError as error:
            raise CatalogError(f"{where_of(columns, name, default=where)}: column '{name}': {error}") from None
    return built


def where_of(mapping, key: str | None = None, *, default: str = "catalog") -> str:
    """``file:line`` of ``key`` (or of the mapping itself) when ``mapping`` was read from a catalog file."""
    where = getattr(mapping, "where", None)
    return where(key) if callable(where) else default


def check_keys(declared, allowed: dict, *, what: str) -> None:
    """Refuse a setting of ``declared`` that is not in ``allowed`` (did-you-mean, and the known ones)."""
    for key in declared:
        if key not in allowed:
            raise CatalogError(
                f"{where_of(declared, key)}: {what} has unknown setting '{key}'.{did_you_mean(key, allowed)} "
                f"Known: {', '.join(allowed)}"
            )
