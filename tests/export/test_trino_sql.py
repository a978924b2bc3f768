"""One view from c360's SQL to Trino's (:mod:`c360.export.trino_sql`): the rewrites that keep its meaning,
and the refusals, each naming the view, its file and line."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlglot

from c360.export.trino_sql import TranslationError, translate

NAMES = {"shop.orders": "shop.db.orders", "rfm": "c360.views.rfm"}


def _trino(sql: str, *, as_of=None) -> str:
    return translate(sqlglot.parse_one(sql, read="duckdb"), view="v", path="queries/v.sql", as_of=as_of, names=NAMES)


@pytest.mark.parametrize("construct, what", [
    ("list_transform(o.items, x -> x + 1)", "function transform()"),
    ("struct_pack(a := o.order_id)", "a struct literal"),
    ("levenshtein(o.status, 'x')", "function levenshtein()"),
    ("getvariable('other')", "GETVARIABLE('other') has no Trino equivalent"),
])
def test_a_construct_without_an_exact_translation_is_an_error_naming_the_view_and_line(construct, what):
    sql = f"SELECT\n    o.order_id,\n    {construct} AS x\nFROM shop.orders AS o"
    with pytest.raises(TranslationError) as error:
        _trino(sql)
    assert str(error.value).startswith("view 'v' (queries/v.sql:3): ")
    assert what in str(error.value)


def test_the_line_counts_from_the_top_of_the_file():
    tree = sqlglot.parse_one("SELECT\n  levenshtein(o.status, 'x')\nFROM shop.orders AS o", read="duckdb")
    with pytest.raises(TranslationError, match=r"queries/v\.sql:6\)"):
        translate(tree, view="v", path="queries/v.sql", line_offset=4, as_of=None, names=NAMES)


def test_select_star_exclude_is_refused():
    with pytest.raises(TranslationError, match="EXCLUDE"):
        _trino("SELECT * EXCLUDE (status) FROM shop.orders")


def test_an_unknown_table_is_refused():
    with pytest.raises(TranslationError, match="'shop.refunds' is neither a table of the catalog nor a view"):
        _trino("SELECT 1 FROM shop.refunds")


def test_the_as_of_date_is_current_date_or_the_baked_in_date():
    sql = ("SELECT o.order_id FROM shop.orders AS o "
           "WHERE o.order_ts < CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP)")
    assert "CAST(CURRENT_DATE AS TIMESTAMP)" in _trino(sql)
    assert "CAST(CAST('2026-06-30' AS DATE) AS TIMESTAMP)" in _trino(sql, as_of=dt.date(2026, 6, 30))


def test_a_difference_of_dates_is_whole_days_as_in_duckdb():
    sql = "SELECT CAST(o.shipped AS DATE) - CAST(o.order_ts AS DATE) AS days FROM shop.orders AS o"
    assert "DATE_DIFF('DAY', CAST(o.order_ts AS DATE), CAST(o.shipped AS DATE)) AS days" in _trino(sql)


def test_a_list_subscript_is_null_out_of_range_as_in_duckdb():
    sql = "SELECT (list(o.status ORDER BY o.order_ts))[1] AS first FROM shop.orders AS o"
    assert "ELEMENT_AT((ARRAY_AGG(o.status ORDER BY o.order_ts)), 1) AS first" in " ".join(_trino(sql).split()).replace(
        "( ", "(").replace(" )", ")")


def test_tables_and_views_get_their_trino_names():
    got = _trino("SELECT r.customer_id FROM rfm AS r JOIN shop.orders AS o ON o.customer_id = r.customer_id")
    assert "FROM c360.views.rfm AS r" in got and "JOIN shop.db.orders AS o" in got
