"""An EXISTS subquery selects nothing that matters: make it ``SELECT 1`` before ``*`` is expanded.

``WHERE NOT EXISTS (SELECT * FROM shop.orders o WHERE o.o_custkey = c.c_custkey)`` (TPC-H Q22) would
otherwise ask the source for every column of ``orders`` when the subquery stays a scan of its own.
Only the rows count; a subquery with HAVING or DISTINCT keeps its list (HAVING may name it).

Example::

    EXISTS (SELECT * FROM t WHERE t.k = o.k)  ->  EXISTS (SELECT 1 FROM t WHERE t.k = o.k)
"""

from __future__ import annotations

from sqlglot import exp

from c360.planner.context import PlanContext


def prune_exists(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    for exists in expression.find_all(exp.Exists):
        query = exists.this.this if isinstance(exists.this, exp.Subquery) else exists.this
        if isinstance(query, exp.Select) and not query.args.get("having") and not query.args.get("distinct"):
            query.set("expressions", [exp.Literal.number(1)])
    return expression
