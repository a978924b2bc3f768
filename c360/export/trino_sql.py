"""One view's SELECT, from c360's (DuckDB's) SQL to Trino's, exactly or not at all.

A view is translated by sqlglot's Trino dialect after four rewrites of the tree:

- the as-of date: ``coalesce(getvariable('as_of'), current_date)`` becomes ``DATE '<as_of>'``
  when one is baked in, else ``current_date`` (Trino views take no parameters); any other
  ``getvariable`` is refused;
- ``<date> - <date>`` (whole days in DuckDB, an interval in Trino) becomes ``date_diff('day', …)``;
- ``list[i]`` (NULL out of range in DuckDB, an error in Trino) becomes ``element_at(list, i)``;
- table names: ``source.table`` and the names of other views become Trino's three-part names.

Everything else must be a construct on :data:`EXACT` (functions and operators whose meaning
is the same in both engines); anything not on it - an unknown function, a lambda, ``EXCLUDE``,
a struct literal - raises :class:`TranslationError` naming the view, the line and the construct,
and sqlglot generates with ``unsupported_level=RAISE``. So a view that does not translate exactly
is an error, never a silently different view.
"""

from __future__ import annotations

import datetime as dt

import sqlglot
from sqlglot import exp

from c360.errors import ProgrammingError


class TranslationError(ProgrammingError):
    """A view holds a construct without an exact Trino translation."""


#: Functions whose DuckDB and Trino meanings agree (after sqlglot's translation) on the views' types.
EXACT_FUNCTIONS = (
    exp.Coalesce, exp.Sum, exp.Count, exp.Max, exp.Min, exp.Avg, exp.Cast, exp.Nullif, exp.CurrentDate,
    exp.ArrayAgg, exp.ArrayDistinct, exp.Flatten, exp.Exp, exp.Greatest, exp.Least, exp.Year, exp.Abs,
    exp.RowNumber, exp.Rank, exp.DenseRank, exp.Lead, exp.Lag, exp.FirstValue, exp.LastValue, exp.Concat,
    exp.ArrayContains, exp.DateDiff, exp.Lower, exp.Upper, exp.Length, exp.Extract, exp.Case, exp.If,
    exp.ArraySort,
)
#: Operators sqlglot models as functions (AND, OR, NOT, ...): their meaning is the same in both engines.
OPERATORS = (exp.Connector, exp.Binary, exp.Unary)
#: Constructs refused outright, with why.
REFUSED = {
    exp.Lambda: "a lambda",
    exp.PropertyEQ: "a named argument (struct_pack)",
    exp.Struct: "a struct literal",
    exp.Pivot: "PIVOT",
    exp.Unnest: "UNNEST",
}


def as_of_expression(as_of: dt.date | None) -> exp.Expression:
    """``DATE '<as_of>'``, or ``current_date`` without one."""
    if as_of is None:
        return exp.CurrentDate()
    return exp.cast(exp.Literal.string(as_of.isoformat()), exp.DataType.build("DATE"))


def translate(tree: exp.Expression, *, view: str, path, line_offset: int = 0, as_of: dt.date | None,
              names: dict[str, str], schemas: dict[str, str] | None = None) -> str:
    """Trino SQL for the view ``tree`` (parsed by c360 from ``path``), or TranslationError.

    ``names`` maps a lower-case ``source.table`` or view name to its Trino name (``catalog.schema.table``);
    any other table of a source in ``schemas`` (discovered tables of a database) is ``source.<schema>.table``.
    """
    tree = tree.copy()
    where = _Where(view, path, line_offset)
    _replace_as_of(tree, as_of, where)
    _replace_date_differences(tree)
    for bracket in tree.find_all(exp.Bracket):
        bracket.set("safe", True)
    _rename_tables(tree, names, schemas or {}, where)
    _check(tree, where)
    try:
        return tree.sql(dialect="trino", pretty=True, comments=False, unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.UnsupportedError as error:
        raise TranslationError(f"{where.at(tree)}: no exact Trino translation: {error}") from None


class _Where:
    def __init__(self, view: str, path, offset: int):
        self.view, self.path, self.offset = view, path, offset

    def at(self, node: exp.Expression) -> str:
        """``view 'rfm' (queries/rfm.sql:12)``: the first line a token of ``node`` (or a parent) has."""
        line = None
        for candidate in (node, *node.walk()):
            line = candidate.meta.get("line") if candidate.meta else None
            if line:
                break
        parent = node.parent
        while not line and parent is not None:
            line = parent.meta.get("line") if parent.meta else None
            parent = parent.parent
        return f"view '{self.view}' ({self.path}:{(line or 1) + self.offset})"


def _is_as_of(node: exp.Expression) -> bool:
    return (isinstance(node, exp.Anonymous) and node.name.lower() == "getvariable" and len(node.expressions) == 1
            and isinstance(node.expressions[0], exp.Literal) and node.expressions[0].name.lower() == "as_of")


def _replace_as_of(tree: exp.Expression, as_of: dt.date | None, where: _Where) -> None:
    for node in list(tree.find_all(exp.Coalesce)):
        if _is_as_of(node.this) and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.CurrentDate):
            node.replace(as_of_expression(as_of))
    for node in tree.find_all(exp.Anonymous):
        if node.name.lower() == "getvariable":
            raise TranslationError(
                f"{where.at(node)}: {node.sql('duckdb')} has no Trino equivalent: a view reads the as-of date only "
                "as coalesce(getvariable('as_of'), current_date)")


def _is_date(node: exp.Expression) -> bool:
    if isinstance(node, exp.Paren):
        return _is_date(node.this)
    if isinstance(node, exp.CurrentDate):
        return True
    return isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DATE


def _replace_date_differences(tree: exp.Expression) -> None:
    for node in list(tree.find_all(exp.Sub)):
        if _is_date(node.this) and _is_date(node.expression):
            node.replace(exp.DateDiff(this=node.this.copy(), expression=node.expression.copy(), unit=exp.var("DAY")))


def _rename_tables(tree: exp.Expression, names: dict[str, str], schemas: dict[str, str], where: _Where) -> None:
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        if not table.name or table.name.lower() in ctes and not table.db:
            continue
        key = ".".join(part for part in (table.db, table.name) if part).lower()
        if key.startswith("c360."):  # c360.customer_360 names the view too
            key = key[5:]
        target = names.get(key)
        if target is None and table.db and table.db.lower() in schemas and not table.catalog:
            target = f"{table.db.lower()}.{schemas[table.db.lower()]}.{table.name}"
        if target is None:
            raise TranslationError(f"{where.at(table)}: '{key}' is neither a table of the catalog nor a view")
        renamed = exp.to_table(target)
        if table.alias:
            renamed.set("alias", table.args["alias"].copy())
        table.replace(renamed)


def _check(tree: exp.Expression, where: _Where) -> None:
    for node in tree.walk():
        for refused, what in REFUSED.items():
            if isinstance(node, refused):
                raise TranslationError(f"{where.at(node)}: {what} has no exact Trino translation")
        if isinstance(node, exp.Star) and any(node.args.get(k) for k in ("except_", "except", "replace", "rename")):
            raise TranslationError(f"{where.at(node)}: * EXCLUDE/REPLACE has no exact Trino translation")
        if isinstance(node, exp.ArraySort) and node.expression is not None:
            raise TranslationError(f"{where.at(node)}: list_sort with an order argument has no exact Trino translation")
        if isinstance(node, exp.Func) and not isinstance(node, EXACT_FUNCTIONS + OPERATORS):
            name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
            raise TranslationError(f"{where.at(node)}: function {name.lower()}() has no exact Trino translation "
                                   "known to c360")
