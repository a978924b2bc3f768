"""A GROUP BY key holding a subquery that the SELECT list repeats is grouped by position: one copy, one scan."""

import decimal
import re

import pytest

from c360.catalog import Catalog
from c360.planner import plan
from tests.projects import shop_project

SUBQUERY = "(SELECT max(s.amount) FROM shop.orders s WHERE s.customer_id = c.customer_id)"


@pytest.fixture
def catalog(tmp_path):
    return Catalog(shop_project(tmp_path))


@pytest.mark.parametrize("fragments", [True, False])
def test_the_key_and_the_item_read_one_scan(catalog, fragments):
    result = plan(f"SELECT {SUBQUERY} AS k, count(*) AS n FROM shop.customers c GROUP BY {SUBQUERY}",
                  catalog=catalog, fragments=fragments)
    assert [scan.alias for scan in result.scans].count("s") == 1


def test_a_key_the_select_list_does_not_repeat_stays(catalog):
    result = plan(f"SELECT count(*) AS n FROM shop.customers c GROUP BY {SUBQUERY}", catalog=catalog, fragments=False)
    assert "GROUP BY (SELECT" in result.sql


def test_the_answer_is_duckdbs(tmp_path):
    import c360

    sql = f"SELECT {SUBQUERY} AS k, count(*) AS n FROM shop.customers c GROUP BY {SUBQUERY} ORDER BY 1 NULLS FIRST"
    with c360.connect(shop_project(tmp_path)) as connection:
        assert connection.execute(sql).fetchall() == [
            (None, 1), (decimal.Decimal("5.50"), 1), (decimal.Decimal("12.99"), 1), (decimal.Decimal("100.00"), 1)]


def test_a_subquery_pushed_whole_is_not_left_behind_in_the_group_by(catalog):
    """The fuzzer's seed 152: the SELECT item's subquery became a pushed fragment, while the copy qualify spelt out
    for ``GROUP BY 2`` still read the table's own scan, never registered."""
    sql = ("SELECT c.name, (SELECT max(s.amount) FROM shop.orders s) AS m, count(*) FROM shop.customers c "
           "GROUP BY c.name, (SELECT max(s.amount) FROM shop.orders s)")
    result = plan(sql, catalog=catalog)
    assert set(re.findall(r"__c360_scan_\d+", result.sql)) <= {scan.name for scan in result.scans}
