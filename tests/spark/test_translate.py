"""c360's SQL to Spark SQL: what is rewritten, what is refused (naming the view and line), and that
the rewritten list aggregation means what DuckDB's does."""

from __future__ import annotations

import duckdb
import pytest

from c360.spark.views import TranslationError, translate_query, translate_view
from c360.views import load_views


def spark_sql(sql: str, views=()) -> str:
    return translate_query(sql, views).sql


def test_as_of_becomes_a_named_parameter_and_tables_their_views():
    got = spark_sql("SELECT o.order_id FROM shop.orders AS o WHERE o.order_ts < CAST(getvariable('as_of') AS DATE)")
    assert ":as_of" in got and "shop__orders AS o" in got


def test_only_the_as_of_variable_translates():
    with pytest.raises(TranslationError, match=r"query:1: only getvariable\('as_of'\)"):
        spark_sql("SELECT getvariable('region') FROM shop.orders")


def test_date_minus_date_is_datediff_and_a_lone_date_is_refused():
    assert "DATEDIFF(CAST(a.x AS DATE), CAST(a.y AS DATE))" in spark_sql(
        "SELECT CAST(a.x AS DATE) - CAST(a.y AS DATE) FROM shop.orders AS a")
    with pytest.raises(TranslationError, match="DATE minus a value that is not a DATE"):
        spark_sql("SELECT CAST(a.x AS DATE) - a.n FROM shop.orders AS a")


def test_division_is_a_double_as_in_duckdb(spark):
    """DuckDB's `/` is a DOUBLE for DECIMAL operands too; Spark's would be a DECIMAL cut to 6 digits of scale."""
    got = spark_sql("SELECT o.total / o.n AS q FROM shop.orders AS o")
    assert "CAST(o.total AS DOUBLE) / o.n" in got
    row = spark.sql("SELECT CAST(CAST(472.54 AS DECIMAL(38, 2)) AS DOUBLE) / CAST(3 AS BIGINT) AS q").first()
    assert row.q == duckdb.sql("SELECT CAST(472.54 AS DECIMAL(38, 2)) / CAST(3 AS BIGINT)").fetchone()[0]
    assert spark.sql("SELECT CAST(472.54 AS DECIMAL(38, 2)) / CAST(3 AS BIGINT) AS q").first().q != row.q


def test_a_one_based_index_stays_one_based():
    assert "TRY_ELEMENT_AT(ARRAY('a', 'b'), 1)" in spark_sql("SELECT ['a', 'b'][1] FROM shop.orders")
    assert "TRY_ELEMENT_AT(ARRAY('a', 'b'), o.p)" in spark_sql("SELECT ['a', 'b'][o.p] FROM shop.orders AS o")


def test_an_unordered_list_is_refused_unless_nulls_are_ignored_above_it():
    with pytest.raises(TranslationError, match="collect_list drops them"):
        spark_sql("SELECT list(o.status) FROM shop.orders AS o")
    got = spark_sql("SELECT list_distinct(list(o.status)) FROM shop.orders AS o")
    assert "ARRAY_DISTINCT(COLLECT_LIST(o.status))" in got
    # a FILTER that keeps NULLs out (queries/order_history.sql) makes collect_list's list the same
    got = spark_sql("SELECT array_agg(DISTINCT o.status) FILTER (WHERE o.status IS NOT NULL) FROM shop.orders AS o")
    assert "COLLECT_LIST(DISTINCT o.status) FILTER(WHERE NOT o.status IS NULL)" in " ".join(got.split())
    with pytest.raises(TranslationError, match="collect_list drops them"):
        spark_sql("SELECT list(o.status) FILTER (WHERE o.channel IS NOT NULL) FROM shop.orders AS o")


def test_a_view_that_does_not_translate_is_an_error_naming_its_file_and_line(tmp_path):
    (tmp_path / "wide.sql").write_text(
        "-- every column but one\nSELECT\n    o.* EXCLUDE (status)\nFROM shop.orders AS o\n")
    views = load_views(tmp_path)
    with pytest.raises(TranslationError) as raised:
        translate_view(views["wide"], views)
    assert str(raised.value).startswith(f"{tmp_path / 'wide.sql'}:3: * EXCLUDE")


def test_the_projects_views_translate():
    from pathlib import Path

    views = load_views(Path(__file__).resolve().parents[2] / "queries")
    for view in views.values():
        assert translate_view(view, views).sql


def test_an_ordered_list_means_on_spark_what_it_means_in_duckdb(spark):
    """Ties broken by the second key, NULL keys last in both directions, NULL values kept, FILTER applied."""
    rows = ("(1, 10, 'b', 'x'), (1, 10, 'a', 'y'), (1, NULL, 'c', 'z'), (1, 5, 'd', NULL), "
            "(2, NULL, 'a', 'p'), (2, NULL, 'b', NULL), (3, 1, 'a', NULL)")
    query = (f"SELECT t.g, list(t.v ORDER BY t.k DESC, t.j) AS everything, "
             f"(list(t.v ORDER BY t.k DESC, t.j) FILTER (WHERE t.v IS NOT NULL))[1] AS first_value, "
             f"list(t.v ORDER BY t.j DESC) AS by_j "
             f"FROM (VALUES {rows}) AS t(g, k, j, v) GROUP BY t.g ORDER BY t.g")
    expected = duckdb.sql(query).fetchall()
    got = [tuple(r) for r in spark.sql(spark_sql(query)).collect()]
    assert got == [tuple(r) for r in expected]
