"""A selective predicate reaches every table it restricts: across join keys, into grouped views."""

import pytest
from sqlglot import exp

from c360.catalog import Catalog
from c360.planner import plan
from tests.projects import shop_project


@pytest.fixture
def catalog(tmp_path):
    return Catalog(shop_project(tmp_path))


def pushed(catalog, sql):
    result = {}
    for scan in plan(sql, catalog=catalog, fragments=False).scans:
        result.setdefault(scan.alias, []).append(sorted(f.sql(dialect="duckdb") for f in scan.filters))
    return result


def test_an_inner_join_key_carries_the_constant_to_the_other_table(catalog):
    assert pushed(catalog, "SELECT * FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.customer_id "
                           "WHERE c.customer_id = 42") == {"c": [["customer_id = 42"]], "o": [["customer_id = 42"]]}


def test_a_left_join_carries_it_to_the_nullable_side_only(catalog):
    assert pushed(catalog, "SELECT * FROM shop.customers c LEFT JOIN shop.orders o ON o.customer_id = c.customer_id "
                           "WHERE c.customer_id IN (42, 43)") == {
        "c": [["customer_id IN (42, 43)"]], "o": [["customer_id IN (42, 43)"]]}
    assert pushed(catalog, "SELECT * FROM shop.customers c LEFT JOIN shop.orders o ON o.customer_id = c.customer_id "
                           "WHERE o.customer_id = 42") == {"c": [[]], "o": [[]]}


def test_a_key_predicate_enters_a_grouped_view(catalog):
    sql = ("SELECT * FROM shop.customers c LEFT JOIN (SELECT customer_id, sum(amount) AS spend FROM shop.orders "
           "GROUP BY customer_id) s ON s.customer_id = c.customer_id WHERE c.customer_id = 42")
    assert pushed(catalog, sql) == {"c": [["customer_id = 42"]], "orders": [["customer_id = 42"]]}


def test_a_predicate_on_an_aggregate_or_through_a_window_stays_out(catalog):
    assert pushed(catalog, "SELECT * FROM (SELECT customer_id, sum(amount) AS spend FROM shop.orders GROUP BY 1) s "
                           "WHERE s.spend > 10") == {"orders": [[]]}
    assert pushed(catalog, "SELECT * FROM (SELECT customer_id, ntile(5) OVER (ORDER BY amount) AS q "
                           "FROM shop.orders) s WHERE s.customer_id = 42") == {"orders": [[]]}


def test_a_cte_used_once_is_entered_and_one_used_twice_is_not(catalog):
    once = ("WITH s AS (SELECT customer_id, count(*) AS n FROM shop.orders GROUP BY customer_id) "
            "SELECT * FROM shop.customers c JOIN s ON s.customer_id = c.customer_id WHERE c.customer_id = 42")
    assert pushed(catalog, once)["orders"] == [["customer_id = 42"]]
    twice = ("WITH s AS (SELECT customer_id, count(*) AS n FROM shop.orders GROUP BY customer_id) "
             "SELECT * FROM s a JOIN s b ON a.n = b.n WHERE a.customer_id = 42")
    assert pushed(catalog, twice)["orders"] == [[]]


def test_results_do_not_change(tmp_path):
    import c360

    catalog = shop_project(tmp_path)
    sql = ("SELECT c.customer_id, s.spend FROM shop.customers c LEFT JOIN (SELECT customer_id, sum(amount) AS spend "
           "FROM shop.orders GROUP BY customer_id) s ON s.customer_id = c.customer_id WHERE c.customer_id IN (42, 45) "
           "ORDER BY 1")
    with c360.connect(catalog) as connection:
        import decimal
        assert connection.execute(sql).fetchall() == [(42, decimal.Decimal("12.99")), (45, None)]


def test_a_predicate_on_a_union_enters_every_branch(catalog):
    sql = ("SELECT * FROM (SELECT customer_id, amount FROM shop.orders WHERE amount < 50 UNION ALL "
           "SELECT customer_id, amount FROM shop.orders WHERE amount >= 50) u WHERE u.customer_id = 42")
    assert pushed(catalog, sql) == {"orders": [["amount < 50", "customer_id = 42"],
                                               ["amount >= 50", "customer_id = 42"]]}
    by_name = ("SELECT * FROM (SELECT amount, customer_id FROM shop.orders UNION ALL BY NAME "
               "SELECT customer_id, amount FROM shop.orders) u WHERE u.customer_id = 42")
    # both branches now ask for the same rows: one scan, read once for both (share_scans)
    assert pushed(catalog, by_name) == {"orders": [["customer_id = 42"]]}


def test_a_union_whose_branches_name_columns_differently_or_that_limits_is_not_entered(catalog):
    positional = ("SELECT * FROM (SELECT customer_id AS k FROM shop.orders UNION ALL "
                  "SELECT order_id AS j FROM shop.orders) u WHERE u.k = 42")
    assert pushed(catalog, positional) == {"orders": [[]]}  # nothing entered: both read all, once
    limited = ("SELECT * FROM ((SELECT customer_id FROM shop.orders UNION ALL SELECT customer_id FROM shop.orders) "
               "LIMIT 3) u WHERE u.customer_id = 42")
    assert pushed(catalog, limited) == {"orders": [[]]}


def test_a_union_filtered_through_its_branches_gives_the_same_rows(catalog):
    import c360

    connection = c360.connect(catalog.path)
    sql = ("SELECT * FROM (SELECT customer_id, amount FROM shop.orders UNION ALL SELECT customer_id, NULL "
           "FROM shop.customers) u WHERE u.customer_id = 42 ORDER BY ALL")
    assert [(k, None if a is None else float(a)) for k, a in connection.execute(sql).fetchall()] == [
        (42, 12.99), (42, None), (42, None)]
    connection.close()


def test_a_predicate_on_a_key_every_window_partitions_by_enters(catalog):
    """Whole partitions go: the other customers' windows are what they were (queries/rfm.sql's tenure)."""
    sql = ("SELECT * FROM (SELECT customer_id, amount, count(*) OVER (PARTITION BY customer_id) AS n, row_number() "
           "OVER (PARTITION BY customer_id ORDER BY amount DESC) AS r FROM shop.orders) s "
           "WHERE s.customer_id = 42 AND s.amount > 5 AND s.r = 1")
    assert pushed(catalog, sql) == {"orders": [["customer_id = 42"]]}
    mixed = ("SELECT * FROM (SELECT customer_id, sum(amount) OVER (PARTITION BY customer_id) AS a, rank() OVER "
             "(ORDER BY amount) AS r FROM shop.orders) s WHERE s.customer_id = 42")
    assert pushed(catalog, mixed) == {"orders": [[]]}


def test_windows_filtered_by_their_partition_key_give_the_same_rows(tmp_path):
    import c360

    catalog = shop_project(tmp_path)
    sql = ("SELECT * FROM (SELECT customer_id, amount, count(*) OVER (PARTITION BY customer_id) AS n, "
           "min(amount) OVER (PARTITION BY customer_id) AS low FROM shop.orders) s WHERE s.customer_id IN (42, 43) "
           "ORDER BY ALL")
    with c360.connect(catalog) as connection:
        filtered = connection.execute(sql).fetchall()
        whole = connection.execute(sql.replace("WHERE s.customer_id IN (42, 43)", "")).fetchall()
    assert filtered and filtered == [row for row in whole if row[0] in (42, 43)]


def test_an_or_holding_a_subquery_is_not_copied_into_a_join(catalog):
    """Copied into the ON of ``o`` (the table both branches name), the subquery would be planned twice: its
    pushed scan replaced in one copy only (the fuzzer's ``__c360_scan_3 does not exist``), and run twice."""
    result = plan("SELECT c.name FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.customer_id "
                  "WHERE (c.name = 'x' AND o.amount > 1) OR o.customer_id IN "
                  "(SELECT s.customer_id FROM shop.orders s GROUP BY 1 HAVING count(*) > 1)",
                  catalog=catalog, fragments=False)
    assert len(list(result.statement.find_all(exp.Subquery))) + len(
        [s for s in result.statement.find_all(exp.Select) if isinstance(s.parent, exp.In)]) == 1
    # o and s ask for the same rows (no filter of their own): one scan serves both references
    assert sorted(scan.alias for scan in result.scans) == ["c", "o"]
    assert sum(1 for t in result.statement.find_all(exp.Table) if t.alias in ("o", "s")) == 2
