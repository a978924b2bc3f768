"""``SHOW`` and ``DESCRIBE``, answered from the catalog by every front door.

DuckDB would answer them about its own registered streams; a c360 user means the
catalog: ``SHOW TABLES`` lists every ``source.table`` and the project's views,
``SHOW SCHEMAS`` (or ``SHOW SOURCES``) the sources, ``DESCRIBE source.table``,
``DESCRIBE view`` and ``DESCRIBE SELECT …`` the columns a query would return, in
DuckDB's ``DESCRIBE`` shape (column_name, column_type, null, key, default,
extra). Describing moves no data: the planner's scans are bound to empty inputs.
"""

from __future__ import annotations

import logging

import pyarrow as pa
from sqlglot import exp

from c360.errors import NotSupportedError, SourceError
from c360.planner.resolve_tables import VIEW_SCHEMA
from c360.types import duckdb_type

log = logging.getLogger("c360")

SHOW_FORMS = ("SHOW TABLES", "SHOW ALL TABLES", "SHOW TABLES FROM source", "SHOW SCHEMAS", "SHOW SOURCES",
              "SHOW max_staleness")


def is_introspection(statement: exp.Expression) -> bool:
    if isinstance(statement, (exp.Show, exp.Describe)):
        return True
    return isinstance(statement, exp.Command) and statement.name.upper() == "SHOW"


def answer(statement: exp.Expression, engine) -> pa.Table:
    """The result of a SHOW or DESCRIBE statement; NotSupportedError for other SHOW forms."""
    if isinstance(statement, exp.Describe):
        return describe(statement.this, engine)
    text = _show_text(statement)
    what = text.upper()
    if what in ("TABLES", "ALL TABLES"):
        source = statement.args.get("from_") if isinstance(statement, exp.Show) else None
        return tables(engine, source.name if source is not None else None)
    if what in ("SCHEMAS", "SOURCES", "DATABASES"):
        return schemas(engine)
    if what == "MAX_STALENESS":
        return pa.table({"max_staleness": [staleness_text(engine.max_staleness)]})
    words = text.split()
    if len(words) == 3 and words[0].upper() == "COLUMNS" and words[1].upper() in ("FROM", "IN"):
        return describe(exp.to_table(words[2], dialect="duckdb"), engine)
    if len(words) == 1 and not what.startswith(("ALL", "FUNCTIONS", "SETTINGS")):
        return describe(exp.to_table(words[0], dialect="duckdb"), engine)  # DuckDB's `SHOW t` is DESCRIBE t
    raise NotSupportedError(f"SHOW {text} is not supported here; try {', '.join(SHOW_FORMS)} or DESCRIBE table")


def _show_text(statement: exp.Expression) -> str:
    if isinstance(statement, exp.Show):
        return " ".join(str(statement.name).split())
    return " ".join(statement.text("expression").split())


def list_relations(catalog, views, source: str | None = None) -> list[tuple[str, str, str]]:
    """``(schema, name, kind)`` for every table of every reachable source, then the views.

    A source that cannot be reached is skipped with a warning in the log, so one
    source down does not hide the others; naming one ``source`` raises its error.
    """
    rows = []
    names = [catalog.source(source).name] if source else sorted(catalog.sources)
    for name in names:
        try:
            rows += [(name, table, "table") for table in catalog.tables(name)]
        except SourceError as error:
            if source:
                raise
            log.warning("%s", error)
    if source is None or source.lower() == VIEW_SCHEMA:
        rows += [(VIEW_SCHEMA, view.name, "view") for view in sorted(views.values(), key=lambda v: v.name)]
    return rows


def tables(engine, source: str | None = None) -> pa.Table:
    if source is not None and source.lower() == VIEW_SCHEMA:
        rows = [r for r in list_relations(engine.catalog, engine.views, None) if r[2] == "view"]
    else:
        rows = list_relations(engine.catalog, engine.views, source)
    return pa.table(
        {
            "schema": pa.array([r[0] for r in rows], pa.string()),
            "name": pa.array([r[1] for r in rows], pa.string()),
            "kind": pa.array([r[2] for r in rows], pa.string()),
        }
    )


def schemas(engine) -> pa.Table:
    catalog = engine.catalog
    rows = [(s.name, s.kind, s.description or "") for s in sorted(catalog.sources.values(), key=lambda s: s.name)]
    if engine.views:
        rows.append((VIEW_SCHEMA, "views", "the project's views (queries/*.sql)"))
    return pa.table(
        {
            "schema": pa.array([r[0] for r in rows], pa.string()),
            "kind": pa.array([r[1] for r in rows], pa.string()),
            "description": pa.array([r[2] for r in rows], pa.string()),
        }
    )


def describe(target: exp.Expression, engine) -> pa.Table:
    """Columns of a table, a view, or a query, without reading any rows."""
    notes: dict[str, str] = {}
    if isinstance(target, exp.Table):
        query = exp.select(exp.Star()).from_(target.copy())
        parts = [p for p in (target.catalog, target.db, target.name) if p]
        if len(parts) >= 2 and parts[0].lower() != VIEW_SCHEMA:
            notes = _column_notes(engine.catalog, parts)
    else:
        query = target
    schema = engine.schema_of(query)
    return pa.table(
        {
            "column_name": pa.array([f.name for f in schema], pa.string()),
            "column_type": pa.array([duckdb_type(f.type) for f in schema], pa.string()),
            "null": pa.array(["YES" if f.nullable else "NO" for f in schema], pa.string()),
            "key": pa.array([None] * len(schema), pa.string()),
            "default": pa.array([None] * len(schema), pa.string()),
            "extra": pa.array([notes.get(f.name) for f in schema], pa.string()),
        }
    )


def _column_notes(catalog, parts: list[str]) -> dict[str, str]:
    source = parts[0]
    table = parts[-1] if len(parts) == 2 else f"{parts[1]}.{parts[2]}"
    try:
        schema = catalog.table(source, table)
    except SourceError:
        return {}
    notes = {}
    for column in schema.columns:
        words = [w for w in ("partition" if column.partition else "",
                             f"collation {column.collation}" if column.collation else "") if w]
        if words:
            notes[column.name] = ", ".join(words)
    return notes


def staleness_text(seconds: float | None) -> str:
    """``SHOW max_staleness``: the session's bound on accelerated copies, in words."""
    if seconds is None:
        return "default (each copy's declared max_staleness)"
    if seconds == 0:
        return "0 (live sources only)"
    from c360.acceleration.declaration import format_duration

    return format_duration(seconds)
