"""Plans reused across executions of the same statement shape, with parameters bound late.

Planning ``SELECT * FROM customer_360 WHERE customer_id = ?`` costs hundreds of
milliseconds of sqlglot work; an agent's screen asks it for customer after
customer. A plan is cached under its *shape*: the SQL text, the types of its
parameters and ``SET VARIABLE`` values (with which of them are equal and which
are NULL), and the project's views. On a hit the cached plan is copied and every
value in it that came from a parameter is recomputed for the new values: the
parameters themselves (``SLOT`` nodes), and literals computed from them (folded
``CAST(? AS DATE) - INTERVAL 30 DAY``, re-typed dates: ``DERIVED`` nodes), in the
DuckDB query's ``$n`` values, in every pushed statement and in every scan's filters.

Trust is earned, value by value: a parameter (or variable) whose value differs from
the one the plan was made with is served from the cache only after a hit where
that parameter changed was also planned in full and the two plans were the same
(DuckDB SQL, every statement and filter sent). A shape whose rebound plan ever
differs is never served from the cache again: a value the tracking missed (folded
by a rule that does not keep track) can never reach a source. A value that would
change a decision the plan took (a string with a NUL byte, a date that does not
parse) sends that execution to the full planner.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlglot import exp

from c360.planner.parse import DERIVED, PARAMETER, SLOT, parameter

SIZE = 512


class Stale(Exception):
    """The new values would have changed the plan: plan in full."""


@dataclass
class Entry:
    """A cached plan, the values it was made with, and the slots whose change has been verified."""

    plan: object
    values: dict
    verified: set = field(default_factory=set)
    broken: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: the plan as one SQL on one accelerated copy, once it ran so (:mod:`c360.acceleration.direct`);
    #: False when it has no such form
    direct: object = None

    def changed(self, values: dict) -> set:
        return {slot for slot, value in values.items()
                if slot not in self.values or type(self.values[slot]) is not type(value) or self.values[slot] != value}

    def trusted(self, values: dict) -> bool:
        return not self.broken and self.changed(values) <= self.verified

    def verify(self, values: dict, rebound, full) -> None:
        with self.lock:
            if same(rebound, full):
                self.verified |= self.changed(values)
            else:
                self.broken = True


class PlanCache:
    """A bounded map from statement shape to plan; thread-safe (one per catalog, shared by its engines)."""

    def __init__(self, size: int = SIZE):
        self.size = size
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._queries: set = set()
        self.hits = self.misses = 0

    def get(self, key) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
            return entry

    def put(self, key, plan, values: dict) -> Entry | None:
        """Keep ``plan`` under ``key``; returns its entry (None: a plan that is not reused)."""
        if not cacheable(plan):
            return None
        entry = Entry(plan, dict(values))
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return entry

    def known_query(self, sql: str, named: bool) -> bool:
        """Whether ``sql`` was planned before as a query (not EXPLAIN, SET or SHOW): it needs no parsing to
        be told apart from those again."""
        return (sql, named) in self._queries

    def add_query(self, sql: str, named: bool) -> None:
        if len(self._queries) >= 4 * self.size:
            self._queries.clear()
        self._queries.add((sql, named))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._queries.clear()


def shape(sql: str, params, variables: dict, views_key) -> tuple:
    """The cache key: what a plan may depend on besides the values themselves."""
    if isinstance(params, dict):
        named = sorted(params.items())
        values = [v for _, v in named]
        names = tuple(k for k, _ in named)
    else:
        values = list(params or ())
        names = None
    variable_items = sorted(variables.items())
    variable_values = [node.meta.get(PARAMETER, node.sql("duckdb")) for _, node in variable_items]
    everything = values + variable_values
    return (
        sql,
        names,
        tuple(_type_tag(v) for v in values),
        tuple((name, _type_tag(v)) for (name, _), v in zip(variable_items, variable_values)),
        _equalities(everything),
        views_key,
    )


def _type_tag(value) -> str:
    tag = type(value).__name__
    if isinstance(value, str) and "\x00" in value:
        tag += "+nul"
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        tag += "+special"
    return tag


def _equalities(values: list) -> tuple:
    """For each value, the index of the first value equal to it (plans compare literals structurally)."""
    out = []
    for i, value in enumerate(values):
        out.append(next(j for j in range(i + 1) if type(values[j]) is type(value) and values[j] == value))
    return tuple(out)


def cacheable(plan) -> bool:
    """A plan whose LIMIT or OFFSET comes from a parameter took decisions on the value: not reused."""
    for tree in _trees(plan):
        for node in tree.find_all(exp.Limit, exp.Offset):
            if any(SLOT in n.meta or DERIVED in n.meta for n in node.walk()):
                return False
    return True


def _trees(plan):
    if plan.statement is not None:
        yield plan.statement
    for scan in plan.scans:
        if scan.statement is not None:
            yield scan.statement
        yield from scan.filters


def rebind(plan, values_by_slot: dict, evaluate):
    """A copy of ``plan`` with every parameter and parameter-derived literal recomputed.

    ``values_by_slot`` maps slots to new values; ``evaluate(expression)`` computes a constant expression's
    value as DuckDB does (raising when it cannot: the caller plans in full then).
    """
    fresh = copy.copy(plan)
    fresh.scans = []
    for scan in plan.scans:
        clone = copy.copy(scan)
        clone.notes = list(scan.notes)
        if scan.statement is not None:
            clone.statement = _rebound(scan.statement, values_by_slot, evaluate)
        clone.filters = [_rebound(f, values_by_slot, evaluate) for f in scan.filters]
        clone.superset_filters = [f for f, old in zip(clone.filters, scan.filters)
                                  if any(old is s for s in scan.superset_filters)]
        fresh.scans.append(clone)
    try:
        fresh.params = [values_by_slot[slot] for slot in plan.slots]
    except KeyError as missing:
        raise Stale(f"no value for {missing}") from None
    return fresh


def _rebound(tree: exp.Expression, values_by_slot: dict, evaluate) -> exp.Expression:
    def visit(node):
        if SLOT in node.meta:
            return _new_parameter(node, values_by_slot)
        if DERIVED in node.meta:
            expression = node.meta[DERIVED].copy().transform(
                lambda n: _new_parameter(n, values_by_slot) if SLOT in n.meta else n
            )
            from c360.planner.parse import literal

            value = evaluate(expression)
            fresh = literal(value)
            fresh.meta[DERIVED] = node.meta[DERIVED]
            if type(fresh) is not type(node) or (isinstance(node, exp.Cast) and node.to != fresh.to):
                raise Stale("a derived value changed type")
            return fresh
        return node

    return tree.copy().transform(visit)


def _new_parameter(node: exp.Expression, values_by_slot: dict) -> exp.Expression:
    slot = node.meta[SLOT]
    if slot not in values_by_slot:
        raise Stale(f"no value for {slot}")
    fresh = parameter(values_by_slot[slot], slot)
    if type(fresh) is not type(node):
        raise Stale("a parameter changed type")
    return fresh


def same(a, b) -> bool:
    """Whether two plans would send and run exactly the same things."""
    if a.sql != b.sql or a.params != b.params or len(a.scans) != len(b.scans):
        return False
    for x, y in zip(a.scans, b.scans):
        if x.source != y.source or x.columns != y.columns or x.limit != y.limit:
            return False
        if (x.statement is None) != (y.statement is None):
            return False
        if x.statement is not None and x.statement.sql("duckdb") != y.statement.sql("duckdb"):
            return False
        if [f.sql("duckdb") for f in x.filters] != [f.sql("duckdb") for f in y.filters]:
            return False
    return True
