"""Take out of an OR what every branch says, and what each table must satisfy in any branch.

TPC-H Q19 asks for ``(p.k = l.k AND p.brand = 'B12' AND l.qty <= 11 AND l.mode IN ('AIR') AND l.instr = 'X')
OR (p.k = l.k AND p.brand = 'B23' AND l.qty >= 10 AND l.mode IN ('AIR') AND l.instr = 'X') OR …``.
As written, no conjunct restricts ``lineitem`` alone, so every row of it leaves the source. Two
rewrites, both exact (each adds only what the OR implies):

* **common conjuncts** are factored out: ``p.k = l.k AND l.mode IN ('AIR') AND l.instr = 'X' AND
  ((p.brand = 'B12' AND l.qty <= 11) OR (p.brand = 'B23' AND l.qty >= 10) OR …)``;
* **per-table implications** are added beside the OR: when every branch restricts table ``l``,
  ``(l.qty <= 11) OR (l.qty >= 10) OR …`` holds too, and is a predicate of ``l`` alone that the
  source can apply.

Applied to WHERE and to the ON of inner joins, in every block. Branches with subqueries are
left alone.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from c360.planner.context import PlanContext
from c360.planner.pushdown_filters import conjuncts

_OPAQUE = (exp.Select, exp.Subquery, exp.Exists, exp.AggFunc, exp.Window)


def factor_disjunctions(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    for scope in traverse_scope(expression):
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        where = select.args.get("where")
        if where is not None:
            where.set("this", _factored(where.this))
        for join in select.args.get("joins") or []:
            if not join.side and (join.kind or "").upper() in ("", "INNER") and join.args.get("on") is not None:
                join.set("on", _factored(join.args["on"]))
    return expression


def _factored(condition: exp.Expression) -> exp.Expression:
    out: list[exp.Expression] = []
    for conjunct in conjuncts(condition):
        node = conjunct.unnest() if isinstance(conjunct, exp.Paren) else conjunct
        if isinstance(node, exp.Or) and not node.find(*_OPAQUE):
            out.extend(_factor(node))
        else:
            out.append(conjunct)
    if not out:
        return exp.true()
    return exp.and_(*out) if len(out) > 1 else out[0]


def _factor(disjunction: exp.Or) -> list[exp.Expression]:
    branches = [conjuncts(b.unnest() if isinstance(b, exp.Paren) else b) for b in disjunction.flatten()]
    common = [c for c in branches[0] if all(any(c == other for other in branch) for branch in branches[1:])]
    rest = [[c for c in branch if not any(c == k for k in common)] for branch in branches]
    result = [c.copy() for c in common]
    if any(not branch for branch in rest):
        return result or [disjunction]  # one branch is only the common part: the OR adds nothing
    if common:
        remainder = exp.or_(*[_grouped(branch) for branch in rest], copy=False)
        result.append(exp.paren(remainder, copy=False))
    else:
        result.append(disjunction)
    result.extend(_implied_per_table(rest))
    return result


def _grouped(branch: list[exp.Expression]) -> exp.Expression:
    if len(branch) == 1:
        return branch[0].copy()
    return exp.paren(exp.and_(*[c.copy() for c in branch]), copy=False)


def _implied_per_table(branches: list[list[exp.Expression]]) -> list[exp.Expression]:
    """For each table every branch restricts on its own: the OR of those restrictions."""
    implied = []
    tables = None
    for branch in branches:
        own = {t for c in branch if (t := _only_table(c))}
        tables = own if tables is None else tables & own
    for table in sorted(tables or ()):
        if all(_only_table(c) == table for branch in branches for c in branch):
            continue  # the OR itself restricts this table alone: nothing to add
        parts = [[c for c in branch if _only_table(c) == table] for branch in branches]
        implied.append(exp.paren(exp.or_(*[_grouped(p) for p in parts], copy=False), copy=False))
    return implied


def _only_table(condition: exp.Expression) -> str | None:
    tables = {c.table.lower() for c in condition.find_all(exp.Column)}
    if len(tables) != 1 or condition.find(*_OPAQUE):
        return None
    table = tables.pop()
    return table or None
