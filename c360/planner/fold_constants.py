"""Evaluate constant sub-expressions (``DATE '2026-11-01' - INTERVAL 30 DAY``, ``current_date``)
once, locally, with DuckDB's meaning, so a source receives plain literals.

Only copies of predicates offered to sources are folded; the DuckDB query keeps
the user's expression. Folding ``current_date`` once also gives every source the
same "now". Typed literals (``CAST('2026-1-5' AS DATE)``) are validated the same
way and sent in their canonical spelling; one DuckDB cannot convert
(``CAST('yesterday-ish' AS DATE)``) is marked :data:`INVALID` and never pushed, so
DuckDB raises its own conversion error instead of a source answering NULL.
The evaluating connection is locked like the engine's (no files, no network).
"""

from __future__ import annotations

import datetime as dt
import decimal
import threading

import duckdb
from sqlglot import exp

from c360 import policy
from c360.errors import DataError
from c360.planner.classify import is_constant
from c360.planner.parse import derived, literal, residual_sql
from c360.secrets import redact

_lock = threading.Lock()
_connection = None

_NOT_CONSTANT = (exp.Column, exp.Placeholder, exp.Parameter, exp.Select, exp.Subquery, exp.AggFunc, exp.Window,
                 exp.Star)
_VOLATILE = {"random", "uuid", "gen_random_uuid", "nextval", "setseed"}


#: meta key on a typed literal DuckDB cannot convert: it is not a constant a source may see
INVALID = "c360_invalid"


#: values already computed, by (SQL, parameter values, today): planning folds the same as-of
#: expressions many times. Expressions reading the clock finer than the day are never kept.
_MEMO: dict = {}
_MEMO_SIZE = 4096
_CLOCK = ("CURRENT_TIMESTAMP", "NOW(", "CURRENT_TIME", "GET_CURRENT_TIME", "EPOCH_MS(")


def _evaluate(node: exp.Expression):
    global _connection
    sql, values = residual_sql(exp.select(node.copy()))
    key = (sql, tuple((type(v), v) for v in values), dt.date.today())
    cacheable = not any(word in sql.upper() for word in _CLOCK)
    try:
        hash(key)
    except TypeError:  # a list parameter
        cacheable = False
    if cacheable and key in _MEMO:
        return _MEMO[key]
    with _lock:
        if _connection is None:
            _connection = duckdb.connect(config=policy.locked_config(threads=1))
            policy.lock(_connection)
        value = _connection.execute(sql, values).fetchone()[0]
    if cacheable:
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.clear()
        _MEMO[key] = value
    return value


def evaluate(node: exp.Expression):
    """A constant expression's value as DuckDB computes it; duckdb.Error if it cannot."""
    return _evaluate(node)


def evaluate_constant(node: exp.Expression):
    """The value of a constant expression as DuckDB computes it; DataError if DuckDB cannot.

    Used where a value must be known before anything runs (``SET VARIABLE``).
    """
    try:
        return _evaluate(node)
    except duckdb.Error as error:
        raise DataError(redact(str(error).splitlines()[0])) from None


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
                 exp.Ordered, exp.Interval, exp.Literal, exp.Distinct, exp.Order, exp.Where, exp.Group,
                 exp.Having, exp.Limit, exp.Offset, exp.From, exp.Join, exp.Table, exp.TableAlias)


def fold_constants(node: exp.Expression) -> exp.Expression:
    """A copy of ``node`` with every maximal constant sub-expression replaced by its value."""
    node = node.copy()

    def visit(current: exp.Expression) -> exp.Expression:
        if isinstance(current, exp.Cast) and is_constant(current):
            return _canonical(current)
        if _foldable(current):
            try:
                value = _evaluate(current)
            except duckdb.Error:
                return current
            if isinstance(value, (str, int, float, decimal.Decimal, bool, dt.date, dt.datetime)) or value is None:
                return derived(literal(value), current)
            return current
        for key, child in list(current.args.items()):
            if isinstance(child, exp.Expression):
                current.set(key, visit(child))
            elif isinstance(child, list):
                current.set(key, [visit(c) if isinstance(c, exp.Expression) else c for c in child])
        return current

    return visit(node)


def _canonical(cast: exp.Cast) -> exp.Expression:
    """A typed literal in the spelling :func:`literal` gives its value, or marked INVALID."""
    try:
        value = _evaluate(cast)
    except duckdb.Error:
        cast.meta[INVALID] = True
        return cast
    if isinstance(value, (dt.date, dt.datetime)) and not (isinstance(value, dt.datetime) and value.tzinfo):
        return derived(literal(value), cast)
    return cast
