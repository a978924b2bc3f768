"""PostgreSQL's SQL, as wire clients write it, read into the engine's DuckDB SQL with PostgreSQL's meaning.

``c360 serve`` clients (psql, JDBC, Metabase, SQLAlchemy's postgres dialect)
write PostgreSQL. :func:`translate` parses their text with sqlglot's
``postgres`` dialect (subclassed in :class:`WirePostgres` so ``to_char``,
``to_timestamp`` and ``to_date`` keep the format string as written), applies
the rules in :data:`RULES`, one per meaning that differs, and generates DuckDB
SQL the engine parses, checks against the statement policy and plans as any
other query. The CLI and ``c360.connect()`` read DuckDB's dialect unless a
connection asks for ``dialect="postgres"``.

The traps, each a rule below:

- ``x = ANY('{r,v}')`` / ``= ANY($1)`` / ``<> ALL(ARRAY[...])``: DuckDB's ANY
  takes only a subquery; an array literal, ``ARRAY[...]`` or a list parameter
  becomes ``x IN (...)`` or an OR/AND chain (PostgreSQL's three-valued result).
- ``"shop"."orders"."status"``: a column named through its schema-qualified
  table; the table gets an alias and the column names the alias.
- ``to_char(ts, 'Mon YYYY')``, ``to_timestamp(s, 'YYYY-MM-DD HH24:MI:SS.US')``:
  PostgreSQL's format patterns translated exactly into ``strftime``/
  ``strptime`` pieces; a pattern without an exact equivalent is an error.
- ``7 / 2`` is 3 in PostgreSQL: division of two integers becomes ``//``; a
  division whose operand types cannot be told is an error, not a guess.
- ``date_trunc('month', date)`` is a ``timestamptz`` in PostgreSQL (DuckDB
  returns a DATE): the date is cast first. A date plus ``n * interval`` is a
  timestamp, not a date (sqlglot types ``n * interval`` as a number).
- ``sum`` of a smallint or an integer is a bigint in PostgreSQL (DuckDB's
  HUGEINT would go out as numeric): the sum is cast.
- ``regexp_matches`` is a set-returning function of text arrays in
  PostgreSQL and a boolean in DuckDB: only Tableau's scalar
  ``(SELECT (regexp_matches(s, 'p'))[n])`` is translated; any other use is an error.
- Result columns get PostgreSQL's names (``count``, ``?column?``,
  ``string_agg``, ``btrim``, ``int4``), as PostgreSQL's FigureColname picks them.

Statements other than queries (``SET VARIABLE``, ``SHOW TABLES``, ``DESCRIBE``)
are c360's own and pass through unchanged; ``EXPLAIN [ANALYZE]`` translates the
query it explains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from c360.errors import NotSupportedError, ProgrammingError, SqlSyntaxError
from c360.pg_formats import format_expression, parse_format
from c360.pg_regexp import regexp_functions
from c360.planner.qualified_columns import qualified_columns

_KEPT = ("TO_CHAR", "TO_TIMESTAMP", "TO_DATE")


def _kept(name: str):
    return lambda args: exp.Anonymous(this=name.lower(), expressions=args)


class WirePostgres(Postgres):
    """sqlglot's PostgreSQL, with the formatting functions kept as written (their patterns are translated
    exactly here, not by sqlglot's best-effort mapping)."""

    class Parser(Postgres.Parser):
        FUNCTIONS = {**Postgres.Parser.FUNCTIONS, **{name: _kept(name) for name in _KEPT}}


@dataclass
class Translation:
    """DuckDB SQL for the engine and the parameters it takes (``$n``; lists for ANY spread into more)."""

    sql: str
    params: list = field(default_factory=list)


@dataclass
class _Context:
    sql: str
    params: list
    schema: object  # a mapping, a callable returning one (read only when a type is needed), or None
    strict: bool = True  # refuse what has no exact translation (False: leave it to DuckDB)


# --- entry point ---------------------------------------------------------------------------------------


_EXPLAIN = re.compile(r"^\s*EXPLAIN(\s+ANALYZE)?\s+", re.IGNORECASE)
_QUERY_START = re.compile(r"^\s*(\(\s*)*(SELECT|WITH|VALUES|TABLE)\b", re.IGNORECASE)


def translate(sql: str, params=None, *, schema: dict | None = None) -> Translation:
    """``sql`` (PostgreSQL, ``$n`` placeholders) as DuckDB SQL with PostgreSQL's meaning.

    ``params`` are the bound values (a list parameter used in ``= ANY($n)`` is
    spread into one parameter per element); ``schema`` maps
    ``{schema: {table: {column: duckdb_type}}}`` so operand types can be told
    (or is a callable returning that mapping, called only when a query needs it).
    Raises SqlSyntaxError for text PostgreSQL would not parse and
    NotSupportedError for a construct without an exact translation.
    """
    params = list(params or [])
    explain = _EXPLAIN.match(sql)
    if explain:
        inner = translate(sql[explain.end():], params, schema=schema)
        return Translation(sql[: explain.end()] + inner.sql, inner.params)
    if not _QUERY_START.match(_strip_leading_comments(sql)):
        return Translation(sql, params)
    tree = _parse(sql)
    context = _Context(sql, params, schema)
    names = column_names(tree, sql)
    for rule in RULES:
        tree = rule(tree, context)
    _name_columns(tree, names)
    return Translation(tree.sql(dialect="duckdb"), context.params)


def _strip_leading_comments(sql: str) -> str:
    while True:
        text = sql.lstrip()
        if text.startswith("--"):
            sql = text.split("\n", 1)[1] if "\n" in text else ""
        elif text.startswith("/*") and "*/" in text:
            sql = text.split("*/", 1)[1]
        else:
            return text


def _parse(sql: str) -> exp.Expression:
    try:
        statements = [s for s in sqlglot.parse(sql, dialect=WirePostgres) if s is not None]
    except sqlglot.errors.ParseError as error:
        first = error.errors[0] if error.errors else {}
        description = first.get("description") or str(error).splitlines()[0]
        where = f" at line {first['line']}, column {first['col']}" if first.get("line") else ""
        near = f" near '{first['highlight']}'" if first.get("highlight") else ""
        raise SqlSyntaxError(f"Syntax error{where}: {description}{near}") from None
    except sqlglot.errors.TokenError as error:
        raise SqlSyntaxError(f"Syntax error: {error}") from None
    if len(statements) != 1:
        raise ProgrammingError("Only one statement can be executed at a time")
    return statements[0]


# --- ANY / ALL over arrays -----------------------------------------------------------------------------


def parse_array_literal(text: str) -> list[str | None]:
    """The elements of a one-dimensional PostgreSQL array literal (``{a,"b c",NULL}``), as text."""
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise ProgrammingError(f"malformed array literal: \"{text[:60]}\"")
    body, items, i = text[1:-1], [], 0
    if not body.strip():
        return []
    while i <= len(body):
        while i < len(body) and body[i] == " ":
            i += 1
        if i < len(body) and body[i] == '"':
            j, value = i + 1, []
            while j < len(body) and body[j] != '"':
                if body[j] == "\\" and j + 1 < len(body):
                    j += 1
                value.append(body[j])
                j += 1
            items.append("".join(value))
            i = j + 1
            while i < len(body) and body[i] == " ":
                i += 1
        else:
            j = body.find(",", i)
            j = len(body) if j < 0 else j
            word = body[i:j].strip()
            if word.startswith("{"):
                raise NotSupportedError("Multi-dimensional arrays are not supported here")
            items.append(None if word.upper() == "NULL" else word)
            i = j
        if i < len(body) and body[i] != ",":
            raise ProgrammingError(f"malformed array literal: \"{text[:60]}\"")
        i += 1
    return items


def _array_elements(node: exp.Expression, context: _Context) -> list[exp.Expression] | None:
    """The elements of an array operand as expressions, or None when it is not a constant array."""
    if isinstance(node, exp.Paren):
        node = node.this
    to = None
    if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.ARRAY):
        to = node.to.expressions[0] if node.to.expressions else None
        node = node.this
    if isinstance(node, exp.Array):
        elements = [e.copy() for e in node.expressions]
    elif isinstance(node, exp.Literal) and node.is_string:
        elements = [exp.null() if v is None else exp.Literal.string(v) for v in parse_array_literal(node.this)]
    elif isinstance(node, exp.Parameter) and node.name.isdigit():
        index = int(node.name) - 1
        if not 0 <= index < len(context.params):
            raise ProgrammingError(f"No value for parameter ${node.name}")
        value = context.params[index]
        if value is None:
            return None
        if isinstance(value, str):
            value = parse_array_literal(value)
        if not isinstance(value, (list, tuple)):
            raise ProgrammingError(f"= ANY(${node.name}) needs an array, not {type(value).__name__}")
        context.params[index] = None  # spread below; the list itself is never bound
        elements = []
        for item in value:
            context.params.append(item)
            elements.append(exp.Parameter(this=exp.Literal.number(len(context.params))))
    else:
        return None
    if to is not None:
        elements = [exp.cast(e, to.copy()) for e in elements]
    return elements


_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike)


def any_all_arrays(tree: exp.Expression, context: _Context) -> exp.Expression:
    """``x op ANY(array)`` / ``x op ALL(array)`` over a constant array or a list parameter, spelled out."""
    for node in list(tree.find_all(*_COMPARISONS)):
        operand = node.expression
        if isinstance(operand, exp.Any):
            quantifier, array = "ANY", operand.this
        elif isinstance(operand, exp.All):
            quantifier, array = "ALL", operand.this
        elif isinstance(operand, exp.Anonymous) and operand.name.upper() in ("ANY", "ALL") and operand.expressions:
            quantifier, array = operand.name.upper(), operand.expressions[0]
        else:
            continue
        if isinstance(array, exp.Subquery) or isinstance(array, exp.Paren) and isinstance(array.this, exp.Select):
            continue  # DuckDB's own ANY/ALL over a subquery
        if isinstance(array, exp.Paren):
            array = array.this
        bare = array.this if isinstance(array, exp.Cast) else array  # $1 or $1::int[] (asyncpg describes with NULL)
        if isinstance(bare, exp.Parameter) and bare.name.isdigit() and 0 < int(bare.name) <= len(context.params) \
                and context.params[int(bare.name) - 1] is None:
            # x = ANY(NULL): NULL, as in PostgreSQL; the parameter stays referenced (it may be the only one)
            node.replace(exp.cast(bare.copy(), "BOOLEAN"))
            continue
        elements = _array_elements(array, context)
        if elements is None and not context.strict:
            continue
        if elements is None:
            raise NotSupportedError(
                f"{quantifier}(array) needs an array literal, ARRAY[...] or a parameter here; "
                f"'{array.sql('postgres')[:60]}' is not supported"
            )
        left = node.this
        if not elements:
            replacement = exp.false() if quantifier == "ANY" else exp.true()
        elif isinstance(node, exp.EQ) and quantifier == "ANY":
            replacement = exp.In(this=left.copy(), expressions=elements)
        elif isinstance(node, exp.NEQ) and quantifier == "ALL":
            replacement = exp.Not(this=exp.In(this=left.copy(), expressions=elements))
        else:
            parts = [type(node)(this=left.copy(), expression=e) for e in elements]
            replacement = exp.or_(*parts) if quantifier == "ANY" else exp.and_(*parts)
        node.replace(exp.Paren(this=replacement))
    return tree


def spell_out_arrays(tree: exp.Expression, params: list) -> exp.Expression:
    """:func:`any_all_arrays` alone (the system catalogs' queries): ``params`` grows in place."""
    return any_all_arrays(tree, _Context("", params, None, strict=False))


# --- schema.table.column ---------------------------------------------------------------------------------


def schema_qualified_columns(tree: exp.Expression, context: _Context | None) -> exp.Expression:
    """``schema.table.column`` references, as :func:`c360.planner.qualified_columns.qualified_columns` reads
    them, with PostgreSQL's error for a table that is not in FROM."""
    def missing(column: exp.Column) -> Exception:
        return ProgrammingError(f'missing FROM-clause entry for table "{column.db}.{column.table}" '
                                f'(referenced as {column.sql("postgres")})')

    return qualified_columns(tree, missing=missing)


# --- to_char / to_timestamp / to_date --------------------------------------------------------------------

def formatting_functions(tree: exp.Expression, context: _Context) -> exp.Expression:
    """``to_char``/``to_timestamp``/``to_date`` with a format: PostgreSQL's patterns, exactly or an error. The
    innermost first: ``to_date(to_char(ts, 'IYYY-01'), 'IYYY-IW')`` parses what the inner one printed."""
    for node in reversed(list(tree.find_all(exp.Anonymous))):
        name = node.name.lower()
        if name not in ("to_char", "to_timestamp", "to_date"):
            continue
        args = node.expressions
        if name == "to_timestamp" and len(args) == 1:
            node.replace(exp.Anonymous(this="to_timestamp", expressions=args))  # seconds since the epoch
            continue
        if len(args) != 2:
            raise ProgrammingError(f"{name}() takes 2 arguments here")
        pattern = args[1]
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise NotSupportedError(f"{name}() needs its format as a string literal here")
        if name == "to_char":
            node.replace(exp.Paren(this=format_expression(args[0], pattern.this)))
            continue
        fmt = exp.Literal.string(parse_format(pattern.this))
        parsed = exp.Anonymous(this="strptime", expressions=[args[0].copy(), fmt])
        to = "TIMESTAMPTZ" if name == "to_timestamp" else "DATE"
        node.replace(exp.cast(parsed, to))
    return tree


# --- typed meanings: integer division, date_trunc of a date ----------------------------------------------

_INTEGERS = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT, exp.DataType.Type.BIGINT,
             exp.DataType.Type.INT128, exp.DataType.Type.UTINYINT, exp.DataType.Type.USMALLINT,
             exp.DataType.Type.UINT, exp.DataType.Type.UBIGINT}
_MARK = "c360_pg_typed"


def typed_operations(tree: exp.Expression, context: _Context) -> exp.Expression:
    """Integer ``/`` becomes ``//``; ``date_trunc`` of a DATE truncates it as a timestamptz (PostgreSQL's
    answer type); ``sum`` of a smallint or an integer is a bigint (DuckDB's is a HUGEINT, sent as numeric:
    Tableau's ``SUM(1)``, its number of records, would read as a decimal). Operand types come from
    ``context.schema`` and the parameters' values; a division whose operand types stay unknown is refused."""
    targets = list(tree.find_all(exp.Div, exp.TimestampTrunc, exp.DateTrunc, exp.Sum))
    if not targets:
        return tree
    for i, node in enumerate(targets):
        node.meta[_MARK] = i
    types = _operand_types(tree, context, None)
    unresolved = any(
        _unknown(types.get(i, (None, None))[0]) or isinstance(node, exp.Div) and _unknown(types.get(i, (None, None))[1])
        for i, node in enumerate(targets)
    )
    if unresolved and context.schema:
        schema = context.schema() if callable(context.schema) else context.schema
        if schema:
            types = _operand_types(tree, context, schema)
    for i, node in enumerate(targets):
        node.meta.pop(_MARK, None)
        left, right = types.get(i, (None, None))
        if isinstance(node, exp.Div):
            if left in _INTEGERS and right in _INTEGERS:
                node.replace(exp.IntDiv(this=node.this, expression=node.expression))
            elif _unknown(left) and _unknown(right) or (left in _INTEGERS and _unknown(right)) or (
                right in _INTEGERS and _unknown(left)
            ):
                raise NotSupportedError(
                    f"Cannot tell whether {node.sql('postgres')} divides integers (PostgreSQL truncates then): "
                    "cast an operand, e.g. x::numeric / y"
                )
        elif isinstance(node, exp.Sum):
            if left in _SUMMED_TO_BIGINT:
                _cast_result(node, "BIGINT")
        else:
            arg = node.this
            if left == exp.DataType.Type.DATE:
                node.set("this", exp.cast(arg, "TIMESTAMPTZ"))
            elif _unknown(left):
                raise NotSupportedError(
                    f"Cannot tell the type date_trunc() truncates in {node.sql('postgres')[:80]}: cast it, "
                    "e.g. date_trunc('month', x::timestamp)"
                )
    return tree


#: the types PostgreSQL sums into a bigint (int2, int4; DuckDB's TINYINT is sent as int2)
_SUMMED_TO_BIGINT = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT}


def _cast_result(aggregate: exp.Expression, to: str) -> None:
    """Cast what ``aggregate`` gives, with its FILTER and OVER clauses (the node itself is kept in the tree)."""
    outer = aggregate
    while isinstance(outer.parent, (exp.Filter, exp.Window)) and outer.parent.this is outer:
        outer = outer.parent
    cast = exp.Cast(this=exp.Null(), to=exp.DataType.build(to))
    outer.replace(cast)
    cast.set("this", outer)


def _unknown(kind) -> bool:
    return kind is None or kind in (exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL)


def _operand_types(tree: exp.Expression, context: _Context, schema: dict | None) -> dict[int, tuple]:
    """``{mark: (left type, right type)}`` read from a typed copy of ``tree``."""
    from c360.planner.parse import literal

    copy = tree.copy()
    for parameter in list(copy.find_all(exp.Parameter)):
        if parameter.name.isdigit() and 0 < int(parameter.name) <= len(context.params):
            try:
                parameter.replace(literal(context.params[int(parameter.name) - 1]))
            except ProgrammingError:
                pass
    try:
        copy = qualify(copy, schema=schema or {}, dialect="duckdb", validate_qualify_columns=False,
                       quote_identifiers=False)
    except (sqlglot.errors.SqlglotError, KeyError, ValueError):
        pass
    try:
        copy = annotate_types(copy, schema=schema or {}, dialect="duckdb")
    except (sqlglot.errors.SqlglotError, KeyError, ValueError, AttributeError):
        return {}
    found = {}
    for node in copy.walk():
        mark = node.meta.get(_MARK)
        if mark is None:
            continue
        if isinstance(node, exp.Div):
            found[mark] = (_kind(node.this), _kind(node.expression))
        else:
            found[mark] = (_kind(node.this), None)
    return found


def _kind(node: exp.Expression):
    """PostgreSQL's type of ``node``, from sqlglot's annotation, except where that differs: a number times an
    interval is an interval (sqlglot says the number's type), and so a date plus or minus one is a timestamp
    (Tableau's ``DATE(n)`` is ``date_trunc('day', DATE '1900-01-01' + n * INTERVAL '1 DAY')``); integers
    divided are an integer (an integer kind stands for all: only "some integer" is asked)."""
    if isinstance(node, exp.Paren):
        return _kind(node.this)
    if isinstance(node, exp.Literal) and not node.is_string:
        return exp.DataType.Type.INT if re.fullmatch(r"\d+", node.this) else exp.DataType.Type.DECIMAL
    if isinstance(node, exp.Div) and {_kind(node.this), _kind(node.expression)} <= _INTEGERS:
        return exp.DataType.Type.INT  # it becomes an integer division
    if isinstance(node, (exp.Mul, exp.Add, exp.Sub)):
        sides = {_kind(node.this), _kind(node.expression)}
        if exp.DataType.Type.INTERVAL in sides:
            if isinstance(node, exp.Mul):
                return exp.DataType.Type.INTERVAL
            if sides & {exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP}:
                return exp.DataType.Type.TIMESTAMP
    kind = node.type.this if node.type is not None else None
    return kind


# --- generate_series in FROM -----------------------------------------------------------------------------


def table_function_columns(tree: exp.Expression, context: _Context) -> exp.Expression:
    """``FROM generate_series(1, 3) g``: PostgreSQL names the column after the alias (``g``), DuckDB after the
    function; the alias gets the column name explicitly."""
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, (exp.GenerateSeries, exp.Anonymous, exp.Func)):
            continue
        alias = table.args.get("alias")
        if isinstance(alias, exp.TableAlias) and alias.this and not alias.columns:
            alias.set("columns", [exp.to_identifier(alias.name)])
    return tree


RULES = (
    any_all_arrays,
    schema_qualified_columns,
    formatting_functions,
    typed_operations,
    table_function_columns,
    regexp_functions,
)


# --- result column names ---------------------------------------------------------------------------------

#: sqlglot's class -> the function name PostgreSQL shows, where sqlglot does not keep the name as written
_FUNCTION_NAMES = {
    "GroupConcat": "string_agg", "ArrayAgg": "array_agg", "Trim": "btrim", "StrPosition": "position",
    "Substring": "substring", "Extract": "extract", "CurrentDate": "current_date",
    "CurrentTimestamp": "current_timestamp", "CurrentTime": "current_time", "Coalesce": "coalesce",
    "Greatest": "greatest", "Least": "least", "Nullif": "nullif", "Case": "case", "If": "case",
    "Array": "array", "Exists": "exists", "TimestampTrunc": "date_trunc", "DateTrunc": "date_trunc",
    "Count": "count", "Sum": "sum", "Avg": "avg", "Max": "max", "Min": "min", "Stddev": "stddev",
    "StddevSamp": "stddev_samp", "StddevPop": "stddev_pop", "Variance": "variance", "VariancePop": "var_pop",
    "Lower": "lower", "Upper": "upper", "Length": "length", "Concat": "concat", "Round": "round", "Abs": "abs",
    "Floor": "floor", "Ceil": "ceil", "Left": "left", "Right": "right", "Replace": "replace",
    "RowNumber": "row_number", "Rank": "rank", "DenseRank": "dense_rank", "Lag": "lag", "Lead": "lead",
    "FirstValue": "first_value", "LastValue": "last_value", "Ntile": "ntile", "LogicalOr": "bool_or",
    "LogicalAnd": "bool_and", "StrToTime": "to_timestamp", "TimeToStr": "to_char", "Pow": "power",
    "Sqrt": "sqrt", "Ln": "ln", "Exp": "exp", "Md5": "md5", "Initcap": "initcap", "ToChar": "to_char",
    "RegexpReplace": "regexp_replace", "SplitPart": "split_part", "ArrayToString": "array_to_string",
    "StringToArray": "string_to_array", "Unnest": "unnest", "GenerateSeries": "generate_series",
    "ExplodingGenerateSeries": "generate_series", "Explode": "unnest", "JSONExtract": "?column?",
    "JSONExtractScalar": "?column?", "JSONBExtract": "?column?", "JSONBExtractScalar": "?column?",
    "CurrentUser": "current_user", "CurrentSchema": "current_schema", "CurrentDatabase": "current_database",
    "CurrentVersion": "version", "Date": "date", "Pad": "lpad",
}

#: PostgreSQL's internal type names, which name a column that is a bare cast
_TYPE_NAMES = {
    "INT": "int4", "BIGINT": "int8", "SMALLINT": "int2", "TEXT": "text", "VARCHAR": "varchar", "CHAR": "bpchar",
    "BOOLEAN": "bool", "DOUBLE": "float8", "FLOAT": "float4", "DECIMAL": "numeric", "DATE": "date",
    "TIMESTAMP": "timestamp", "TIMESTAMPTZ": "timestamptz", "TIME": "time", "INTERVAL": "interval", "JSON": "json",
    "JSONB": "jsonb", "UUID": "uuid", "VARBINARY": "bytea", "BINARY": "bytea",
}


def column_names(tree: exp.Expression, sql: str) -> list[str | None]:
    """PostgreSQL's name for each result column of ``tree`` (None for ``*`` or where DuckDB names it alike)."""
    select = _first_select(tree)
    if select is None:
        return []
    names = []
    for projection in select.expressions:
        if isinstance(projection, (exp.Alias, exp.Star)) or isinstance(projection, exp.Column):
            names.append(None)
            continue
        name, _ = _figure(projection, sql)
        names.append(name or "?column?")
    return names


def _figure(node: exp.Expression, sql: str) -> tuple[str | None, int]:
    """PostgreSQL's FigureColnameInternal: (name, strength); strength 0 means ``?column?``."""
    if isinstance(node, exp.Alias):
        return node.alias, 2
    if isinstance(node, exp.Column):
        return (None, 0) if isinstance(node.this, exp.Star) else (node.name, 2)
    if isinstance(node, exp.Dot):
        return node.name, 2
    if isinstance(node, exp.Paren):
        return _figure(node.this, sql)
    if isinstance(node, exp.Cast):
        name, strength = _figure(node.this, sql)
        if strength <= 1:
            return _type_name(node.to), 1
        return name, strength
    if isinstance(node, exp.Interval):
        return "interval", 1
    if isinstance(node, exp.Subquery):
        inner = node.unnest()
        if isinstance(inner, exp.Select) and inner.expressions:
            name, _ = _figure(inner.expressions[0], sql)
            return (name, 2) if name else (None, 0)
        return None, 0
    if isinstance(node, exp.Window):
        return _figure(node.this, sql)
    if isinstance(node, (exp.Filter, exp.WithinGroup)):
        return _figure(node.this, sql)
    if isinstance(node, exp.Anonymous):
        return str(node.this).split(".")[-1].lower(), 2
    if isinstance(node, exp.Func) and not isinstance(node, (exp.Binary, exp.Unary, exp.Predicate, exp.Connector)):
        start, end = node.meta.get("start"), node.meta.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start <= end < len(sql):
            written = sql[start : end + 1].strip('"')
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", written):
                return written.lower(), 2
        name = _FUNCTION_NAMES.get(type(node).__name__)
        if name is not None:
            return (None, 0) if name == "?column?" else (name, 2)
        return node.sql_name().lower(), 2
    if isinstance(node, (exp.Case, exp.Exists, exp.Array)):
        return _FUNCTION_NAMES[type(node).__name__], 2
    return None, 0


def _type_name(to: exp.DataType) -> str:
    if not isinstance(to, exp.DataType) or not isinstance(to.this, exp.DataType.Type):
        return to.name.lower() if to.name else to.sql("postgres").lower()  # regtype, oid: PostgreSQL's own names
    if to.this == exp.DataType.Type.USERDEFINED:
        return to.sql("postgres").split(".")[-1].split("(")[0].lower().strip('"')
    if to.this == exp.DataType.Type.ARRAY:
        return "_" + _type_name(to.expressions[0]) if to.expressions else "anyarray"
    return _TYPE_NAMES.get(to.this.value, to.this.value.lower())


def _first_select(tree: exp.Expression) -> exp.Select | None:
    """The SELECT whose list names the result's columns (a set operation's first branch), or None."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if isinstance(select, exp.Subquery):
        select = select.unnest()
    return select if isinstance(select, exp.Select) else None


def _name_columns(tree: exp.Expression, names: list[str | None]) -> None:
    select = _first_select(tree)
    if select is None:
        return
    for projection, name in zip(list(select.expressions), names):
        if name and not isinstance(projection, exp.Alias):
            projection.replace(exp.alias_(projection.copy(), name, quoted=True))


# --- parameter types (what Describe of a statement answers) -----------------------------------------------


def parameter_types(sql: str, *, schema=None) -> dict[int, exp.DataType]:
    """``{n: type}`` for the ``$n`` whose type PostgreSQL would infer from the query: a cast (``$1::int``), or
    the other side of a comparison, arithmetic, ``IN`` or ``= ANY($n)`` (an array of that side's type).
    Parameters it cannot type are left out (the client sends them as text)."""
    try:
        tree = _parse(sql)
    except (SqlSyntaxError, ProgrammingError):
        return {}
    return infer_parameter_types(tree, schema=schema)


def infer_parameter_types(tree: exp.Expression, *, schema=None) -> dict[int, exp.DataType]:
    """:func:`parameter_types` of a parsed statement whose parameters are ``exp.Parameter`` nodes numbered
    ``1, 2, ...`` (the Flight SQL door numbers its ``?`` so); ``tree`` is marked, not otherwise changed."""
    found: dict[int, exp.DataType] = {}
    parameters = [p for p in tree.find_all(exp.Parameter) if p.name.isdigit()]
    for parameter in parameters:
        parent = parameter.parent
        if isinstance(parent, exp.Cast) and parent.to.this != exp.DataType.Type.USERDEFINED:
            found.setdefault(int(parameter.name), parent.to.copy())
        parameter.meta[_MARK] = int(parameter.name)
    if len(found) == len({int(p.name) for p in parameters}):
        return found
    mapping = schema() if callable(schema) else schema
    copy = tree.copy()
    try:
        copy = qualify(copy, schema=mapping or {}, dialect="duckdb", validate_qualify_columns=False,
                       quote_identifiers=False)
        copy = annotate_types(copy, schema=mapping or {}, dialect="duckdb")
    except (sqlglot.errors.SqlglotError, KeyError, ValueError, AttributeError):
        return found
    for node in copy.find_all(exp.Parameter):
        number = node.meta.get(_MARK)
        if number is None or number in found:
            continue
        kind = _inferred(node)
        if kind is not None:
            found[number] = kind
    return found


def _inferred(parameter: exp.Expression) -> exp.DataType | None:
    node, array = parameter, False
    parent = node.parent
    if isinstance(parent, exp.Paren):
        node, parent = parent, parent.parent
    if isinstance(parent, (exp.Any, exp.All)):
        node, parent, array = parent, parent.parent, True
    if isinstance(parent, exp.In) and node is not parent.this:
        other = parent.this
    elif isinstance(parent, exp.Between) and node is not parent.this:
        other = parent.this
    elif isinstance(parent, (*_COMPARISONS, exp.Add, exp.Sub, exp.Mul, exp.Div)):
        other = parent.expression if node is parent.this else parent.this
    else:
        return None
    kind = other.type
    if kind is None or kind.this in (exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL):
        return None
    return exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[kind.copy()], nested=True) if array else kind.copy()
