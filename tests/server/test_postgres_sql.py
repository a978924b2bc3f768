"""Wire clients write PostgreSQL and get PostgreSQL's answers: each query runs through ``c360 serve`` and on a
real PostgreSQL holding the same rows, and the column names and rows must match (the oracle)."""

from __future__ import annotations

import decimal

import psycopg
import pytest

#: queries BI tools and drivers write, each with a PostgreSQL meaning DuckDB's dialect does not share
ORACLE_QUERIES = {
    "schema_table_column": 'SELECT "shop"."orders"."status", count(*) FROM "shop"."orders" '
    'GROUP BY "shop"."orders"."status" ORDER BY 1',
    "any_array_literal": "SELECT order_id FROM shop.orders WHERE status = ANY('{paid,CANCELLED}') ORDER BY 1",
    "all_array_constructor": "SELECT order_id FROM shop.orders WHERE order_id <> ALL(ARRAY[1, 2]) ORDER BY 1",
    "any_typed_array": "SELECT order_id FROM shop.orders WHERE order_id > ANY('{2,3}'::int[]) ORDER BY 1",
    "result_names": "SELECT 1 + 1, count(*), string_agg(status, ',' ORDER BY status), max(order_ts), "
    "coalesce(max(status), 'x'), CASE WHEN count(*) > 1 THEN 'many' END, now() IS NOT NULL FROM shop.orders",
    "cast_names": "SELECT order_id::text, '5'::int + 1, CAST(amount AS int), 'a'::text, 1::int, "
    "DATE '2026-01-05' FROM shop.orders ORDER BY order_id",
    "string_function_names": "SELECT trim('  a '), upper(name), length(name), substring(name from 1 for 2), "
    "position('n' in name) FROM shop.customers ORDER BY name",
    "sublink_names": "SELECT (SELECT max(order_id) FROM shop.orders), EXISTS (SELECT 1 FROM shop.orders)",
    "to_char": "SELECT to_char(DATE '2026-01-05', 'Mon YYYY'), to_char(order_ts, 'YYYY-MM-DD HH24:MI:SS'), "
    "to_char(order_ts, 'FMMonth FMDD, YYYY'), to_char(order_ts, 'Day|Month|DY|mon|MON|Dy'), "
    "to_char(order_ts, 'HH12:MI am \"at\" DDD IYYY-IW'), to_char(order_ts, 'yyyy/mm/dd hh24.mi.ss.MS.US') "
    "FROM shop.orders ORDER BY order_id",
    # Tableau's DATENAME('iso-weekday', ...) and DATENAME('iso-week', ...)
    "to_char_iso_weekday": "SELECT to_char(order_ts, 'ID'), to_char(order_ts, 'IW'), to_char(order_ts, 'iyyy-iw-id') "
    "FROM shop.orders ORDER BY order_id",
    # Tableau's DATETRUNC('iso-year') and ('iso-quarter'): digits in a date format are printed as written
    "iso_year_and_quarter_truncation": "SELECT TO_DATE(TO_CHAR(order_ts, 'IYYY-01'), 'IYYY-IW'), "
    "TO_DATE(TO_CHAR(order_ts, 'IYYY-') || (LEAST(CAST((EXTRACT(WEEK FROM order_ts) - 1) AS BIGINT) / 13, 3) * 13 "
    "+ 1), 'IYYY-IW') FROM shop.orders ORDER BY order_id",
    "to_timestamp_superset": "SELECT order_id FROM shop.orders WHERE order_ts >= "
    "TO_TIMESTAMP('2026-02-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US') ORDER BY 1",
    "to_date": "SELECT to_date('05/01/2026', 'DD/MM/YYYY')",
    "ilike": "SELECT name FROM shop.customers WHERE name ILIKE 'a%' OR name ILIKE '%Y' ORDER BY 1",
    "generate_series": "SELECT g, g * 2 FROM generate_series(1, 3) g ORDER BY g",
    "date_trunc": "SELECT date_trunc('month', order_ts), date_trunc('month', signup) "
    "FROM shop.orders JOIN shop.customers USING (customer_id) ORDER BY order_id",
    "interval_arithmetic": "SELECT order_ts + interval '1 day', order_ts - interval '2 hours', "
    "order_ts + interval '1 month 2 days', signup + 1 "
    "FROM shop.orders JOIN shop.customers USING (customer_id) ORDER BY order_id",
    "distinct_on": "SELECT DISTINCT ON (customer_id) customer_id, order_id FROM shop.orders "
    "ORDER BY customer_id, order_id DESC",
    "integer_division": "SELECT 7 / 2, order_id / 2, -7 / 2, amount / 2, order_id / 2.0 FROM shop.orders ORDER BY order_id",
    "aggregates": "SELECT count(*) AS n, sum(order_id), avg(order_id), min(status) FROM shop.orders",
    # Tableau's DATE(n): a date plus n times an interval is a timestamp, truncated as one (not as a date)
    "date_trunc_of_date_plus_interval": "SELECT order_id, date_trunc('day', CAST('1900-01-01' AS DATE) "
    "+ order_id * INTERVAL '1 DAY') AS d, (DATE '2026-01-05' - 2 * INTERVAL '1 DAY') AS t FROM shop.orders "
    "ORDER BY 1",
    # Tableau's REGEXP_EXTRACT: the n-th group of the first match, the match itself without groups, else NULL
    "regexp_extract_subquery": "SELECT order_id, (SELECT (REGEXP_MATCHES(status, '(a)(.)'))[2]) AS g2, "
    "(SELECT (REGEXP_MATCHES(status, 'a.'))[1]) AS m, (SELECT (REGEXP_MATCHES(status, '(a.)'))[2]) AS none, "
    "(SELECT (REGEXP_MATCHES(status, '[(|]?p(ai)'))[1]) AS p, "
    "(SELECT (REGEXP_MATCHES((SELECT (REGEXP_MATCHES(status, '(a.)'))[1]), '.(.)'))[1]) AS nested "
    "FROM shop.orders ORDER BY 1",
}


def _normal(value):
    if isinstance(value, (decimal.Decimal, float)):
        return round(float(value), 9)
    return value


def _run(dsn: str, sql: str, params=None):
    with psycopg.connect(dsn, autocommit=True) as connection:
        cursor = connection.execute(sql, params)
        return [d.name for d in cursor.description], [tuple(_normal(v) for v in row) for row in cursor.fetchall()]


@pytest.mark.parametrize("sql", ORACLE_QUERIES.values(), ids=ORACLE_QUERIES.keys())
def test_wire_sql_answers_as_postgresql_does(server, postgres_shop, sql):
    expected = _run(postgres_shop + " options='-c search_path=shop -c TimeZone=UTC'", sql)
    assert _run(server.dsn(), sql) == expected


def test_a_sum_of_integers_is_a_bigint_as_in_postgresql(server, postgres_shop):
    """Tableau's number of records is ``SUM(1)``: PostgreSQL sums smallints and integers into a bigint (int8),
    bigints and decimals into a numeric."""
    sql = (
        "SELECT SUM(1) AS records, SUM(CAST(order_id AS INTEGER)) AS i4, SUM(CAST(order_id AS SMALLINT)) AS i2, "
        "SUM(DISTINCT CAST(customer_id AS INTEGER)) AS d, SUM(CAST(order_id AS INTEGER) / 2) AS halves, "
        "SUM(CAST(order_id AS BIGINT)) AS i8, SUM(amount) AS amount, "
        "SUM(1) FILTER (WHERE status = 'paid') AS paid, (SELECT SUM(1) OVER () FROM shop.customers LIMIT 1) AS windowed "
        "FROM shop.orders"
    )

    def typed(dsn: str):
        with psycopg.connect(dsn, autocommit=True) as connection:
            cursor = connection.execute(sql)
            return [d.type_code for d in cursor.description], [tuple(map(_normal, r)) for r in cursor.fetchall()]

    int8, numeric = 20, 1700
    expected = typed(postgres_shop + " options='-c search_path=shop -c TimeZone=UTC'")
    assert expected[0] == [int8] * 5 + [numeric] * 2 + [int8] * 2
    assert typed(server.dsn()) == expected


def test_a_list_parameter_in_any_binds_as_postgresql_does(server, postgres_shop):
    sql = "SELECT order_id FROM shop.orders WHERE order_id = ANY(%s) AND status <> ALL(%s) ORDER BY 1"
    params = ([1, 2, 4], ["CANCELLED"])
    assert _run(server.dsn(), sql, params) == _run(postgres_shop, sql, params) == (["order_id"], [(1,), (4,)])


def test_to_char_of_a_date_is_the_formatted_text_never_the_date(server):
    assert _run(server.dsn(), "SELECT to_char(DATE '2026-01-05','Mon YYYY')") == (["to_char"], [("Jan 2026",)])


@pytest.mark.parametrize(
    "sql, message",
    [
        ("SELECT to_char(order_ts, 'WW') FROM shop.orders", "WW"),
        ("SELECT to_char(amount, '999D99') FROM shop.orders", "number format"),
        ("SELECT to_timestamp('JAN 2026', 'MON YYYY')", "when parsing"),
    ],
    ids=["week_pattern", "number_format", "parse_month_name"],
)
def test_a_format_without_an_exact_translation_is_an_error(server, sql, message):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        with pytest.raises(psycopg.errors.FeatureNotSupported, match=message):
            connection.execute(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT regexp_matches(status, 'a') FROM shop.orders",  # a set of arrays in PostgreSQL, a boolean in DuckDB
        "SELECT (SELECT (regexp_matches(status, '(p)?a'))[1]) FROM shop.orders",  # an optional group: NULL or ''
        "SELECT (SELECT (regexp_matches(status, '(p)|a'))[1]) FROM shop.orders",
        "SELECT (SELECT (regexp_matches(status, 'a', 'g'))[1]) FROM shop.orders",
    ],
    ids=["set_returning", "optional_group", "alternation", "flags"],
)
def test_regexp_matches_outside_tableaus_scalar_form_is_refused(server, sql):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="regexp_matches"):
            connection.execute(sql)


def test_a_division_of_unknown_types_is_refused_not_guessed(server):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="divides integers"):
            connection.execute("SELECT hash(order_id) / 2 FROM shop.orders")


def test_the_statement_policy_still_applies_to_translated_sql(server):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="read_csv"):
            connection.execute("SELECT * FROM read_csv('/etc/passwd')")


def test_show_tables_and_describe_are_answered_from_the_catalog(server):
    names, rows = _run(server.dsn(), "SHOW TABLES")
    assert names == ["schema", "name", "kind"] and ("shop", "orders", "table") in rows
    names, rows = _run(server.dsn(), "DESCRIBE shop.orders")
    assert names[:2] == ["column_name", "column_type"] and [r[0] for r in rows][:2] == ["order_id", "customer_id"]
    for statement in ("SHOW SCHEMAS", "SHOW SOURCES"):  # not PostgreSQL's SHOW of a setting
        names, rows = _run(server.dsn(), statement)
        assert names == ["schema", "kind", "description"] and rows[0][:2] == ("shop", "sqlite"), statement


def test_a_described_statement_reports_postgresql_column_names(server):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT count(*), 1 + %s FROM shop.orders", (1,), prepare=True)
        assert [d.name for d in cursor.description] == ["count", "?column?"]
        assert cursor.fetchall() == [(4, 2)]
