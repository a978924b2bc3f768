"""Plan join reductions: a selective scan's join keys, sent to the other side as an ``IN`` list.

``SELECT … FROM shop.orders o JOIN shop.order_items i ON i.order_id = o.order_id
WHERE o.customer_id = 42`` should not read every order line. When, in one query
block, scan ``a`` has a pushed equality or ``IN`` filter (so it is probably
small) and joins scan ``b`` on ``a.x = b.y``, the plan records that ``b`` may be
reduced by ``a``'s values of ``x``. At run time the engine reads ``a`` first; if
it is small, ``b`` receives ``y IN (…those values…)`` (or is skipped when ``a``
is empty).

Only where rows of ``b`` without a partner in ``a`` can never reach the result:
an inner join, or ``b`` on the nullable side of ``a LEFT JOIN b``. A scan that is
reduced is never itself a reducer, so there are no cycles.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from c360.planner.context import PlanContext, ScanPlan
from c360.planner.pushdown_filters import conjuncts, nullable_aliases


@dataclass(frozen=True)
class Reduction:
    """``consumer.column IN (values of producer.producer_column)``, decided at run time."""

    producer: str
    producer_column: str
    column: str


def _selective(scan: ScanPlan) -> bool:
    if scan.statement is not None:
        return scan.selective
    return any(isinstance(f, (exp.EQ, exp.In)) for f in scan.filters)


def _reducible(scan: ScanPlan, column: str) -> bool:
    """A plain scan takes ``column IN (…)`` on any column; a fragment only on its row-level columns."""
    return scan.statement is None or column in scan.reducible


def _pairs(select: exp.Select):
    """Yield ``(a_column, b_column)`` equalities where rows of b's side may be reduced by a."""
    nullable = nullable_aliases(select)
    joins = select.args.get("joins") or []
    symmetric = conjuncts(select.args.get("where") and select.args["where"].this)
    for join in joins:
        if not join.side and (join.kind or "").upper() in ("", "INNER"):
            symmetric += conjuncts(join.args.get("on"))
    for predicate in symmetric:
        if _is_column_pair(predicate):
            a, b = predicate.left, predicate.right
            if a.table.lower() not in nullable and b.table.lower() not in nullable:
                yield a, b
                yield b, a
    for join in joins:
        if (join.side or "").upper() != "LEFT":
            continue
        right = join.this.alias_or_name.lower()
        for predicate in conjuncts(join.args.get("on")):
            if _is_column_pair(predicate):
                a, b = predicate.left, predicate.right
                if a.table.lower() == right:
                    a, b = b, a
                if b.table.lower() == right and a.table.lower() != right:
                    yield a, b


def _is_column_pair(predicate: exp.Expression) -> bool:
    return (
        isinstance(predicate, exp.EQ)
        and isinstance(predicate.left, exp.Column)
        and isinstance(predicate.right, exp.Column)
        and bool(predicate.left.table)
        and bool(predicate.right.table)
        and predicate.left.table != predicate.right.table
    )


def reduce_joins(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    consumers: set[str] = set()
    for scope in traverse_scope(expression):
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        scans = {
            alias.lower(): context.scan_for(source)
            for alias, source in scope.sources.items()
            if isinstance(source, exp.Table) and context.scan_for(source)
        }
        for a, b in _pairs(select):
            producer, consumer = scans.get(a.table.lower()), scans.get(b.table.lower())
            if producer is None or consumer is None or producer is consumer:
                continue
            if not _selective(producer) or producer.name in consumers or _selective(consumer):
                continue
            if any(r.producer == consumer.name for r in producer.reductions):
                continue
            producer_column, column = producer.table.column(a.name), consumer.table.column(b.name)
            if producer_column is None or column is None or not _reducible(consumer, column.name):
                continue
            reduction = Reduction(producer.name, producer_column.name, column.name)
            if reduction not in consumer.reductions:
                consumer.reductions.append(reduction)
                consumer.notes.append(
                    f"reduced at run time by the {producer_column.name} values of {producer.qualified_name} "
                    f"(as {column.name} IN (…)) when that side is small"
                )
                consumers.add(consumer.name)
    return expression
