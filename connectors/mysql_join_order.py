"""A pushed two-table join on MySQL starts from the filtered table when the other is found by its primary key.

MariaDB's optimizer guesses how many rows a table's filters keep from index statistics only; filters on
unindexed columns (``l_shipmode IN (…)``, ``l_commitdate < l_receiptdate``) count for little. In TPC-H
SF 1 Q12 it therefore starts from the unfiltered ``orders`` and looks up each order's lines: 1.5 M probes
into ``lineitem``, 6.7–8.9 s. Starting from ``lineitem``, whose five filters keep about 30,000 rows, and
looking up each row's order by the primary key took 5.3–5.4 s. :func:`drive_from_filtered_side` tells
MariaDB so with ``STRAIGHT_JOIN`` when, in one SELECT of exactly two tables joined by an inner join:

- one table (the *probed* one) has no filter of its own, and the join's equalities cover its whole
  primary key, so each row of the other finds at most one partner by the key;
- the other (the *driving* one) has filters that, at :data:`FILTER_KEEPS` each, leave at most
  :data:`PROBES` of the probed table's rows (by the server's row estimates) to look up.

Example::

    SELECT … FROM `orders` AS `o` CROSS JOIN `lineitem` AS `l`
    WHERE `o`.`o_orderkey` = `l`.`l_orderkey` AND `l`.`l_shipmode` IN ('MAIL', 'SHIP') AND …
    -> SELECT … FROM `lineitem` AS `l` STRAIGHT_JOIN `orders` AS `o` WHERE …

Anything else (a join filtered on both sides, an outer join, three tables, unknown statistics) is left to
MariaDB's optimizer.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from connectors.mysql_lookups import Layout
from connectors.sql import conjuncts

#: the fraction of rows each filter of the driving table is assumed to keep (as the join reduction assumes)
FILTER_KEEPS = 0.2
#: the most lookups by primary key, as a fraction of the probed table's rows, worth forcing
PROBES = 0.1


def drive_from_filtered_side(select: exp.Expression, layout: Callable[[str], Layout | None],
                             notes: list[str] | None = None) -> exp.Expression:
    """``select`` with ``STRAIGHT_JOIN`` (driving table first) in each SELECT where the rule above holds;
    ``select`` itself when none does (the planner's statement may be cached: only a copy is changed)."""
    changed = select
    for index, node in enumerate(list(select.find_all(exp.Select))):
        order = _order(node, layout)
        if order is None:
            continue
        if changed is select:
            changed = select.copy()
        target = list(changed.find_all(exp.Select))[index]
        driving, probed, filters = order
        _straight(target, driving.alias_or_name, probed.alias_or_name)
        if notes is not None:
            notes.append(f"join order forced: {driving.name} ({filters} filters) first, {probed.name} looked up "
                         f"by its primary key")
    return changed


def _order(select: exp.Select, layout: Callable[[str], Layout | None]):
    """``(driving table, probed table, filter count)`` when the rule holds for this SELECT, else None."""
    joins = select.args.get("joins") or []
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is None or len(joins) != 1 or joins[0].side or (joins[0].kind or "").upper() not in ("", "INNER", "CROSS"):
        return None
    tables = [from_.this, joins[0].this]
    if not all(isinstance(t, exp.Table) for t in tables):
        return None
    where = select.args.get("where")
    parts = conjuncts(where.this if where is not None else None) + conjuncts(joins[0].args.get("on"))
    aliases = [t.alias_or_name.lower() for t in tables]
    own = {alias: [] for alias in aliases}
    pairs = []
    for conjunct in parts:
        named = {c.table.lower() for c in conjunct.find_all(exp.Column)}
        if "" in named or not named <= set(aliases):
            return None  # an unqualified or outer column: the statement is not what this rule reads
        if len(named) == 1:
            own[named.pop()].append(conjunct)
        elif isinstance(conjunct, exp.EQ) and all(isinstance(s, exp.Column) for s in (conjunct.left, conjunct.right)):
            pairs.append(conjunct)
    for driving, probed in ((tables[0], tables[1]), (tables[1], tables[0])):
        d, p = driving.alias_or_name.lower(), probed.alias_or_name.lower()
        if own[p] or not own[d]:
            continue
        probed_shape, driving_shape = layout(probed.name), layout(driving.name)
        if probed_shape is None or driving_shape is None or not probed_shape.primary \
                or probed_shape.rows is None or driving_shape.rows is None:
            continue
        keyed = {side.name.lower() for pair in pairs for side in (pair.left, pair.right) if side.table.lower() == p}
        if not {c.lower() for c in probed_shape.primary} <= keyed:
            continue
        if driving_shape.rows * FILTER_KEEPS ** len(own[d]) <= PROBES * probed_shape.rows:
            return driving, probed, len(own[d])
    return None


def _straight(select: exp.Select, driving: str, probed: str) -> None:
    """Rewrite ``FROM a <join> b`` as ``FROM driving STRAIGHT_JOIN probed``, conditions kept."""
    from_ = select.args.get("from_") or select.args.get("from")
    join = select.args["joins"][0]
    tables = {t.alias_or_name: t for t in (from_.this, join.this)}
    first, second = tables[driving], tables[probed]
    condition = join.args.get("on")
    from_.set("this", first.copy())
    select.set("joins", [exp.Join(this=second.copy(), kind="STRAIGHT_JOIN",
                                  **({"on": condition.copy()} if condition is not None else {}))])

