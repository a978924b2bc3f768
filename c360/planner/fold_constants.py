"""Evaluate constant sub-expressions (``DATE '2026-11-01' - INTERVAL 30 DAY``, ``current_date``)
once, locally, with DuckDB's meaning, so a source receives plain literals.

Only copies of predicates offered to sources are folded; the DuckDB query keeps
the user's expression. Folding ``current_date`` once also gives every source the
same "now".
"""

from __future__ import annotations

import datetime as dt
import decimal
import threading

import duckdb
from sqlglot import exp

from c360.planner.classify import is_constant
from c360.planner.parse import literal

_lock = threading.Lock()
_connection = None

_NOT_CONSTANT = (exp.Column, exp.Placeholder, exp.Parameter, exp.Select, exp.Subquery, exp.AggFunc, exp.Window, exp.Star)
_VOLATILE = {"random", "uuid", "gen_random_uuid", "nextval", "setseed"}


def _evaluate(node: exp.Expression):
    global _connection
    with _lock:
        if _connection is None:
            _connection = duckdb.connect()
        return _connection.execute(exp.select(node.copy()).sql(dialect="duckdb")).fetchone()[0]


def _foldable(node: exp.Expression) -> bool:
    """A value-producing expression with no columns, parameters, subqueries or volatile calls."""
    if is_constant(node) or isinstance(node, _NEVER_FOLDED):
        return False
    if node.find(*_NOT_CONSTANT):
        return False
    return not any(
        isinstance(f, exp.Rand) or f.sql_name().lower() in _VOLATILE for f in node.find_all(exp.Func)
    )


_NEVER_FOLDED = (exp.Predicate, exp.Connector, exp.Not, exp.Identifier, exp.DataType, exp.Var, exp.Tuple,
                 exp.Ordered, exp.Interval, exp.Literal)


def fold_constants(node: exp.Expression) -> exp.Expression:
    """A copy of ``node`` with every maximal constant sub-expression replaced by its value."""
    node = node.copy()

    def visit(current: exp.Expression) -> exp.Expression:
        if _foldable(current):
            try:
                value = _evaluate(current)
            except duckdb.Error:
                return current
            if isinstance(value, (str, int, float, decimal.Decimal, bool, dt.date, dt.datetime)) or value is None:
                return literal(value)
            return current
        for key, child in list(current.args.items()):
            if isinstance(child, exp.Expression):
                current.set(key, visit(child))
            elif isinstance(child, list):
                current.set(key, [visit(c) if isinstance(c, exp.Expression) else c for c in child])
        return current

    return visit(node)
