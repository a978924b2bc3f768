"""c360's SQL (DuckDB's dialect: ``queries/*.sql`` and user queries) translated to Spark SQL.

The translation works on sqlglot trees and is exact or refuses. What it rewrites, and why:

* ``getvariable('as_of')`` becomes the named parameter ``:as_of``, bound when the statement runs
  (``spark.sql(text, args={"as_of": date})``); any other variable is refused.
* ``source.table`` becomes the temporary view ``source__table`` (:mod:`c360.spark.sources`);
  a bare name (or ``c360.<name>``) that is a view of the project stays a view.
* ``DATE - DATE`` is a number of days in DuckDB and an INTERVAL in Spark: ``datediff(a, b)``.
  A subtraction with a DATE on one side only is refused (its type cannot be told from the text).
* ``list(x ORDER BY k1 DESC, k2)`` has no Spark counterpart (``collect_list`` ignores the order):
  it becomes ``transform(array_sort(collect_list(struct(k1, k2, x)), <comparator>), e -> e.v)``,
  the comparator spelling out each key's direction and DuckDB's NULLS LAST, keeping NULL values
  as DuckDB's ``list`` does. An unordered ``list(x)`` is ``collect_list``, which drops NULLs, so it
  is accepted only under ``list_distinct`` or ``flatten``, which ignore NULLs in DuckDB too.
* ``list[i]`` (1-based, NULL out of range) becomes ``try_element_at(list, i)``.
* ``a / b`` is a DOUBLE in DuckDB whatever the operands, a DECIMAL in Spark when they are (with a scale
  Spark cuts to 6 digits near precision 38): ``CAST(a AS DOUBLE) / b``.
* Everything else is sqlglot's DuckDB -> Spark generation with unsupported syntax raising.

A construct that does not translate (``* EXCLUDE``, ``struct_pack``, a function Spark lacks) is a
:class:`TranslationError` naming the view and the line: ``queries/rfm.sql:12: ...``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import ErrorLevel, UnsupportedError

from c360.errors import ProgrammingError
from c360.spark.sources import view_name

#: The only variable views may read, and the parameter it becomes.
AS_OF = "as_of"

#: Marks a table node that names a Spark view registered already (a pushed read, :mod:`c360.spark.pushdown`).
REGISTERED = "c360_registered"

#: Functions written by this translation (Spark's, with no sqlglot class); any other function sqlglot
#: does not know is refused rather than sent to Spark on trust.
_OWN_FUNCTIONS = {"try_element_at", "named_struct"}

#: DuckDB functions whose NULL-ignoring makes collect_list's dropping of NULLs exact underneath them.
_IGNORING_NULLS = (exp.ArrayDistinct, exp.Flatten)


class DuckDBAsWritten(DuckDB):
    """DuckDB's dialect parsing ``list[i]`` with ``i`` as written (1-based): sqlglot's DuckDB shifts a
    literal index to 0-based and leaves any other as is, which :func:`translate` could not tell apart."""

    INDEX_OFFSET = 0


class TranslationError(ProgrammingError):
    """A view or query uses SQL that has no exact Spark SQL translation."""


@dataclass
class Translation:
    """Spark SQL text, with ``:as_of`` where the variable was, and what it reads."""

    sql: str
    tables: set[tuple[str, str]] = field(default_factory=set)
    views: list[str] = field(default_factory=list)
    parameters: set[str] = field(default_factory=set)


def translate(tree: exp.Expression, *, where: str, views=(), first_line: int = 1, named=None,
              tables=None, pushdown=None) -> Translation:
    """Translate one parsed statement (DuckDB dialect); ``where`` names it in errors (a view's path,
    or ``query``), ``first_line`` is the line of the file the statement starts on, ``views`` the
    project's view names, ``named(view)`` the Spark name a view is registered under (default: its
    own). ``tables(source, table, node)`` may register a read of one occurrence of a catalog table itself
    (a pruned one, :mod:`c360.spark.pruning`) and return its Spark name; None leaves it to the caller
    (the name ``source__table``, listed in ``Translation.tables``). ``pushdown(select)`` may replace a SELECT,
    outermost first, by a query over reads it registered itself (:mod:`c360.spark.pushdown`), or return None.
    Raises :class:`TranslationError`."""
    tree = tree.copy()
    if pushdown is not None:
        tree = _push(tree, pushdown)
    found = Translation("")
    views = {v.lower() for v in views}
    named = named or (lambda view: view)

    def fail(node: exp.Expression, message: str):
        raise TranslationError(f"{where}:{_line(node) + first_line - 1}: {message}")

    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier) or table.meta.get(REGISTERED):
            continue
        name, db = table.name.lower(), table.db.lower()
        if table.catalog:
            fail(table, f"'{table.sql('duckdb')}': a table is named source.table")
        if not db and name in ctes:
            continue
        if (not db or db == "c360") and name in views:
            found.views.append(name) if name not in found.views else None
            table.set("db", None)
            table.set("this", exp.to_identifier(named(name)))
            if not table.alias:
                table.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
            continue
        if not db:
            fail(table, f"unknown table '{name}': name a source's table as source.table, or a view of queries/")
        own = tables(db, name, table) if tables is not None else None
        if own is None:
            found.tables.add((db, name))
        table.set("db", None)
        table.set("this", exp.to_identifier(own or view_name(db, name)))

    for node in list(tree.find_all(exp.Anonymous)):
        if node.name.lower() == "getvariable":
            argument = node.expressions[0] if node.expressions else None
            if not isinstance(argument, exp.Literal) or argument.this.lower() != AS_OF:
                fail(node, f"only getvariable('{AS_OF}') translates to Spark (a query parameter)")
            found.parameters.add(AS_OF)
            node.replace(exp.Placeholder(this=AS_OF))

    for node in list(tree.find_all(exp.Sub)):
        dates = [_is_date(node.this), _is_date(node.expression)]
        if all(dates):
            node.replace(exp.DateDiff(this=node.this, expression=node.expression))
        elif any(dates) and not isinstance(node.expression, exp.Interval):
            fail(node, "DATE minus a value that is not a DATE: cast both sides to DATE (days) or subtract an INTERVAL")

    for node in list(tree.find_all(exp.Div)):  # DuckDB's `/` is a DOUBLE whatever the operands; Spark's keeps DECIMAL
        if not (isinstance(node.this, exp.Cast) and node.this.to.is_type(exp.DataType.Type.DOUBLE)):
            node.set("this", exp.cast(node.this, exp.DataType.Type.DOUBLE))

    for node in list(tree.find_all(exp.ArrayAgg)):
        if isinstance(node.this, exp.Order):
            _ordered_list(node)
        elif not isinstance(_above_filter(node).parent, _IGNORING_NULLS) and not _nulls_filtered_out(node):
            fail(node, "list(x) keeps NULLs and Spark's collect_list drops them: order it (list(x ORDER BY ...)), "
                       "or wrap it in list_distinct/flatten")

    for node in list(tree.find_all(exp.Bracket)):
        if len(node.expressions) != 1 or isinstance(node.expressions[0], exp.Slice):
            fail(node, "only one 1-based index translates (list[i])")
        node.replace(exp.Anonymous(this="try_element_at", expressions=[node.this, node.expressions[0]]))

    for node in tree.find_all(exp.Star):
        if any(node.args.get(k) for k in ("except", "except_", "replace", "replace_", "rename", "rename_")):
            fail(node, "* EXCLUDE / REPLACE has no Spark SQL translation: list the columns")
    for node in tree.find_all(exp.Struct):
        fail(node, "struct_pack / {...} has no exact Spark SQL translation here")
    for node in tree.find_all(exp.Anonymous):
        if node.name.lower() not in _OWN_FUNCTIONS:
            fail(node, f"function {node.name}() has no known Spark SQL translation")
    try:
        found.sql = tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE, pretty=True)
    except UnsupportedError as error:
        raise TranslationError(f"{where}:{first_line}: {error}") from None
    return found


def _push(tree: exp.Expression, pushdown) -> exp.Expression:
    """``tree`` with each SELECT that ``pushdown`` replaces replaced, outermost first (the SELECTs inside a
    replaced one are not offered)."""
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, exp.Select):
            replacement = pushdown(node)
            if replacement is not None:
                if node is tree:
                    tree = replacement
                else:
                    node.replace(replacement)
                continue
        pending.extend(node.iter_expressions())
    return tree


def _line(node: exp.Expression) -> int:
    """The line a node's first token is on (1 if the parser recorded none)."""
    for each in node.walk():
        line = each.meta.get("line") if each.meta else None
        if line:
            return int(line)
    return 1


def _is_date(node: exp.Expression) -> bool:
    node = node.unnest()
    return isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.DATE)


def _above_filter(node: exp.Expression) -> exp.Expression:
    """The aggregate, or the FILTER (and parentheses) around it."""
    while isinstance(node.parent, (exp.Filter, exp.Paren)):
        node = node.parent
    return node


def _nulls_filtered_out(node: exp.ArrayAgg) -> bool:
    """Whether ``list(x) FILTER (WHERE x IS NOT NULL)`` (``DISTINCT`` or not) keeps NULLs out of the list, so
    Spark's ``collect_list``, which drops them, gives the same list."""
    argument = node.this.expressions[0] if isinstance(node.this, exp.Distinct) and node.this.expressions \
        else node.this
    filtered = node.parent
    if not isinstance(filtered, exp.Filter) or not isinstance(filtered.expression, exp.Where):
        return False
    conditions = list(filtered.expression.this.flatten()) if isinstance(filtered.expression.this, exp.And) \
        else [filtered.expression.this]
    return any(isinstance(c, exp.Not) and isinstance(c.this, exp.Is) and isinstance(c.this.expression, exp.Null)
               and c.this.this == argument for c in conditions)


def _ordered_list(node: exp.ArrayAgg) -> None:
    """``list(x ORDER BY k...)`` -> ``transform(array_sort(collect_list(named_struct(...)), cmp), e -> e.v)``;
    a FILTER around the aggregate stays around the ``collect_list``."""
    order: exp.Order = node.this
    keys = list(order.expressions)
    pairs: list[exp.Expression] = []
    for i, key in enumerate(keys):
        pairs += [exp.Literal.string(f"k{i}"), key.this.copy()]
    pairs += [exp.Literal.string("v"), order.this.copy()]
    collected = exp.ArrayAgg(this=exp.Anonymous(this="named_struct", expressions=pairs))
    holder = node.parent if isinstance(node.parent, exp.Filter) else None
    whens = []
    for i, key in enumerate(keys):
        left, right = f"l.k{i}", f"r.k{i}"
        nulls_first = bool(key.args.get("nulls_first"))
        before, after = ("-1", "1") if nulls_first else ("1", "-1")
        less, more = ("1", "-1") if key.args.get("desc") else ("-1", "1")
        whens += [f"WHEN {left} IS NULL AND {right} IS NOT NULL THEN {before}",
                  f"WHEN {left} IS NOT NULL AND {right} IS NULL THEN {after}",
                  f"WHEN {left} < {right} THEN {less}", f"WHEN {left} > {right} THEN {more}"]
    comparator = sqlglot.parse_one(f"array_sort(x, (l, r) -> CASE {' '.join(whens)} ELSE 0 END)",
                                   read="spark").expression
    if holder is not None:
        aggregate = exp.Filter(this=collected, expression=holder.expression.copy())
        target = holder
    else:
        aggregate, target = collected, node
    sorted_ = exp.ArraySort(this=aggregate, expression=comparator)
    values = sqlglot.parse_one("transform(x, e -> e.v)", read="spark")
    values.set("this", sorted_)
    target.replace(values)


def view_sql_of(view) -> tuple[str, int]:
    """The SQL Spark computes for a view, and the file line it starts on: the hand-written base of
    ``customer_360`` (its predictions are added by :mod:`c360.spark.scoring`), else the whole view."""
    from c360.model.view_sql import BASE_BEGIN, base_view

    text = Path(view.path).read_text(encoding="utf-8")
    if BASE_BEGIN in text:
        body = base_view(text)
        return body, text[: text.index(BASE_BEGIN)].count("\n") + 2
    return view.sql, text[: text.index(view.sql[:40])].count("\n") + 1 if view.sql[:40] in text else 1


def translate_view(view, views=(), named=None, tables=None, pushdown=None) -> Translation:
    """A project view (:class:`c360.views.View`) in Spark SQL; errors name its file and line."""
    body, line = view_sql_of(view)
    try:
        tree = sqlglot.parse_one(body, read=DuckDBAsWritten)
    except sqlglot.errors.ParseError as error:
        raise TranslationError(f"{view.path}:{line}: the view does not parse: {error}") from None
    return translate(tree, where=str(view.path), views=views, first_line=line, named=named, tables=tables,
                     pushdown=pushdown)


def translate_query(sql: str, views=(), named=None, tables=None, pushdown=None) -> Translation:
    """A user's query (c360's DuckDB dialect) in Spark SQL; one read statement only."""
    from c360.policy import check

    try:
        statements = [s for s in sqlglot.parse(sql, read=DuckDBAsWritten) if s is not None]
    except sqlglot.errors.ParseError as error:
        raise TranslationError(f"query: does not parse: {error}") from None
    if len(statements) != 1:
        raise TranslationError("query: give exactly one statement")
    check(statements[0])
    if not isinstance(statements[0], exp.Query):
        raise TranslationError("query: Spark runs SELECT / WITH / VALUES queries only")
    return translate(statements[0], where="query", views=views, named=named, tables=tables, pushdown=pushdown)
