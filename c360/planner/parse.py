"""From SQL text to one sqlglot statement: syntax errors with line and column, parameters
bound as sqlglot literals, and writes refused (c360 is read-only on every source)."""

from __future__ import annotations

import datetime as dt
import decimal

import sqlglot
from sqlglot import exp

from c360.errors import ProgrammingError, ReadOnlyError, SqlSyntaxError

DIALECT = "duckdb"

_WRITES = {
    exp.Insert: "INSERT",
    exp.Update: "UPDATE",
    exp.Delete: "DELETE",
    exp.Merge: "MERGE",
    exp.Create: "CREATE",
    exp.Drop: "DROP",
    exp.Alter: "ALTER",
    exp.TruncateTable: "TRUNCATE",
}


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
    """Parse exactly one statement in DuckDB SQL; SqlSyntaxError names line and column.

    With ``named``, ``:name`` placeholders are accepted (PEP 249's named style).
    """
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
    if not statements:
        raise SqlSyntaxError("Syntax error: the query is empty")
    if len(statements) > 1:
        raise ProgrammingError("Only one statement can be executed at a time")
    statement = statements[0]
    refuse_writes(statement)
    if isinstance(statement, exp.Command) and not _is_reset_variable(statement):
        raise SqlSyntaxError(f"Syntax error: '{statement.this}' is not a query c360 understands")
    return statement


def refuse_writes(statement: exp.Expression) -> None:
    """Raise ReadOnlyError for INSERT/UPDATE/DELETE/DDL, naming the source when the target is one."""
    for kind, verb in _WRITES.items():
        if isinstance(statement, kind):
            target = statement.this if isinstance(statement.this, exp.Table) else statement.find(exp.Table)
            if isinstance(target, exp.Schema):
                target = target.this
            source = None
            if isinstance(target, exp.Table):
                source = target.catalog or target.db or None
            if source:
                raise ReadOnlyError(f"Source '{source}' is read-only: {verb} is not allowed")
            raise ReadOnlyError(f"c360 is read-only: {verb} is not allowed")


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


def bind(statement: exp.Expression, params) -> exp.Expression:
    """Replace ``?`` / ``:name`` / ``$1`` placeholders with literals for ``params``."""
    placeholders = list(statement.find_all(exp.Placeholder, exp.Parameter, bfs=False))  # in textual order
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
            node.replace(literal(params[name]))
        return statement
    params = list(params)
    positional = [n for n in placeholders if n.name in ("", "?")]
    numbered = [n for n in placeholders if n.name.isdigit()]
    if positional and len(positional) != len(params):
        raise ProgrammingError(f"The query has {len(positional)} parameters but {len(params)} were given")
    for node, value in zip(positional, params):
        node.replace(literal(value))
    for node in numbered:
        index = int(node.name) - 1
        if not 0 <= index < len(params):
            raise ProgrammingError(f"No value for parameter ${node.name}")
        node.replace(literal(params[index]))
    named = [n for n in placeholders if n.name not in ("", "?") and not n.name.isdigit()]
    if named:
        raise ProgrammingError("Use a dict of parameters for :name placeholders")
    return statement


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
