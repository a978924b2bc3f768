"""The planner: from one SQL statement to per-source scan requests plus a residual DuckDB query.

``plan()`` parses, binds parameters, then applies :data:`RULES` in order, each a
function ``(expression, *, context) -> expression`` in a module named for what
it does; :func:`share_scans` runs last, on the tree DuckDB will run. The result
is a :class:`Plan`: the DuckDB SQL to run over registered Arrow streams, and the
:class:`ScanPlan` of each source table reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from c360.errors import UnknownColumnError, did_you_mean
from c360.planner import binder
from c360.planner.aggregate_before_joins import aggregate_before_joins
from c360.planner.context import PlanContext, ScanPlan
from c360.planner.factor_disjunctions import factor_disjunctions
from c360.planner.group_by_position import group_by_position
from c360.planner.parse import bind, parse, residual_sql
from c360.planner.propagate_predicates import cte_references, propagate_predicates
from c360.planner.prune_exists import prune_exists
from c360.planner.push_fragments import push_fragments
from c360.planner.pushdown_filters import pushdown_filters
from c360.planner.pushdown_limit import pushdown_limit
from c360.planner.pushdown_projections import pushdown_projections
from c360.planner.reduce_joins import reduce_joins
from c360.planner.resolve_tables import expand_views, resolve_tables
from c360.planner.share_scans import share_scans
from c360.types import duckdb_type


@dataclass
class Plan:
    """What the engine runs: ``sql`` on DuckDB with ``params`` (the bound parameters, as ``$n``)
    over the registered streams of ``scans``; ``slots`` says which parameter each ``$n`` is."""

    statement: exp.Expression
    sql: str
    scans: list[ScanPlan]
    params: list = field(default_factory=list)
    slots: list = field(default_factory=list)
    #: the accelerated copies read (:class:`c360.acceleration.choose.Chosen`)
    copies: list = field(default_factory=list)
    #: the plan-cache entry this plan was served from or stored in (:mod:`c360.planner.cache`)
    cached: object = None


def qualify_columns(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    """Qualify every column with its table alias and expand ``*`` (sqlglot's ``qualify``).

    An unknown column becomes :class:`UnknownColumnError` with a did-you-mean.
    The qualified tree is for analysis only: DuckDB runs ``context.output``, the
    query as the user wrote it with tables bound, so result column names stay
    DuckDB's own (``count_star()``, not ``_col_0``).
    """
    context.output = expression.copy()
    schema = MappingSchema(
        {
            scan.name: {column.name: duckdb_type(column.type) for column in scan.table.columns}
            for scan in context.scans.values()
        },
        dialect="duckdb",
    )
    try:
        qualified = qualify(
            expression,
            schema=schema,
            dialect="duckdb",
            validate_qualify_columns=True,
            quote_identifiers=False,
            identify=False,
        )
    except sqlglot.errors.OptimizeError as error:
        raise _unknown_column(str(error), context) from None
    context.star_names = _star_names(context.output, qualified)
    return qualified


def _star_names(output: exp.Expression, qualified: exp.Expression) -> list[str] | None:
    """The result's names when the user's top SELECT is only columns, aliases and ``*`` (qualify spells
    ``*`` out with each column's own name, as DuckDB names them); None when DuckDB must say."""
    if not isinstance(output, exp.Select) or not isinstance(qualified, exp.Select):
        return None
    if any(join.args.get("using") or join.args.get("method") for join in output.args.get("joins") or []):
        return None
    for projection in output.expressions:
        if not isinstance(projection, (exp.Alias, exp.Column, exp.Star)):
            return None
    return [projection.alias_or_name for projection in qualified.expressions]


def _unknown_column(message: str, context: PlanContext) -> UnknownColumnError:
    """sqlglot's qualify error as c360's wording: the column, the tables searched, a did-you-mean."""
    tables = ", ".join(sorted({scan.qualified_name for scan in context.scans.values()})) or "the query"
    candidates = [c.name for scan in context.scans.values() for c in scan.table.columns]
    alias = re.search(r"for table: '([^']*)'", message)
    quoted = re.search(r"'([^']*)'", message)
    if message.startswith("Unknown column:"):
        name = message.split(":", 1)[1].strip().strip('"')
    elif quoted:
        name = quoted.group(1).strip('"')
    else:
        return UnknownColumnError(message)
    if alias:
        aliases = sorted({scan.alias for scan in context.scans.values()})
        return UnknownColumnError(
            f"Unknown table or alias '{alias.group(1)}' in '{alias.group(1)}.{name}'."
            f"{did_you_mean(alias.group(1), aliases)}"
        )
    return UnknownColumnError(f"Unknown column '{name}' in {tables}.{did_you_mean(name, candidates)}")


def materialize_shared_ctes(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    """Mark CTEs that read a source and are referenced more than once as MATERIALIZED.

    A registered Arrow stream can be read once; an inlined CTE would read it twice.
    """
    _mark_shared_ctes(context.output, context)
    return expression


def _mark_shared_ctes(tree: exp.Expression, context: PlanContext) -> None:
    for cte in tree.find_all(exp.CTE):
        if not any(context.scan_for(t) for t in cte.find_all(exp.Table)):
            continue
        if cte_references(tree, cte.alias_or_name) > 1:
            cte.set("materialized", True)


def bind_variables(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    """Replace ``getvariable('name')`` with the value set by ``SET VARIABLE name = …`` (NULL if unset).

    Views use this for their as-of date, so the date reaches the sources as a literal.
    """
    for call in list(expression.find_all(exp.Anonymous)):
        if call.name.lower() == "getvariable" and len(call.expressions) == 1 and call.expressions[0].is_string:
            value = context.variables.get(call.expressions[0].name.lower())
            call.replace(value.copy() if value is not None else exp.null())
    return expression


RULES = (
    expand_views,
    bind_variables,
    group_by_position,
    resolve_tables,
    prune_exists,
    qualify_columns,
    group_by_position,  # again: qualify spelt the positions out
    materialize_shared_ctes,
    factor_disjunctions,
    propagate_predicates,
    aggregate_before_joins,
    push_fragments,
    pushdown_filters,
    pushdown_projections,
    pushdown_limit,
    reduce_joins,
)


def plan(sql: str, params=None, *, catalog, views=None, variables=None, fragments: bool = True, cursor=None) -> Plan:
    statement = parse(sql, named=isinstance(params, dict))
    return plan_statement(statement, params, catalog=catalog, views=views, variables=variables, fragments=fragments,
                          cursor=cursor)


def plan_statement(statement: exp.Expression, params=None, *, catalog, views=None, variables=None,
                   fragments: bool = True, cursor=None, copies=None) -> Plan:
    """Apply :data:`RULES` to a parsed statement. With ``fragments`` false, no rule rewrites the query
    itself (each source table is scanned on its own): the fallback when a rewritten query fails to bind.
    ``copies`` are the usable accelerated copies by name (:mod:`c360.planner.use_copies`)."""
    original = statement.copy()
    statement = bind(statement, params)
    context = PlanContext(catalog=catalog, views=views or {}, variables=variables or {}, allow_fragments=fragments,
                          cursor=cursor, copies=copies or {})
    for rule in RULES:
        statement = rule(statement, context=context)
    if not context.rewritten:
        slots: list = []
        sql, values = residual_sql(share_scans(context.output, context=context), slots=slots)
        return Plan(statement=statement, sql=sql, scans=list(context.scans.values()), params=values, slots=slots,
                    copies=context.used_copies)
    try:
        _restore_names(statement, context)
    except (duckdb.Error, ValueError) as error:
        if not fragments:
            raise
        plan = plan_statement(original, params, catalog=catalog, views=views, variables=variables, fragments=False,
                              cursor=cursor, copies=copies)
        for scan in plan.scans:
            scan.notes.append(f"nothing pushed as a whole statement: {str(error).splitlines()[0]}")
        return plan
    _mark_shared_ctes(statement, context)
    statement = share_scans(statement, context=context)
    slots: list = []
    sql, values = residual_sql(statement, slots=slots)
    return Plan(statement=statement, sql=sql, scans=list(context.scans.values()), params=values, slots=slots,
                copies=context.used_copies)


def _written_names(output: exp.Expression) -> list[str] | None:
    """The result's column names when the user's text says them (each projection aliased or a column);
    None when DuckDB must name them (``count_star()``, a ``*``)."""
    top = output
    while isinstance(top, exp.SetOperation):
        top = top.this
    if not isinstance(top, exp.Select):
        return None
    names = []
    for projection in top.expressions:
        if isinstance(projection, exp.Alias) or (isinstance(projection, exp.Column)
                                                 and not isinstance(projection.this, exp.Star)):
            names.append(projection.alias_or_name)
        else:
            return None
    return names


def _restore_names(statement: exp.Expression, context: PlanContext) -> None:
    """Give the rewritten query the column names DuckDB gives the user's own text (``count_star()``)."""
    names = _written_names(context.output) or context.star_names
    if names is None:
        names = binder.names(context.output, context.original_scans, context.binder_cursor())
    top = statement
    while isinstance(top, exp.SetOperation):
        top = top.this
    if isinstance(top, exp.Subquery):
        top = top.unnest()
    if not isinstance(top, exp.Select) or len(top.expressions) != len(names):
        raise ValueError("the rewritten query's columns do not line up with the original's")
    renamed = {}
    for projection, name in zip(top.expressions, names):
        if projection.alias_or_name and projection.alias_or_name != name:
            renamed[projection.alias_or_name.lower()] = name
    top.set("expressions", [
        exp.alias_(projection.unalias() if isinstance(projection, exp.Alias) else projection, name, quoted=True)
        for projection, name in zip(top.expressions, names)
    ])
    order = statement.args.get("order")  # ORDER BY an output name follows the rename
    for column in (order.find_all(exp.Column) if order is not None else []):
        if not column.table and column.name.lower() in renamed:
            column.replace(exp.column(renamed[column.name.lower()], quoted=True))
