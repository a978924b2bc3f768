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
fragment), and every refusal leaves a note for EXPLAIN. The rule rewrites the
query DuckDB runs; :mod:`c360.planner.binder` types the fragment's columns as
DuckDB would have typed the expressions it replaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb
from sqlglot import exp
from sqlglot.optimizer.pushdown_projections import pushdown_projections
from sqlglot.optimizer.scope import traverse_scope

from c360.planner import binder
from c360.planner.average import NAME as AVERAGE
from c360.planner.context import PlanContext, ScanPlan
from c360.planner.filter_fragments import filter_fragments
from c360.planner.fold_constants import fold_constants
from c360.planner.fragment_windows import own_windows, partition_keys, push_windows, qualify_as_where
from c360.planner.pushdown_filters import conjuncts, nullable_aliases
from c360.planner.translate import Kind, Translator, Untranslatable
from connectors.base import Column, TableSchema
from connectors.sql import renders

_INNER_KINDS = ("", "INNER", "CROSS")


@dataclass
class Item:
    """One FROM item of a block: its alias, node, the join that brought it (None for the first), its scan."""

    alias: str
    node: exp.Expression
    join: exp.Join | None
    scan: ScanPlan | None

    @property
    def inner(self) -> bool:
        return self.join is None or (not self.join.side and (self.join.kind or "").upper() in _INNER_KINDS)

    @property
    def left(self) -> bool:
        return self.join is not None and (self.join.side or "").upper() == "LEFT" and not self.join.kind


@dataclass
class Group:
    """Tables of one source that will become one fragment."""

    source: str
    items: list[Item]
    left: list[Item] = field(default_factory=list)  # LEFT JOIN members, their whole ON pushed

    @property
    def aliases(self) -> set[str]:
        return {i.alias for i in self.items} | {i.alias for i in self.left}

    def ordered(self, order: list[Item]) -> list[Item]:
        members = set(self.aliases)
        return [i for i in order if i.alias in members]


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
            for item in _items(select, context):
                if item.scan is not None:
                    item.scan.notes.append(f"kept as a plain scan: {refusal}")
        filter_fragments(select, context, dialect_of=_dialect)
    # nothing pushed: DuckDB runs the user's query (context.output) with every column its derived tables
    # list, so the scans must be narrowed by that query, not by the pruned one (fuzz seed 201042)
    return expression if context.rewritten else unpruned


def _speaks_sql(scan: ScanPlan | None) -> bool:
    return scan is not None and scan.statement is None and getattr(scan.connector.capabilities, "statements", False)


# --- the block's shape ----------------------------------------------------------------------------------


def _items(select: exp.Select, context: PlanContext) -> list[Item]:
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is None:
        return []
    items = [Item(from_.this.alias_or_name.lower(), from_.this, None, _scan(from_.this, context))]
    for join in select.args.get("joins") or []:
        items.append(Item(join.this.alias_or_name.lower(), join.this, join, _scan(join.this, context)))
    return items


def _scan(node: exp.Expression, context: PlanContext) -> ScanPlan | None:
    return context.scan_for(node) if isinstance(node, exp.Table) else None


def _defined(select: exp.Select) -> set[str]:
    """Aliases a SELECT defines for its own expressions: FROM/JOIN items."""
    names = set()
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is not None:
        names.add(from_.this.alias_or_name.lower())
    for join in select.args.get("joins") or []:
        names.add(join.this.alias_or_name.lower())
    return names


def _walk_columns(node: exp.Expression, visible: set[str], skip: frozenset = frozenset()):
    """Columns under ``node`` that refer to one of ``visible`` (a nested SELECT's own aliases shadow them),
    leaving out the subtrees whose ``id`` is in ``skip``.

    FROM-item subqueries of a nested SELECT are walked too (they may be LATERAL-free derived tables, whose
    columns cannot see ``visible`` anyway, so shadowing keeps them out)."""
    if id(node) in skip:
        return
    if isinstance(node, exp.Column):
        if node.table and node.table.lower() in visible:
            yield node
        return
    if isinstance(node, exp.Select):
        visible = visible - _defined(node)
        if not visible:
            return
    for child in node.iter_expressions():
        yield from _walk_columns(child, visible, skip)


def _block_columns(select: exp.Select, aliases: set[str], skip: frozenset = frozenset()):
    """Columns of ``select`` itself and of its nested queries that refer to ``aliases`` (which the block
    defines: they are not shadowed at its own level), outside the subtrees in ``skip`` (by ``id``)."""
    for child in select.iter_expressions():
        yield from _walk_columns(child, aliases, skip)


def _refs(node: exp.Expression, aliases: set[str]) -> set[str]:
    if isinstance(node, exp.Select):
        return {c.table.lower() for c in _block_columns(node, aliases)}
    return {c.table.lower() for c in _walk_columns(node, aliases)}


# --- one block ----------------------------------------------------------------------------------------


class _Block:
    def __init__(self, select: exp.Select, context: PlanContext):
        self.select = select
        self.context = context
        self.items = _items(select, context)
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
        refs = _refs(on, self.aliases) - {item.alias}
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


class _Fragment:
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
                left_on[item.alias] = self.translator.condition(_folded(item.join.args["on"]))
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
            refs = _refs(predicate, self.block.aliases)
            if not refs or not refs <= aliases:
                continue
            before = len(self.absorbed)
            try:
                remote.append(self.translator.condition(_folded(predicate)))
                moved.append(predicate)
            except Untranslatable as refusal:
                del self.absorbed[before:]
                self.notes.append(f"kept local: {_shown(predicate)} ({refusal})")
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
        remote.set("from_", exp.From(this=_remote_table(members[0])))
        for item in members[1:]:
            if item.alias in left_on:
                remote.append("joins", exp.Join(this=_remote_table(item), side="LEFT", on=left_on[item.alias]))
            else:
                remote.append("joins", exp.Join(this=_remote_table(item), kind="CROSS"))
        if conditions:
            remote.set("where", exp.Where(this=exp.and_(*conditions)))
        return remote

    def _push_rows(self, remote: exp.Select, members: list[Item], *, whole: bool = False) -> None:
        """Level 1: the fragment returns the group's rows, the columns the block still needs; when the
        fragment is the whole block and nothing is filtered locally, its ORDER BY … LIMIT goes too."""
        select = self.block.select
        aliases = {m.alias for m in members}
        windows = self._windows(aggregate=False) if whole and not select.args.get("group") \
            and not _aggregates(select) else []
        # the same window in QUALIFY or ORDER BY reads the same column: computed once, as DuckDB would
        same = [node for node in own_windows(select) if any(node == w.node for w in windows)]
        skip = frozenset(id(m) for m in self.moved) | {id(node) for node in same}
        columns: dict[tuple[str, str], str] = {}
        for column in _block_columns(select, aliases, skip):
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
        if whole and not select.args.get("group") and not _aggregates(select):
            self._push_top_n(scan, select, {out: (r, k) for out, r, _, k in outputs if k is not None}, True)

    def _push_whole(self, remote: exp.Select, members: list[Item]) -> bool:
        """Levels 2 and 3: aggregates, HAVING, ORDER BY … LIMIT go to the source too when they translate."""
        select = self.block.select
        aggregates = _aggregates(select)
        group = select.args.get("group")
        if group is not None and any(group.args.get(k) for k in ("grouping_sets", "cube", "rollup")):
            return False
        if aggregates or group is not None:
            return self._push_aggregate(remote, members, aggregates, group)
        distinct = select.args.get("distinct")
        if distinct is not None and not distinct.args.get("on") \
                and not any(p.find(exp.Window) for p in select.expressions):
            # SELECT DISTINCT a, b is GROUP BY a, b: the source returns each combination once
            keys = exp.Group(expressions=[p.unalias().copy() for p in select.expressions])
            return self._push_aggregate(remote, members, [], keys)
        return False

    def _push_aggregate(self, remote, members, aggregates, group) -> bool:
        """Level 2; on refusal nothing it translated stays absorbed (a subquery it composed is read as it was)."""
        absorbed = len(self.absorbed)
        if self._push_aggregate_or_refuse(remote, members, aggregates, group):
            return True
        del self.absorbed[absorbed:]
        remote.set("expressions", [])
        remote.set("group", None)
        remote.set("having", None)
        remote.set("operation_modifiers", None)
        return False

    def _push_aggregate_or_refuse(self, remote, members, aggregates, group) -> bool:
        select = self.block.select
        keys = list(group.expressions) if group is not None else []
        if group is not None and group.args.get("all"):  # GROUP BY ALL: every projection without an aggregate
            keys = [p.unalias() for p in select.expressions if not _aggregates(exp.select(p.copy()))]
        outputs: list[tuple[str, exp.Expression, exp.Expression]] = []  # (name, remote, local-equivalent)
        replacements: list[tuple[exp.Expression, exp.Expression]] = []  # (original node, local expression)
        names: list[str] = []
        try:
            remote_keys = []
            ordering: dict[str, tuple] = {}
            for i, key in enumerate(keys, 1):
                translated, kind = self.translator.translate(_folded(key))
                remote_keys.append(self.translator.comparable(translated, kind, ordering=False))
                name = f"k{i}"
                outputs.append((name, remote_keys[-1], key.copy()))
                ordering[name] = (translated, kind)
                replacements.append((key, exp.column(name, table=self.alias)))
                names.append(name)
            partial = 0
            for node in aggregates:
                pieces = _partials(node)
                local_parts, kinds = [], []
                for piece in pieces:
                    translated, kind = self.translator.translate(_folded(piece), aggregate=True)
                    partial += 1
                    name = f"a{partial}"
                    outputs.append((name, translated, piece))
                    ordering[name] = (translated, kind)
                    local_parts.append(exp.column(name, table=self.alias))
                    kinds.append(kind)
                replacements.append((node, _finalize(node, local_parts, kinds)))
        except Untranslatable as refusal:
            self.notes.append(f"GROUP BY kept local: {refusal}")
            return False
        rewritten = {}
        for part in ("expressions", "having", "order", "qualify", "windows"):
            value = select.args.get(part)
            if value is None:
                continue
            rewritten[part] = _replace(value, replacements)
        leftover = [c for v in rewritten.values() for node in (v if isinstance(v, list) else [v])
                    for c in _walk_columns(node, {m.alias for m in members})]
        if leftover:
            self.notes.append(f"GROUP BY kept local: {_shown(leftover[0])} is neither grouped nor aggregated")
            return False
        having = select.args.get("having")
        remote_having = None
        if having is not None:
            try:
                remote_having = self._having(having.this)
            except Untranslatable as refusal:
                self.notes.append(f"HAVING kept local: {refusal}")
                remote_having = None
        windows = self._windows(aggregate=True) if remote_having is not None or having is None else []
        if windows:  # computed over the groups HAVING kept, by the source: the block reads their columns
            replacements = [(w.node, w.local) for w in windows] + replacements
            rewritten = {part: _replace(select.args[part], replacements) for part in rewritten}
            outputs += [output for window in windows for output in window.outputs]
        remote.set("expressions", [exp.alias_(r, n, quoted=True) for n, r, _ in outputs])
        if remote_keys:
            remote.set("group", exp.Group(expressions=remote_keys))
        if remote_having is not None:
            remote.set("having", exp.Having(this=remote_having))
        if self.dialect == "mysql" and _grouped_along_a_secondary_index(keys, members):
            # MariaDB would read the table in that index's order, one row lookup per index entry, rather
            # than scan it and sort: SQL_BIG_RESULT asks for the scan (TPC-H Q15: 2.6 s -> 0.2 s)
            remote.set("operation_modifiers", [exp.Var(this="SQL_BIG_RESULT")])
        local = self._local_equivalent(members, [(n, equivalent) for n, _, equivalent in outputs], keys=keys)
        if not self._renders(remote):
            return False
        scan = self._register(remote, local, members)
        if scan is None:
            return False
        partitions = partition_keys(windows)
        for (name, _, _), key in zip(outputs, keys):
            if isinstance(key, exp.Column) and (not windows or (key.table.lower(), key.name.lower()) in partitions):
                scan.reducible[name] = self._reducer(key)
        # the block now reads one row per group
        self._commit(members)
        select.set("group", None)
        for part, value in rewritten.items():
            if part == "expressions":
                select.set("expressions", [_keep_name(old, new) for old, new in zip(select.expressions, value)])
            elif part == "having":
                select.set("having", None)
                if remote_having is None:
                    select.where(value.this, copy=False)
            else:
                select.set(part, value)
        qualify_as_where(select)
        self._push_top_n(scan, select, ordering, remote_having is not None or having is None)
        return True

    def _having(self, condition: exp.Expression) -> exp.Expression:
        translated, kind = self.translator.translate(_folded(condition), aggregate=True)
        if kind.name not in ("bool", "null"):
            raise Untranslatable(f"{_shown(condition)} is not a condition")
        return translated

    def _push_top_n(self, scan: ScanPlan, select: exp.Select, remote_outputs: dict, nothing_local: bool) -> None:
        """ORDER BY … LIMIT of a block whose rows all come from this fragment, when no local filter follows.

        ``remote_outputs`` maps the fragment's columns to ``(remote expression, kind)``. DuckDB puts NULLs
        last in both directions unless told; the source is told the same explicitly. DuckDB keeps its own
        ORDER BY and LIMIT, so the source's part only decides which rows travel.
        """
        limit = select.args.get("limit")
        if limit is None or not nothing_local or select.args.get("where") is not None or select.args.get("distinct"):
            return
        if select.args.get("qualify") or any(e.find(exp.Window) for e in select.expressions):
            return
        count = _int(limit)
        offset = _int(select.args.get("offset")) if select.args.get("offset") is not None else 0
        if count is None or offset is None:
            return
        order = select.args.get("order")
        remote_order = []
        projections = {e.alias_or_name.lower(): e.unalias() for e in select.expressions}
        for ordered in (order.expressions if order is not None else []):
            key = ordered.this
            if isinstance(key, exp.Column) and not key.table:
                key = projections.get(key.name.lower(), key)
            if not (isinstance(key, exp.Column) and key.table == self.alias and key.name in remote_outputs):
                scan.notes.append(f"ORDER BY … LIMIT kept local: {_shown(ordered)} is computed locally")
                return
            target, kind = remote_outputs[key.name]
            try:
                remote_key = self.translator.comparable(target.copy(), kind, ordering=True)
            except Untranslatable as refusal:
                scan.notes.append(f"ORDER BY … LIMIT kept local: {refusal}")
                return
            remote_order.append(exp.Ordered(this=remote_key, desc=bool(ordered.args.get("desc")),
                                            nulls_first=bool(ordered.args.get("nulls_first"))))
        statement = scan.statement
        if remote_order:
            statement.set("order", exp.Order(expressions=remote_order))
        statement.set("limit", exp.Limit(expression=exp.Literal.number(count + offset)))
        if not self._renders(statement):
            statement.set("order", None)
            statement.set("limit", None)

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

    # subqueries of the same source (EXISTS, IN) -------------------------------------------------------

    def _subquery(self, query: exp.Expression, outer: Translator, *, exists: bool = False) -> exp.Select:
        if not isinstance(query, exp.Select):
            raise Untranslatable("set operations in subqueries are kept local")
        items = _items(query, self.context)
        if len(items) == 1 and items[0].scan is not None and items[0].scan.statement is not None:
            return self._pushed_subquery(query, items[0], exists)
        if not items or any(i.scan is None or i.scan.statement is not None for i in items):
            raise Untranslatable("the subquery reads something other than tables of this source")
        for item in items:
            if item.scan.source != self.group.source or item.scan.connector is not self.connector:
                raise Untranslatable(f"the subquery reads {item.scan.qualified_name}")
            if not (item.inner or item.left):
                raise Untranslatable("the subquery joins in a way kept local")
        for part in ("limit", "offset", "qualify", "windows", "distinct"):
            if query.args.get(part) is not None and part != "distinct":
                raise Untranslatable(f"a subquery with {part.upper()} is kept local")
        if query.args.get("with"):
            raise Untranslatable("a subquery with WITH is kept local")
        inner = Translator(self.dialect, {i.alias: i.scan for i in items}, exact_collation=self._exact_collation,
                           outer=outer, subquery=self._subquery)
        remote = exp.Select()
        remote.set("from_", exp.From(this=_remote_table(items[0])))
        for item in items[1:]:
            on = item.join.args.get("on")
            condition = inner.condition(_folded(on)) if on is not None else None
            if item.left:
                remote.append("joins", exp.Join(this=_remote_table(item), side="LEFT", on=condition))
            else:
                remote.append("joins", exp.Join(this=_remote_table(item), on=condition or exp.true()))
        where = query.args.get("where")
        if where is not None:
            remote.set("where", exp.Where(this=inner.condition(_folded(where.this))))
        group = query.args.get("group")
        aggregate = group is not None or bool(_aggregates(query))
        if group is not None:
            keys = []
            for key in group.expressions:
                translated, kind = inner.translate(_folded(key))
                keys.append(inner.comparable(translated, kind, ordering=False))
            remote.set("group", exp.Group(expressions=keys))
        having = query.args.get("having")
        if having is not None:
            remote.set("having", exp.Having(this=inner.translate(_folded(having.this), aggregate=True)[0]))
        projections = []
        for projection in ([] if exists else query.expressions):
            translated, kind = inner.translate(_folded(projection.unalias()), aggregate=aggregate)
            projections.append(inner.comparable(translated, kind, ordering=False))
        remote.set("expressions", projections or [exp.Literal.number(1)])
        if query.args.get("distinct"):
            remote.set("distinct", exp.Distinct())
        self.absorbed.extend(i.scan for i in items)
        return remote


    def _pushed_subquery(self, query: exp.Select, item: Item, exists: bool) -> exp.Select:
        """A subquery already pushed as a fragment of this source (it was not correlated): its statement,
        selecting what the subquery selects, when nothing of the subquery was left to DuckDB."""
        scan = item.scan
        if scan.source != self.group.source or scan.connector is not self.connector:
            raise Untranslatable(f"the subquery reads {scan.qualified_name}")
        for part in ("where", "group", "having", "qualify", "order", "limit", "offset", "distinct", "with", "joins"):
            if query.args.get(part):
                raise Untranslatable(f"part of the subquery ({part.upper()}) is computed locally")
        if scan.statement.args.get("limit") is not None or scan.statement.args.get("order") is not None:
            raise Untranslatable("a subquery with ORDER BY or LIMIT is kept local")
        outputs = {e.alias_or_name: e.unalias() for e in scan.statement.expressions}
        statement = scan.statement.copy()
        if exists:
            statement.set("expressions", [exp.Literal.number(1)] if not statement.args.get("group") else
                          [outputs[name].copy() for name in list(outputs)[:1]])
        else:
            chosen = []
            for projection in query.expressions:
                column = projection.unalias()
                if not (isinstance(column, exp.Column) and column.table == item.alias and column.name in outputs):
                    raise Untranslatable(f"the subquery computes {_shown(projection)} locally")
                chosen.append(outputs[column.name].copy())
            statement.set("expressions", chosen)
        self.absorbed.append(scan)
        return statement


# --- helpers ---------------------------------------------------------------------------------------------


def _remote_table(item: Item) -> exp.Table:
    remote = item.scan.table.remote_name or (item.scan.table.name,)
    parts = [exp.to_identifier(part, quoted=True) for part in remote]
    table = exp.Table(this=parts[-1])
    if len(parts) >= 2:
        table.set("db", parts[-2])
    if len(parts) >= 3:
        table.set("catalog", parts[-3])
    table.set("alias", exp.TableAlias(this=exp.to_identifier(item.alias, quoted=True)))
    return table


def _folded(node: exp.Expression) -> exp.Expression:
    return fold_constants(node)


def _aggregates(select: exp.Select) -> list[exp.Expression]:
    """The block's own aggregate calls (a FILTER clause with its aggregate as one), not window aggregates
    and not those of nested queries."""
    found: list[exp.Expression] = []

    def visit(node):
        if isinstance(node, exp.Select) and node is not select:
            return
        if isinstance(node, exp.Window):
            for child in node.iter_expressions():
                if child is not node.this:
                    visit(child)
            if node.this is not None:
                for child in node.this.iter_expressions():
                    visit(child)
            return
        if isinstance(node, exp.Filter) and isinstance(node.this, exp.AggFunc):
            found.append(node)
            return
        if isinstance(node, exp.AggFunc):
            found.append(node)
            return
        for child in node.iter_expressions():
            visit(child)

    for part in ("expressions", "having", "order", "qualify"):
        value = select.args.get(part)
        for node in (value if isinstance(value, list) else [value] if value is not None else []):
            visit(node)
    unique = []
    for node in found:
        if not any(node == other for other in unique):
            unique.append(node)
    return unique


def _partials(node: exp.Expression) -> list[exp.Expression]:
    """What the source computes for one aggregate: itself, or for avg a sum and a count."""
    function = node.this if isinstance(node, exp.Filter) else node
    if isinstance(function, exp.Avg):
        pieces = [exp.Sum(this=function.this.copy()), exp.Count(this=function.this.copy())]
        if isinstance(node, exp.Filter):
            return [exp.Filter(this=p, expression=node.expression.copy()) for p in pieces]
        return pieces
    if isinstance(function, (exp.Count, exp.Sum, exp.Min, exp.Max)):
        return [node.copy()]
    raise Untranslatable(f"{_shown(node)} is kept local")


def _finalize(node: exp.Expression, parts: list[exp.Expression], kinds: list[Kind]) -> exp.Expression:
    """The aggregate's value from its partials: avg is the sum over the count, as a DOUBLE, as DuckDB's
    (for integers and decimals through :mod:`c360.planner.average`, which divides as DuckDB does)."""
    function = node.this if isinstance(node, exp.Filter) else node
    if isinstance(function, exp.Avg):
        total, count = parts
        if kinds[0].name in ("int", "decimal"):
            return exp.Anonymous(this=AVERAGE, expressions=[exp.cast(total, "VARCHAR"), count])
        return exp.Paren(this=exp.Div(this=exp.cast(total, "DOUBLE"), expression=count))
    if isinstance(function, exp.Sum) and kinds[0].name == "int":  # DuckDB's sum of integers is a HUGEINT; the
        return exp.cast(parts[0], "HUGEINT")  # source's arrives as DECIMAL(38,0), under which `//` gives a DOUBLE
    return parts[0]


def _replace(value, replacements):
    def visit(node):
        for original, new in replacements:
            if node == original:
                return new.copy()
        return node

    if isinstance(value, list):
        return [v.copy().transform(visit) for v in value]
    return value.copy().transform(visit)


def _keep_name(old: exp.Expression, new: exp.Expression) -> exp.Expression:
    if isinstance(new, exp.Alias):
        return new
    name = old.alias_or_name
    if not name or (isinstance(new, exp.Column) and new.name == name):
        return new
    alias = old.args.get("alias") if isinstance(old, exp.Alias) else exp.to_identifier(name)
    return exp.Alias(this=new, alias=alias.copy() if isinstance(alias, exp.Identifier) else exp.to_identifier(name))


def _rewrite_columns(select: exp.Select, aliases: set[str], names: dict, fragment_alias: str) -> None:
    """Every reference to the group's aliases in the block (and its correlated subqueries) now reads the
    fragment's column; a projection that was a bare column keeps its output name."""
    projections = select.expressions
    for index, projection in enumerate(projections):
        if isinstance(projection, exp.Column) and projection.table and projection.table.lower() in aliases:
            projections[index] = exp.Alias(this=projection.copy(), alias=exp.to_identifier(projection.name))
    select.set("expressions", projections)
    for column in list(_block_columns(select, aliases)):
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


def _grouped_along_a_secondary_index(keys: list, members: list[Item]) -> bool:
    for key in keys:
        if not isinstance(key, exp.Column):
            continue
        member = next((m for m in members if m.alias == (key.table or "").lower()), None)
        if member is None:
            continue
        table = member.scan.table
        primary_first = table.primary_key[0].lower() if table.primary_key else None
        if table.indexed(key.name) and key.name.lower() != primary_first:
            return True
    return False


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


def _int(node) -> int | None:
    value = node.expression if isinstance(node, (exp.Limit, exp.Offset)) else node
    if isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit():
        return int(value.this)
    return None


def _shown(node) -> str:
    text = node.sql("duckdb")
    return text if len(text) <= 80 else text[:77] + "..."
