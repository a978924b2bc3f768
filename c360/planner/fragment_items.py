"""The pieces :mod:`c360.planner.push_fragments` reasons about: a block's FROM items, the groups of one
source that become fragments, which aliases an expression refers to, and how a node is shown in a note."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from c360.planner.context import PlanContext, ScanPlan

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
        # LEFT OUTER JOIN is LEFT JOIN (sqlglot: kind OUTER); LEFT SEMI/ANTI and ASOF joins are not
        return self.join is not None and (self.join.side or "").upper() == "LEFT" \
            and (self.join.kind or "").upper() in ("", "OUTER")


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


def block_items(select: exp.Select, context: PlanContext) -> list[Item]:
    from_ = select.args.get("from_") or select.args.get("from")
    if from_ is None:
        return []
    items = [Item(from_.this.alias_or_name.lower(), from_.this, None, scan_of(from_.this, context))]
    for join in select.args.get("joins") or []:
        items.append(Item(join.this.alias_or_name.lower(), join.this, join, scan_of(join.this, context)))
    return items


def scan_of(node: exp.Expression, context: PlanContext) -> ScanPlan | None:
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


def walk_columns(node: exp.Expression, visible: set[str], skip: frozenset = frozenset()):
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
        yield from walk_columns(child, visible, skip)


def block_columns(select: exp.Select, aliases: set[str], skip: frozenset = frozenset()):
    """Columns of ``select`` itself and of its nested queries that refer to ``aliases`` (which the block
    defines: they are not shadowed at its own level), outside the subtrees in ``skip`` (by ``id``)."""
    for child in select.iter_expressions():
        yield from walk_columns(child, aliases, skip)


def referenced_aliases(node: exp.Expression, aliases: set[str]) -> set[str]:
    if isinstance(node, exp.Select):
        return {c.table.lower() for c in block_columns(node, aliases)}
    return {c.table.lower() for c in walk_columns(node, aliases)}


def remote_table(item: Item) -> exp.Table:
    remote = item.scan.table.remote_name or (item.scan.table.name,)
    parts = [exp.to_identifier(part, quoted=True) for part in remote]
    table = exp.Table(this=parts[-1])
    if len(parts) >= 2:
        table.set("db", parts[-2])
    if len(parts) >= 3:
        table.set("catalog", parts[-3])
    table.set("alias", exp.TableAlias(this=exp.to_identifier(item.alias, quoted=True)))
    return table


def shown(node) -> str:
    text = node.sql("duckdb")
    return text if len(text) <= 80 else text[:77] + "..."
