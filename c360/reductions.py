"""Join reductions at run time: read the small side first, send its keys into the big side's request.

The planner (:mod:`c360.planner.reduce_joins`) records, per scan, which other
scans may reduce it (``consumer.column IN (producer's values)``), as a DAG: a
producer may itself be reduced first (nation → supplier → lineitem). Before the
query starts, :class:`Reducer` walks that DAG (the scans not in it are already
running, :attr:`Reducer.waiting`): each producer is read (after its
own reductions) up to :data:`MAX_ROWS` rows; if it ended within that, its distinct
keys (at most :data:`MAX_KEYS`) replace the consumer's request — as ``IN`` lists of
at most :data:`KEYS_PER_STATEMENT` keys (:data:`KEYS_PER_LONG_STATEMENT` for MariaDB and PostgreSQL),
several statements when there are more; a file scan takes them all, a long list as a table of keys
(:func:`connectors.files.query.key_tables`) —
or, with no keys at all, the consumer is not read. A producer that turns out
bigger is streamed on as it is, and nothing is reduced by it: a wrong guess costs
a wait, never an answer.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
from sqlglot import exp

from c360.planner.classify import Classifier
from c360.planner.parse import literal
from connectors.base import Scan
from connectors.sql import integer_keys, renders

#: a producer is read first, up to this many rows ...
MAX_ROWS = 200_000
#: ... and at most this many distinct keys are sent, ...
MAX_KEYS = 100_000
#: ... in IN lists of at most this many keys per statement (SQL Server and SQLite: long IN lists exhaust
#: their parsers) ...
KEYS_PER_STATEMENT = 10_000
#: ... or this many for MariaDB/MySQL and PostgreSQL, which take one long sorted IN list well: each further
#: statement runs a pushed join again (TPC-H SF 1 Q3: 30,142 keys in 4 statements 88 s, in one 51 s)
KEYS_PER_LONG_STATEMENT = 50_000
#: ... an IN list of more integer keys than this is one node of text, not one sqlglot node per key (TPC-H Q2's 747
#: part keys as nodes: 6 ms of sqlglot to write the file's SQL, and garbage enough to set off a full collection)
COMPACT_KEYS = 64


class Reducer:
    """Applies one execution's planned reductions; ``run()`` starts each scan they hold back once they are
    decided (``waiting`` names those scans; the engine starts the others at once)."""

    def __init__(self, execution, guard):
        self.execution = execution
        self.plans = execution.plan.scans
        self.index = {scan_plan.name: i for i, scan_plan in enumerate(self.plans)}
        self.guard = guard
        self.prefetched: dict[str, tuple[list, bool, object]] = {}
        self.reduced: set[str] = set()
        #: per scan, the reductions to try (:meth:`_tried`)
        self.reductions = self._tried()
        #: the scans whose rows a reduction reads first
        self.producers = {r.producer for reductions in self.reductions.values() for r in reductions}
        #: the scans a reduction reads first or may change; every other scan can start before :meth:`run`
        self.waiting = self.producers | {name for name, reductions in self.reductions.items() if reductions}

    def _tried(self) -> dict[str, list]:
        """Each scan's reductions, but a file's own-sake one (``min_bytes``) only when its files are big
        enough, or when it produces keys for another such reduction that is tried (TPC-H Q11: the small supplier file,
        reduced by one nation, reduces the big partsupp file)."""
        sizes = {p.name: sum(entry.size for entry in getattr(scan, "entries", None) or ())
                 for p, scan in zip(self.plans, self.execution.scans)}
        tried = {p.name: [r for r in p.reductions if sizes[p.name] >= r.min_bytes] for p in self.plans}
        while True:
            producers = {r.producer for reductions in tried.values() for r in reductions if r.min_bytes}
            more = {p.name: [r for r in p.reductions if r not in tried[p.name] and p.name in producers]
                    for p in self.plans}
            if not any(more.values()):
                break
            for name, reductions in more.items():
                tried[name] += reductions
        for scan_plan in self.plans:
            for reduction in scan_plan.reductions:
                if reduction not in tried[scan_plan.name]:
                    scan_plan.notes.append(f"not reduced: its files hold {sizes[scan_plan.name] / 1e6:,.1f} MB, "
                                           f"less than {reduction.min_bytes / 1e6:,.0f} MB")
        return tried

    def run(self, start) -> None:
        """Apply every reduction. ``start(index, batches)`` starts each waiting scan as soon as its own
        reductions are decided (a producer once read, its prefetched batches first); the producers that wait
        for nothing are read at once, together."""
        self.start_scan, self.started = start, set()
        roots = [name for name in self.producers if not self.reductions[name]]
        pool = ThreadPoolExecutor(max_workers=max(1, len(roots)), thread_name_prefix="c360-producer")
        try:
            self.futures = {name: pool.submit(_prefetch, self.execution.scans[self.index[name]]) for name in roots}
            for scan_plan in self.plans:
                self._reduce(scan_plan)
            for name in self.producers:  # producers no reduction came to ask (an earlier one applied)
                self._produced(name)
        finally:
            pool.shutdown(wait=False)

    def _reduce(self, scan_plan) -> None:
        """Apply ``scan_plan``'s reductions (its producers read first, reduced themselves first); then start
        it, unless a consumer reads it first."""
        if scan_plan.name in self.reduced:
            return
        self.reduced.add(scan_plan.name)
        for reduction in self.reductions[scan_plan.name]:
            batches, complete = self._produced(reduction.producer)
            if complete and self._apply(scan_plan, reduction, batches):
                break
        if scan_plan.name in self.waiting and scan_plan.name not in self.producers:
            self._start(scan_plan.name, None)

    def _produced(self, name: str) -> tuple[list, bool]:
        if name not in self.prefetched:
            self._reduce(self.plans[self.index[name]])
            future = self.futures.pop(name, None)
            self.prefetched[name] = future.result() if future else _prefetch(self.execution.scans[self.index[name]])
            if self.execution.error is not None:
                raise self.execution.error
            self._start(name, self.prefetched[name])
        batches, complete, _ = self.prefetched[name]
        return batches, complete

    def _start(self, name: str, prefetched) -> None:
        index = self.index[name]
        if name not in self.started:
            self.started.add(name)
            batches = self.execution.scans[index].batches() if prefetched is None else \
                _chain(prefetched[0], prefetched[2])
            self.start_scan(index, batches)

    def _apply(self, scan_plan, reduction, batches) -> bool:
        producer = self.plans[self.index[reduction.producer]]
        i = self.index[scan_plan.name]
        values = _distinct(batches, reduction.producer_column)
        if len(values) > MAX_KEYS:
            scan_plan.notes.append(
                f"not reduced: {producer.qualified_name} has {len(values):,} {reduction.producer_column} values "
                f"(more than {MAX_KEYS:,})"
            )
            return False
        scan = self.execution.scans[i]
        if not values:
            nothing = f"nothing: {producer.qualified_name} has no rows to join"
            self.execution.scans[i] = _NothingScan(scan.request, nothing)
            scan_plan.notes.append(f"not read: {producer.qualified_name} returned no {reduction.producer_column}")
            return True
        requests = []
        per_statement = _keys_per_statement(scan_plan.connector) or len(values)
        for start in range(0, len(values), per_statement):
            chunk = values[start:start + per_statement]
            request = _reduced_request(scan_plan, scan.request, reduction.column, chunk)
            if request is None:
                return False
            requests.append(request)
        connector = scan_plan.connector
        scans = [self.guard(connector, lambda r=r: connector.scan(r)) for r in requests]
        self.execution.scans[i] = scans[0] if len(scans) == 1 else _ChainedScan(scan.request, scans)
        statements = f" in {len(scans)} statements" if len(scans) > 1 else ""
        scan_plan.notes.append(
            f"reduced: {len(values):,} {reduction.producer_column} values of {producer.qualified_name} sent as "
            f"{reduction.column} IN (…){statements}"
        )
        return True


def _keys_per_statement(connector) -> int | None:
    """How many keys one statement takes (None: all of them, a file scan reads its keys from a table)."""
    if hasattr(connector, "keys_per_statement"):
        return connector.keys_per_statement
    if getattr(connector, "kind", None) == "mysql" or getattr(connector, "dialect_name", None) == "postgres":
        return KEYS_PER_LONG_STATEMENT
    return KEYS_PER_STATEMENT


def _reduced_request(scan_plan, request, column: str, values: list):
    """``request`` restricted to ``column IN values``, or None if the source cannot take it exactly."""
    connector = scan_plan.connector
    dialect = getattr(connector, "dialect", None)
    if scan_plan.statement is not None:  # a pushed fragment: the keys join its WHERE
        predicate, checked = _predicate(scan_plan.reducible[column], values)
        if predicate is None:
            return None
        if dialect is not None and not renders(checked, dialect):  # the rest of the statement rendered already
            return None
        return dataclasses.replace(request, statement=request.statement.where(predicate))

    def plain(keys):
        return exp.In(this=exp.column(column), expressions=[literal(v) for v in keys])

    predicate, checked = _predicate(plain, values)
    if Classifier(scan_plan.table, connector.capabilities).classify(checked) is None:
        return None
    if dialect is not None and not renders(checked, dialect):
        return None
    return dataclasses.replace(request, filters=(*request.filters, predicate))


def _predicate(build, values: list):
    """``(build(values), what to check it by)``. A long list of integers is built and checked with two keys,
    then carries them all as one node of text (:func:`connectors.sql.integer_keys`): the check depends on
    the key's type, not on how many keys there are, and a node per key costs seconds in sqlglot."""
    if len(values) <= COMPACT_KEYS or not all(type(v) is int for v in values):
        predicate = build(values)
        return predicate, predicate
    sample = build(values[:2])
    if not isinstance(sample, exp.In) or len(sample.expressions) != 2 \
            or not all(isinstance(e, exp.Literal) for e in sample.expressions):
        predicate = build(values)
        return predicate, predicate
    compact = sample.copy()
    compact.set("expressions", [integer_keys(values)])
    return compact, sample


def _distinct(batches: list, column: str) -> list:
    if not batches:
        return []
    import pyarrow.compute as pc  # here: every engine imports this module, few queries reduce

    values = pc.unique(pa.chunked_array([b.column(b.schema.get_field_index(column)) for b in batches]))
    return sorted(values.drop_null().to_pylist())


def _prefetch(scan: Scan):
    rows, batches = 0, []
    iterator = scan.batches()
    for batch in iterator:
        batches.append(batch)
        rows += batch.num_rows
        if rows > MAX_ROWS:
            return batches, False, iterator
    return batches, True, iter(())


def _chain(first: list, rest):
    """``first``'s batches, then ``rest``'s; closing it closes ``rest`` (a scan's generator)."""
    try:
        yield from first
        yield from rest
    finally:
        close = getattr(rest, "close", None)
        if close is not None:
            close()


class _NothingScan(Scan):
    """A scan a join reduction proved unnecessary: it sends nothing and yields no rows."""

    def _batches(self):
        return iter(())


class _ChainedScan(Scan):
    """Several statements to one source, one after the other (a reduction's keys, a list at a time)."""

    def __init__(self, request, scans: list[Scan]):
        super().__init__(request, " ; ".join(scan.sent for scan in scans))
        self.parts = scans
        self.notes.extend(dict.fromkeys(note for scan in scans for note in scan.notes))  # each hint said once

    def _batches(self):
        for part in self.parts:
            if self.cancelled.is_set():
                return
            yield from part.batches()

    def cancel(self) -> None:
        super().cancel()
        for part in self.parts:
            part.cancel()
