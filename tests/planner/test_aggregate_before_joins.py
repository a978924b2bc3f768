"""Eager aggregation: a cross-source join grouped by one side's columns sends the other side's grouping
to its source, and every answer (values and types) equals the oracle's."""

import pytest

from tests.oracle import check


def _shop(world, sql):
    got, scans = world.c360(sql, None)
    assert got.schema == world.expected(sql, None).schema  # count stays BIGINT, sums keep their decimal scale
    check(world, sql)
    return next(s for s in scans if s.source == "shop")


def test_customers_with_the_count_and_value_of_their_orders_group_the_orders_in_mariadb(world):
    sql = ("SELECT c.customer_id, count(o.order_id) AS orders, count(*) AS lines, sum(o.total) AS spend, "
           "min(o.order_ts) AS first, max(o.total) AS biggest FROM crm.customers c "
           "LEFT JOIN shop.orders o ON o.customer_id = c.customer_id AND o.status <> 'cancelled' "
           "GROUP BY c.customer_id ORDER BY c.customer_id")
    shop = _shop(world, sql)
    assert "GROUP BY `o`.`customer_id`" in shop.sent and "cancelled" in shop.sent
    assert any(note.startswith("grouped by customer_id in its source before the join (5 aggregates")
               for note in shop.notes)
    assert shop.rows < 50  # one row per customer with orders, not the 150 orders


def test_a_few_customers_reduce_the_grouped_orders_to_their_own(world):
    """The grouped side is still reduced by the other side's keys: Austin's customers' orders only."""
    sql = ("SELECT c.customer_id, count(o.order_id) AS orders FROM crm.customers c "
           "LEFT JOIN shop.orders o ON o.customer_id = c.customer_id WHERE c.city = 'Austin' GROUP BY c.customer_id")
    shop = _shop(world, sql)
    assert "GROUP BY `o`.`customer_id`" in shop.sent and "`o`.`customer_id` IN (" in shop.sent
    assert any(note.startswith("reduced: ") for note in shop.notes)


def test_an_inner_join_with_filters_on_both_sides_and_having(world):
    sql = ("SELECT c.city, count(*) AS n, sum(o.total) AS spend FROM shop.orders o JOIN crm.customers c "
           "ON c.customer_id = o.customer_id WHERE o.channel = 'web' AND c.city IS NOT NULL "
           "GROUP BY c.city HAVING count(*) > 1 ORDER BY n DESC, c.city")
    shop = _shop(world, sql)
    assert "GROUP BY `o`.`customer_id`" in shop.sent and "'web'" in shop.sent


@pytest.mark.parametrize("sql", [
    # avg and float sums would round differently; a distinct count cannot be combined
    "SELECT c.customer_id, avg(o.total) AS a FROM crm.customers c JOIN shop.orders o "
    "ON o.customer_id = c.customer_id GROUP BY c.customer_id",
    "SELECT c.customer_id, count(DISTINCT o.status) AS s FROM crm.customers c JOIN shop.orders o "
    "ON o.customer_id = c.customer_id GROUP BY c.customer_id",
    "SELECT c.customer_id, count(o.order_id) FILTER (WHERE c.city = 'Austin') AS n FROM crm.customers c "
    "JOIN shop.orders o ON o.customer_id = c.customer_id GROUP BY c.customer_id",
    # an aggregate of the other side, a group key of the grouped side
    "SELECT c.customer_id, count(o.order_id) AS n, max(c.city) AS city FROM crm.customers c JOIN shop.orders o "
    "ON o.customer_id = c.customer_id GROUP BY c.customer_id",
    "SELECT o.status, count(*) AS n FROM crm.customers c JOIN shop.orders o "
    "ON o.customer_id = c.customer_id GROUP BY o.status",
    # a WHERE on the grouped side of a LEFT JOIN drops its NULL rows: not the same question
    "SELECT c.customer_id, count(o.order_id) AS n FROM crm.customers c LEFT JOIN shop.orders o "
    "ON o.customer_id = c.customer_id WHERE o.channel = 'web' OR o.channel IS NULL GROUP BY c.customer_id",
    # joined on its whole primary key: one row per key already
    "SELECT c.city, count(o.order_id) AS n FROM crm.customers c JOIN shop.orders o "
    "ON o.order_id = c.customer_id GROUP BY c.city",
])
def test_left_as_it_is_where_the_partial_results_cannot_be_combined_exactly(world, sql):
    shop = _shop(world, sql)
    assert not any(note.startswith(("grouped by", "nothing pushed")) for note in shop.notes)  # not even tried
