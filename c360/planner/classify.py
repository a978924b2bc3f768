"""Can a source evaluate this predicate with DuckDB's meaning?

:func:`classify` answers ``EXACT`` (the source returns exactly the rows DuckDB
would keep), ``SUPERSET`` (it may return more, never fewer: a string equality on
a case-insensitive or trailing-space-blind collation) or ``None`` (keep it
local). Only what the connector's :class:`Capabilities` claim is considered.
DuckDB re-checks every pushed predicate, so a superset is safe; a range or
``<>`` on such a string column would lose rows, and is never pushed.
"""

from __future__ import annotations

import re

import pyarrow as pa
from sqlglot import exp

from c360.planner.parse import retyped
from connectors.base import Capabilities, TableSchema

EXACT = "exact"
SUPERSET = "superset"

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_PREFIX_PATTERN = re.compile(r"^[^%_\\]*%$")
_TEMPORAL = (exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ,
             exp.DataType.Type.DATETIME)


def _weaker(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return None
    return SUPERSET if SUPERSET in (a, b) else EXACT


def is_constant(node: exp.Expression) -> bool:
    """A literal value as the planner leaves it after constant folding."""
    if isinstance(node, (exp.Literal, exp.Boolean, exp.Null)):
        return True
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return True
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        return node.to.is_type(*_TEMPORAL) and not node.meta.get("c360_invalid")
    return False


def _kind(arrow: pa.DataType) -> str:
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
        return "string"
    if pa.types.is_integer(arrow) or pa.types.is_floating(arrow) or pa.types.is_decimal(arrow):
        return "number"
    if pa.types.is_boolean(arrow):
        return "boolean"
    if pa.types.is_date(arrow):
        return "date"
    if pa.types.is_timestamp(arrow) and arrow.tz is None:
        return "timestamp"
    return "other"


def _literal_fits(kind: str, literal: exp.Expression) -> bool:
    if isinstance(literal, exp.Null):
        return False
    if kind == "string":  # a NUL byte has no spelling in every source's SQL (PostgreSQL text cannot hold one)
        return isinstance(literal, exp.Literal) and literal.is_string and "\x00" not in literal.this
    if kind == "number":
        return (isinstance(literal, exp.Literal) and not literal.is_string) or isinstance(literal, exp.Neg)
    if kind == "boolean":
        return isinstance(literal, exp.Boolean)
    if kind == "date":
        return isinstance(literal, exp.Cast) and literal.to.is_type(exp.DataType.Type.DATE)
    if kind == "timestamp":
        return isinstance(literal, exp.Cast) and literal.to.is_type(*_TEMPORAL)
    return False


class Classifier:
    """Classify predicates over one table (columns already unqualified) for one connector."""

    def __init__(self, table: TableSchema, capabilities: Capabilities):
        self.table = table
        self.caps = capabilities

    def column(self, node) -> object | None:
        if isinstance(node, exp.Column):
            return self.table.column(node.name)
        return None

    def classify(self, node: exp.Expression, positive: bool = True) -> str | None:
        if node.args.get("negate"):  # sqlglot spells `x NOT LIKE p` as Like(negate=True): it is NOT (x LIKE p)
            plain = node.copy()
            plain.set("negate", None)
            return self.classify(exp.Not(this=plain), positive)
        partition = self._partition_only(node)
        if partition is not None:
            return partition
        caps = self.caps
        if isinstance(node, exp.Paren):
            return self.classify(node.this, positive)
        if isinstance(node, exp.And):
            if not caps.can_filter("boolean"):
                return None
            return _weaker(self.classify(node.left, positive), self.classify(node.right, positive))
        if isinstance(node, exp.Or):
            if not caps.can_filter("boolean"):
                return None
            return _weaker(self.classify(node.left, positive), self.classify(node.right, positive))
        if isinstance(node, exp.Not):
            if not caps.can_filter("boolean"):
                return None
            inner = self.classify(node.this, not positive)
            return EXACT if inner == EXACT else None
        if isinstance(node, _COMPARISONS):
            return self._comparison(node, positive)
        if isinstance(node, exp.In):
            return self._in(node, positive)
        if isinstance(node, exp.Between):
            return self._between(node)
        if isinstance(node, exp.Is):
            column = self.column(node.this)
            if column and isinstance(node.expression, exp.Null) and caps.can_filter("is_null"):
                return EXACT
            return None
        if isinstance(node, exp.Like):
            return self._like(node, positive)
        return None

    def _partition_only(self, node: exp.Expression) -> str | None:
        """Predicates over partition columns only: exact, evaluated by the connector's pruning."""
        if not self.caps.partitions:
            return None
        columns = list(node.find_all(exp.Column))
        if not columns:
            return None
        for column in columns:
            found = self.table.column(column.name)
            if found is None or not found.partition:
                return None
        if node.find(exp.Select, exp.AggFunc, exp.Window):
            return None
        return EXACT

    def _string_result(self, column, positive: bool, equality: bool) -> str | None:
        if column.exact_strings:
            return EXACT
        return SUPERSET if (equality and positive) else None

    def _comparison(self, node: exp.Binary, positive: bool) -> str | None:
        if not self.caps.can_filter("compare"):
            return None
        left, right = node.left, node.right
        column = self.column(left)
        literal = right
        if column is None:
            column, literal = self.column(right), left
        if column is None or column.partition or not is_constant(literal):
            return None
        kind = _kind(column.type)
        if not _literal_fits(kind, literal):
            return None
        if kind == "string":
            return self._string_result(column, positive, isinstance(node, exp.EQ))
        if kind == "date" and isinstance(literal, exp.Cast) and not literal.to.is_type(exp.DataType.Type.DATE):
            return None
        return EXACT

    def _in(self, node: exp.In, positive: bool) -> str | None:
        if not self.caps.can_filter("in") or node.args.get("query") or node.args.get("unnest"):
            return None
        column = self.column(node.this)
        if column is None or column.partition or not node.expressions:
            return None
        kind = _kind(column.type)
        if not all(is_constant(e) and _literal_fits(kind, e) for e in node.expressions):
            return None
        if kind == "string":
            return self._string_result(column, positive, True)
        return EXACT if kind != "other" else None

    def _between(self, node: exp.Between) -> str | None:
        if not self.caps.can_filter("between"):
            return None
        column = self.column(node.this)
        if column is None or column.partition:
            return None
        kind = _kind(column.type)
        low, high = node.args["low"], node.args["high"]
        if not (is_constant(low) and is_constant(high) and _literal_fits(kind, low) and _literal_fits(kind, high)):
            return None
        if kind == "string" and not column.exact_strings:
            return None
        return EXACT if kind != "other" else None

    def _like(self, node: exp.Like, positive: bool) -> str | None:
        """A prefix pattern where ``like_prefix`` is claimed; any pattern (``%`` inside, ``_``) where ``like_any``
        is, which only a source evaluating LIKE with DuckDB itself claims (files, blobs). ``LIKE … ESCAPE``
        (sqlglot's ``Escape`` around the LIKE) is never offered."""
        column = self.column(node.this)
        pattern = node.expression
        if column is None or _kind(column.type) != "string":
            return None
        if not (isinstance(pattern, exp.Literal) and pattern.is_string) or "\x00" in pattern.this:
            return None
        prefix = bool(_PREFIX_PATTERN.match(pattern.this))
        if not (prefix and self.caps.can_filter("like_prefix")) and not self.caps.can_filter("like_any"):
            return None
        if column.exact_strings and self.caps.like_exact:
            return EXACT
        return SUPERSET if positive and prefix else None


def normalize_literals(node: exp.Expression, table: TableSchema) -> exp.Expression:
    """Make literals match their column's type as a source needs it.

    A DATE literal compared with a TIMESTAMP column becomes a TIMESTAMP literal
    (``'2026-01-01 00:00:00'``), which is what DuckDB's implicit cast means.
    """
    for binary in node.find_all(*_COMPARISONS):
        for side, other in ((binary.left, binary.right), (binary.right, binary.left)):
            if isinstance(side, exp.Column) and isinstance(other, exp.Cast):
                column = table.column(side.name)
                if (column and _kind(column.type) == "timestamp" and other.to.is_type(exp.DataType.Type.DATE)
                        and is_constant(other)):
                    midnight = exp.cast(exp.Literal.string(f"{other.this.this} 00:00:00"), "TIMESTAMP")
                    other.replace(retyped(midnight, other, "TIMESTAMP"))
    return node
