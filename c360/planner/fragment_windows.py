"""Window functions computed by the source, inside a fragment that is its block's whole FROM and WHERE.

Called by :mod:`c360.planner.push_fragments` for a block whose every table and every
condition went into one fragment: each window function of the block's SELECT list that
:mod:`c360.planner.translate` can say with DuckDB's meaning becomes a column of the
fragment, and the block reads that column instead. Over the rows (no GROUP BY) the
window sees exactly the rows DuckDB would; after GROUP BY it sees the groups, so it is
pushed only when HAVING is pushed too (or absent). ``avg`` of integers over a window is
sent as a ``sum`` and a ``count`` over the same window and divided by DuckDB (MariaDB rounds
an average to 4 places, T-SQL divides integers; DuckDB divides a decimal or HUGEINT sum in
long double, so those averages stay local), ``percent_rank`` and ``cume_dist`` as a rank
or a running count and the partition's count (MariaDB sends them rounded to 10 decimals),
so every value is DuckDB's to the last bit. A window that does not translate stays
with DuckDB, computed over the fragment's columns, and leaves a note for EXPLAIN.

Example (shop is MariaDB)::

    SELECT o.order_id, rank() OVER (PARTITION BY o.customer_id ORDER BY o.total DESC) AS r
    FROM shop.orders o WHERE o.status = 'paid'
    -> shop receives: SELECT `o`.`order_id` AS `o_order_id`, RANK() OVER (PARTITION BY `o`.`customer_id`
                      ORDER BY CASE WHEN `o`.`total` IS NULL THEN 1 ELSE 0 END, `o`.`total` DESC) AS `w1`
                      FROM `orders` AS `o` WHERE …
       DuckDB runs:   SELECT _f1.o_order_id AS order_id, _f1.w1 AS r FROM __c360_scan_1 AS _f1

Rows are not fewer for it; what it saves is the columns the windows read, it lets a
fragment's ORDER BY … LIMIT go with windows in the SELECT list, and a condition on a window's
result (``rn = 1``) can then be applied by the source too (:mod:`c360.planner.filter_fragments`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from sqlglot import exp

from c360.planner.fold_constants import fold_constants
from c360.planner.translate import Translator, Untranslatable, duckdb_typed


@dataclass
class PushedWindow:
    """One window of the block: ``outputs`` are the fragment's new columns ``(name, remote, local
    equivalent)``; the block reads ``local`` (over the fragment's alias) where ``node`` stood."""

    node: exp.Window
    outputs: list[tuple[str, exp.Expression, exp.Expression]]
    local: exp.Expression


def own_windows(select: exp.Select, parts=("expressions", "qualify", "order")) -> list[exp.Window]:
    """The window functions of ``select`` itself in ``parts`` (not those of nested queries)."""
    found: list[exp.Window] = []

    def visit(node):
        if isinstance(node, exp.Select) and node is not select:
            return
        if isinstance(node, exp.Window):
            found.append(node)
            return
        for child in node.iter_expressions():
            visit(child)

    for part in parts:
        value = select.args.get(part)
        for node in (value if isinstance(value, list) else [value] if value is not None else []):
            visit(node)
    return found


def push_windows(select: exp.Select, translator: Translator, alias: str, *, connector, aggregate: bool,
                 notes: list[str]) -> list[PushedWindow]:
    """The windows of the block's SELECT list that ``connector``'s source computes; the others stay local
    with a note. ``aggregate``: the block groups (a window's arguments, PARTITION BY and ORDER BY may be the
    block's aggregates)."""
    windows = own_windows(select, ("expressions",))
    if not windows:
        return []
    refused = _refused(connector) or ("the block names its windows (WINDOW … AS)" if select.args.get("windows")
                                      else None)
    if refused is not None:
        notes.append(f"windows kept local: {refused}")
        return []
    subquery, translator.subquery, translator.windows = translator.subquery, None, True
    try:
        return _translated(windows, translator, alias, aggregate, notes)
    finally:
        translator.subquery, translator.windows = subquery, False


def qualify_as_where(select: exp.Select) -> None:
    """A QUALIFY left without a window (all of them went to the source) filters the block's rows: a WHERE."""
    qualify = select.args.get("qualify")
    if qualify is not None and not own_windows(select):
        select.set("qualify", None)
        select.where(qualify.this, copy=False)


def _refused(connector) -> str | None:
    """Why ``connector``'s source is not sent windows, or None."""
    if not getattr(connector.capabilities, "windows", False):
        return f"source '{getattr(connector, 'name', '?')}' is not sent window functions"
    probe = getattr(connector, "window_functions", None)
    try:
        if probe is not None and not probe():
            return "the server's version has no window functions"
    except Exception:  # noqa: BLE001 - a probe that fails means: not known to have them
        return "the server's version is not known"
    return None


def _translated(windows: list[exp.Window], translator: Translator, alias: str, aggregate: bool,
                notes: list[str]) -> list[PushedWindow]:
    pushed: list[PushedWindow] = []
    number = 0
    for node in windows:
        pieces, combine = _pieces(node)
        try:
            translated = [translator.translate(fold_constants(piece), aggregate=aggregate) for piece in pieces]
            if isinstance(node.this, exp.Avg) and not _exact_average(node.this.this, translator):
                # DuckDB divides a decimal or HUGEINT sum in long double: a DOUBLE division may differ in the last bit
                raise Untranslatable(f"avg({node.this.this.sql('duckdb')}) over a window is kept local "
                                     "(only an average of integers is divided exactly as DuckDB does)")
        except Untranslatable as refusal:
            notes.append(f"window kept local: {refusal}")
            continue
        remote = [tree for tree, _ in translated]
        kinds = [kind for _, kind in translated]
        outputs = []
        for piece, tree in zip(pieces, remote):
            number += 1
            outputs.append((f"w{number}", tree, piece))
        local = duckdb_typed(node.this, combine(*[exp.column(name, table=alias) for name, _, _ in outputs]), kinds[0])
        pushed.append(PushedWindow(node, outputs, local))
    return pushed


def partition_keys(pushed: list[PushedWindow]) -> set[tuple[str, str]]:
    """``(alias, column)`` of the columns every pushed window partitions by: a join reduction may restrict the
    fragment by these only (dropping whole partitions leaves the others' windows as they were), by no other."""
    common = None
    for window in pushed:
        keys = {(c.table.lower(), c.name.lower()) for c in window.node.args.get("partition_by") or []
                if isinstance(c, exp.Column) and c.table}
        common = keys if common is None else common & keys
    return common or set()


def _pieces(node: exp.Window):
    """``(windows the source computes, how DuckDB makes the value of them)``: the window itself, or exact
    integer pieces where the source's own value would differ from DuckDB's. ``avg`` is a sum and a count
    (MariaDB rounds an average to 4 places, T-SQL divides integers); ``percent_rank`` and ``cume_dist`` are
    ranks and counts (MariaDB sends a DOUBLE of 10 decimals), divided as DuckDB divides them."""
    function = node.this

    def over(this, *, ordered=True):
        window = node.copy()
        window.set("this", this)
        if not ordered:
            window.set("order", None)
        return window

    if isinstance(function, exp.Avg) and not isinstance(function.this, exp.Distinct):
        return [over(exp.Sum(this=function.this.copy())), over(exp.Count(this=function.this.copy()))], _quotient
    if isinstance(function, exp.PercentRank) and node.args.get("spec") is None:
        return [over(exp.Rank()), over(exp.Count(this=exp.Star()), ordered=False)], _percent_rank
    if isinstance(function, exp.CumeDist) and node.args.get("spec") is None:
        return [over(exp.Count(this=exp.Star())), over(exp.Count(this=exp.Star()), ordered=False)], _quotient
    return [node.copy()], lambda column: column


def _exact_average(argument: exp.Expression, translator: Translator) -> bool:
    """Whether DuckDB's average of ``argument`` is ``CAST(sum AS DOUBLE) / count``: a column of signed integers
    up to BIGINT, or a count (a sum of integers is a HUGEINT, which DuckDB averages in long double)."""
    if isinstance(argument, exp.Count):
        return True
    if isinstance(argument, exp.Column) and argument.table and argument.table.lower() in translator.items:
        column = translator.items[argument.table.lower()].table.column(argument.name)
        return column is not None and pa.types.is_signed_integer(column.type)
    return False


def _quotient(numerator: exp.Expression, denominator: exp.Expression) -> exp.Expression:
    return exp.Paren(this=exp.Div(this=exp.cast(numerator, "DOUBLE"), expression=denominator))


def _percent_rank(rank: exp.Expression, rows: exp.Expression) -> exp.Expression:
    """DuckDB's: (rank - 1) / (rows - 1) as a DOUBLE, 0 for a partition of one row."""
    value = exp.Div(this=exp.cast(exp.Sub(this=rank, expression=exp.Literal.number(1)), "DOUBLE"),
                    expression=exp.Paren(this=exp.Sub(this=rows.copy(), expression=exp.Literal.number(1))))
    return exp.Case(ifs=[exp.If(this=exp.GT(this=rows, expression=exp.Literal.number(1)), true=value)],
                    default=exp.cast(exp.Literal.number(0), "DOUBLE"))
