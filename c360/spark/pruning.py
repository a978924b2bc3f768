"""Which time folders of a ``{yyyy}/{MM}/{dd}/{HH}/`` table a view can read, before Spark lists them.

Spark prunes hive ``key=value/`` folders by a filter itself, but a Stream Analytics template is not a
layout it knows: it would list and read every folder of the table. So when a view reads such a table
directly in a SELECT whose WHERE bounds the table's partition column (``browsing_features``:
``partition_hour`` within the 30 days before ``as_of``), :func:`bounds` computes the bounds with the
project's as-of date, exactly as the c360 files connector does (:func:`connectors.files.partitions.time_bounds`:
only top-level ``column <op> constant`` conjuncts count, so the bounds are a superset), and the table is
read from the folders of those periods only (:meth:`TemplatePartitioning.folders`). The view's own
filters still run on the rows: the folders only leave out rows the filters would drop.

A bound conjunct rejects NULL, so reading fewer rows of the table is exact even when it is the
NULL-supplying side of an outer join in that SELECT. A table read anywhere else (a subquery's FROM
without such a WHERE, no bound on the column) is read whole.
"""

from __future__ import annotations

import datetime as dt

from sqlglot import exp

from c360.planner.pushdown_filters import conjuncts
from c360.spark.views import AS_OF


def bounds(table: exp.Table, column: str, as_of: dt.date | None) -> tuple[dt.datetime, dt.datetime] | None:
    """Inclusive bounds the WHERE of the SELECT reading ``table`` (a node of the view, in c360's SQL) puts on
    its ``column``, with ``getvariable('as_of')`` as ``as_of`` (None: NULL, as the engine's unset variable);
    None when the table is not read directly by a SELECT or a side is unbounded."""
    from connectors.files.partitions import time_bounds

    select = table.parent.parent if isinstance(table.parent, (exp.From, exp.Join)) else None
    if not isinstance(select, exp.Select) or not select.args.get("where"):
        return None
    alias = table.alias_or_name.lower()
    filters = []
    for conjunct in conjuncts(select.args["where"].this):
        columns = list(conjunct.find_all(exp.Column))
        if not columns or any(c.table and c.table.lower() != alias for c in columns):
            continue
        if any(isinstance(node, (exp.Subquery, exp.Select)) for node in conjunct.walk()):
            continue
        filters.append(_bound_variable(_unqualified(conjunct.copy()), as_of))
    low, high = time_bounds(filters, column)
    if low is None or high is None:
        return None
    if as_of is None:  # current_date here and on Spark (UTC, later) may differ by a day around midnight
        low, high = low - dt.timedelta(days=1), high + dt.timedelta(days=1)
    return low, high


def _unqualified(expression: exp.Expression) -> exp.Expression:
    for column in expression.find_all(exp.Column):
        column.set("table", None)
    return expression


def _bound_variable(expression: exp.Expression, as_of: dt.date | None) -> exp.Expression:
    """``getvariable('as_of')`` replaced by the date (a DATE literal) or NULL."""
    for node in list(expression.find_all(exp.Anonymous)):
        argument = node.expressions[0] if node.expressions else None
        if node.name.lower() == "getvariable" and isinstance(argument, exp.Literal) and argument.this.lower() == AS_OF:
            value = exp.cast(exp.Literal.string(as_of.isoformat()), "DATE") if as_of else exp.Null()
            if node is expression:
                return value
            node.replace(value)
    return expression
