"""Which predicates reach each scan: WHERE, ON, outer joins, constants, subqueries."""

import pytest

from c360.catalog import Catalog
from c360.planner import plan
from tests.projects import shop_project


@pytest.fixture
def catalog(tmp_path):
    return Catalog(shop_project(tmp_path))


def pushed(catalog, sql):
    scans = plan(sql, catalog=catalog, fragments=False).scans
    return {s.alias: [f.sql(dialect="duckdb") for f in s.filters] for s in scans}


def test_where_conjuncts_reach_their_own_table_only(catalog):
    result = pushed(catalog, "SELECT * FROM shop.orders o JOIN shop.customers c ON o.customer_id = c.customer_id "
                             "WHERE o.amount > 10 AND c.name = 'Ann' AND o.customer_id + c.customer_id > 1")
    assert result == {"o": ["amount > 10"], "c": ["name = 'Ann'"]}


def test_where_on_the_nullable_side_of_a_left_join_stays_local(catalog):
    result = pushed(catalog, "SELECT * FROM shop.customers c LEFT JOIN shop.orders o ON o.customer_id = c.customer_id "
                             "WHERE o.order_id IS NULL")
    assert result == {"c": [], "o": []}


def test_on_predicates_of_a_left_join_restrict_the_joined_table(catalog):
    result = pushed(catalog, "SELECT * FROM shop.customers c LEFT JOIN shop.orders o "
                             "ON o.customer_id = c.customer_id AND o.status = 'paid' AND c.name = 'Ann'")
    assert result == {"c": [], "o": ["status = 'paid'"]}


def test_right_and_full_joins_make_the_preserved_side_nullable(catalog):
    result = pushed(catalog, "SELECT * FROM shop.customers c FULL JOIN shop.orders o ON o.customer_id = c.customer_id "
                             "WHERE c.name = 'Ann' AND o.amount > 1")
    assert result == {"c": [], "o": []}


def test_constant_expressions_are_folded_before_pushing(catalog):
    result = pushed(catalog, "SELECT * FROM shop.orders WHERE amount > 1 + 2 AND order_ts < DATE '2026-03-01' + 1")
    assert result == {"orders": ["amount > 3", "order_ts < CAST('2026-03-02 00:00:00' AS TIMESTAMP)"]}


def test_predicates_with_subqueries_stay_local_but_the_subquery_gets_its_own(catalog):
    result = plan("SELECT * FROM shop.customers c WHERE c.customer_id IN "
                  "(SELECT customer_id FROM shop.orders o WHERE o.status = 'paid')", catalog=catalog, fragments=False)
    assert {s.alias: [f.sql() for f in s.filters] for s in result.scans} == {"c": [], "o": ["status = 'paid'"]}


def test_parameters_are_bound_as_literals_and_pushed(catalog):
    result = plan("SELECT * FROM shop.orders WHERE customer_id = ? AND status = ?", [42, "it's"], catalog=catalog,
                  fragments=False)
    assert [f.sql() for f in result.scans[0].filters] == ["customer_id = 42", "status = 'it''s'"]


def test_filters_inside_ctes_and_derived_tables_are_pushed(catalog):
    result = pushed(catalog, "WITH p AS (SELECT * FROM shop.orders WHERE status = 'paid') "
                             "SELECT * FROM (SELECT * FROM shop.customers WHERE name LIKE 'A%') c "
                             "JOIN p USING (customer_id)")
    assert result == {"orders": ["status = 'paid'"], "customers": ["name LIKE 'A%'"]}
