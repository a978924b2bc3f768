"""Filters on what a pushed fragment computes (a window's result, an aggregate), sent around its statement.

A condition on a window's result cannot join the fragment's own WHERE (that runs before the
window), and sqlglot does not move it into the derived table that computes the window. When
the fragment computes everything the condition reads, the source can still apply it, to its
own result: the statement becomes ``SELECT … FROM (statement) AS _w WHERE condition``. Two
shapes qualify:

* ``WHERE`` (or an inner join's ``ON``) on a fragment, ``QUALIFY`` included once every window of
  its block went with the fragment (the block's QUALIFY is then its WHERE);
* the same on a derived table over one fragment that computes nothing across rows (its
  conditions on the fragment's columns it renames).

Either way only on the side of a join that no outer join null-extends.

DuckDB keeps its own condition (it re-checks rows that already pass). Only conditions on
integer, decimal, date and timestamp columns are sent (a float computed by two engines may
differ in its last bit; strings of a fragment have no collation left to say how to compare
them). A wrapped fragment is no longer reduced by join keys (they would land outside the
window). Example (shop is MariaDB)::

    SELECT * FROM (SELECT o.customer_id, o.order_id, row_number() OVER (PARTITION BY o.customer_id
                   ORDER BY o.order_ts DESC, o.order_id) AS rn FROM shop.orders o) AS t WHERE t.rn = 1
    -> shop receives: SELECT `_w`.`o_customer_id` …, `_w`.`w1` AS `w1` FROM (SELECT … ROW_NUMBER() OVER (…)
                      AS `w1` FROM `orders` AS `o`) AS `_w` WHERE `_w`.`w1` = 1
       (one row per customer instead of every order)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from c360.planner.context import PlanContext, ScanPlan
from c360.planner.fold_constants import fold_constants
from c360.planner.pushdown_filters import conjuncts, nullable_aliases
from c360.planner.translate import Translator, Untranslatable, kind_of
from connectors.base import TableSchema
from connectors.sql import renders

WRAPPER = "_w"
_KINDS = ("int", "decimal", "date", "timestamp")


@dataclass
class _Outputs:
    """The fragment's result as the one table a wrapping condition reads."""

    table: TableSchema


def filter_fragments(select: exp.Select, context: PlanContext, *, dialect_of) -> None:
    """Send ``select``'s conditions on a fragment's outputs around the fragment's statement, where they hold;
    ``dialect_of(connector)`` names the translator's dialect."""
    where = select.args.get("where")
    for item, on in _inner_items(select):
        scan, mapping = _fragment_of(item, context)
        if scan is not None:
            candidates = conjuncts(where.this if where is not None else None) + conjuncts(on)
            _wrap(scan, [(c, item.alias_or_name, mapping) for c in candidates], dialect_of)


def _inner_items(select: exp.Select):
    """``(FROM item, its join's ON or None)`` for each item no outer join null-extends."""
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is None:
        return
    nullable = nullable_aliases(select)
    if from_.this.alias_or_name.lower() not in nullable:
        yield from_.this, None
    for join in select.args.get("joins") or []:
        inner = not join.side and (join.kind or "").upper() in ("", "INNER", "CROSS")
        if inner and join.this.alias_or_name.lower() not in nullable:
            yield join.this, join.args.get("on")


def _fragment_of(item: exp.Expression, context: PlanContext):
    """``(fragment scan, {item's column: fragment column})`` when ``item`` is a fragment or a derived table
    that only renames one fragment's columns; ``(None, None)`` otherwise."""
    if isinstance(item, exp.Table):
        scan = context.scan_for(item)
        if scan is None or scan.statement is None:
            return None, None
        return scan, {column.name: column.name for column in scan.table.columns}
    if not isinstance(item, exp.Subquery) or not isinstance(item.this, exp.Select):
        return None, None
    inner = item.this
    if (item.args.get("alias") is not None and item.args["alias"].columns) or any(inner.args.get(part) for part in (
            "joins", "where", "group", "having", "qualify", "order", "limit", "offset", "distinct", "with", "windows")):
        return None, None
    from_ = inner.args.get("from_") or inner.args.get("from")
    if from_ is None or not isinstance(from_.this, exp.Table):
        return None, None
    scan = context.scan_for(from_.this)
    if scan is None or scan.statement is None:
        return None, None
    mapping = {}
    for projection in inner.expressions:
        column = projection.unalias()
        if column.find(exp.Window, exp.AggFunc, exp.Select):
            return None, None  # computed by DuckDB over every row: no row may go before it
        if isinstance(column, exp.Column) and column.table == from_.this.alias_or_name:
            mapping[projection.alias_or_name] = column.name  # a row-wise expression is simply not mapped
    return scan, mapping


def _wrap(scan: ScanPlan, candidates: list, dialect_of) -> None:
    """Translate the conditions that read only the fragment's outputs and wrap its statement with them."""
    statement = scan.statement
    if statement.args.get("limit") is not None or statement.args.get("order") is not None:
        return
    translator = Translator(dialect_of(scan.connector), {WRAPPER: _Outputs(scan.table)})
    remote = []
    for condition, alias, mapping in candidates:
        columns = list(condition.find_all(exp.Column))
        if not columns or condition.find(exp.Select, exp.Window, exp.AggFunc):
            continue
        if any(c.table != alias or c.name not in mapping for c in columns):
            continue
        if any(kind_of(scan.table.column(mapping[c.name]).type) not in _KINDS for c in columns):
            continue
        local = condition.copy()
        for column in list(local.find_all(exp.Column)):
            column.replace(exp.column(mapping[column.name], table=WRAPPER))
        try:
            remote.append(translator.condition(fold_constants(local)))  # an invalid literal stays local
        except Untranslatable:
            continue
    if not remote:
        return
    wrapped = exp.Select(expressions=[exp.alias_(exp.column(c.name, table=WRAPPER, quoted=True), c.name, quoted=True)
                                      for c in scan.table.columns])
    wrapped.set("from_", exp.From(this=exp.Subquery(this=statement.copy(), alias=exp.TableAlias(
        this=exp.to_identifier(WRAPPER, quoted=True)))))
    wrapped.set("where", exp.Where(this=exp.and_(*remote)))
    if not renders(wrapped, scan.connector.dialect):
        return
    scan.statement = wrapped
    scan.reducible = {}
    scan.filtered = True
    scan.notes.append(f"{len(remote)} condition(s) of the enclosing query applied by the source to its result")
