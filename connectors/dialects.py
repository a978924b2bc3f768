"""The sqlglot dialects c360 sends to servers: subclasses, never patches of sqlglot's tables.

Each fixes what the stock dialect would send with a different meaning from
DuckDB's (the meaning c360 promises):

* ``LIKE`` patterns. DuckDB's ``LIKE`` has no escape character; MySQL and
  PostgreSQL treat ``\\`` as one by default, and T-SQL treats ``[`` as the
  start of a character class. Patterns are rewritten so every character means
  itself there too (an explicit ``ESCAPE`` clause is left alone).
* T-SQL: ``LIMIT`` is ``TOP``, identifiers are ``[bracketed]``, dates are
  ``CAST('…' AS DATE)``, booleans are ``1``/``0`` comparisons and ``||`` is
  ``+`` (all from sqlglot's TSQL); string literals with characters outside
  ASCII get the ``N'…'`` prefix so they survive a non-Unicode code page.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.mysql import MySQL
from sqlglot.dialects.postgres import Postgres
from sqlglot.dialects.tsql import TSQL


def _pattern(expression: exp.Like, rewrite) -> exp.Like:
    """``expression`` with its literal pattern rewritten, unless an ESCAPE clause governs it."""
    pattern = expression.expression
    if isinstance(expression.parent, exp.Escape) or not (isinstance(pattern, exp.Literal) and pattern.is_string):
        return expression
    rewritten = rewrite(pattern.this)
    if rewritten == pattern.this:
        return expression
    copy = expression.copy()
    copy.set("expression", exp.Literal.string(rewritten))
    return copy


def _backslash_literal(text: str) -> str:
    return text.replace("\\", "\\\\")


def _bracket_literal(text: str) -> str:
    return text.replace("[", "[[]")


class C360MySQL(MySQL):
    """MySQL/MariaDB, with LIKE patterns whose backslashes mean backslashes."""

    class Generator(MySQL.Generator):
        def like_sql(self, expression: exp.Like) -> str:
            return super().like_sql(_pattern(expression, _backslash_literal))


class C360Postgres(Postgres):
    """PostgreSQL, with LIKE patterns whose backslashes mean backslashes."""

    class Generator(Postgres.Generator):
        def like_sql(self, expression: exp.Like) -> str:
            return super().like_sql(_pattern(expression, _backslash_literal))


class C360TSQL(TSQL):
    """T-SQL for SQL Server and Azure SQL."""

    class Generator(TSQL.Generator):
        def like_sql(self, expression: exp.Like) -> str:
            return super().like_sql(_pattern(expression, _bracket_literal))

        def literal_sql(self, expression: exp.Literal) -> str:
            text = super().literal_sql(expression)
            if expression.is_string and not expression.this.isascii() and text.startswith("'"):
                return "N" + text
            return text


#: Dialect names a catalog may give an ``odbc`` source, mapped to the class c360 generates with.
BY_NAME = {"tsql": C360TSQL, "postgres": C360Postgres, "mysql": C360MySQL}


def dialect_class(name: str):
    """The generating dialect for ``name``: c360's subclass where there is one, else sqlglot's own."""
    if name in BY_NAME:
        return BY_NAME[name]
    from sqlglot.dialects.dialect import Dialect

    return type(Dialect.get_or_raise(name))
