"""Rules that turn names in the query into catalog objects.

``expand_views`` inlines the project's views (``queries/*.sql``) as subqueries so
every later rule sees through them; ``resolve_tables`` replaces each
``source.table`` reference by a scan placeholder bound to the table's schema,
and names unknown tables with a did-you-mean.
"""

from __future__ import annotations

from sqlglot import exp

from c360.errors import SourceError, UnknownTableError, did_you_mean
from c360.planner.context import PlanContext, ScanPlan
from c360.planner.use_copies import copy_reference

VIEW_SCHEMA = "c360"
_MAX_VIEW_DEPTH = 16


def _cte_names(expression: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}


def expand_views(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    """Replace references to views by their definitions, as aliased subqueries."""
    if not context.views:
        return expression
    for _ in range(_MAX_VIEW_DEPTH):
        ctes = _cte_names(expression)
        replaced = False
        for table in list(expression.find_all(exp.Table)):
            name = table.name.lower()
            if table.catalog or (table.db and table.db.lower() != VIEW_SCHEMA):
                continue
            if not table.db and name in ctes:
                continue
            view = context.views.get(name)
            if view is None:
                continue
            accelerated = copy_reference(name, table, context)
            if accelerated is not None:
                table.replace(accelerated)
                continue
            subquery = exp.Subquery(
                this=view.tree(),
                alias=exp.TableAlias(this=exp.to_identifier(table.alias_or_name)),
            )
            table.replace(subquery)
            replaced = True
        if not replaced:
            return expression
    raise UnknownTableError("Views nest too deeply (a view that refers to itself?)")


def resolve_tables(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    """Bind every ``source.table`` (or ``source.schema.table``) to a :class:`ScanPlan` (or to its usable copy)."""
    ctes = _cte_names(expression)
    for table in list(expression.find_all(exp.Table)):
        if isinstance(table.this, (exp.Anonymous, exp.Func)) or isinstance(table.parent, exp.Lateral):
            continue  # table functions stay with DuckDB
        if table.name.startswith("__c360_"):
            continue
        parts = [p for p in (table.catalog, table.db, table.name) if p]
        if len(parts) == 1:
            if parts[0].lower() in ctes:
                continue
            raise UnknownTableError(f"Unknown table '{parts[0]}'.{_suggest_unqualified(parts[0], context)}")
        if len(parts) == 2 and context.copies:
            accelerated = copy_reference(".".join(parts), table, context,
                                         bind_live=lambda live: _bind(live, context))
            if accelerated is not None:
                table.replace(accelerated)
                continue
        table.replace(_bind(table, context))
    return expression


def _bind(table: exp.Table, context: PlanContext) -> exp.Table:
    """The scan placeholder for ``source.table``, with its :class:`ScanPlan` added to ``context``."""
    catalog = context.catalog
    parts = [p for p in (table.catalog, table.db, table.name) if p]
    source_name = parts[0]
    if source_name not in catalog.sources:
        lowered = {s.lower(): s for s in catalog.sources}
        if source_name.lower() in lowered:
            source_name = lowered[source_name.lower()]
        else:
            known = list(catalog.sources) + ([VIEW_SCHEMA] if context.views else [])
            raise UnknownTableError(
                f"Unknown table '{'.'.join(parts)}': there is no source '{parts[0]}'."
                f"{did_you_mean(parts[0], known)}"
            )
    table_name = parts[-1] if len(parts) == 2 else parts[2]
    if len(parts) == 3:
        table_name = _schema_qualified(catalog, source_name, parts[1], parts[2])
    schema = catalog.table(source_name, table_name)
    name = context.new_scan_name()
    alias = table.alias_or_name
    context.scans[name] = ScanPlan(
        name=name,
        source=source_name,
        table=schema,
        alias=alias.lower(),
        connector=catalog.connector(source_name),
    )
    return exp.Table(
        this=exp.to_identifier(name),
        alias=exp.TableAlias(this=exp.to_identifier(alias)),
    )


def _schema_qualified(catalog, source: str, schema: str, table: str) -> str:
    """``source.schema.table``: the table name as the connector lists it (bare in its default schema)."""
    default = getattr(catalog.connector(source), "schema_name", None)
    if default is not None and schema.lower() == default.lower():
        return table
    return f"{schema}.{table}"


def _suggest_unqualified(name: str, context: PlanContext) -> str:
    """Did-you-mean for a bare table name: views, then tables of sources already known."""
    candidates = list(context.views)
    catalog = context.catalog
    for source in catalog.sources:
        try:
            candidates += [f"{source}.{t}" for t in catalog.tables(source)]
        except SourceError:
            continue
    lowered = name.lower()
    exact = [c for c in candidates if c.lower().split(".")[-1] == lowered]
    if exact:
        return f" Did you mean '{exact[0]}'?"
    hint = did_you_mean(name, candidates) or did_you_mean(name, [c.split(".")[-1] for c in candidates])
    if hint:
        return hint
    return " Tables are addressed as source.table."
