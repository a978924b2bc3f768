"""Repeated lookups of one copy, run straight on the copy's DuckDB: no parsing, no planning, no rebinding.

A statement that reads nothing but one accelerated copy runs whole inside the copy's own DuckDB
(:meth:`c360.acceleration.run.RunsOnCopies._start_in_copy`). Once its shape is in the plan cache and has run
that way, :func:`copy_statement` turns the cached plan into a :class:`CopyStatement`: that same
SQL with every parameter left as ``$n`` (the pushed filter ``"customer_id" = 42`` becomes
``"customer_id" = $1``; a date or datetime parameter the planner spelled ``CAST('…' AS TIMESTAMP)`` becomes
``CAST($2 AS TIMESTAMP)``) and the slot each ``$n`` takes its value from. The next execution of
the shape whose values the plan cache *trusts* (every changed value verified against a full
plan, :class:`c360.planner.cache.Entry`) skips sqlglot altogether: it binds the new values to
that SQL on the copy's connection. A plan holding a value computed from a parameter (a folded
``CAST(? AS DATE) - INTERVAL 1 DAY``) or a value without a slot has no such form: it is
rebound as before.

Such a run can also skip Arrow: once a statement's result schema is known (its first run read it as
Arrow) and every column is of a type whose Python value DuckDB gives as Arrow's ``to_pylist`` does
(:func:`plain_schema`), a caller that wants Python rows (``c360 serve`` encoding a lookup's row) fetches
them straight from DuckDB (:meth:`c360.engine.Execution.fetch_rows`): for a row of ~60 columns that is
about half of DuckDB's time per lookup.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from sqlglot import exp

from c360.acceleration.connector import LOOKUP_TABLE, CopyConnector, local_sql, open_copy, open_lookup
from c360.planner.parse import DERIVED, PARAMETER, SLOT
from connectors.base import ScanRequest, ScanStats


@dataclass
class CopyStatement:
    """The DuckDB SQL a shape runs on one copy, ``$n`` taking the value of ``slots[n - 1]``."""

    sql: str
    slots: tuple
    #: the copies' data files (a cached plan names each manifest's file: a new copy is a new shape); with more
    #: than one, the SQL runs where they are attached as ``c360_copy_<n>`` (:mod:`c360.acceleration.joined`)
    paths: tuple
    #: what each scan report says was sent (a copy's SELECT, with ``$n``)
    sent: tuple
    #: the result's schema once a run read it as Arrow, when every column is plain (:func:`plain_schema`):
    #: later runs with scalar values may fetch Python rows instead (the same SQL on the same immutable file,
    #: the same parameter types: the same result types)
    row_schema: pa.Schema | None = dataclasses.field(default=None, compare=False)
    #: the same SQL on the copy's table as :func:`~c360.acceleration.connector.open_lookup` names it, when the
    #: statement is the copy's plain SELECT (columns, filters, at most ORDER BY ... LIMIT): it runs there, with
    #: the optimizer passes such a SELECT does not need left out
    lookup: str | None = None

    def values(self, values_by_slot: dict) -> list | None:
        """The parameters for ``values_by_slot`` (the engine's slot values); None when one is missing."""
        try:
            return [values_by_slot[slot] for slot in self.slots]
        except KeyError:
            return None


def plain_schema(schema: pa.Schema) -> bool:
    """True when DuckDB's Python value of every column (``fetchmany``) is what Arrow's ``to_pylist`` gives for it
    after :func:`c360.server.pg_types.python_column`: booleans, numbers, decimals, text, bytes, dates, times,
    timestamps without time zone and coarser than nanoseconds, and lists of those. Not time zones, intervals,
    UUIDs, maps, structs, dictionaries or nanoseconds (their Python forms differ)."""
    return all(_plain(field.type) for field in schema)


def _plain(kind: pa.DataType, element: bool = False) -> bool:
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return not element and _plain(kind.value_type, True)
    if pa.types.is_timestamp(kind):
        return kind.tz is None and kind.unit != "ns"
    if pa.types.is_time(kind):
        return kind.unit in ("s", "ms", "us")
    return (pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind)
            or pa.types.is_decimal(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)
            or pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_date32(kind))


def scalar_values(values: list) -> bool:
    """True when no value is a list or a mapping (whose element types could change a result's types)."""
    return all(not isinstance(value, (list, tuple, dict)) for value in values)


class _NoDirectForm(Exception):
    pass


class _Numbering:
    """Parameters of a cached plan as ``$n``: ``slots`` (appended to) lists the slot each ``$n`` takes."""

    def __init__(self, slots: list):
        self.slots = slots

    def numbered(self, slot) -> exp.Parameter:
        if slot not in self.slots:
            self.slots.append(slot)
        return exp.Parameter(this=exp.Literal.number(self.slots.index(slot) + 1))

    def placeholder(self, node: exp.Expression) -> exp.Expression:
        """``node`` with its late-bound value as a ``$n`` (a retyped moment cast); raises _NoDirectForm for a
        parameter the plan holds no slot for."""
        if DERIVED in node.meta:
            slot, kind = _retyped_moment(node.meta[DERIVED])
            return exp.Cast(this=self.numbered(slot), to=kind)
        if SLOT in node.meta:
            return self.numbered(node.meta[SLOT])
        if PARAMETER in node.meta:
            raise _NoDirectForm
        return node


def copy_statement(plan) -> CopyStatement | None:
    """The :class:`CopyStatement` of ``plan`` (a cached plan that read only copies), or None."""
    if not plan.scans or not all(isinstance(scan.connector, CopyConnector) for scan in plan.scans):
        return None
    slots = list(plan.slots)
    if None in slots:
        return None
    placeholder = _Numbering(slots).placeholder

    sql, paths, sent, lookup = plan.sql, [], [], None
    for scan in plan.scans:
        if scan.statement is not None:
            return None
        try:
            filters = tuple(f.copy().transform(placeholder) for f in scan.filters)
        except _NoDirectForm:
            return None
        table = scan.table
        if len(plan.scans) > 1:  # attached together: each copy's table by its attached name
            if scan.connector.path not in paths:
                paths.append(scan.connector.path)
            alias = f"c360_copy_{paths.index(scan.connector.path) + 1}"
            table = dataclasses.replace(table, remote_name=(alias, "data"))
        else:
            paths.append(scan.connector.path)
        request = ScanRequest(table=table, columns=scan.columns, filters=filters, order_by=scan.order_by,
                              limit=scan.limit)
        sent.append(scan.connector._select(request))
        if len(plan.scans) == 1 and _only_the_scan(plan.sql, scan.name, filters):
            sql = sent[-1]
            attached = dataclasses.replace(table, remote_name=LOOKUP_TABLE)
            lookup = scan.connector._select(dataclasses.replace(request, table=attached))
        else:
            sql = local_sql(sql, scan.name, sent[-1])
        if sql is None:
            return None
    if len(plan.scans) > 1 and len(paths) < 2:
        return None  # one copy read twice: the single-copy path does not take it either
    return CopyStatement(sql, tuple(slots), tuple(paths), tuple(sent), lookup=lookup)


def _retyped_moment(derivation: exp.Expression) -> tuple:
    """(slot, type) when ``derivation`` (a ``DERIVED`` value's) is a date or naive datetime parameter itself,
    ``CAST('…' AS DATE/TIMESTAMP)``: the value the planner re-spelled it to (folding constants) is the parameter's
    own, so ``CAST($n AS TIMESTAMP)`` bound to it is the same value, for any value of that type (the type is part
    of the cached shape). Any other value computed from a parameter has no direct form (raises)."""
    import datetime as dt

    value = derivation.meta.get(PARAMETER)
    kind = derivation.args.get("to") if isinstance(derivation, exp.Cast) else None
    wanted = exp.DataType.Type.TIMESTAMP if isinstance(value, dt.datetime) else exp.DataType.Type.DATE
    if (SLOT not in derivation.meta or not isinstance(value, dt.date) or getattr(value, "tzinfo", None) is not None
            or kind is None or kind.this != wanted):
        raise _NoDirectForm
    return derivation.meta[SLOT], kind.copy()


def _only_the_scan(sql: str, scan_name: str, filters: tuple) -> bool:
    """True when the residual query ``sql`` is ``SELECT * FROM scan AS alias`` with, at most, a WHERE of filters the
    scan sends too (``filters``, as sent): its answer is then the scan's SELECT itself, which DuckDB binds and runs
    without the wrapping (about a fifth of its time for a lookup of ~60 columns)."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except SqlglotError:
        return False
    if not isinstance(tree, exp.Select) or len(tree.expressions) != 1 or not isinstance(tree.expressions[0], exp.Star):
        return False
    if any(value for key, value in tree.args.items() if key not in ("expressions", "from", "from_", "where")):
        return False
    source = tree.args.get("from_") or tree.args.get("from")
    table = source.this if source is not None else None
    if not isinstance(table, exp.Table) or table.name != scan_name or table.args.get("db") or table.args.get("catalog"):
        return False
    where = tree.args.get("where")
    conditions = list(where.this.flatten()) if where is not None and isinstance(where.this, exp.And) else \
        [where.this] if where is not None else []
    sent = {_bare(condition) for condition in filters}
    return all(_bare(condition) in sent for condition in conditions)


def _bare(condition: exp.Expression) -> str:
    """A condition's SQL with its columns unqualified and unquoted (where a residual and a scan's filter differ)."""
    condition = condition.copy()
    for column in condition.find_all(exp.Column):
        column.set("table", None)
        column.this.set("quoted", False)
    return condition.sql("duckdb")


class DirectScan:
    """The scan report of one copy in a :class:`CopyStatement`'s run (of a single copy, its rows are the result's,
    counted as read). Only what a report reads (``sent``, ``stats``) and what an execution calls (``cancel``):
    the query's cursor is the execution's, which it interrupts itself."""

    __slots__ = ("sent", "stats")

    def __init__(self, sent: str, where: str):
        self.sent = f"{sent} ({where})"
        self.stats = ScanStats()

    def cancel(self) -> None:
        pass


class Cursors:
    """Cursors on copies' data files kept for reuse, by file (and by where: the copy's DuckDB, or with ``lookup``
    its lookup DuckDB, :func:`~c360.acceleration.connector.open_lookup`): one engine's executions take one each
    and give it back when they close, so a lookup does not open a new DuckDB connection every time."""

    KEEP = 4

    def __init__(self):
        self._free: dict[Path, list] = {}
        self._lock = threading.Lock()

    def take(self, path: Path, lookup: bool = False):
        with self._lock:
            free = self._free.get((path, lookup))
            if free:
                return free.pop()
        return open_lookup(path) if lookup else open_copy(path)

    def give(self, path: Path, cursor, lookup: bool = False) -> None:
        with self._lock:
            free = self._free.setdefault((path, lookup), [])
            if len(free) < self.KEEP and len(self._free) <= self.KEEP:
                free.append(cursor)
                return
        cursor.close()

    def close(self) -> None:
        with self._lock:
            everything = [cursor for free in self._free.values() for cursor in free]
            self._free.clear()
        for cursor in everything:
            cursor.close()


# --- a copy and its live tail ------------------------------------------------------------------------------


@dataclass
class TailStatement:
    """A shape that reads one copy and the live tail of the same table (a ``live_tail`` copy: its rows before the
    watermark ``UNION ALL`` the live rows past it, :mod:`c360.planner.use_copies`), run without parsing or
    planning: the copy's SELECT with ``$n`` on the copy's DuckDB, the tail's scan request with this run's values put
    into its few filters (instead of the whole plan copied and rebound), and the plan's residual DuckDB query over
    the two answers, registered as Arrow (instead of a stream and a thread per scan)."""

    #: positions in the plan's scans of the copy and of the live part
    copy_index: int
    tail_index: int
    #: the copy's SELECT, ``$n`` taking the value of ``copy_slots[n - 1]``, and its data file
    copy_sql: str
    copy_slots: tuple
    path: Path
    #: the live part's filters, each parameter a :class:`_Slot` placeholder (filled by :meth:`tail_filters`)
    filters: tuple
    #: every slot a run needs a value for
    needed: frozenset

    def values(self, values_by_slot: dict) -> dict | None:
        """``values_by_slot`` when it has every slot this statement needs, else None."""
        return values_by_slot if self.needed <= values_by_slot.keys() else None

    def copy_values(self, values_by_slot: dict) -> list:
        return [values_by_slot[slot] for slot in self.copy_slots]

    def tail_filters(self, values_by_slot: dict) -> tuple:
        """The live part's filters with these values, as literals (what its scan evaluates and renders)."""
        from c360.planner.parse import literal

        def fill(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Cast) and isinstance(node.this, _Slot):  # a date/datetime: its literal is that CAST
                return literal(values_by_slot[node.this.args["slot"]])
            if isinstance(node, _Slot):
                return literal(values_by_slot[node.args["slot"]])
            return node

        return tuple(f.transform(fill) for f in self.filters)


class _Slot(exp.Expression):
    """Where a parameter's value goes in a :class:`TailStatement`'s live filters."""

    arg_types = {"slot": True}


def tail_statement(plan) -> TailStatement | bool | None:
    """The :class:`TailStatement` of ``plan`` (a cached plan): exactly two scans, one copy and the live part of a
    ``live_tail`` table, neither a whole statement nor reduced by the other; every parameter a plain value or a
    date/datetime one (:func:`_retyped_moment`). False for a plan that reads a live tail without such a form;
    None for a plan that reads no live tail (it may still run whole in a copy: :func:`copy_statement`)."""
    from c360.acceleration.connector import LiveTailConnector

    if not any(isinstance(s.connector, LiveTailConnector) for s in plan.scans):
        return None
    if len(plan.scans) != 2 or None in plan.slots:
        return False
    kinds = [isinstance(s.connector, CopyConnector) for s in plan.scans]
    if sorted(kinds) != [False, True]:
        return False
    if any(s.statement is not None or getattr(s, "reductions", None) for s in plan.scans):
        return False
    copy_index = kinds.index(True)
    copy_scan, tail_scan = plan.scans[copy_index], plan.scans[1 - copy_index]
    copy_slots: list = []
    placeholder = _Numbering(copy_slots).placeholder

    def marked(node: exp.Expression) -> exp.Expression:
        if DERIVED in node.meta:
            slot, kind = _retyped_moment(node.meta[DERIVED])
            return exp.Cast(this=_Slot(slot=slot), to=kind)
        if SLOT in node.meta:
            return _Slot(slot=node.meta[SLOT])
        if PARAMETER in node.meta:
            raise _NoDirectForm
        return node

    try:
        copy_filters = tuple(f.copy().transform(placeholder) for f in copy_scan.filters)
        tail_filters = tuple(f.copy().transform(marked) for f in tail_scan.filters)
    except _NoDirectForm:
        return False
    request = ScanRequest(table=copy_scan.table, columns=copy_scan.columns, filters=copy_filters,
                          order_by=copy_scan.order_by, limit=copy_scan.limit)
    tail_slots = {node.args["slot"] for f in tail_filters for node in f.find_all(_Slot)}
    needed = frozenset(copy_slots) | frozenset(tail_slots) | frozenset(plan.slots)
    return TailStatement(copy_index, 1 - copy_index, copy_scan.connector._select(request), tuple(copy_slots),
                         copy_scan.connector.path, tail_filters, needed)
