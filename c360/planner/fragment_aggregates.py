"""The whole block goes with its fragment: GROUP BY and aggregates, HAVING, DISTINCT, ORDER BY … LIMIT.

A mixin of :class:`c360.planner.push_fragments._Fragment`, used when the fragment is the block's only
FROM item and nothing is left to filter locally: the source groups and returns one row per group with
``count``/``sum``/``min``/``max`` (``avg`` as a sum and a count, divided as DuckDB divides, by
:mod:`c360.planner.average`), ``HAVING`` when it translates; whatever else the block computes stays with
DuckDB over the groups. Every refusal leaves a note and leaves the block as it was.
"""

from __future__ import annotations

from sqlglot import exp

from c360.planner.average import NAME as AVERAGE
from c360.planner.context import ScanPlan
from c360.planner.fold_constants import fold_constants
from c360.planner.fragment_items import Item, shown, walk_columns
from c360.planner.fragment_windows import partition_keys, qualify_as_where
from c360.planner.translate import Kind, Untranslatable, duckdb_typed


class PushesAggregates:
    """Levels 2 and 3 of a fragment (see :mod:`c360.planner.push_fragments`)."""

    def _push_whole(self, remote: exp.Select, members: list[Item]) -> bool:
        """Levels 2 and 3: aggregates, HAVING, ORDER BY … LIMIT go to the source too when they translate."""
        select = self.block.select
        aggregates = block_aggregates(select)
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
            keys = [p.unalias() for p in select.expressions if not block_aggregates(exp.select(p.copy()))]
        outputs: list[tuple[str, exp.Expression, exp.Expression]] = []  # (name, remote, local-equivalent)
        replacements: list[tuple[exp.Expression, exp.Expression]] = []  # (original node, local expression)
        names: list[str] = []
        try:
            remote_keys = []
            ordering: dict[str, tuple] = {}
            for i, key in enumerate(keys, 1):
                translated, kind = self.translator.translate(fold_constants(key))
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
                    translated, kind = self.translator.translate(fold_constants(piece), aggregate=True)
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
                    for c in walk_columns(node, {m.alias for m in members})]
        if leftover:
            self.notes.append(f"GROUP BY kept local: {shown(leftover[0])} is neither grouped nor aggregated")
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
        translated, kind = self.translator.translate(fold_constants(condition), aggregate=True)
        if kind.name not in ("bool", "null"):
            raise Untranslatable(f"{shown(condition)} is not a condition")
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
                scan.notes.append(f"ORDER BY … LIMIT kept local: {shown(ordered)} is computed locally")
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


def block_aggregates(select: exp.Select) -> list[exp.Expression]:
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
    raise Untranslatable(f"{shown(node)} is kept local")


def _finalize(node: exp.Expression, parts: list[exp.Expression], kinds: list[Kind]) -> exp.Expression:
    """The aggregate's value from its partials: avg is the sum over the count, as a DOUBLE, as DuckDB's
    (for integers and decimals through :mod:`c360.planner.average`, which divides as DuckDB does)."""
    function = node.this if isinstance(node, exp.Filter) else node
    if isinstance(function, exp.Avg):
        total, count = parts
        if kinds[0].name in ("int", "decimal"):
            return exp.Anonymous(this=AVERAGE, expressions=[exp.cast(total, "VARCHAR"), count])
        return exp.Paren(this=exp.Div(this=exp.cast(total, "DOUBLE"), expression=count))
    return duckdb_typed(function, parts[0], kinds[0])


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


def _int(node) -> int | None:
    value = node.expression if isinstance(node, (exp.Limit, exp.Offset)) else node
    if isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit():
        return int(value.this)
    return None
