"""A long statement on a large MySQL table as a few statements over key ranges, run at once.

MariaDB runs each statement on one core. A scan or aggregate of millions of rows therefore leaves the
server's other cores idle however long it runs: TPC-H SF 1 Q1 (one GROUP BY over 6 M ``lineitem`` rows)
takes 12 s as one statement. :func:`split_in_ranges` cuts such a statement into ``parallel`` statements,
each restricted to one range of the largest table's primary key, which
:class:`connectors.parallel.ParallelScan` runs on connections of their own and combines::

    SELECT l.l_returnflag AS k1, SUM(l.l_quantity) AS a1, COUNT(*) AS a2 FROM lineitem AS l
    WHERE l.l_shipdate <= … GROUP BY l.l_returnflag
    -> … WHERE l.l_shipdate <= … AND l.l_orderkey < 3000001 GROUP BY …
       … WHERE l.l_shipdate <= … AND l.l_orderkey >= 3000001 GROUP BY …
       at once; each group's partial SUMs and COUNTs added up

The ranges only balance the work (from the key's MIN and MAX, asked once); the first and the last are open,
so every row belongs to exactly one whatever was inserted since. A statement is split when:

- it is one SELECT without ORDER BY, LIMIT, window functions or derived tables, its tables joined by inner
  joins or LEFT JOINs whose right side is not the split table, and each of its subqueries is correlated
  with the split table (an uncorrelated one would run once per range);
- its largest table holds at least :data:`SPLIT_ROWS` rows by the server's estimate, its primary key starts
  with an integer column, and no filter of its own looks rows up through an index: ``=``, an IN list on a
  secondary index's column (each range would search every key again; one hinted away by
  :mod:`connectors.mysql_lookups` is scanned, and splits), a short IN list on the key;
- its rows add up: it does not aggregate (the parts' rows are the rows), or it groups by the split key
  itself (each group lies in one range), or every output is a GROUP BY expression (all of them there) or
  a COUNT, an integer or decimal SUM, a MIN or a MAX, with no HAVING or DISTINCT aggregate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
from sqlglot import exp

from connectors.mysql_lookups import LONG_IN_LIST, Layout
from connectors.sql import conjuncts, keys_in

#: a statement whose largest table has fewer rows (estimated) runs as one
SPLIT_ROWS = 1_000_000


@dataclass(frozen=True)
class Split:
    """The statements of the ranges, and how their rows add up (see :mod:`connectors.parallel`)."""

    statements: tuple[exp.Select, ...]
    combine: tuple[str, ...] | None
    note: str


def split_in_ranges(select: exp.Expression, schema: pa.Schema, parts: int,
                    layout: Callable[[str], Layout | None],
                    bounds: Callable[[str, str], tuple[int, int] | None]) -> Split | None:
    """``select`` as ``parts`` range statements when the rules above hold, else None."""
    if parts < 2 or not isinstance(select, exp.Select) or _unsplittable(select):
        return None
    table = _largest(select, layout)
    if table is None:
        return None
    shape = layout(table.name)
    key = shape.primary[0]
    alias = table.alias_or_name
    if _looks_up(select, table, key, shape) or not _correlated(select, alias):
        return None
    combine = _combination(select, schema, alias, key)
    if combine is False:
        return None
    found = bounds(table.name, key)
    if found is None or found[1] - found[0] < parts:
        return None
    low, high = found
    cuts = [low + (high - low + 1) * i // parts for i in range(1, parts)]
    column = exp.column(key, table=alias, quoted=True)
    ranges = [exp.LT(this=column.copy(), expression=exp.Literal.number(cuts[0]))]
    ranges += [
        exp.and_(exp.GTE(this=column.copy(), expression=exp.Literal.number(start)),
                 exp.LT(this=column.copy(), expression=exp.Literal.number(end)))
        for start, end in zip(cuts, cuts[1:])
    ]
    ranges.append(exp.GTE(this=column.copy(), expression=exp.Literal.number(cuts[-1])))
    how = "partial groups added up" if combine else "rows appended"
    note = f"split: {parts} ranges of {table.name}.{key} run at once, {how}"
    return Split(tuple(select.where(r, copy=True) for r in ranges), combine or None, note)


def _unsplittable(select: exp.Select) -> bool:
    if any(select.args.get(arg) for arg in ("order", "limit", "offset")):
        return True
    return select.find(exp.Window) is not None


def _largest(select: exp.Select, layout) -> exp.Table | None:
    """The largest table a range may restrict (FROM, or inner-joined), when large enough and keyed."""
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is None or not isinstance(from_.this, exp.Table):
        return None
    candidates = [from_.this]
    for join in select.args.get("joins") or []:
        if not isinstance(join.this, exp.Table):
            return None
        side = (join.side or "").upper()
        if side in ("RIGHT", "FULL"):
            return None
        if side != "LEFT":
            candidates.append(join.this)
    best, rows = None, SPLIT_ROWS - 1
    for table in candidates:
        shape = layout(table.name)
        if shape is not None and shape.primary and shape.rows is not None and shape.rows > rows:
            best, rows = table, shape.rows
    return best


def _looks_up(select: exp.Select, table: exp.Table, key: str, shape: Layout) -> bool:
    """Whether a filter of the split table alone finds its rows through an index: an equality on a column
    that leads one, an IN list on such a column (not hinted away by :mod:`connectors.mysql_lookups`: each
    range would search every key again), or a short IN list on the key itself."""
    alias = table.alias_or_name.lower()
    ignored = {i.name.lower() for hint in table.args.get("hints") or [] for i in hint.expressions}
    leading = {columns[0].lower() for name, columns in shape.indexes.items() if columns and name.lower() not in ignored}
    where = select.args.get("where")
    for conjunct in conjuncts(where.this if where is not None else None):
        if isinstance(conjunct, exp.EQ):
            sides = (conjunct.left, conjunct.right)
            columns = [s for s in sides if isinstance(s, exp.Column)]
            if len(columns) != 1 or not any(isinstance(s, exp.Literal) for s in sides):
                continue
            column = columns[0]
        elif isinstance(conjunct, exp.In) and isinstance(conjunct.this, exp.Column) and not conjunct.args.get("query"):
            column = conjunct.this
            if column.name.lower() == key.lower() and keys_in(conjunct) > LONG_IN_LIST:
                continue  # the ranges divide the keys between them
        else:
            continue
        if column.table.lower() in ("", alias) and column.name.lower() in leading:
            return True
    return False


def _correlated(select: exp.Select, alias: str) -> bool:
    """Whether every subquery refers to the split table (so each range runs only its own share of it); a
    subquery whose own table has the same alias refers to that one."""
    alias = alias.lower()
    for inner in select.find_all(exp.Select):
        if inner is select:
            continue
        if any(table.alias_or_name.lower() == alias for table in inner.find_all(exp.Table)):
            return False
        if not any(column.table.lower() == alias for column in inner.find_all(exp.Column)):
            return False
    return True


def _combination(select: exp.Select, schema: pa.Schema, alias: str, key: str):
    """How the parts' rows add up: () when they are simply the rows, a tuple per output column when groups
    are combined, False when they cannot be combined exactly."""
    group = select.args.get("group")
    outputs = [e.this if isinstance(e, exp.Alias) else e for e in select.expressions]
    aggregated = group is not None or any(o.find(exp.AggFunc) for o in outputs)
    if not aggregated and not select.args.get("distinct"):
        return ()
    grouped = list(group.expressions) if group is not None else []
    if any(isinstance(g, exp.Column) and g.name.lower() == key.lower() and g.table.lower() == alias.lower()
           for g in grouped):
        return ()  # each group lies in one range
    if select.args.get("having") or len(outputs) != len(schema):
        return False
    if select.args.get("distinct"):
        return False if aggregated else ("key",) * len(outputs)
    combine = []
    for output, field in zip(outputs, schema):
        if not output.find(exp.AggFunc):
            combine.append("key")
        elif isinstance(output, exp.Count) and not isinstance(output.this, exp.Distinct):
            combine.append("sum")
        elif isinstance(output, exp.Sum) and not pa.types.is_floating(field.type):
            combine.append("sum")
        elif isinstance(output, (exp.Min, exp.Max)):
            combine.append(type(output).__name__.lower())
        else:
            return False
    keys = [o for o, how in zip(outputs, combine) if how == "key"]
    if not all(any(g == k for k in keys) for g in grouped):
        return False  # a group not in the output: two ranges' rows of different groups would merge
    return tuple(combine)
