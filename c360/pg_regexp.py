"""PostgreSQL's ``regexp_matches`` in the engine's DuckDB SQL, exactly or not at all (a rule of
:mod:`c360.postgres`).

``regexp_matches(s, p)`` returns a set of text arrays in PostgreSQL (one per match, zero rows without one)
and a boolean in DuckDB, so passing it through answers something else. Its scalar use, Tableau's
``REGEXP_EXTRACT`` ``(SELECT (regexp_matches(s, 'p'))[n])``, is translated into DuckDB's
``regexp_extract``; any other use is an error.
"""

from __future__ import annotations

import re

from sqlglot import exp

from c360.errors import NotSupportedError


def regexp_functions(tree: exp.Expression, context: object = None) -> exp.Expression:
    """``regexp_matches`` returns a set of text arrays in PostgreSQL and a boolean in DuckDB. Its one scalar
    use, ``(SELECT (regexp_matches(s, 'p'))[n])`` (Tableau's ``REGEXP_EXTRACT``), becomes the ``n``-th group
    of the first match (the match itself for a pattern without groups), NULL without a match; any other use
    is refused. A pattern whose groups may not take part in a match (after ``|``, or in a group made
    optional by ``?``, ``*`` or ``{``) is refused too: PostgreSQL gives NULL for such a group, DuckDB ``''``."""
    for node in reversed(list(tree.find_all(exp.Anonymous))):  # innermost first: an outer one copies its text
        if node.name.lower() != "regexp_matches":
            continue
        replacement = _regexp_extract(node)
        if replacement is None:
            raise NotSupportedError(
                "regexp_matches() is translated only as (SELECT (regexp_matches(s, 'pattern'))[n]), with a "
                "pattern whose groups always take part in a match: use that form, or s ~ 'pattern'"
            )
        subquery, value = replacement
        subquery.replace(exp.Paren(this=value))
    return tree


def _regexp_extract(node: exp.Anonymous) -> tuple[exp.Expression, exp.Expression] | None:
    """``(the scalar subquery around node, its translation)`` for Tableau's shape, else None."""
    paren, bracket = node.parent, node.parent and node.parent.parent
    select = bracket and bracket.parent
    subquery = select and select.parent
    if not (
        len(node.expressions) == 2
        and isinstance(paren, exp.Paren)
        and isinstance(bracket, exp.Bracket)
        and len(bracket.expressions) == 1
        and isinstance(select, exp.Select)
        and isinstance(subquery, exp.Subquery)
        and select.expressions == [bracket]
        and not any(select.args.get(k) for k in select.args if k != "expressions")
    ):
        return None
    index, (text, pattern) = bracket.expressions[0], node.expressions
    if not (isinstance(index, exp.Literal) and re.fullmatch(r"-?\d+", index.this)):
        return None
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        return None
    groups = _always_taken_groups(pattern.this)
    if groups is None:
        return None
    n = int(index.this) + 1  # sqlglot reads PostgreSQL's 1-based subscript as 0-based
    group = n if 1 <= n <= groups else 0 if groups == 0 and n == 1 else None
    if group is None:
        return subquery, exp.cast(exp.Null(), "VARCHAR")
    matches = exp.Anonymous(this="regexp_matches", expressions=[text.copy(), pattern.copy()])
    extract = exp.Anonymous(this="regexp_extract", expressions=[text.copy(), pattern.copy(), exp.Literal.number(group)])
    return subquery, exp.Case(ifs=[exp.If(this=matches, true=extract)])


def _always_taken_groups(pattern: str) -> int | None:
    """How many capturing groups ``pattern`` has, or None if one might not take part in a match."""
    groups, i, in_class, alternation = 0, 0, False, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1  # a ']' first in a class is a literal
        elif char == "(" and pattern[i + 1 : i + 2] != "?":
            groups += 1
        elif char == ")" and pattern[i + 1 : i + 2] in ("?", "*", "{"):
            return None
        elif char == "|":
            alternation = True
        i += 1
    if alternation and groups:
        return None
    return groups
