import pytest

from c360.catalog import Catalog
from c360.planner import plan
from tests.projects import shop_project


@pytest.fixture
def catalog(tmp_path):
    return Catalog(shop_project(tmp_path))


def scan(catalog, sql):
    return plan(sql, catalog=catalog, fragments=False).scans[0]


def test_limit_and_offset_are_pushed_for_a_whole_block_scan(catalog):
    assert scan(catalog, "SELECT * FROM shop.orders WHERE amount > 1 LIMIT 5 OFFSET 2").limit == 7


def test_top_n_pushes_order_and_limit(catalog):
    result = scan(catalog, "SELECT * FROM shop.orders ORDER BY order_ts DESC LIMIT 3")
    assert result.limit == 3
    assert [o.sql() for o in result.order_by] == ["order_ts DESC"]


@pytest.mark.parametrize("sql, reason", [
    ("SELECT count(*) FROM shop.orders LIMIT 1", "aggregates"),
    ("SELECT status FROM shop.orders GROUP BY status LIMIT 1", "groups"),
    ("SELECT DISTINCT status FROM shop.orders LIMIT 1", "DISTINCT"),
    ("SELECT * FROM shop.orders WHERE lower(status) = 'paid' LIMIT 1", "stays local"),
    ("SELECT * FROM shop.orders WHERE status LIKE 'p%' LIMIT 1", "superset"),
    ("SELECT * FROM shop.orders o JOIN shop.customers c USING (customer_id) LIMIT 1", "more than one table"),
])
def test_limit_stays_local_when_the_source_could_return_the_wrong_rows(catalog, sql, reason):
    result = scan(catalog, sql)
    assert result.limit is None
    assert any(reason in note for note in result.notes)


def test_limit_of_an_outer_query_does_not_reach_a_grouped_subquery(catalog):
    result = scan(catalog, "SELECT * FROM (SELECT customer_id, sum(amount) s FROM shop.orders GROUP BY 1) LIMIT 1")
    assert result.limit is None


def test_top_n_on_an_output_name_uses_the_column_underneath(catalog):
    result = scan(catalog, "SELECT order_id AS id, amount AS total FROM shop.orders ORDER BY total DESC LIMIT 2")
    assert [o.sql() for o in result.order_by] == ["amount DESC"]
    assert result.limit == 2
