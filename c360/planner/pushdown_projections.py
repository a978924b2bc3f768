"""Ask each source only for the columns the query uses.

After qualification every column reference names its table alias, so the
columns a scan must return are those referenced under its alias anywhere in the
statement (correlated subqueries included). An alias reused in another block
only makes the set larger, never smaller: a superset of columns is always safe.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from c360.planner.context import PlanContext


def pushdown_projections(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    wanted: dict[str, set[str]] = {}
    for column in expression.find_all(exp.Column):
        if column.table:
            wanted.setdefault(column.table.lower(), set()).add(column.name.lower())
    for scan in context.scans.values():
        if scan.statement is not None:
            continue  # a pushed fragment returns exactly the columns its SELECT lists
        names = wanted.get(scan.alias, set())
        columns = [c.name for c in scan.table.columns if c.name.lower() in names]
        if not columns:
            columns = [_narrowest(scan.table.columns).name]  # COUNT(*) still needs rows
        scan.columns = tuple(columns)
    return expression


def _narrowest(columns):
    """The cheapest column to move when a query needs rows but no values."""
    def cost(column):
        if column.partition:
            return 0
        if pa.types.is_integer(column.type) or pa.types.is_boolean(column.type):
            return 1
        if pa.types.is_primitive(column.type):
            return 2
        return 3

    return min(columns, key=cost)
