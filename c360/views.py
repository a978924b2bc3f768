"""The project's views: ``queries/*.sql``, one SELECT per file, named after the file.

A view is inlined into every query that names it (``customer_360`` or
``c360.customer_360``), so pushdown reaches the sources underneath it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp

from c360.errors import CatalogError


@dataclass(frozen=True)
class View:
    name: str
    sql: str
    path: Path
    description: str = ""

    def tree(self) -> exp.Expression:
        """A fresh copy of the view's parsed SELECT (parsed once, on first use: planning inlines views often,
        and a query that names no view parses none). CatalogError, naming the file and line, if it does not
        parse or holds more than one statement."""
        parsed = _PARSED.get(self.sql)
        if parsed is None:
            parsed = _PARSED[self.sql] = _parse(self.sql, self.path)
        return parsed.copy()


#: parsed view bodies by their text (a view edited on disk is new text, so never stale)
_PARSED: dict[str, exp.Expression] = {}


def _parse(body: str, path: Path) -> exp.Expression:
    try:
        statements = [s for s in sqlglot.parse(body, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as error:
        first = error.errors[0] if error.errors else {}
        raise CatalogError(
            f"{path}:{first.get('line', 0)}: the view does not parse: {first.get('description', error)}"
        ) from None
    if len(statements) != 1:
        raise CatalogError(f"{path}:1: a view file holds exactly one SELECT")
    return statements[0]


def load_views(directory: Path) -> dict[str, View]:
    """Views by lower-case name, read but not parsed (:meth:`View.tree` parses, on first use)."""
    views: dict[str, View] = {}
    if not directory.is_dir():
        return views
    for path in sorted(directory.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        body = text.strip().rstrip(";").strip()
        description = ""
        for line in text.splitlines():
            if line.startswith("--"):
                description = line.lstrip("- ").strip()
                break
        views[path.stem.lower()] = View(path.stem, body, path, description)
    return views
