"""Plan join reductions: a small side's join keys, sent to the other side as an ``IN`` list.

``SELECT … FROM crm.customers c JOIN shop.orders o ON o.customer_id = c.customer_id
WHERE c.city = 'Austin'`` should not read every order. When, in one query block,
scan ``a`` joins scan ``b`` on ``a.x = b.y`` and ``a`` is expected to be much
smaller than ``b``, the plan records that ``b`` may be reduced by ``a``'s values
of ``x``. At run time (:mod:`c360.reductions`) ``a`` is read first; if it is
small, ``b`` receives ``y IN (…those values…)`` (or is skipped when ``a`` is
empty).

Sizes come from the sources' statistics (row estimates from discovery) and the
filters pushed to each scan; a scan with no statistics counts as small only
when a filter restricts it. Reductions form a DAG: a producer may be reduced
itself (``nation → supplier → lineitem``), but never by its own consumer.

Only where rows of ``b`` without a partner in ``a`` can never reach the result:
an inner join, or ``b`` on the nullable side of ``a LEFT JOIN b``.

Example: ``nation`` (25 rows, ``n_name = 'SAUDI ARABIA'``) reduces ``supplier``
(10,000 rows) by ``s_nationkey IN (20)``, which reduces the ``lineitem`` fragment
by ``l_suppkey IN (…400 keys…)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from c360.planner.context import PlanContext, ScanPlan
from c360.planner.fragment_items import block_items
from c360.planner.propagate_predicates import cte_references
from c360.planner.pushdown_filters import conjuncts, nullable_aliases
from c360.planner.share_scans import request
from connectors.sql import keys_in


@dataclass(frozen=True)
class Reduction:
    """``consumer.column IN (values of producer.producer_column)``, decided at run time."""

    producer: str
    producer_column: str
    column: str
    #: applied only when the consumer's files hold at least this many bytes (0: always); see :func:`_drop_idle`
    min_bytes: int = 0


#: below this many estimated rows a scan is a producer worth reading first
SMALL = 200_000
#: a consumer is reduced when it is expected to be at least this many times bigger than its producer
RATIO = 4
#: the fraction of rows each pushed filter is assumed to keep, when nothing better is known
FILTER_KEEPS = 0.2
#: a file is reduced (and so waits for its producer) to reduce an SQL source of at least this many rows, ...
FILE_FEEDS = 10_000
#: ... or for its own sake, by a producer expected to keep at most this fraction of its table, ...
FILE_SELECTIVE = 0.05
#: ... when its files hold at least this many bytes (decided at run time, from the listing)
FILE_BYTES = 16_000_000


def estimated_rows(scan: ScanPlan) -> float | None:
    """The rows ``scan`` is expected to return, from statistics and filters; None when nothing is known."""
    if scan.statement is not None:
        return scan.estimate
    rows = scan.table.row_count
    equalities = [f for f in scan.filters if isinstance(f, (exp.EQ, exp.In))]
    for predicate in equalities:
        column = predicate.this if isinstance(predicate.this, exp.Column) else None
        if column is not None and scan.table.primary_key and \
                [c.lower() for c in scan.table.primary_key] == [column.name.lower()]:
            return float(len(predicate.expressions) if isinstance(predicate, exp.In) else 1)
    if rows is None:
        return None
    return rows * FILTER_KEEPS ** len(scan.filters)


def _pinned(scan: ScanPlan, scans: dict | None = None) -> bool:
    """Whether a pushed filter pins a column to constants (``= 42``, ``IN (…)``), or a pinned scan reduces
    this one: few rows, most likely."""
    if scan.selective or any(isinstance(f, (exp.EQ, exp.In)) for f in scan.filters):
        return True
    return scans is not None and any(
        r.producer in scans and _pinned(scans[r.producer], scans) for r in scan.reductions
    )


def _size(scan: ScanPlan, scans: dict) -> float | None:
    """``scan``'s expected rows, a reduced scan's as the fraction its producers keep (:func:`keeps`): TPC-H
    Q20's ``partsupp``, reduced by the parts named ``forest%``, then reduces ``lineitem`` in turn."""
    estimate = estimated_rows(scan)
    if estimate is None and _pinned(scan, scans):
        return 1.0
    if estimate is not None and scan.statement is None:
        estimate *= _producers_keep(scan, scans)
    return estimate


def _filtered(scan: ScanPlan) -> bool:
    """Whether anything restricts ``scan``: a whole table's keys reduce nothing along a foreign key."""
    return bool(scan.filters) or scan.selective or scan.filtered or bool(scan.reductions)


def _producer(scan: ScanPlan, scans: dict) -> bool:
    """A restricted scan, small or of unknown size (the reducer stops reading it past its limit)."""
    size = _size(scan, scans)
    return _filtered(scan) and (size is None or size <= SMALL)


def _reads_less(scan: ScanPlan) -> bool:
    """Whether the source reads less for a key filter: an SQL source (an index, or at least rows not sent);
    a file source reads its files whole anyway."""
    return getattr(scan.connector, "dialect", None) not in (None, "duckdb")


def _consumer(scan: ScanPlan) -> bool:
    """A source that reads less for a key filter, or a file that may be small enough (or of unknown size)
    to become a producer once reduced
    (TPC-H Q5: ``nation`` reduces the supplier file, whose 2,000 remaining keys reduce ``lineitem``);
    :func:`_drop_idle` takes back a file's reduction that reduces nothing further."""
    if _reads_less(scan):
        return True
    size = estimated_rows(scan)
    return size is None or size <= SMALL


def _worth(producer: ScanPlan, consumer: ScanPlan, scans: dict) -> bool:
    """Reduce ``consumer`` when it is expected to be several times ``producer``'s size (or its size is
    unknown and it is not pinned itself)."""
    small, big = _size(producer, scans), estimated_rows(consumer)
    if big is None:
        return not _pinned(consumer, scans)
    if small is None:  # a filtered side of unknown size: worth trying against a big one
        return big >= SMALL / 20
    return big >= RATIO * max(small, 1.0)


def _reducible(scan: ScanPlan, column: str) -> bool:
    """A plain scan takes ``column IN (…)`` on any column; a fragment only on its row-level columns."""
    return scan.statement is None or column in scan.reducible


def _reaches(scans: dict, start: str, goal: str) -> bool:
    """Whether ``goal`` already reduces ``start``, directly or through other reductions (a cycle to avoid)."""
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name == goal:
            return True
        if name in seen or name not in scans:
            continue
        seen.add(name)
        todo.extend(r.producer for r in scans[name].reductions)
    return False


def _renaming_subqueries(scope, context: PlanContext) -> dict:
    """Derived tables of ``scope`` that only name one scan's columns anew (``(SELECT f.k1 AS customer_id
    FROM __c360_scan_3 AS f) AS o``, as :mod:`c360.planner.aggregate_before_joins` leaves a grouped side once
    it is pushed): alias -> (scan, {outer name: the scan's column})."""
    found = {}
    for alias, source in scope.sources.items():
        inner = getattr(source, "expression", None)
        if isinstance(source, exp.Table) or not isinstance(inner, exp.Select) or any(
                inner.args.get(part) for part in ("joins", "where", "group", "having", "limit", "distinct", "order")):
            continue
        if getattr(source, "is_cte", False) and cte_references(inner.root(), inner.parent.alias) > 1:
            # one scan serves every reference: a join of one of them says nothing of the others (fuzz seed 50241:
            # a CTE read three times, reduced by a join in one EXCEPT branch, lost the rows the other branch read)
            continue
        from_ = inner.args.get("from_") or inner.args.get("from")
        scan = context.scan_for(from_.this) if from_ is not None and isinstance(from_.this, exp.Table) else None
        if scan is None:
            continue
        found[alias.lower()] = (scan, {p.alias_or_name.lower(): p.unalias().name for p in inner.expressions
                                       if isinstance(p.unalias(), exp.Column)})
    return found


def _through(column: exp.Column, scans: dict, renamed: dict):
    """``(scan, column)`` that ``column`` reads: a scan's own, or one a renaming derived table passes on."""
    alias = column.table.lower()
    if alias in renamed:
        scan, names = renamed[alias]
        name = names.get(column.name.lower())
        return (scan, exp.column(name, table=alias)) if name else (None, column)
    return scans.get(alias), column


def _correlated_pairs(scope, context: PlanContext):
    """``(outer scan, outer column, inner scan, inner column)`` for each ``inner.y = outer.x`` conjunct of a
    subquery's WHERE: only inner rows matching some outer row are ever looked at (EXISTS, NOT EXISTS, IN,
    a scalar subquery), so the inner table may be reduced by the outer one's keys."""
    select = scope.expression
    where = select.args.get("where")
    if scope.parent is None or where is None:
        return
    nullable = nullable_aliases(select)
    own = {alias.lower(): context.scan_for(source) for alias, source in scope.sources.items()
           if isinstance(source, exp.Table)}
    for predicate in conjuncts(where.this):
        if not _is_column_pair(predicate):
            continue
        for inner, outer in ((predicate.left, predicate.right), (predicate.right, predicate.left)):
            inner_scan = own.get(inner.table.lower())
            if inner_scan is None or outer.table.lower() in own or inner.table.lower() in nullable:
                continue
            outer_scan = _resolve(scope.parent, outer.table.lower(), context)
            if outer_scan is not None:
                yield outer_scan, outer, inner_scan, inner


def _semi_join_pairs(select: exp.Select, scans: dict, renamed: dict, context: PlanContext):
    """``(inner scan, inner column, outer scan, outer column)`` for each ``outer.x IN (SELECT inner.y FROM …)``
    conjunct of ``select``'s WHERE: an outer row whose ``x`` is none of the subquery's values never passes,
    and those values are some of ``inner``'s ``y`` (whatever else the subquery filters, joins, groups or
    limits), so the outer table may be reduced by them (TPC-H Q20: ``ps_partkey IN (SELECT p_partkey FROM
    part WHERE p_name LIKE 'forest%')``)."""
    where = select.args.get("where")
    nullable = nullable_aliases(select)
    for predicate in conjuncts(where.this if where is not None else None):
        query = predicate.args.get("query") if isinstance(predicate, exp.In) else None
        outer = predicate.this
        if query is None or not isinstance(outer, exp.Column) or not outer.table or outer.table.lower() in nullable:
            continue
        inner_select = query.this if isinstance(query, exp.Subquery) else query
        if not isinstance(inner_select, exp.Select) or len(inner_select.expressions) != 1:
            continue
        inner = inner_select.expressions[0].unalias()
        if not isinstance(inner, exp.Column) or not inner.table:
            continue
        item = next((i for i in block_items(inner_select, context) if i.alias == inner.table.lower()), None)
        if item is None:
            continue
        outer_scan, outer = _through(outer, scans, renamed)
        yield item.scan, inner, outer_scan, outer


def _resolve(scope, alias: str, context: PlanContext):
    while scope is not None:
        source = scope.sources.get(alias)
        if isinstance(source, exp.Table):
            return context.scan_for(source)
        if source is not None:
            return None
        scope = scope.parent
    return None


def _pairs(select: exp.Select):
    """Yield ``(a_column, b_column)`` equalities where rows of b's side may be reduced by a."""
    nullable = nullable_aliases(select)
    joins = select.args.get("joins") or []
    symmetric = conjuncts(select.args.get("where") and select.args["where"].this)
    for join in joins:
        if not join.side and (join.kind or "").upper() in ("", "INNER"):
            symmetric += conjuncts(join.args.get("on"))
    for predicate in symmetric:
        if _is_column_pair(predicate):
            a, b = predicate.left, predicate.right
            if a.table.lower() not in nullable and b.table.lower() not in nullable:
                yield a, b
                yield b, a
    for join in joins:
        if (join.side or "").upper() != "LEFT":
            continue
        right = join.this.alias_or_name.lower()
        for predicate in conjuncts(join.args.get("on")):
            if _is_column_pair(predicate):
                a, b = predicate.left, predicate.right
                if a.table.lower() == right:
                    a, b = b, a
                if b.table.lower() == right and a.table.lower() != right:
                    yield a, b


def _is_column_pair(predicate: exp.Expression) -> bool:
    return (
        isinstance(predicate, exp.EQ)
        and isinstance(predicate.left, exp.Column)
        and isinstance(predicate.right, exp.Column)
        and bool(predicate.left.table)
        and bool(predicate.right.table)
        and predicate.left.table != predicate.right.table
    )


def reduce_joins(expression: exp.Expression, *, context: PlanContext) -> exp.Expression:
    for _ in range(3):  # a reduction found makes its consumer small enough to reduce the next: a chain
        if not _plan_reductions(expression, context):
            break
    _drop_idle(context.scans)
    return expression


def _drop_idle(scans: dict) -> None:
    """Take back each file's reduction that does not pay. A file parses its bytes whole either way, so it
    is reduced to reduce, in turn, an SQL source of some size (directly or through other files), or for
    its own sake: by a very selective producer (:func:`keeps`), and then only if its files turn out big
    (``min_bytes``, at run time): a parse that returns few rows runs on all the scan's threads (one that
    returns most of them is held to the reader's pace), and the engine is spared the rows. TPC-H Q2: the
    747 parts of one size and type reduce ``partsupp`` (177 MB of JSON) to 2,988 rows.

    A file the query reads twice with different reductions is shared instead
    (:mod:`c360.planner.share_scans` shares only scans reduced alike, and a second parse of the file
    costs more than any reduction saves)."""
    while True:
        idle = [s for s in scans.values() if any(r.min_bytes == 0 for r in s.reductions) and not _reads_less(s)
                and (not _feeds_a_big_source(s, scans, set()) or _read_twice(s, scans))]
        if not idle:
            return
        for scan in idle:
            kept, twice = [], _read_twice(scan, scans)
            for reduction in scan.reductions:
                producer = scans[reduction.producer]
                if reduction.min_bytes == 0:
                    scan.notes.remove(_note(reduction, producer))
                    if twice or keeps(producer, scans) > FILE_SELECTIVE:
                        continue
                    reduction = dataclasses.replace(reduction, min_bytes=FILE_BYTES)
                    scan.notes.append(_note(reduction, producer))
                kept.append(reduction)
            scan.reductions[:] = kept


#: the fraction of rows a pushed filter is assumed to keep, by kind, for :func:`keeps`
KEEPS = ((exp.EQ, 0.05), (exp.Like, 0.2), (exp.In, 0.05), (exp.Is, 0.1),
         ((exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between), 0.33), ((exp.NEQ, exp.Not), 0.9))


def keeps(scan: ScanPlan, scans: dict, seen: frozenset = frozenset()) -> float:
    """The fraction of its table ``scan`` is expected to return: what its filters keep, and the smallest of
    what its producers keep (``p_size = 15 AND p_type LIKE '%BRASS'``: 0.05 * 0.2 = 0.01; ``p_size IN (8
    sizes) AND p_brand <> 'Brand#45'``: 0.4 * 0.9 = 0.36)."""
    if scan.statement is not None:
        fraction = 0.05 if scan.selective else FILTER_KEEPS if scan.filtered else 1.0
    else:
        fraction = 1.0
        for predicate in scan.filters:
            kept = next((keep for kinds, keep in KEEPS if isinstance(predicate, kinds)), FILTER_KEEPS)
            if isinstance(predicate, exp.In):
                kept = min(1.0, kept * keys_in(predicate))
            fraction *= 0.9 if predicate.args.get("negate") else kept  # NOT LIKE, NOT IN
    return fraction * _producers_keep(scan, scans, seen)


def _producers_keep(scan: ScanPlan, scans: dict, seen: frozenset = frozenset()) -> float:
    """The smallest fraction ``scan``'s producers keep of their tables (1.0 without producers): what a reduction
    by them keeps of ``scan``, along a foreign key."""
    return min((keeps(scans[r.producer], scans, seen | {scan.name}) for r in scan.reductions
                if r.producer in scans and r.producer not in seen), default=1.0)


def _feeds_a_big_source(scan: ScanPlan, scans: dict, seen: set) -> bool:
    seen.add(scan.name)
    for consumer in scans.values():
        if consumer.name in seen or not any(r.producer == scan.name for r in consumer.reductions):
            continue
        if _reads_less(consumer):
            size = estimated_rows(consumer)
            if size is None or size >= FILE_FEEDS:
                return True
        elif _feeds_a_big_source(consumer, scans, seen):
            return True
    return False


def _read_twice(scan: ScanPlan, scans: dict) -> bool:
    """Whether the query reads ``scan``'s table again, reduced otherwise (so it cannot be shared)."""
    mine = _reduced_by(scan, scans)
    return any(other is not scan and other.connector is scan.connector and other.statement is None
               and other.table.name == scan.table.name and _reduced_by(other, scans) != mine
               for other in scans.values())


def _reduced_by(scan: ScanPlan, scans: dict, seen: frozenset = frozenset()) -> frozenset:
    """What reduces ``scan``, by what its producers ask of their sources (producers alike are one when
    :mod:`c360.planner.share_scans` shares them: TPC-H Q11 reads ``supplier`` twice, each reducing one of
    its two ``partsupp``)."""
    seen = seen | {scan.name}
    return frozenset((request(scans[r.producer]), _reduced_by(scans[r.producer], scans, seen),
                      r.producer_column, r.column)
                     for r in scan.reductions if r.producer in scans and r.producer not in seen)


def _note(reduction: Reduction, producer: ScanPlan) -> str:
    big = f" and its files hold {reduction.min_bytes / 1e6:,.0f} MB or more" if reduction.min_bytes else ""
    return (f"reduced at run time by the {reduction.producer_column} values of {producer.qualified_name} "
            f"(as {reduction.column} IN (…)) when that side is small{big}")


def _plan_reductions(expression: exp.Expression, context: PlanContext) -> bool:
    by_name = context.scans
    added = False
    for scope in traverse_scope(expression):
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        scans = {
            alias.lower(): context.scan_for(source)
            for alias, source in scope.sources.items()
            if isinstance(source, exp.Table) and context.scan_for(source)
        }
        renamed = _renaming_subqueries(scope, context)
        candidates = [(*_through(a, scans, renamed), *_through(b, scans, renamed)) for a, b in _pairs(select)]
        candidates += list(_correlated_pairs(scope, context))
        candidates += list(_semi_join_pairs(select, scans, renamed, context))
        for producer, a, consumer, b in candidates:
            if producer is None or consumer is None or producer is consumer:
                continue
            if _reaches(by_name, producer.name, consumer.name):
                continue  # the consumer already reduces the producer, directly or not
            if not _producer(producer, by_name) or not _consumer(consumer) or not _worth(producer, consumer, by_name):
                continue
            producer_column, column = producer.table.column(a.name), consumer.table.column(b.name)
            if producer_column is None or column is None or not _reducible(consumer, column.name):
                continue
            reduction = Reduction(producer.name, producer_column.name, column.name)
            if reduction not in consumer.reductions:
                consumer.reductions.append(reduction)
                consumer.notes.append(_note(reduction, producer))
                added = True
    return added
