"""PostgreSQL's SQL read into the engine's (c360.postgres): each rule's translation, the refusals, and the
DB-API's ``dialect="postgres"`` option. The wire oracle against a real PostgreSQL is
tests/server/test_postgres_sql.py."""

from __future__ import annotations

import pytest

import c360
from c360.errors import NotSupportedError, ProgrammingError, SqlSyntaxError
from c360.pg_formats import format_expression
from c360.postgres import parse_array_literal, translate
from tests.projects import shop_project

SCHEMA = {"shop": {"orders": {"order_id": "INT", "amount": "DECIMAL(12,2)", "order_ts": "TIMESTAMP"},
                   "customers": {"signup": "DATE"}}}


@pytest.mark.parametrize(
    "sql, expected",
    [
        ('SELECT "shop"."orders"."status" FROM "shop"."orders"',
         'SELECT "orders"."status" FROM "shop"."orders" AS "orders"'),
        ("SELECT 1 FROM t WHERE k = ANY('{r,v}')", "SELECT 1 AS \"?column?\" FROM t WHERE (k IN ('r', 'v'))"),
        ("SELECT 1 FROM t WHERE k <> ALL(ARRAY[1, 2])", 'SELECT 1 AS "?column?" FROM t WHERE (NOT k IN (1, 2))'),
        ("SELECT 1 FROM t WHERE k < ANY(ARRAY[1, 2])", 'SELECT 1 AS "?column?" FROM t WHERE (k < 1 OR k < 2)'),
        ("SELECT 1 FROM t WHERE k = ANY('{}')", 'SELECT 1 AS "?column?" FROM t WHERE (FALSE)'),
        ("SELECT 1 FROM t WHERE k = ANY(SELECT 1)", 'SELECT 1 AS "?column?" FROM t WHERE k = ANY (SELECT 1)'),
        ("SELECT order_id / 2 FROM shop.orders", 'SELECT order_id // 2 AS "?column?" FROM shop.orders'),
        ("SELECT amount / 2 FROM shop.orders", 'SELECT amount / 2 AS "?column?" FROM shop.orders'),
        ("SELECT date_trunc('month', signup) FROM shop.customers",
         "SELECT DATE_TRUNC('MONTH', CAST(signup AS TIMESTAMPTZ)) AS \"date_trunc\" FROM shop.customers"),
        ("SELECT * FROM generate_series(1, 3) g", "SELECT * FROM GENERATE_SERIES(1, 3) AS g(g)"),
        ("SELECT count(*), string_agg(a, ','), x FROM t",
         "SELECT COUNT(*) AS \"count\", LISTAGG(a, ',') AS \"string_agg\", x FROM t"),
        ("EXPLAIN SELECT count(*) FROM t", 'EXPLAIN SELECT COUNT(*) AS "count" FROM t'),
        ("SET VARIABLE as_of = DATE '2026-01-01'", "SET VARIABLE as_of = DATE '2026-01-01'"),
        ("DESCRIBE shop.orders", "DESCRIBE shop.orders"),
    ],
    ids=["schema_table_column", "any_literal", "all_constructor", "any_less_than", "any_empty", "any_subquery",
         "integer_division", "decimal_division", "date_trunc_date", "generate_series_alias", "names", "explain",
         "set_variable_passes", "describe_passes"],
)
def test_each_rule_translates_to_duckdb_with_postgresql_meaning(sql, expected):
    assert translate(sql, schema=SCHEMA).sql == expected


def test_a_list_parameter_in_any_is_spread_into_parameters():
    translation = translate("SELECT 1 FROM t WHERE k = ANY($1) AND j = $2", [[5, 6], "x"])
    assert translation.sql == 'SELECT 1 AS "?column?" FROM t WHERE (k IN ($3, $4)) AND j = $2'
    assert translation.params == [None, "x", 5, 6]


def test_a_null_array_parameter_makes_any_null():
    # the NULL parameter stays referenced: it may be the statement's only one (asyncpg describes with NULLs)
    for sql in ("SELECT 1 FROM t WHERE k = ANY($1)", "SELECT 1 FROM t WHERE k = ANY($1::int[])"):
        translation = translate(sql, [None])
        assert translation.sql == 'SELECT 1 AS "?column?" FROM t WHERE CAST($1 AS BOOLEAN)'
        assert translation.params == [None]


def test_the_schema_callable_is_read_only_when_a_type_is_needed():
    calls = []
    translate("SELECT 7 / 2, k FROM t", schema=lambda: calls.append(1) or {})
    assert calls == []
    translate("SELECT order_id / 2 FROM shop.orders", schema=lambda: calls.append(1) or SCHEMA)
    assert calls == [1]


@pytest.mark.parametrize(
    "sql, error, message",
    [
        ("SELECT k / 2 FROM t", NotSupportedError, "divides integers"),
        ("SELECT 1 FROM t WHERE k = ANY(arr)", NotSupportedError, "needs an array literal"),
        ("SELECT to_char(ts, fmt) FROM t", NotSupportedError, "string literal"),
        ("SELECT date_trunc('day', x) FROM t", NotSupportedError, "date_trunc"),
        ("SELECT FROM WHERE", SqlSyntaxError, "Syntax error"),
        ("SELECT 1; SELECT 2", ProgrammingError, "one statement"),
        ("SELECT 1 FROM t WHERE k = ANY('{{1},{2}}')", NotSupportedError, "Multi-dimensional"),
    ],
)
def test_what_has_no_exact_translation_is_refused(sql, error, message):
    with pytest.raises(error, match=message):
        translate(sql)


@pytest.mark.parametrize(
    "pattern, pieces",
    [
        ("Mon YYYY", "STRFTIME(ts, '%b %Y')"),
        ('YYYY"Q"MM', "STRFTIME(ts, '%YQ%m')"),
        ("FMMonth", "STRFTIME(ts, '%B')"),
        ("Month", "RPAD(STRFTIME(ts, '%B'), 9, ' ')"),
        ("DY", "UPPER(STRFTIME(ts, '%a'))"),
        ('YYYY" 100%"', "STRFTIME(ts, '%Y 100%%')"),
    ],
)
def test_to_char_patterns_become_exact_strftime_pieces(pattern, pieces):
    import sqlglot

    assert format_expression(sqlglot.parse_one("ts"), pattern).sql("duckdb") == pieces


def test_array_literals_read_quotes_escapes_and_nulls():
    assert parse_array_literal('{a, "b c" ,NULL,"x\\"y",""}') == ["a", "b c", None, 'x"y', ""]
    assert parse_array_literal("{}") == []
    with pytest.raises(ProgrammingError, match="malformed"):
        parse_array_literal("a,b")


def test_the_dbapi_reads_duckdb_by_default_and_postgres_when_asked(tmp_path):
    catalog = shop_project(tmp_path)
    with c360.connect(catalog) as connection:
        cursor = connection.execute("SELECT 7 / 2, count(*) FROM shop.orders")
        assert [d[0] for d in cursor.description] == ["(7 / 2)", "count_star()"] and cursor.fetchall() == [(3.5, 4)]
    with c360.connect(catalog, dialect="postgres") as connection:
        cursor = connection.execute(
            'SELECT 7 / 2, count(*), sum(order_id / 2) FROM "shop"."orders" WHERE "shop"."orders"."order_id" = ANY($1)',
            [[1, 2, 3]],
        )
        assert [d[0] for d in cursor.description] == ["?column?", "count", "sum"] and cursor.fetchall() == [(3, 3, 2)]
    with pytest.raises(c360.InterfaceError, match="Unknown dialect"):
        c360.connect(catalog, dialect="mysql")
