"""Aggregate one side of a cross-source join by its join key before joining, so its source groups the rows.

The Customer 360 question "each customer with the number and value of her orders" joins the CRM with the
shop and groups by customer: as written, every order leaves MariaDB to be counted by DuckDB. When the
aggregates read only the joined table and the block groups by the other side's columns, the joined table
can be grouped by its join key first (eager aggregation) and each partial result combined after the
join: the source returns one row per key. TPC-H Q13 (``customer LEFT JOIN orders``, 1.5 M orders rows
out of MariaDB) then moves one row per customer with orders::

    SELECT c.c_custkey, COUNT(o.o_orderkey) AS c_count
    FROM customer AS c LEFT JOIN orders AS o ON c.c_custkey = o.o_custkey AND o.o_comment NOT LIKE '%x%'
    GROUP BY c.c_custkey
    -> SELECT c.c_custkey, CAST(COALESCE(SUM(o.__c360_e1), 0) AS BIGINT) AS c_count
       FROM customer AS c LEFT JOIN (SELECT o.o_custkey AS o_custkey, COUNT(o.o_orderkey) AS __c360_e1
                                     FROM orders AS o WHERE o.o_comment NOT LIKE '%x%' GROUP BY o.o_custkey) AS o
       ON c.c_custkey = o.o_custkey GROUP BY c.c_custkey

Each aggregate is combined exactly, with the type DuckDB gives the original: ``count(x)`` as the sum of
the partial counts (0 for a row without partner), ``count(*)`` likewise (1 for a row without partner of a
LEFT JOIN), ``sum`` of integers and decimals as the sum of the partial sums, ``min``/``max`` as the
min/max of the partial ones. Only where this holds: a block of exactly two relations of different sources
(one source takes the whole join and grouping, :mod:`c360.planner.push_fragments`) joined by an inner
join or with the grouped table on the right of a LEFT JOIN, join conditions that are equalities between
the two plus conditions on the grouped table alone, GROUP BY and every other expression over the other
side only, no DISTINCT aggregate, window, or other aggregate (``avg``, float sums: their rounding would
differ). The grouped table must be an SQL source's (a file gains nothing) and not joined on its whole
primary key (one row per key already). :mod:`c360.planner.push_fragments` then sends the grouping to the
source.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from c360.planner.context import PlanContext, ScanPlan
from c360.planner.pushdown_filters import conjuncts

PARTIAL = "__c360_e"
_COMBINABLE = (exp.Count, exp.Sum, exp.Min, exp.Max)


def aggregate_before_joins(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    if not context.allow_fragments:
        return expression
    for scope in list(traverse_scope(expression)):
        select = scope.expression
        if isinstance(select, exp.Select) and _rewrite(select, context):
            context.rewritten = True
    return expression


def _rewrite(select: exp.Select, context: PlanContext) -> bool:
    joins = select.args.get("joins") or []
    from_ = select.args.get("from_") or select.args.get("from")
    group = select.args.get("group")
    if from_ is None or len(joins) != 1 or group is None or not group.expressions:
        return False
    if any(select.args.get(part) for part in ("distinct", "qualify", "windows")) or select.find(exp.Window):
        return False
    if group.args.get("rollup") or group.args.get("cube") or group.args.get("grouping_sets"):
        return False
    join = joins[0]
    side, kind = (join.side or "").upper(), (join.kind or "").upper()
    if join.args.get("using") or kind not in ("", "INNER", "OUTER") or side not in ("", "LEFT"):
        return False
    left, right = from_.this, join.this
    candidates = [right] if side == "LEFT" else [right, left]
    for grouped in candidates:
        other = left if grouped is right else right
        if isinstance(grouped, exp.Table) and _try(select, join, grouped, other, side == "LEFT", context):
            return True
    return False


def _try(select: exp.Select, join: exp.Join, grouped: exp.Table, other: exp.Expression, outer: bool,
         context: PlanContext) -> bool:
    scan = context.scan_for(grouped)
    if scan is None or scan.statement is not None or not getattr(scan.connector.capabilities, "statements", False):
        return False
    if any(getattr(context.scan_for(t), "connector", None) is scan.connector for t in other.find_all(exp.Table)):
        return False  # one source: push_fragments sends the whole join and its grouping
    alias = grouped.alias_or_name.lower()
    where = select.args.get("where")
    keys, own = [], []
    for conjunct in conjuncts(join.args.get("on")):
        named = _aliases(conjunct)
        if named == {alias}:
            own.append(conjunct)
        elif alias in named:
            pair = _key_pair(conjunct, alias)
            if pair is None:
                return False
            keys.append(pair)
    for conjunct in conjuncts(where.this if where is not None else None):
        if alias in _aliases(conjunct):
            if outer or _aliases(conjunct) != {alias}:
                return False  # a WHERE on the grouped side of a LEFT JOIN rejects its NULL rows
            own.append(conjunct)
    if not keys or _whole_primary_key(scan, [key for key, _ in keys]):
        return False
    aggregates = list(_aggregates_of(select))
    if not aggregates or any(not _combinable(a, alias, scan) for a in aggregates):
        return False
    # every other use of the grouped table's columns: none outside the aggregates, the keys and its own filters
    kept = {id(c) for a in aggregates for c in a.find_all(exp.Column)}
    kept |= {id(c) for conjunct in conjuncts(join.args.get("on")) for c in conjunct.find_all(exp.Column)}
    kept |= {id(c) for conjunct in own for c in conjunct.find_all(exp.Column)}
    if any(c.table.lower() == alias and id(c) not in kept for c in select.find_all(exp.Column)):
        return False
    _apply(select, join, grouped, keys, own, aggregates, outer)
    scan.notes.append(f"grouped by {', '.join(k.name for k, _ in keys)} in its source before the join "
                      f"({len(aggregates)} aggregate{'s' if len(aggregates) > 1 else ''} combined after it)")
    return True


def _aliases(node: exp.Expression) -> set[str]:
    return {c.table.lower() for c in node.find_all(exp.Column)}


def _key_pair(conjunct: exp.Expression, alias: str):
    """``(grouped column, other side's expression)`` of an equality between the two sides, else None."""
    if not isinstance(conjunct, exp.EQ):
        return None
    for mine, theirs in ((conjunct.left, conjunct.right), (conjunct.right, conjunct.left)):
        if isinstance(mine, exp.Column) and mine.table.lower() == alias and alias not in _aliases(theirs) \
                and _aliases(theirs) and not theirs.find(exp.Select, exp.AggFunc):
            return mine, theirs
    return None


def _whole_primary_key(scan: ScanPlan, keys: list[exp.Column]) -> bool:
    primary = {c.lower() for c in scan.table.primary_key}
    return bool(primary) and primary <= {k.name.lower() for k in keys}


def _aggregates_of(select: exp.Select):
    """The aggregate calls of the block (its projections, HAVING and ORDER BY), not those of subqueries."""
    for part in (select.expressions, [select.args.get("having")], [select.args.get("order")]):
        for node in part:
            if node is None:
                continue
            for found in node.find_all(exp.AggFunc):
                if found.find_ancestor(exp.Select) is select:
                    yield found


def _combinable(aggregate: exp.AggFunc, alias: str, scan: ScanPlan) -> bool:
    if not isinstance(aggregate, _COMBINABLE) or aggregate.find(exp.Distinct) \
            or isinstance(aggregate.parent, (exp.Filter, exp.Window)):
        return False  # FILTER (WHERE …) would have to reach the partial aggregate too
    argument = aggregate.this
    if isinstance(aggregate, exp.Count) and isinstance(argument, exp.Star):
        return True
    columns = list(argument.find_all(exp.Column)) if argument is not None else []
    if not columns or any(c.table.lower() != alias for c in columns) or argument.find(exp.Select, exp.AggFunc):
        return False
    if isinstance(aggregate, exp.Sum):  # exact only for integers and decimals, and only of a plain column
        column = scan.table.column(argument.name) if isinstance(argument, exp.Column) else None
        return column is not None and (pa.types.is_integer(column.type) or pa.types.is_decimal(column.type))
    return True


def _combined(aggregate: exp.AggFunc, partial: exp.Column, outer: bool) -> exp.Expression:
    """The aggregate over the join of the partial results ``partial``: counts are summed (0 for no partner,
    and ``count(*)`` counts 1 for an unmatched row of a LEFT JOIN), as BIGINT; sums, minima and maxima are
    taken again."""
    if not isinstance(aggregate, exp.Count):
        return aggregate.__class__(this=partial)
    counted = exp.func("COALESCE", partial, exp.Literal.number(1)) if outer and isinstance(aggregate.this, exp.Star) \
        else partial
    return exp.cast(exp.func("COALESCE", exp.func("SUM", counted), exp.Literal.number(0)), "BIGINT")


def _apply(select, join, grouped, keys, own, aggregates, outer) -> None:
    alias = grouped.alias_or_name
    partials, combined = [], []
    for number, aggregate in enumerate(aggregates, start=1):
        name = f"{PARTIAL}{number}"
        partials.append(exp.alias_(aggregate.copy(), name))
        combined.append(_combined(aggregate, exp.column(name, table=alias), outer))
    key_columns = list(dict.fromkeys(key.name for key, _ in keys))
    derived = exp.Select(expressions=[exp.alias_(exp.column(k, table=alias), k) for k in key_columns] + partials)
    derived.set("from_", exp.From(this=grouped.copy()))
    if own:
        derived.set("where", exp.Where(this=exp.and_(*[c.copy() for c in own])))
    derived.set("group", exp.Group(expressions=[exp.column(k, table=alias) for k in key_columns]))
    for aggregate, value in zip(aggregates, combined):
        aggregate.replace(value)
    grouped.replace(exp.Subquery(this=derived, alias=exp.TableAlias(this=exp.to_identifier(alias))))
    remaining = [c for c in conjuncts(join.args.get("on")) if not any(c is o for o in own)]
    join.set("on", exp.and_(*[c.copy() for c in remaining]) if remaining else None)
    where = select.args.get("where")
    if where is not None and not outer:
        rest = [c for c in conjuncts(where.this) if not any(c is o for o in own)]
        select.set("where", exp.Where(this=exp.and_(*[c.copy() for c in rest])) if rest else None)
