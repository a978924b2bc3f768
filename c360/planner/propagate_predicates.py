"""Carry a selective predicate to every table it restricts: across join keys and into grouped views.

``SELECT * FROM customer_360 WHERE customer_id = 42`` should reach each source
under the view as ``customer_id = 42``. Two moves get it there, repeated until
nothing changes (views nest):

* **Join equivalence.** ``c.customer_id = 42`` with ``o.customer_id = c.customer_id``
  implies ``o.customer_id = 42``. Over an inner join it is added to the WHERE;
  to the nullable side of a LEFT JOIN it is added to that join's ON (the rows it
  removes could never have matched), never the other way round.
* **Into derived tables and CTEs.** A predicate on a derived table's column moves
  into its WHERE, rewritten over the column's definition, when the block has no
  LIMIT, DISTINCT or QUALIFY (they need every row), if it groups, the column is a
  grouping key (filtering whole groups before grouping is the same as after), and
  if it has window functions, the column is a key every one of them partitions by
  (whole partitions go, the others' windows stay as they were). A CTE is entered
  only when it is referenced once.

sqlglot's own ``pushdown_predicates`` (without its ``simplify``) handles plain subqueries first. All of this
changes only the analysis tree: what sources are asked for. Every predicate
added is implied by the query, so results never change, only the rows moved.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.normalize import normalized
from sqlglot.optimizer.pushdown_predicates import pushdown_cnf, pushdown_dnf
from sqlglot.optimizer.scope import Scope, traverse_scope

from c360.planner.classify import is_constant
from c360.planner.context import PlanContext
from c360.planner.pushdown_filters import conjuncts, nullable_aliases

_MAX_ROUNDS = 8
_BLOCKING = (exp.Select, exp.Subquery, exp.AggFunc, exp.Window, exp.Exists)


def propagate_predicates(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    for _ in range(_MAX_ROUNDS):
        expression = _pushdown_predicates(expression)
        added = False
        for scope in traverse_scope(expression):
            if isinstance(scope.expression, exp.Select):
                added |= _through_joins(scope.expression)
                added |= _into_derived(scope, expression)
        if not added:
            break
    return expression


# --- sqlglot's pushdown_predicates, without its simplify --------------------------------------------------


def _pushdown_predicates(expression: exp.Expression) -> exp.Expression:
    """sqlglot's ``pushdown_predicates`` (predicates into derived tables and joins), minus the
    ``simplify`` it runs first: simplify folds constants (``CAST('2026-03-31' AS DATE) - INTERVAL 30 DAY``)
    into fresh literals that forget they came from a parameter, which a cached plan must know
    (c360.planner.cache); c360 folds constants itself, with DuckDB, and keeps track."""
    from sqlglot.optimizer.scope import build_scope

    root = build_scope(expression)
    if not root:
        return expression
    scope_ref_count = root.ref_count()
    for scope in reversed(list(root.traverse())):
        select = scope.expression
        where = select.args.get("where")
        joins = select.args.get("joins") or []
        if where:
            selected_sources = scope.selected_sources
            join_index = {join.alias_or_name: i for i, join in enumerate(joins)}
            last_null_extending = max((i for i, j in enumerate(joins) if j.side in ("RIGHT", "FULL")), default=-1)
            reachable = {}
            for name, (node, source) in selected_sources.items():
                parent = node.find_ancestor(exp.Join, exp.From)
                position = join_index.get(parent.alias_or_name, -1) if isinstance(parent, exp.Join) else -1
                if position >= last_null_extending:
                    reachable[name] = (node, source)
            _pushdown(where.this, reachable, scope_ref_count, join_index)
        for join in joins:
            name = join.alias_or_name
            if join.side in ("RIGHT", "FULL"):
                continue
            if name in scope.selected_sources:
                _pushdown(join.args.get("on"), {name: scope.selected_sources[name]}, scope_ref_count)
    return expression


def _pushdown(condition, sources, scope_ref_count, join_index=None) -> None:
    if not condition:
        return
    cnf_like = normalized(condition) or not normalized(condition, dnf=True)
    predicates = list(condition.flatten() if isinstance(condition, exp.And if cnf_like else exp.Or) else [condition])
    if cnf_like:
        pushdown_cnf(predicates, sources, scope_ref_count, join_index=join_index)
    elif not condition.find(exp.Select):
        # an OR is copied, not moved, into the join or derived table of each table all its branches name: a
        # subquery in it would then be planned (and its scan pushed) twice, and run twice
        pushdown_dnf(predicates, sources, scope_ref_count)


# --- join equivalence -----------------------------------------------------------------------------


def _key(column: exp.Column) -> tuple[str, str]:
    return column.table.lower(), column.name.lower()


def _constant_predicate(predicate: exp.Expression):
    """``(column, builder)`` for ``col = const`` / ``col IN (consts)``, else None."""
    if isinstance(predicate, exp.EQ):
        for column, value in ((predicate.left, predicate.right), (predicate.right, predicate.left)):
            if isinstance(column, exp.Column) and column.table and is_constant(value):
                return column, lambda target, v=value: exp.EQ(this=target, expression=v.copy())
    if isinstance(predicate, exp.In) and isinstance(predicate.this, exp.Column) and predicate.this.table:
        values = predicate.expressions
        if values and all(is_constant(v) for v in values) and not predicate.args.get("query"):
            return predicate.this, lambda target, vs=values: exp.In(this=target, expressions=[v.copy() for v in vs])
    return None


def _column_pair(predicate: exp.Expression):
    if isinstance(predicate, exp.EQ) and isinstance(predicate.left, exp.Column) and isinstance(
        predicate.right, exp.Column
    ):
        if predicate.left.table and predicate.right.table and predicate.left.table != predicate.right.table:
            return predicate.left, predicate.right
    return None


def _through_joins(select: exp.Select) -> bool:
    """Add the constants implied by join keys; True if anything was added."""
    where = select.args.get("where")
    nullable = nullable_aliases(select)
    joins = select.args.get("joins") or []
    inner_on = [p for j in joins if not j.side and (j.kind or "").upper() in ("", "INNER")
                for p in conjuncts(j.args.get("on"))]
    facts = [p for p in conjuncts(where.this if where else None) + inner_on]

    # undirected equivalences (inner joins, WHERE) and directed ones (preserved -> nullable, LEFT JOIN ON)
    links: dict[tuple, list[tuple[exp.Column, exp.Join | None]]] = {}
    for predicate in facts:
        pair = _column_pair(predicate)
        if pair:
            a, b = pair
            links.setdefault(_key(a), []).append((b, None))
            links.setdefault(_key(b), []).append((a, None))
    for join in joins:
        if (join.side or "").upper() != "LEFT":
            continue
        right = join.this.alias_or_name.lower()
        for predicate in conjuncts(join.args.get("on")):
            pair = _column_pair(predicate)
            if not pair:
                continue
            a, b = pair
            if a.table.lower() == right and b.table.lower() != right:
                links.setdefault(_key(b), []).append((a, join))
            elif b.table.lower() == right and a.table.lower() != right:
                links.setdefault(_key(a), []).append((b, join))

    existing = set(facts) | {p for j in joins for p in conjuncts(j.args.get("on"))}
    # what this rule derived here before: sqlglot's pushdown may since have moved it deeper
    existing |= select.meta.setdefault("c360_derived", set())
    seen = set()
    added = False
    pending = [c for c in (_constant_predicate(p) for p in facts) if c and c[0].table.lower() not in nullable]
    while pending:
        column, build = pending.pop()
        if _key(column) in seen:
            continue
        seen.add(_key(column))
        for target, join in links.get(_key(column), []):
            derived = build(exp.column(target.name, table=target.table))
            if derived in existing:
                continue
            existing.add(derived)
            select.meta["c360_derived"].add(derived)
            if join is None and target.table.lower() not in nullable:
                select.where(derived, copy=False)
                pending.append((target, build))
                added = True
            elif join is not None:
                join.set("on", exp.and_(join.args.get("on"), derived, copy=False))
                added = True
    return added


# --- into derived tables ----------------------------------------------------------------------------


def _into_derived(scope: Scope, root: exp.Expression) -> bool:
    """Copy predicates on derived tables' columns into their WHERE; True if anything was added."""
    select = scope.expression
    added = False
    nullable = nullable_aliases(select)
    for alias, source in scope.sources.items():
        if not isinstance(source, Scope):
            continue
        cte = source.expression.parent if isinstance(source.expression.parent, exp.CTE) else None
        if cte is not None and cte_references(root, cte.alias_or_name) > 1:
            continue
        if _limited(source.expression.parent):
            continue
        for inner in _branches(source.expression):
            added |= _into_select(select, alias, inner, nullable)
    return added


def _branches(expression: exp.Expression) -> list[exp.Select]:
    """The SELECTs a predicate on ``expression``'s columns may enter: itself, or each branch of a UNION whose
    branches name their columns alike (or match them BY NAME) -- filtering every branch filters the union."""
    if isinstance(expression, exp.Select):
        return [expression]
    if not isinstance(expression, exp.Union) or any(expression.args.get(k) for k in ("limit", "offset", "order")):
        return []
    branches = []
    for side in (expression.this, expression.expression):
        if _limited(side):
            return []
        side = side.unnest() if isinstance(side, exp.Subquery) else side
        found = _branches(side)
        if not found or (isinstance(side, exp.Union) and len(found) < 2):
            return []
        branches += found
    names = [[p.alias_or_name.lower() for p in b.expressions] for b in branches]
    if not expression.args.get("by_name") and any(n != names[0] for n in names):
        return []
    if any(not n or "*" in n for n in names):
        return []
    return branches


def _limited(node) -> bool:
    """Whether ``node`` is (nested in) parentheses that order, limit or offset what they hold."""
    while isinstance(node, exp.Subquery):
        if any(node.args.get(k) for k in ("limit", "offset", "order")):
            return True
        node = node.parent if isinstance(node.parent, exp.Subquery) else None
    return False


def _into_select(select: exp.Select, alias: str, inner: exp.Select, nullable) -> bool:
    """Copy ``select``'s predicates on ``alias``'s columns into ``inner`` (its definition, or one union branch)."""
    added = False
    if _blocked(inner):
        return False
    alias = alias.lower()
    offered = []
    if alias not in nullable:
        offered += conjuncts(select.args.get("where") and select.args["where"].this)
        for join in select.args.get("joins") or []:
            if not join.side and (join.kind or "").upper() in ("", "INNER"):
                offered += conjuncts(join.args.get("on"))
    for join in select.args.get("joins") or []:
        if join.this.alias_or_name.lower() == alias and (join.side or "").upper() == "LEFT":
            offered += conjuncts(join.args.get("on"))
    present = set(conjuncts(inner.args.get("where") and inner.args["where"].this))
    # what this rule put here before: pushdown may since have moved it deeper, and it must not come back
    present |= inner.meta.setdefault("c360_into", set())
    for predicate in offered:
        rewritten = _rewrite(predicate, alias, inner)
        if rewritten is not None and rewritten not in present:
            present.add(rewritten)
            inner.meta["c360_into"].add(rewritten)
            inner.where(rewritten, copy=False)
            added = True
    return added


def _blocked(inner: exp.Select) -> bool:
    if inner.args.get("limit") or inner.args.get("offset") or inner.args.get("distinct") or inner.args.get("qualify"):
        return True
    group = inner.args.get("group")
    if group and any(group.args.get(k) for k in ("rollup", "cube", "grouping_sets")):
        return True
    aggregated = any(not f.find_ancestor(exp.Window) for p in inner.expressions for f in p.find_all(exp.AggFunc))
    return aggregated and not group


def _partition_keys(inner: exp.Select) -> set[str] | None:
    """The PARTITION BY keys (as SQL) every window of ``inner`` shares; None when it has no window."""
    common = None
    for part in ("expressions", "order"):
        value = inner.args.get(part)
        for node in (value if isinstance(value, list) else [value] if value is not None else []):
            for window in node.find_all(exp.Window):
                keys = {key.sql() for key in window.args.get("partition_by") or []}
                common = keys if common is None else common & keys
    return common


def cte_references(root: exp.Expression, name: str) -> int:
    """How many times the query ``root`` names the CTE ``name``."""
    return sum(1 for t in root.find_all(exp.Table) if t.name.lower() == name.lower() and not t.db)


def _rewrite(predicate: exp.Expression, alias: str, inner: exp.Select) -> exp.Expression | None:
    columns = list(predicate.find_all(exp.Column))
    if not columns or predicate.find(*_BLOCKING) or any(c.table.lower() != alias for c in columns):
        return None
    outputs = {p.alias_or_name.lower(): p.unalias() for p in inner.expressions}
    group = inner.args.get("group")
    keys = {g.sql() for g in group.expressions} if group else None
    partitions = _partition_keys(inner)
    rewritten = predicate.copy()
    for column in list(rewritten.find_all(exp.Column)):
        definition = outputs.get(column.name.lower())
        if definition is None or definition.find(exp.AggFunc, exp.Window, exp.Select):
            return None
        if keys is not None and definition.sql() not in keys:
            return None
        if partitions is not None and definition.sql() not in partitions:
            return None
        replacement = definition.copy()
        if column is rewritten:
            rewritten = replacement
        else:
            column.replace(replacement)
    return rewritten
