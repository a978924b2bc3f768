"""From SQL text to one sqlglot statement: syntax errors with line and column, the statement
policy applied (:mod:`c360.policy`: read statements only), parameters bound as sqlglot
literals marked as parameters (the DuckDB query receives them as prepared values)."""

from __future__ import annotations

import datetime as dt
import decimal

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB

from c360 import policy
from c360.errors import ProgrammingError, SqlSyntaxError
from c360.planner.qualified_columns import qualified_columns

DIALECT = "duckdb"

def named_to_dollar(sql: str) -> str:
    """Rewrite ``:name`` placeholders (outside strings) as DuckDB's ``$name``."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(sql)
    except sqlglot.errors.TokenError:
        return sql
    chars = list(sql)
    for previous, token in zip(tokens, tokens[1:]):
        if (
            previous.token_type == sqlglot.tokens.TokenType.COLON
            and token.token_type == sqlglot.tokens.TokenType.VAR
            and token.start == previous.start + 1
        ):
            chars[previous.start] = "$"
    return "".join(chars)


def parse(sql: str, *, named: bool = False) -> exp.Expression:
    """Parse exactly one statement in DuckDB SQL and apply the statement policy.

    SqlSyntaxError names line and column; a statement the policy refuses raises
    NotSupportedError (ReadOnlyError for writes) before anything runs. With
    ``named``, ``:name`` placeholders are accepted (PEP 249's named style).
    ``EXPLAIN [ANALYZE] …`` comes back as sqlglot's ``Command``: the engine
    parses (and checks) what it explains with :func:`explained`.
    """
    if "\x00" in sql:
        raise SqlSyntaxError("Syntax error: the query text contains a NUL character (bind such values as parameters)")
    if named:
        sql = named_to_dollar(sql)
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except sqlglot.errors.ParseError as error:
        first = error.errors[0] if error.errors else {}
        description = first.get("description") or str(error).splitlines()[0]
        if description.startswith("Required keyword"):
            description = "the statement ends in the middle of an expression"
        highlight = first.get("highlight")
        if highlight:
            description += f" near '{highlight}'"
        line, column = first.get("line"), first.get("col")
        where = f" at line {line}, column {column}" if line else ""
        raise SqlSyntaxError(f"Syntax error{where}: {description}") from None
    except sqlglot.errors.TokenError as error:
        raise SqlSyntaxError(f"Syntax error: {error}") from None
    except RecursionError:
        raise SqlSyntaxError("Syntax error: the query is nested too deeply") from None
    if not statements:
        raise SqlSyntaxError("Syntax error: the query is empty")
    if len(statements) > 1:
        raise ProgrammingError("Only one statement can be executed at a time")
    statement = statements[0]
    if explained(statement) is None:
        try:
            policy.check(statement)
        except RecursionError:
            raise SqlSyntaxError("Syntax error: the query is nested too deeply") from None
        statement = qualified_columns(statement)
    return statement


def explained(statement: exp.Expression) -> tuple[str, bool] | None:
    """``(sql, analyze)`` for ``EXPLAIN [ANALYZE] sql``, else None."""
    if not (isinstance(statement, exp.Command) and statement.name.upper() == "EXPLAIN"):
        return None
    text = statement.expression.name if isinstance(statement.expression, exp.Expression) else ""
    words = text.split(None, 1)
    if words and words[0].upper() == "ANALYZE":
        return (words[1] if len(words) > 1 else ""), True
    return text, False


def literal(value) -> exp.Expression:
    """A Python value as a sqlglot literal (how parameters are bound: never by formatting)."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            return exp.cast(exp.Literal.string(str(value)), "DOUBLE")
        return exp.Literal.number(repr(value) if isinstance(value, float) else str(value))
    if isinstance(value, decimal.Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMP")
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, dt.time):
        return exp.cast(exp.Literal.string(value.isoformat()), "TIME")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return exp.cast(exp.Literal.string(bytes(value).hex()), "BLOB")  # unhex below
    raise ProgrammingError(f"Cannot bind a parameter of type {type(value).__name__}")


PARAMETER = "c360_parameter"
#: meta key: which value a parameter node is (``("p", 0)`` the first positional one, ``("n", "name")``, or
#: ``("var", "as_of")`` a SET VARIABLE value), so a cached plan can take new values (c360.planner.cache)
SLOT = "c360_slot"
#: meta key on a literal computed from parameters (folded, or re-typed): the expression it came from
DERIVED = "c360_derived"


def parameter(value, slot=None) -> exp.Expression:
    """A bound parameter: its literal (what sources receive, and what the planner reasons about),
    marked so the DuckDB query receives the value itself as a prepared parameter (:func:`residual_sql`)."""
    node = literal(value)
    node.meta[PARAMETER] = value
    if slot is not None:
        node.meta[SLOT] = slot
    return node


def from_parameters(node: exp.Expression) -> bool:
    """Whether ``node`` is, or contains, a parameter or a value computed from one."""
    return any(SLOT in n.meta or DERIVED in n.meta for n in node.walk())


def derived(new: exp.Expression, source: exp.Expression) -> exp.Expression:
    """``new``, computed from ``source``; marked with the expression to recompute it from when ``source``
    holds parameters (so a cached plan stays true for new values). Returns ``new``."""
    if from_parameters(source):
        new.meta[DERIVED] = _as_expression(source)
    return new


def retyped(new: exp.Expression, source: exp.Expression, to: str) -> exp.Expression:
    """``new`` is ``CAST(source AS to)`` spelled as a literal; marked like :func:`derived`."""
    if from_parameters(source):
        new.meta[DERIVED] = exp.cast(_as_expression(source), to)
    return new


def _as_expression(source: exp.Expression) -> exp.Expression:
    """What ``source`` computes, in terms of parameters: its own derivation if it has one."""
    if DERIVED in source.meta:
        return source.meta[DERIVED].copy()
    return source.copy()


class _Residual(DuckDB):
    """DuckDB SQL in which every bound parameter is ``$n`` again, its value kept aside."""

    class Generator(DuckDB.Generator):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.values: list = []
            self.slots: list = []

        def sql(self, expression, key=None, comment=True) -> str:
            if isinstance(expression, exp.Expression) and PARAMETER in expression.meta:
                slot = expression.meta.get(SLOT)
                # one parameter copied by the planner (GROUP BY 2 spelled out) stays one $n, or DuckDB would not
                # see the GROUP BY expression and the selected one as the same
                if slot is not None and slot in self.slots:
                    return f"${self.slots.index(slot) + 1}"
                self.values.append(expression.meta[PARAMETER])
                self.slots.append(slot)
                return f"${len(self.values)}"
            if isinstance(expression, (exp.NullSafeEQ, exp.NullSafeNEQ, exp.Is)) and \
                    (_in_or(expression) or _filters_one_side(expression)):
                spelled = _without_distinct(expression)
                if spelled is not None:
                    return super().sql(spelled, key, comment)
            return super().sql(expression, key, comment)


_VOLATILE = (exp.Select, exp.Rand, exp.Anonymous)


def _in_or(node: exp.Expression) -> bool:
    """Whether ``node`` is inside an OR of its own block."""
    parent = node.parent
    while parent is not None and not isinstance(parent, (exp.Select, exp.SetOperation)):
        if isinstance(parent, exp.Or):
            return True
        parent = parent.parent
    return False


def _filters_one_side(comparison: exp.Expression) -> bool:
    """Whether one side of ``comparison`` is a literal or a parameter: a filter, never a join's condition.
    DuckDB 1.5.5 also ORs such filters itself, into a scan that several references of a materialized CTE
    read (fuzz seed 50640: a file scan read once for two references). Not a computed constant, not even a
    cast literal: ``c IS NULL`` of the spelt form would stand alone, and DuckDB folds it when it plans, so
    ``'Gold' = TRUE`` failed even where no row reaches it (fuzz seed 70895)."""
    return any(_plain_constant(side) for side in (comparison.this, comparison.expression))


def _plain_constant(node: exp.Expression | None) -> bool:
    while isinstance(node, (exp.Neg, exp.Paren)) and node.this is not None:
        node = node.this
    return isinstance(node, (exp.Literal, exp.Null, exp.Boolean)) or (node is not None and PARAMETER in node.meta)


def _without_distinct(comparison: exp.NullSafeEQ | exp.NullSafeNEQ | exp.Is) -> exp.Expression | None:
    """``x IS NOT DISTINCT FROM c`` as ``COALESCE(x = c, x IS NULL AND c IS NULL)`` (``NOT`` that for IS
    DISTINCT FROM), ``b IS TRUE`` as ``COALESCE(b, FALSE)``: the same truth value, NULLs included.

    DuckDB 1.5.5 pushes an OR of filters on one column into an Arrow scan as one filter, and refuses the
    query when the OR holds IS [NOT] DISTINCT FROM (``Comparison Type COMPARE_DISTINCT_FROM can't be an
    Arrow Scan Pushdown Filter``; ``IS [NOT] TRUE/FALSE`` become one too); a COALESCE is not pushed.
    None when either side is a subquery or may be volatile (each side is written twice)."""
    left, right = comparison.this, comparison.expression
    if isinstance(comparison, exp.Is):  # b IS TRUE / b IS FALSE: COALESCE(b, FALSE) / COALESCE(NOT b, FALSE)
        if not isinstance(right, exp.Boolean) or left is None:
            return None
        value = left.copy() if right.this else exp.not_(exp.paren(left.copy(), copy=False), copy=False)
        return exp.Coalesce(this=value, expressions=[exp.false()])
    if left is None or right is None or left.find(*_VOLATILE) or right.find(*_VOLATILE):
        return None
    same = exp.Coalesce(
        this=exp.EQ(this=left.copy(), expression=right.copy()),
        expressions=[exp.and_(exp.Is(this=left.copy(), expression=exp.Null()),
                              exp.Is(this=right.copy(), expression=exp.Null()), copy=False)],
    )
    return exp.paren(same if isinstance(comparison, exp.NullSafeEQ) else exp.not_(same, copy=False), copy=False)


def residual_sql(expression: exp.Expression, *, slots: list | None = None) -> tuple[str, list]:
    """``(sql, values)``: the query DuckDB runs, with parameters as ``$n`` and their values in order.

    Values never enter the SQL text, so any string (a NUL byte, quotes) reaches
    DuckDB as itself. ``slots``, if given, receives each ``$n``'s slot.
    """
    generator = _Residual().generator()
    sql = generator.generate(expression, copy=True)
    if slots is not None:
        slots.extend(generator.slots)
    return sql, generator.values


def bind(statement: exp.Expression, params) -> exp.Expression:
    """Replace ``?`` / ``:name`` / ``$1`` placeholders with :func:`parameter` nodes for ``params``."""
    placeholders = _in_text_order(list(statement.find_all(exp.Placeholder, exp.Parameter, bfs=False)))
    if params is None:
        params = ()
    if not placeholders:
        if params:
            raise ProgrammingError(f"The query takes no parameters but {len(params)} were given")
        return statement
    if isinstance(params, dict):
        for node in placeholders:
            name = node.name
            if name in ("", "?") or name.isdigit():
                raise ProgrammingError("Use :name placeholders with a dict of parameters")
            if name not in params:
                raise ProgrammingError(f"No value for parameter :{name}")
            node.replace(parameter(params[name], ("n", name)))
        return statement
    params = list(params)
    positional = [n for n in placeholders if n.name in ("", "?")]
    numbered = [n for n in placeholders if n.name.isdigit()]
    if positional and len(positional) != len(params):
        raise ProgrammingError(f"The query has {len(positional)} parameters but {len(params)} were given")
    for index, (node, value) in enumerate(zip(positional, params)):
        node.replace(parameter(value, ("p", index)))
    for node in numbered:
        index = int(node.name) - 1
        if not 0 <= index < len(params):
            raise ProgrammingError(f"No value for parameter ${node.name}")
        node.replace(parameter(params[index], ("p", index)))
    named = [n for n in placeholders if n.name not in ("", "?") and not n.name.isdigit()]
    if named:
        raise ProgrammingError("Use a dict of parameters for :name placeholders")
    return statement


def _in_text_order(placeholders: list[exp.Expression]) -> list[exp.Expression]:
    """``placeholders`` in the order they appear in the text: the tree walks a WITH clause after the
    query it belongs to, so each is stood in for by a marker, the statement generated, and the markers
    read back in order."""
    if len(placeholders) < 2:
        return placeholders
    root = placeholders[0].root()
    markers = []
    for index, node in enumerate(placeholders):
        marker = exp.Literal.string(f"c360-placeholder-{index}-")
        node.replace(marker)
        markers.append(marker)
    text = root.sql(dialect=DIALECT)
    for node, marker in zip(placeholders, markers):
        marker.replace(node)
    positions = [text.find(f"'c360-placeholder-{index}-'") for index in range(len(placeholders))]
    order = sorted(range(len(placeholders)), key=lambda index: positions[index])
    return [placeholders[index] for index in order]


def _is_reset_variable(statement: exp.Command) -> bool:
    return statement.name.upper() == "RESET" and statement.expression.name.upper().startswith("VARIABLE ")


def variable_statement(statement: exp.Expression):
    """``(name, value expression)`` for ``SET VARIABLE``, ``(name, None)`` for ``RESET VARIABLE``, else None."""
    if isinstance(statement, exp.Set) and statement.expressions:
        item = statement.expressions[0]
        if (item.text("kind") or "").upper() == "VARIABLE" and isinstance(item.this, exp.EQ):
            return item.this.this.name.lower(), item.this.expression
    if isinstance(statement, exp.Command) and _is_reset_variable(statement):
        return statement.expression.name.split(None, 1)[1].strip().lower(), None
    return None


def session_setting(statement: exp.Expression):
    """``(name, value expression)`` for ``SET name = value`` of a c360 session setting
    (:data:`c360.policy.SESSION_SETTINGS`), ``(name, None)`` for ``RESET name``, else None."""
    from c360.policy import SESSION_SETTINGS

    if isinstance(statement, exp.Set) and statement.expressions:
        item = statement.expressions[0]
        if not item.text("kind") and isinstance(item.this, exp.EQ):
            name = item.this.this.name.lower()
            if name in SESSION_SETTINGS:
                return name, item.this.expression
    if isinstance(statement, exp.Command) and statement.name.upper() == "RESET":
        name = statement.expression.name.strip().lower()
        if name in SESSION_SETTINGS:
            return name, None
    return None
