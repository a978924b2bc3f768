"""EXISTS subqueries read no columns they do not need."""

from tests.oracle import check


def test_an_exists_that_stays_a_scan_asks_only_for_its_join_key(world):
    scans = check(world, "SELECT c.customer_id FROM crm.customers c WHERE NOT EXISTS "
                         "(SELECT * FROM shop.orders o WHERE o.customer_id = c.customer_id)")
    shop = next(s for s in scans if s.source == "shop")
    assert shop.sent.startswith("SELECT `customer_id` FROM `orders`"), shop.sent


def test_an_exists_with_having_keeps_its_select_list(world):
    check(world, "SELECT c.customer_id FROM crm.customers c WHERE EXISTS (SELECT o.customer_id, count(*) AS n "
                 "FROM shop.orders o WHERE o.customer_id = c.customer_id GROUP BY 1 HAVING n > 2)")
