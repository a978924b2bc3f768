"""``EXISTS`` and ``IN`` subqueries of the fragment's own source, composed into its statement (semi- and
anti-joins): a mixin of :class:`c360.planner.push_fragments._Fragment`, whose translator calls
``_subquery`` when a condition holds one. Anything the source cannot say with DuckDB's meaning raises
:class:`Untranslatable`, and the condition stays local."""

from __future__ import annotations

from sqlglot import exp

from c360.planner.fold_constants import fold_constants
from c360.planner.fragment_aggregates import block_aggregates
from c360.planner.fragment_items import Item, block_items, remote_table, shown
from c360.planner.translate import Translator, Untranslatable


class PushesSubqueries:
    """Subqueries a fragment's conditions hold, read by the same source."""

    def _subquery(self, query: exp.Expression, outer: Translator, *, exists: bool = False) -> exp.Select:
        if not isinstance(query, exp.Select):
            raise Untranslatable("set operations in subqueries are kept local")
        items = block_items(query, self.context)
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
        remote.set("from_", exp.From(this=remote_table(items[0])))
        for item in items[1:]:
            on = item.join.args.get("on")
            condition = inner.condition(fold_constants(on)) if on is not None else None
            if item.left:
                remote.append("joins", exp.Join(this=remote_table(item), side="LEFT", on=condition))
            else:
                remote.append("joins", exp.Join(this=remote_table(item), on=condition or exp.true()))
        where = query.args.get("where")
        if where is not None:
            remote.set("where", exp.Where(this=inner.condition(fold_constants(where.this))))
        group = query.args.get("group")
        aggregate = group is not None or bool(block_aggregates(query))
        if group is not None:
            keys = []
            for key in group.expressions:
                translated, kind = inner.translate(fold_constants(key))
                keys.append(inner.comparable(translated, kind, ordering=False))
            remote.set("group", exp.Group(expressions=keys))
        having = query.args.get("having")
        if having is not None:
            remote.set("having", exp.Having(this=inner.translate(fold_constants(having.this), aggregate=True)[0]))
        projections = []
        for projection in ([] if exists else query.expressions):
            translated, kind = inner.translate(fold_constants(projection.unalias()), aggregate=aggregate)
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
                    raise Untranslatable(f"the subquery computes {shown(projection)} locally")
                chosen.append(outputs[column.name].copy())
            statement.set("expressions", chosen)
        self.absorbed.append(scan)
        return statement
