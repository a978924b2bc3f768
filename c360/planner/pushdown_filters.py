"""Offer each scan the predicates that restrict it alone, and keep what the source accepts.

A predicate is offered to a table when, in its query block, it references only
that table and

* it is a WHERE conjunct and the table is not on the nullable side of an outer
  join (``LEFT JOIN r … WHERE r.x IS NULL`` must see the null-extended rows), or
* it is an ON conjunct of the table's own INNER or LEFT join.

Offered predicates are constant-folded, classified (:mod:`c360.planner.classify`)
and rendered in the source's dialect; anything refused is noted for EXPLAIN. The
DuckDB query keeps every predicate, so pushing is never the only check.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from c360.planner.classify import SUPERSET, Classifier, normalize_literals
from c360.planner.context import PlanContext, ScanPlan
from c360.planner.fold_constants import fold_constants
from connectors.sql import conjuncts, renders

_LOCAL_ONLY = (exp.Select, exp.Subquery, exp.AggFunc, exp.Window, exp.Placeholder, exp.Exists)


def nullable_aliases(select: exp.Select) -> set[str]:
    """Aliases of tables on the nullable side of an outer join in ``select``."""
    from_ = select.args.get("from_") or select.args.get("from")
    seen = [from_.this.alias_or_name.lower()] if from_ is not None else []
    nullable: set[str] = set()
    for join in select.args.get("joins") or []:
        alias = join.this.alias_or_name.lower()
        side = (join.side or "").upper()
        if side in ("RIGHT", "FULL"):
            nullable.update(seen)
        if side in ("LEFT", "FULL"):
            nullable.add(alias)
        seen.append(alias)
    return nullable


def _only_alias(predicate: exp.Expression, alias: str) -> bool:
    columns = list(predicate.find_all(exp.Column))
    if not columns or predicate.find(*_LOCAL_ONLY):
        return False
    return all(column.table.lower() == alias for column in columns)


def offered_predicates(select: exp.Select, alias: str) -> list[exp.Expression]:
    """The predicates of ``select`` that may restrict table ``alias`` before any join."""
    offered = []
    if alias not in nullable_aliases(select):
        offered += [p for p in conjuncts(select.args.get("where") and select.args["where"].this)
                    if _only_alias(p, alias)]
        for join in select.args.get("joins") or []:
            if (join.side or "") == "" and (join.kind or "").upper() in ("", "INNER"):
                offered += [p for p in conjuncts(join.args.get("on")) if _only_alias(p, alias)]
    for join in select.args.get("joins") or []:
        if join.this.alias_or_name.lower() == alias and (join.side or "").upper() == "LEFT":
            offered += [p for p in conjuncts(join.args.get("on")) if _only_alias(p, alias)]
    return offered


def _unqualified(predicate: exp.Expression, scan: ScanPlan) -> exp.Expression:
    copy = predicate.copy()
    for column in copy.find_all(exp.Column):
        real = scan.table.column(column.name)
        column.set("table", None)
        column.set("this", exp.to_identifier(real.name if real else column.name))
    return copy


def pushdown_filters(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    for scope in traverse_scope(expression):
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        for alias, source in scope.sources.items():
            if not isinstance(source, exp.Table):
                continue
            scan = context.scan_for(source)
            if scan is None or scan.statement is not None:  # a pushed fragment carries its own WHERE
                continue
            exact = _offer(select, alias.lower(), scan)
            if context.rewritten:
                _drop(select, exact)
    return expression


def _drop(select: exp.Select, pushed: list[exp.Expression]) -> None:
    """Take predicates the source applies exactly out of the query DuckDB runs (when it runs the analysed
    tree): the source already kept only the rows they keep. (DuckDB 1.5.5 also fails an internal assertion
    on a DECIMAL filter inside a correlated EXISTS over an Arrow stream; one filter fewer there helps.)"""
    if not pushed:
        return

    def without(condition):
        kept = [p for p in conjuncts(condition) if not any(p is q for q in pushed)]
        return exp.and_(*kept) if kept else None

    where = select.args.get("where")
    if where is not None:
        remaining = without(where.this)
        select.set("where", exp.Where(this=remaining) if remaining is not None else None)
    for join in select.args.get("joins") or []:
        on = join.args.get("on")
        if on is not None and any(p is q for p in conjuncts(on) for q in pushed):
            join.set("on", without(on) or exp.true())


def _offer(select: exp.Select, alias: str, scan: ScanPlan) -> list[exp.Expression]:
    """Offer ``scan`` its predicates; returns those it took exactly (the original nodes)."""
    exact = []
    connector = scan.connector
    classifier = Classifier(scan.table, connector.capabilities)
    dialect = getattr(connector, "dialect", None)
    for predicate in offered_predicates(select, alias):
        candidate = normalize_literals(fold_constants(_unqualified(predicate, scan)), scan.table)
        verdict = classifier.classify(candidate)
        shown = predicate.sql(dialect="duckdb")
        if verdict is None:
            scan.notes.append(f"kept local: {shown} (the source cannot evaluate it with DuckDB's meaning)")
            continue
        if dialect is not None and not renders(candidate, dialect):
            scan.notes.append(f"kept local: {shown} (not expressible in {_dialect_name(dialect)})")
            continue
        if any(candidate == existing for existing in scan.filters):
            continue
        scan.filters.append(candidate)
        if verdict == SUPERSET:
            scan.superset_filters.append(candidate)
            scan.notes.append(f"pushed as a superset and re-checked locally: {shown} (string collation)")
        else:
            exact.append(predicate)
    return exact


def _dialect_name(dialect) -> str:
    if isinstance(dialect, str):
        return dialect
    return getattr(dialect, "__name__", str(dialect))
