from c360.catalog import Catalog
from c360.planner import plan
from tests.projects import shop_project


def columns(tmp_path, sql):
    return {s.alias: s.columns for s in plan(sql, catalog=Catalog(shop_project(tmp_path)), fragments=False).scans}


def test_only_referenced_columns_are_requested(tmp_path):
    assert columns(tmp_path, "SELECT o.amount FROM shop.orders o WHERE o.status = 'paid'") == {
        "o": ("amount", "status")
    }


def test_star_requests_every_column(tmp_path):
    assert columns(tmp_path, "SELECT * FROM shop.customers") == {"customers": ("customer_id", "name", "signup")}


def test_count_star_requests_one_cheap_column(tmp_path):
    assert columns(tmp_path, "SELECT count(*) FROM shop.customers") == {"customers": ("customer_id",)}


def test_correlated_references_count(tmp_path):
    result = columns(tmp_path, "SELECT c.name FROM shop.customers c WHERE EXISTS "
                               "(SELECT 1 FROM shop.orders o WHERE o.customer_id = c.customer_id)")
    assert result == {"c": ("customer_id", "name"), "o": ("customer_id",)}
