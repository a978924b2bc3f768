"""A GROUP BY key holding a subquery that the SELECT list repeats becomes that item's position.

Each copy of a subquery reads its tables through a scan of its own, and a registered stream is
read once: the copy in GROUP BY and the copy in the SELECT list would get different scan names,
and DuckDB could no longer see that the item is the key (``column … must appear in the GROUP BY
clause``), or the item's copy became a pushed fragment while the key's still read the table's own
scan. Grouping by the item's position says the same and leaves one copy. Applied before tables are
resolved (the query DuckDB runs when nothing is rewritten) and again after ``qualify``, which spells
positions out (the tree the rewriting rules work on).

Example::

    SELECT (SELECT max(s.x) FROM s WHERE s.k = a.k) AS m, count(*) FROM a GROUP BY (SELECT max(s.x) …)
    ->  SELECT (SELECT max(s.x) FROM s WHERE s.k = a.k) AS m, count(*) FROM a GROUP BY 1
"""

from __future__ import annotations

from sqlglot import exp

from c360.planner.context import PlanContext


def group_by_position(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    for select in expression.find_all(exp.Select):
        group = select.args.get("group")
        if group is None:
            continue
        items = [p.this if isinstance(p, exp.Alias) else p for p in select.expressions]
        for key in group.expressions:
            if not key.find(exp.Select):
                continue
            position = next((i for i, item in enumerate(items) if item == key), None)
            if position is not None:
                key.replace(exp.Literal.number(position + 1))
    return expression
