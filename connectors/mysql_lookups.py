"""Long IN lists on big MySQL tables: scan the table instead of looking each key up.

A join reduction (:mod:`c360.reductions`) sends a MySQL table ``column IN (k1, …, kN)`` with up to
50,000 keys. With an index led by ``column``, MariaDB reads each key's index range and then each
matching row from the clustered (primary key) index: one page at random per row. While the table fits
the server's page cache (``innodb_buffer_pool_size``) that is cheap; once it outgrows it, each lookup
is a disk read, where a full scan reads every page once, in order. TPC-H SF 1 Q3, 30,142 customer keys
on ``orders.o_custkey`` (orders 204 MB, buffer pool 128 MB): 22–28 s through the index, 4–6 s
scanning. MariaDB's optimizer does not weigh its cache, so :func:`scan_instead_of_lookups` tells it,
with ``IGNORE INDEX``, for the secondary indexes led by such a column.

Example (``orders`` larger than the page cache)::

    SELECT … FROM `orders` AS `o` WHERE `o`.`o_custkey` IN (… 30,142 keys …)
    -> SELECT … FROM `orders` AS `o` IGNORE INDEX (`orders_o_custkey`) WHERE `o`.`o_custkey` IN (…)

A short list (at most :data:`LONG_IN_LIST` keys) keeps the index: a few random reads beat any scan, and
so does an index that holds every column a one-table statement reads (InnoDB keeps the primary key in each
secondary index): ``SELECT o_custkey FROM orders WHERE o_custkey IN (…)`` reads only the index. In a join
it is hinted all the same: each key found there is then looked up in the other table, at random (TPC-H Q7:
12,008 customers' orders found through the index, then their lines, 15 s; scanned, 5 s).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from connectors.sql import keys_in

#: keys in one IN list above which a table larger than the page cache is scanned instead of searched
LONG_IN_LIST = 1_000


@dataclass(frozen=True)
class Layout:
    """What the server says of one table: its size, its indexes (name -> columns in order, ``PRIMARY``
    for the primary key) and its row estimate."""

    data_bytes: int | None
    indexes: dict[str, tuple[str, ...]]
    rows: int | None = None

    @property
    def primary(self) -> tuple[str, ...]:
        return self.indexes.get("PRIMARY", ())

    def covers(self, index: str, columns: set[str]) -> bool:
        """Whether ``index`` holds every one of ``columns`` (lower-case): a read needing no table row."""
        held = {c.lower() for c in self.indexes.get(index, ()) + self.primary}
        return columns <= held


def scan_instead_of_lookups(select: exp.Expression, layout: Callable[[str], Layout | None],
                            cache_bytes: Callable[[], int | None], notes: list[str] | None = None) -> exp.Expression:
    """``select`` with ``IGNORE INDEX`` on each table larger than the page cache (``cache_bytes()``, asked
    only when a long IN list is there) that a long IN list would search through a secondary index;
    ``select`` itself when there is none (the planner's statement may be cached: only a copy is hinted).
    Each hint is said, for EXPLAIN ANALYZE, in ``notes``."""
    if not any(keys_in(found) > LONG_IN_LIST for found in select.find_all(exp.In)):
        return select
    cache = cache_bytes()
    if not cache:
        return select
    hinted = select.copy()
    changed = False
    for found in hinted.find_all(exp.In):
        column = found.this
        if not isinstance(column, exp.Column) or keys_in(found) <= LONG_IN_LIST:
            continue
        table = _table_of(found, column)
        if table is None:
            continue
        alone = len(_from_tables(table.find_ancestor(exp.Select))) == 1
        shape = layout(table.name)
        if shape is None or shape.data_bytes is None or shape.data_bytes <= cache:
            continue
        used = _columns_of(hinted, table)
        names = {name for name, columns in shape.indexes.items() if name != "PRIMARY" and columns
                 and columns[0].lower() == column.name.lower() and not (alone and shape.covers(name, used))}
        if not names:
            continue
        for hint in table.args.get("hints") or []:  # another long list on the same table hinted it already
            names.update(identifier.name for identifier in hint.expressions)
        table.set("hints", [exp.IndexTableHint(
            this="IGNORE", expressions=[exp.to_identifier(n, quoted=True) for n in sorted(names)])])
        changed = True
        if notes is not None:
            notes.append(f"{table.name} read by a scan, not through {', '.join(sorted(names))}: "
                         f"{keys_in(found):,} keys, and the table ({shape.data_bytes / 1e6:,.0f} MB) "
                         f"outgrows the server's page cache ({cache / 1e6:,.0f} MB)")
    return hinted if changed else select


def _table_of(node: exp.In, column: exp.Column) -> exp.Table | None:
    """The table of the nearest SELECT whose alias (or name) ``column`` names; the only one when unqualified."""
    select = node.find_ancestor(exp.Select)
    while select is not None:
        tables = _from_tables(select)
        if not column.table and len(tables) == 1:
            return tables[0]
        for table in tables:
            if column.table and column.table.lower() in {table.alias_or_name.lower(), table.name.lower()}:
                return table
        select = select.find_ancestor(exp.Select)
    return None


def _columns_of(select: exp.Expression, table: exp.Table) -> set[str]:
    """The columns (lower-case) ``select`` reads of ``table``: those qualified by its alias, and the
    unqualified ones."""
    alias = table.alias_or_name.lower()
    return {column.name.lower() for column in select.find_all(exp.Column) if column.table.lower() in ("", alias)}


def _from_tables(select: exp.Select) -> list[exp.Table]:
    found = []
    from_ = select.args.get("from_") or select.args.get("from")
    for source in [from_.this if from_ is not None else None] + [j.this for j in select.args.get("joins") or []]:
        if isinstance(source, exp.Table):
            found.append(source)
    return found
