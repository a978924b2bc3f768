"""Push LIMIT (and ORDER BY … LIMIT) when a scan is the whole query block.

Allowed only when the block reads one table with no joins, grouping,
aggregates, windows, DISTINCT or QUALIFY, every WHERE predicate went to the
source exactly (a superset filter could let the source's first N rows be the
wrong ones), and, for top-N, every ORDER BY key is a plain column whose order the
source shares (not a string under a case-insensitive collation). DuckDB applies
the LIMIT again, so a source that returns more is harmless.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from c360.planner.context import PlanContext, ScanPlan
from c360.planner.pushdown_filters import conjuncts

_STRING_TYPES = (pa.string(), pa.large_string())


def _int(node) -> int | None:
    if node is None:
        return 0
    value = node.expression if isinstance(node, (exp.Limit, exp.Offset)) else node
    if isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit():
        return int(value.this)
    return None


def pushdown_limit(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    for scope in traverse_scope(expression):
        select = scope.expression
        if not isinstance(select, exp.Select) or select.args.get("limit") is None:
            continue
        tables = list(scope.sources.values())
        if len(tables) != 1 or not isinstance(tables[0], exp.Table):
            for source in tables:
                scan = context.scan_for(source) if isinstance(source, exp.Table) else None
                if scan is not None:
                    scan.notes.append("LIMIT kept local: the block reads more than one table")
            continue
        scan = context.scan_for(tables[0])
        if scan is None or scan.statement is not None:  # a fragment's LIMIT is push_fragments' business
            continue
        reason = _blocker(select, scan)
        if reason:
            scan.notes.append(f"LIMIT kept local: {reason}")
            continue
        limit, offset = _int(select.args.get("limit")), _int(select.args.get("offset"))
        if limit is None or offset is None:
            scan.notes.append("LIMIT kept local: not a constant")
            continue
        caps = scan.connector.capabilities
        order = select.args.get("order")
        if order is not None:
            if not caps.top_n:
                scan.notes.append("ORDER BY … LIMIT kept local: the source does not claim top-N")
                continue
            keys = _order_keys(order, scan, select)
            if keys is None:
                scan.notes.append("ORDER BY … LIMIT kept local: a sort key the source would order differently")
                continue
            scan.order_by = keys
        elif not caps.limit:
            scan.notes.append("LIMIT kept local: the source does not claim limit")
            continue
        scan.limit = limit + offset
    return expression


def _blocker(select: exp.Select, scan: ScanPlan) -> str | None:
    if select.args.get("joins"):
        return "the block reads more than one table"
    if select.args.get("group") or select.args.get("having") or select.args.get("qualify"):
        return "the block groups rows"
    if select.args.get("distinct"):
        return "the block is DISTINCT"
    if any(e.find(exp.AggFunc, exp.Window) for e in select.expressions):
        return "the block aggregates or uses window functions"
    where = select.args.get("where")
    pushed = [f.sql() for f in scan.filters]
    if where is not None and len(conjuncts(where.this)) > len(pushed):
        return "a WHERE predicate stays local"
    if not scan.exact:
        return "a filter was pushed only as a superset"
    return None


def _order_keys(order: exp.Order, scan: ScanPlan, select: exp.Select):
    outputs = {e.alias_or_name.lower(): e.unalias() for e in select.expressions}
    keys = []
    for ordered in order.expressions:
        column = ordered.this
        if isinstance(column, exp.Column) and not column.table:
            column = outputs.get(column.name.lower(), column)  # ORDER BY an output name
        if not isinstance(column, exp.Column) or column.table.lower() != scan.alias:
            return None
        found = scan.table.column(column.name)
        if found is None or (found.type in _STRING_TYPES and not found.exact_strings) or found.partition:
            return None
        copy = ordered.copy()
        copy.set("this", exp.column(found.name))
        keys.append(copy)
    return tuple(keys)

