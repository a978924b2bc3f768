"""Reading accelerated copies instead of the sources (:mod:`c360.acceleration`).

The engine decides, per statement, which copies are usable (their age within the
session's ``max_staleness``, the right as-of date) and puts them in
``context.copies``; :func:`c360.planner.resolve_tables.expand_views` and
:func:`~c360.planner.resolve_tables.resolve_tables` call :func:`copy_reference` for
a view or table that has one. The reference becomes a scan of the copy's data file,
a source like any other to the later rules (filters, projections and limits are
pushed into it); for a ``live_tail`` table it becomes the copy's rows before the
watermark ``UNION ALL`` the live rows at or past it. The scan's note names the copy
and its age (EXPLAIN prints it).
"""

from __future__ import annotations

from sqlglot import exp

from c360.acceleration.connector import SOURCE, live_connector
from c360.planner.context import PlanContext, ScanPlan
from c360.planner.parse import literal

#: meta key on the live table of a tail: it is bound to its source, not to the copy again
LIVE = "c360_live"


def copy_reference(name: str, table: exp.Table, context: PlanContext, bind_live=None) -> exp.Expression | None:
    """What replaces ``table`` (a reference to view or table ``name``) when it has a usable copy, else None.

    ``bind_live(table)`` binds the live part of a tail to its source (resolve_tables' own binding).
    """
    chosen = context.copies.get(name.lower())
    if chosen is None or LIVE in table.meta:
        return None
    alias = table.alias_or_name
    scan_name = context.new_scan_name()
    connector = chosen.connector
    context.scans[scan_name] = ScanPlan(
        name=scan_name, source=SOURCE, table=connector.table_schema(), alias=alias.lower(), connector=connector,
        notes=[_note(chosen)],
    )
    context.used_copies.append(chosen)
    copy_table = exp.Table(this=exp.to_identifier(scan_name), alias=exp.TableAlias(this=exp.to_identifier(alias)))
    if chosen.tail is None:
        return copy_table
    column, watermark = chosen.tail
    bound = literal(watermark)
    older = exp.select(exp.Star()).from_(copy_table).where(
        exp.LT(this=exp.column(column, table=alias), expression=bound.copy()))
    live = table.copy()
    live.meta[LIVE] = True
    live_bound = bind_live(live) if bind_live is not None else live
    live_scan = context.scans.get(live_bound.name) if isinstance(live_bound, exp.Table) else None
    if live_scan is not None:  # the process's live tail of the table: each new file read once (connector.py)
        live_scan.connector = live_connector(live_scan.connector)
    newer = exp.select(exp.Star()).from_(live_bound).where(
        exp.GTE(this=exp.column(column, table=alias), expression=bound.copy()))
    union = exp.Union(this=older, expression=newer, distinct=False, by_name=True)
    return exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _note(chosen) -> str:
    """What EXPLAIN says about the copy's use (its age is added when EXPLAIN runs: a plan may be cached)."""
    if chosen.tail is None:
        return f"read from the accelerated copy of {chosen.name} instead of its sources"
    column, watermark = chosen.tail
    return (f"read from the accelerated copy of {chosen.name} where {column} < {watermark!s}; "
            f"rows at or past it are read live")
