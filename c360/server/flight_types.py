"""Types as the Flight SQL door describes them: the rows of GetXdbcTypeInfo (the SQL types c360's results
have, named as its SQL spells them) and the Arrow types of a prepared statement's ``?`` parameters.

A parameter's type is inferred from the query the way the PostgreSQL door's Describe does it
(:func:`c360.postgres.infer_parameter_types`): a cast (``CAST(? AS DATE)``), or the column or expression on
the other side of a comparison, arithmetic, ``IN`` or ``BETWEEN``. The ``?`` are numbered in the order they
appear in the text, as DuckDB binds them. A parameter whose type does not follow from the query is typed
``null``: its type is then the one of the value bound to it.
"""

from __future__ import annotations

import pyarrow as pa

# XdbcDataType and XdbcDatetimeSubcode (FlightSql.proto)
_BIT, _TINYINT, _SMALLINT, _INTEGER, _BIGINT = -7, -6, 5, 4, -5
_REAL, _DOUBLE, _DECIMAL, _VARCHAR, _VARBINARY = 7, 8, 3, 12, -3
_DATETIME, _INTERVAL, _DATE, _TIME, _TIMESTAMP = 9, 10, 91, 92, 93
_SUB_DATE, _SUB_TIME, _SUB_TIMESTAMP, _SUB_TIMESTAMP_TZ, _SUB_DAY_TO_SECOND = 1, 2, 3, 5, 110
_SEARCHABLE_BASIC, _SEARCHABLE_FULL = 2, 3
_QUOTE = "'"

#: (type_name, data_type, column_size, literal prefix and suffix, create_params, case_sensitive, searchable,
#:  unsigned, fixed_prec_scale, minimum and maximum scale, sql_data_type, datetime_subcode, num_prec_radix)
_TYPES = (
    ("BOOLEAN", _BIT, 1, None, None, False, _SEARCHABLE_BASIC, None, False, None, None, _BIT, None, None),
    ("TINYINT", _TINYINT, 3, None, None, False, _SEARCHABLE_BASIC, False, False, 0, 0, _TINYINT, None, 10),
    ("SMALLINT", _SMALLINT, 5, None, None, False, _SEARCHABLE_BASIC, False, False, 0, 0, _SMALLINT, None, 10),
    ("INTEGER", _INTEGER, 10, None, None, False, _SEARCHABLE_BASIC, False, False, 0, 0, _INTEGER, None, 10),
    ("BIGINT", _BIGINT, 19, None, None, False, _SEARCHABLE_BASIC, False, False, 0, 0, _BIGINT, None, 10),
    ("FLOAT", _REAL, 24, None, None, False, _SEARCHABLE_BASIC, False, False, None, None, _REAL, None, 2),
    ("DOUBLE", _DOUBLE, 53, None, None, False, _SEARCHABLE_BASIC, False, False, None, None, _DOUBLE, None, 2),
    ("DECIMAL", _DECIMAL, 38, None, ["precision", "scale"], False, _SEARCHABLE_BASIC, False, True, 0, 38,
     _DECIMAL, None, 10),
    ("VARCHAR", _VARCHAR, None, _QUOTE, None, True, _SEARCHABLE_FULL, None, False, None, None, _VARCHAR, None,
     None),
    ("BLOB", _VARBINARY, None, _QUOTE, None, False, _SEARCHABLE_BASIC, None, False, None, None, _VARBINARY, None,
     None),
    ("DATE", _DATE, 10, "DATE '", None, False, _SEARCHABLE_BASIC, None, False, None, None, _DATETIME, _SUB_DATE,
     None),
    ("TIME", _TIME, 15, "TIME '", None, False, _SEARCHABLE_BASIC, None, False, 6, 6, _DATETIME, _SUB_TIME, None),
    ("TIMESTAMP", _TIMESTAMP, 26, "TIMESTAMP '", None, False, _SEARCHABLE_BASIC, None, False, 6, 6, _DATETIME,
     _SUB_TIMESTAMP, None),
    ("TIMESTAMP WITH TIME ZONE", _TIMESTAMP, 32, "TIMESTAMPTZ '", None, False, _SEARCHABLE_BASIC, None, False,
     6, 6, _DATETIME, _SUB_TIMESTAMP_TZ, None),
    ("INTERVAL", _INTERVAL, None, "INTERVAL '", None, False, _SEARCHABLE_BASIC, None, False, None, None,
     _INTERVAL, _SUB_DAY_TO_SECOND, None),
)

XDBC_TYPE_INFO_SCHEMA = pa.schema([
    pa.field("type_name", pa.utf8(), nullable=False), pa.field("data_type", pa.int32(), nullable=False),
    pa.field("column_size", pa.int32()), pa.field("literal_prefix", pa.utf8()), pa.field("literal_suffix", pa.utf8()),
    pa.field("create_params", pa.list_(pa.field("item", pa.utf8(), nullable=False))),
    pa.field("nullable", pa.int32(), nullable=False), pa.field("case_sensitive", pa.bool_(), nullable=False),
    pa.field("searchable", pa.int32(), nullable=False), pa.field("unsigned_attribute", pa.bool_()),
    pa.field("fixed_prec_scale", pa.bool_(), nullable=False), pa.field("auto_increment", pa.bool_()),
    pa.field("local_type_name", pa.utf8()), pa.field("minimum_scale", pa.int32()),
    pa.field("maximum_scale", pa.int32()), pa.field("sql_data_type", pa.int32(), nullable=False),
    pa.field("datetime_subcode", pa.int32()), pa.field("num_prec_radix", pa.int32()),
    pa.field("interval_precision", pa.int32()),
])


def xdbc_type_info(data_type: int | None = None) -> pa.Table:
    """GetXdbcTypeInfo's answer: every type (or those of XdbcDataType ``data_type``), ordered by data_type
    then type_name. Every type accepts NULL; none auto-increments (c360 is read-only)."""
    rows = sorted((t for t in _TYPES if data_type is None or t[1] == data_type), key=lambda t: (t[1], t[0]))
    columns = {
        "type_name": [t[0] for t in rows], "data_type": [t[1] for t in rows], "column_size": [t[2] for t in rows],
        "literal_prefix": [t[3] for t in rows],
        "literal_suffix": [(_QUOTE if t[3] else None) for t in rows], "create_params": [t[4] for t in rows],
        "nullable": [1] * len(rows), "case_sensitive": [t[5] for t in rows], "searchable": [t[6] for t in rows],
        "unsigned_attribute": [t[7] for t in rows], "fixed_prec_scale": [t[8] for t in rows],
        "auto_increment": [(False if t[7] is not None else None) for t in rows],
        "local_type_name": [t[0] for t in rows], "minimum_scale": [t[9] for t in rows],
        "maximum_scale": [t[10] for t in rows], "sql_data_type": [t[11] for t in rows],
        "datetime_subcode": [t[12] for t in rows], "num_prec_radix": [t[13] for t in rows],
        "interval_precision": [None] * len(rows),
    }
    return pa.table(columns, schema=XDBC_TYPE_INFO_SCHEMA)


def parameter_schema(sql: str, type_schema=None) -> pa.Schema | None:
    """One field per ``?`` of ``sql`` (named 1, 2, ... in text order), typed as the query implies or ``null``;
    ``type_schema`` is ``{schema: {table: {column: DuckDB type}}}`` (or a callable giving it). None when the
    statement does not parse (its error comes when it runs)."""
    from sqlglot import exp

    from c360.errors import Error
    from c360.planner.parse import parse
    from c360.postgres import infer_parameter_types
    from c360.types import arrow_type

    numbered = _numbered(sql)
    if numbered is None:
        return None
    text, count = numbered
    try:
        statement = parse(text)
    except Error:
        return None
    if not count:
        return pa.schema([])
    for node in list(statement.find_all(exp.Placeholder)):
        if str(node.name).isdigit():
            node.replace(exp.Parameter(this=exp.Var(this=str(node.name))))
    try:
        found = infer_parameter_types(statement, schema=type_schema)
    except Error:
        found = {}
    fields = []
    for number in range(1, count + 1):
        kind = pa.null()
        if number in found:
            try:
                kind = arrow_type(found[number].sql("duckdb"))
            except (Error, ValueError, KeyError, pa.ArrowException):
                kind = pa.null()
        fields.append(pa.field(str(number), kind))
    return pa.schema(fields)


def _numbered(sql: str) -> tuple[str, int] | None:
    """``sql`` with its ``?`` (outside strings and comments) written ``$1, $2, ...`` in text order, and their
    count; None when it does not tokenize."""
    import sqlglot
    from sqlglot.tokens import TokenType

    try:
        tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(sql)
    except sqlglot.errors.TokenError:
        return None
    marks = [token for token in tokens if token.token_type == TokenType.PLACEHOLDER and token.text == "?"]
    for number, token in reversed(list(enumerate(marks, 1))):
        sql = f"{sql[:token.start]}${number}{sql[token.end + 1:]}"
    return sql, len(marks)
