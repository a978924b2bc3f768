"""Push the largest single-source part of every query block into its source, as one statement.

For each SELECT block, innermost first, the tables of one SQL source that the
block joins (inner joins, and LEFT JOINs whose condition stays inside the group)
become one *fragment*: a SELECT the source runs, with every WHERE/ON conjunct
that references only them and that :mod:`c360.planner.translate` can say with
DuckDB's meaning there, ``EXISTS``/``IN`` subqueries of the same source included
(semi- and anti-joins). The block then reads the fragment's rows as one scan.

When the fragment is the whole block (one source, nothing left to filter
locally) more goes with it:

* ``GROUP BY`` and aggregates: the source groups and returns one row per group
  with ``count``/``sum``/``min``/``max`` (``avg`` as a sum and a count, divided
  by DuckDB), ``HAVING`` too when it translates; whatever else the block
  computes (division, date arithmetic, windows) is computed by DuckDB over the
  groups;
* ``ORDER BY … LIMIT``, with DuckDB's NULL order spelled out.

Example (shop is MariaDB)::

    SELECT o.status, count(*), avg(o.total) FROM shop.orders o
    WHERE o.order_ts >= DATE '2026-01-01' GROUP BY o.status
    -> shop receives: SELECT o.status COLLATE utf8mb4_nopad_bin AS k1, COUNT(*) AS a1,
                      SUM(o.total) AS a2, COUNT(o.total) AS a3 FROM orders AS o
                      WHERE o.order_ts >= CAST('2026-01-01 00:00:00' AS DATETIME)
                      GROUP BY o.status COLLATE utf8mb4_nopad_bin
       DuckDB runs:   SELECT f.k1 AS status, f.a1 AS "count_star()", CAST(f.a2 AS DOUBLE) / f.a3 …

A join the source would run without an index stays local (each table its own
fragment), and every refusal leaves a note for EXPLAIN. The aggregate and top-N
levels live in :mod:`c360.planner.fragment_aggregates`, subqueries of the same
source in :mod:`c360.planner.fragment_subqueries`, windows in
:mod:`c360.planner.fragment_windows`, the block's items in
:mod:`c360.planner.fragment_items`. The rule rewrites the
query DuckDB runs; :mod:`c360.planner.binder` types the fragment's columns as
DuckDB would have typed the expressions it replaces.
"""

from __future__ import annotations

import re

import duckdb
from sqlglot import exp
from sqlglot.optimizer.pushdown_projections import pushdown_projections
from sqlglot.optimizer.scope import traverse_scope

from c360.planner import binder
from c360.planner.context import PlanContext, ScanPlan
from c360.planner.filter_fragments import filter_fragments
from c360.planner.fold_constants import fold_constants
from c360.planner.fragment_aggregates import PushesAggregates, block_aggregates
from c360.planner.fragment_items import (
    Group,
    Item,
    block_columns,
    block_items,
    referenced_aliases,
    remote_table,
    shown,
)
from c360.planner.fragment_subqueries import PushesSubqueries
from c360.planner.fragment_windows import own_windows, partition_keys, push_windows, qualify_as_where
from c360.planner.pushdown_filters import conjuncts, nullable_aliases
from c360.planner.translate import Translator, Untranslatable
from connectors.base import Column, TableSchema
from connectors.sql import renders


def push_fragments(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    if not context.allow_fragments or not any(_speaks_sql(scan) for scan in context.scans.values()):
        return expression
    context.original_scans = list(context.scans.values())
    unpruned = expression.copy()
    expression = pushdown_projections(expression)  # derived tables lose the columns nobody reads
    scopes = [scope for scope in traverse_scope(expression) if isinstance(scope.expression, exp.Select)]
    correlated = {id(scope.expression) for scope in scopes if scope.external_columns}
    for select in [scope.expression for scope in scopes]:  # innermost first: subqueries already pushed
        if id(select) in correlated:
            continue
        try:
            _Block(select, context).push()
        except Untranslatable as refusal:
            for item in block_items(select, context):
                if item.scan is not None:
                    item.scan.notes.append(f"kept as a plain scan: {refusal}")
        filter_fragments(select, context, dialect_of=_dialect)
    # nothing pushed: DuckDB runs the user's query (context.output) with every column its derived tables
    # list, so the scans must be narrowed by that query, not by the pruned one (fuzz seed 201042)
    return expression if context.rewritten else unpruned


def _speaks_sql(scan: ScanPlan | None) -> bool:
    return scan is not None and scan.statement is None and getattr(scan.connector.capabilities, "statements", False)


# --- one block ----------------------------------------------------------------------------------------


class _Block:
    def __init__(self, select: exp.Select, context: PlanContext):
        self.select = select
        self.context = context
        self.items = block_items(select, context)
        self.aliases = {i.alias for i in self.items}
        self.nullable = nullable_aliases(select)

    # groups ------------------------------------------------------------------------------------------

    def groups(self) -> list[Group]:
        sql_items = [i for i in self.items if _speaks_sql(i.scan)]
        parent = {i.alias: i.alias for i in sql_items}

        def find(alias):
            while parent[alias] != alias:
                parent[alias] = parent[parent[alias]]
                alias = parent[alias]
            return alias

        joinable = {i.alias: i for i in sql_items if i.inner and i.alias not in self.nullable}
        for predicate in self._inner_conjuncts():
            pair = _equi_pair(predicate)
            if pair is None:
                continue
            (a, a_column), (b, b_column) = pair
            if a in joinable and b in joinable and a != b:
                first, second = joinable[a], joinable[b]
                if first.scan.source == second.scan.source and first.scan.connector is second.scan.connector:
                    reason = _join_refused(first.scan, a_column, second.scan, b_column)
                    if reason is None:
                        parent[find(a)] = find(b)
                    else:
                        second.scan.notes.append(f"join with {first.scan.qualified_name} kept local: {reason}")
        by_root: dict[str, Group] = {}
        for item in sql_items:
            if item.alias in joinable:
                root = find(item.alias)
                by_root.setdefault(root, Group(item.scan.source, [])).items.append(item)
        groups = list(by_root.values())
        for item in sql_items:
            if item.alias in joinable:
                continue
            host = self._left_host(item, groups)
            if host is not None:
                host.left.append(item)
            else:
                groups.append(Group(item.scan.source, [item]))
        return groups

    def _left_host(self, item: Item, groups: list[Group]) -> Group | None:
        """The group a LEFT JOIN item can join inside its source: its ON references only that group."""
        if not item.left or item.alias in self._nullable_beyond(item):
            return None
        on = item.join.args.get("on")
        if on is None:
            return None
        refs = referenced_aliases(on, self.aliases) - {item.alias}
        for group in groups:
            if refs and refs <= group.aliases and group.source == item.scan.source \
                    and group.items[0].scan.connector is item.scan.connector:
                return group
        return None

    def _nullable_beyond(self, item: Item) -> set[str]:
        """Aliases made nullable by outer joins other than ``item``'s own LEFT JOIN."""
        names = set()
        seen = []
        for other in self.items:
            side = (other.join.side or "").upper() if other.join is not None else ""
            if other is not item:
                if side in ("RIGHT", "FULL"):
                    names.update(seen)
                if side in ("LEFT", "FULL"):
                    names.add(other.alias)
            seen.append(other.alias)
        return names

    def _inner_conjuncts(self) -> list[exp.Expression]:
        where = self.select.args.get("where")
        found = conjuncts(where.this if where is not None else None)
        for item in self.items:
            if item.join is not None and item.inner and item.alias not in self.nullable:
                found += conjuncts(item.join.args.get("on"))
        return found

    # pushing -----------------------------------------------------------------------------------------

    def push(self) -> None:
        groups = self.groups()
        if not groups:
            return
        for group in groups:
            _Fragment(self, group).build()


def _equi_pair(predicate: exp.Expression):
    if isinstance(predicate, exp.EQ) and isinstance(predicate.left, exp.Column) \
            and isinstance(predicate.right, exp.Column):
        left, right = predicate.left, predicate.right
        if left.table and right.table and left.table.lower() != right.table.lower():
            return (left.table.lower(), left.name), (right.table.lower(), right.name)
    return None


def _join_refused(a: ScanPlan, a_column: str, b: ScanPlan, b_column: str) -> str | None:
    """Why joining ``a`` and ``b`` in their source would cost more than pulling both, or None.

    MySQL/MariaDB join by nested loops: without an index on one side's key, every
    row of one side scans the other. PostgreSQL, SQL Server and SQLite hash or
    auto-index joins. Statistics come from discovery (:class:`TableSchema`
    ``indexes``); a table without statistics is assumed indexed.
    """
    dialect = _dialect(a.connector)
    if dialect != "mysql":
        return None
    for scan, column in ((a, a_column), (b, b_column)):
        if scan.table.indexed(column) in (None, True):  # unknown statistics: assume the index is there
            return None
    return (f"no index on {a.qualified_name}.{a_column} or {b.qualified_name}.{b_column} "
            "(MariaDB would join by nested loops)")


def _dialect(connector) -> str:
    name = getattr(connector, "dialect_name", None)
    if name:
        return name
    dialect = getattr(connector, "dialect", None)
    text = getattr(dialect, "__name__", str(dialect)).lower()
    for known in ("mysql", "postgres", "tsql", "sqlite"):
        if known in text:
            return known
    return text


# --- one fragment -----------------------------------------------------------------------------------------


class _Fragment(PushesAggregates, PushesSubqueries):
    """Turns one group of a block into a pushed scan and rewrites the block around it."""

    def __init__(self, block: _Block, group: Group):
        self.block = block
        self.group = group
        self.context = block.context
        first = group.items[0].scan
        self.connector = first.connector
        self.dialect = _dialect(first.connector)
        self.absorbed: list[ScanPlan] = []
        self.number = block.context.fragments = block.context.fragments + 1
        self.alias = f"_f{self.number}"
        scans = {i.alias: i.scan for i in group.ordered(block.items)}
        self.translator = Translator(self.dialect, scans, exact_collation=self._exact_collation,
                                     subquery=self._subquery)
        self.notes: list[str] = []
        self.filters = 0

    def _exact_collation(self, column):
        probe = getattr(self.connector, "exact_collation", None)
        if probe is None:
            return None
        try:
            return probe(column)
        except Exception:  # noqa: BLE001 - a probe that fails means: no exact collation known
            return None

    def _windows(self, *, aggregate: bool) -> list:
        """The block's windows this source computes (:mod:`c360.planner.fragment_windows`)."""
        return push_windows(self.block.select, self.translator, self.alias, connector=self.connector,
                            aggregate=aggregate, notes=self.notes)

    # what moves ---------------------------------------------------------------------------------------

    def build(self) -> None:
        block, group = self.block, self.group
        select = block.select
        members = group.ordered(block.items)
        aliases = group.aliases
        left_on = {}
        for item in group.left:
            try:
                left_on[item.alias] = self.translator.condition(fold_constants(item.join.args["on"]))
            except Untranslatable as refusal:
                item.scan.notes.append(f"LEFT JOIN kept local: {refusal}")
                self.group.left.remove(item)  # it stays a scan of its own; the rest of the group goes on
                return self.build()
        moved, remote_conditions = self._moved_conjuncts(select, members, aliases)
        self.moved = moved  # taken out of the block only once the fragment is registered (_commit)
        self.filters = sum(1 for m in moved if _equi_pair(m) is None)
        nullable_single = len(members) == 1 and not members[0].inner
        whole = (len(members) == len(block.items) and not self._remaining_conditions(select, moved))
        remote = self._remote_from(members, remote_conditions, left_on)
        if whole and not nullable_single:
            pushed = self._push_whole(remote, members)
            if pushed:
                return
        self._push_rows(remote, members, whole=whole and not nullable_single)

    def _moved_conjuncts(self, select: exp.Select, members: list[Item], aliases: set[str]):
        """``(moved conjunct nodes, their remote forms)``: what this fragment takes from WHERE and ON."""
        candidates: list[exp.Expression] = []
        single_left = len(members) == 1 and members[0].left
        if single_left:  # the nullable side of a LEFT JOIN takes the conditions of its own ON only
            candidates = conjuncts(members[0].join.args.get("on"))
        elif any(m.alias in self.block.nullable and not any(m is h for h in self.group.left) for m in members):
            candidates = []  # null-extended by a join outside the fragment: a condition on it holds after that join
        else:
            where = select.args.get("where")
            candidates = conjuncts(where.this if where is not None else None)
            for item in self.block.items:
                if item.join is not None and item.inner and item.alias not in self.block.nullable:
                    candidates += conjuncts(item.join.args.get("on"))
        moved, remote = [], []
        for predicate in candidates:
            refs = referenced_aliases(predicate, self.block.aliases)
            if not refs or not refs <= aliases:
                continue
            before = len(self.absorbed)
            try:
                remote.append(self.translator.condition(fold_constants(predicate)))
                moved.append(predicate)
            except Untranslatable as refusal:
                del self.absorbed[before:]
                self.notes.append(f"kept local: {shown(predicate)} ({refusal})")
        return moved, remote

    def _remaining_conditions(self, select: exp.Select, moved: list[exp.Expression]) -> bool:
        where = select.args.get("where")
        left = [p for p in conjuncts(where.this if where is not None else None) if not any(p is m for m in moved)]
        for item in self.block.items:
            if item.join is not None and item.inner:
                left += [p for p in conjuncts(item.join.args.get("on")) if not any(p is m for m in moved)]
        return bool(left)

    def _commit(self, members: list[Item]) -> None:
        """The fragment is registered: take what it computes out of the block, and read it instead."""
        self._remove_moved(self.block.select, members, self.moved)
        self._replace_items(members)

    def _remove_moved(self, select: exp.Select, members: list[Item], moved: list[exp.Expression]) -> None:
        """Take the moved conjuncts out of WHERE/ON; the group's own joins go, their other conditions to WHERE."""
        def without(condition):
            kept = [p for p in conjuncts(condition) if not any(p is m for m in moved)]
            return exp.and_(*kept) if kept else None

        single_left = len(members) == 1 and members[0].left
        where = select.args.get("where")
        remaining = without(where.this) if where is not None else None
        to_where = []
        member_aliases = {m.alias for m in members}
        for item in members[1:] if not single_left else []:
            on = item.join.args.get("on")
            if item.inner and on is not None:
                kept = without(on)
                if kept is not None:
                    to_where.append(kept)
        for item in self.block.items:
            if item.alias in member_aliases or item.join is None:
                continue
            if item.inner and item.join.args.get("on") is not None:
                item.join.set("on", without(item.join.args["on"]))
        if single_left or (members[0].join is not None and members[0].inner):
            # the first member's own join stays, with the placeholder: its ON keeps what did not move
            kept = without(members[0].join.args.get("on"))
            members[0].join.set("on", kept if kept is not None else exp.true())
        condition = exp.and_(*[c for c in [remaining, *to_where] if c is not None]) if (remaining or to_where) else None
        select.set("where", exp.Where(this=condition) if condition is not None else None)

    # the remote statement ----------------------------------------------------------------------------

    def _remote_from(self, members: list[Item], conditions: list[exp.Expression], left_on: dict) -> exp.Select:
        remote = exp.Select()
        remote.set("from_", exp.From(this=remote_table(members[0])))
        for item in members[1:]:
            if item.alias in left_on:
                remote.append("joins", exp.Join(this=remote_table(item), side="LEFT", on=left_on[item.alias]))
            else:
                remote.append("joins", exp.Join(this=remote_table(item), kind="CROSS"))
        if conditions:
            remote.set("where", exp.Where(this=exp.and_(*conditions)))
        return remote

    def _push_rows(self, remote: exp.Select, members: list[Item], *, whole: bool = False) -> None:
        """Level 1: the fragment returns the group's rows, the columns the block still needs; when the
        fragment is the whole block and nothing is filtered locally, its ORDER BY … LIMIT goes too."""
        select = self.block.select
        aliases = {m.alias for m in members}
        windows = self._windows(aggregate=False) if whole and not select.args.get("group") \
            and not block_aggregates(select) else []
        # the same window in QUALIFY or ORDER BY reads the same column: computed once, as DuckDB would
        same = [node for node in own_windows(select) if any(node == w.node for w in windows)]
        skip = frozenset(id(m) for m in self.moved) | {id(node) for node in same}
        columns: dict[tuple[str, str], str] = {}
        for column in block_columns(select, aliases, skip):
            key = (column.table.lower(), column.name.lower())
            if key not in columns:
                columns[key] = _output_name(f"{key[0]}_{key[1]}", columns.values())
        outputs = []
        for (alias, name), out in columns.items():
            local = exp.column(name, table=alias)
            remote_column, kind = self.translator.translate(local)
            outputs.append((out, remote_column, local, kind))
        computed = [output for window in windows for output in window.outputs]
        if not outputs and not computed:
            outputs.append(("_one", exp.Literal.number(1), exp.Literal.number(1), None))
        remote.set("expressions", [exp.alias_(r, out, quoted=True) for out, r, _, _ in outputs]
                   + [exp.alias_(r, out, quoted=True) for out, r, _ in computed])
        local = self._local_equivalent(members, [(out, equivalent) for out, _, equivalent, _ in outputs]
                                       + [(out, equivalent) for out, _, equivalent in computed])
        if not self._renders(remote):
            return
        scan = self._register(remote, local, members)
        if scan is None:
            return
        keys = partition_keys(windows)
        for out, r, local_column, _ in outputs:
            if isinstance(r, exp.Column) and (not windows or (local_column.table, local_column.name) in keys):
                scan.reducible[out] = self._reducer(local_column)
        self._commit(members)
        for node in same:
            node.replace(next(w.local for w in windows if node == w.node).copy())
        qualify_as_where(select)
        _rewrite_columns(select, aliases, {key: out for key, out in columns.items()}, self.alias)
        if whole and not select.args.get("group") and not block_aggregates(select):
            self._push_top_n(scan, select, {out: (r, k) for out, r, _, k in outputs if k is not None}, True)

    # registering the scan ----------------------------------------------------------------------------

    def _local_equivalent(self, members: list[Item], outputs: list[tuple[str, exp.Expression]], keys=()):
        """The fragment as DuckDB would compute it over the original scans: what types its columns."""
        local = exp.Select(expressions=[exp.alias_(e.copy(), n, quoted=True) for n, e in outputs])
        local.set("from_", exp.From(this=members[0].node.copy()))
        for item in members[1:]:
            join = item.join.copy() if item.join is not None else exp.Join(this=item.node.copy(), kind="CROSS")
            if item.inner:
                join = exp.Join(this=item.node.copy(), kind="CROSS")
            local.append("joins", join)
        if keys:
            local.set("group", exp.Group(expressions=[k.copy() for k in keys]))
        return local

    def _register(self, remote: exp.Select, local: exp.Select, members: list[Item]) -> ScanPlan | None:
        try:
            schema = binder.schema(local, list(self.context.scans.values()), self.context.binder_cursor())
        except duckdb.Error as error:
            self.notes.append(f"not pushed: DuckDB cannot type the fragment ({str(error).splitlines()[0]})")
            return None
        columns = tuple(Column(name=f.name, type=f.type, nullable=True) for f in schema)
        covers = tuple(m.scan.qualified_name for m in members)
        name = self.context.new_scan_name()
        scan = ScanPlan(
            name=name,
            source=self.group.source,
            table=TableSchema(f"fragment {self.number}", columns),
            alias=self.alias,
            connector=self.connector,
            columns=tuple(c.name for c in columns),
            statement=remote,
            covers=covers,
            selective=_selective(remote),
            estimate=_estimate(members, self.filters),
            filtered=self.filters > 0 or remote.args.get("having") is not None,
        )
        for member in members:
            scan.notes.extend(member.scan.notes)
            self.context.scans.pop(member.scan.name, None)
        for absorbed in self.absorbed:
            self.context.scans.pop(absorbed.name, None)
        scan.notes.extend(self.notes)
        self.context.scans[name] = scan
        self.context.rewritten = True
        return scan

    def _renders(self, statement: exp.Select) -> bool:
        if renders(statement, self.connector.dialect):
            return True
        self.notes.append(f"not pushed: not expressible in {self.dialect}")
        return False

    def _reducer(self, column: exp.Column):
        """``reduce(values)``: the remote predicate ``column IN (values)``, translated like any other
        (strings under the exact collation), or None when it cannot be said exactly."""
        translator = self.translator

        def reduce(values: list) -> exp.Expression | None:
            from c360.planner.parse import literal

            predicate = exp.In(this=column.copy(), expressions=[literal(v) for v in values])
            try:
                return translator.condition(predicate)
            except Untranslatable:
                return None

        return reduce

    def _replace_items(self, members: list[Item]) -> None:
        """The group's items become one scan placeholder, where the first of them stood."""
        select = self.block.select
        placeholder = exp.Table(this=exp.to_identifier(self._scan_name()), alias=exp.TableAlias(
            this=exp.to_identifier(self.alias)))
        first = members[0]
        first.node.replace(placeholder)
        remove = {id(m.join) for m in members[1:] if m.join is not None}
        joins = [j for j in (select.args.get("joins") or []) if id(j) not in remove]
        select.set("joins", joins or None)

    def _scan_name(self) -> str:
        return next(name for name, scan in self.context.scans.items() if scan.alias == self.alias)


# --- helpers ---------------------------------------------------------------------------------------------


def _rewrite_columns(select: exp.Select, aliases: set[str], names: dict, fragment_alias: str) -> None:
    """Every reference to the group's aliases in the block (and its correlated subqueries) now reads the
    fragment's column; a projection that was a bare column keeps its output name."""
    projections = select.expressions
    for index, projection in enumerate(projections):
        if isinstance(projection, exp.Column) and projection.table and projection.table.lower() in aliases:
            projections[index] = exp.Alias(this=projection.copy(), alias=exp.to_identifier(projection.name))
    select.set("expressions", projections)
    for column in list(block_columns(select, aliases)):
        out = names.get((column.table.lower(), column.name.lower()))
        if out is not None:
            column.replace(exp.column(out, table=fragment_alias))


def _output_name(base: str, taken) -> str:
    name = re.sub(r"\W", "_", base) or "c"
    candidate, n = name, 1
    taken = set(taken)
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    return candidate


def _estimate(members: list[Item], filters: int) -> float | None:
    """Rows a fragment returns: its biggest table's estimate, thinned by each filter it applies."""
    from c360.planner.reduce_joins import FILTER_KEEPS

    known = [m.scan.table.row_count for m in members if m.scan.table.row_count is not None]
    if len(known) < len(members) or not known:
        return None
    return max(known) * FILTER_KEEPS ** filters


def _selective(remote: exp.Select) -> bool:
    where = remote.args.get("where")
    if where is None:
        return False
    return any(isinstance(node, (exp.EQ, exp.In)) and any(isinstance(s, exp.Literal) for s in node.iter_expressions())
               for node in where.walk())
