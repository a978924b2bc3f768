"""Federated queries over real MariaDB, PostgreSQL (ODBC), SQLite, JSON files and Azurite,
each compared with the oracle (the same SQL on the same data in a local DuckDB), and the
pushdowns checked on the SQL each source actually received."""

from __future__ import annotations

import pytest

from tests.oracle import check

QUERIES = [
    # single sources: filters with DuckDB's string semantics
    "SELECT * FROM crm.customers",
    "SELECT customer_id, email FROM crm.customers WHERE city = 'Seattle'",
    "SELECT customer_id FROM crm.customers WHERE city = 'Portland'",
    "SELECT customer_id FROM crm.customers WHERE city IN ('seattle', 'Austin')",
    "SELECT customer_id FROM crm.customers WHERE first_name LIKE 'A%'",
    "SELECT customer_id FROM crm.customers WHERE city <> 'Seattle'",
    "SELECT customer_id, city FROM crm.customers WHERE city < 'P'",
    "SELECT customer_id FROM crm.customers WHERE email IS NULL",
    "SELECT customer_id, income FROM crm.customers WHERE income BETWEEN 30000 AND 60000",
    "SELECT customer_id FROM crm.customers WHERE birth_date >= DATE '1980-01-01' AND opt_in",
    "SELECT order_id, channel FROM shop.orders WHERE channel = 'WEB'",
    "SELECT order_id, channel FROM shop.orders WHERE channel = 'store'",
    "SELECT order_id FROM shop.orders WHERE status IN ('paid')",
    "SELECT order_id, status FROM shop.orders WHERE status <> 'paid'",
    "SELECT order_id FROM shop.orders WHERE order_ts >= DATE '2026-06-01' - INTERVAL 30 DAY",
    "SELECT order_id, total FROM shop.orders WHERE total > 100 ORDER BY total DESC, order_id LIMIT 5",
    "SELECT order_id, order_ts FROM shop.orders ORDER BY order_ts, order_id LIMIT 10 OFFSET 5",
    "SELECT order_id FROM shop.orders WHERE total IS NULL OR channel IS NULL",
    "SELECT order_id FROM shop.orders WHERE NOT (status = 'paid' OR status = 'PAID')",
    # joins across two to four sources
    "SELECT c.customer_id, count(o.order_id) AS n, sum(o.total) AS spend FROM crm.customers c "
    "JOIN shop.orders o ON o.customer_id = c.customer_id GROUP BY c.customer_id",
    "SELECT c.customer_id FROM crm.customers c LEFT JOIN shop.orders o ON o.customer_id = c.customer_id "
    "WHERE o.order_id IS NULL",
    "SELECT o.customer_id FROM shop.orders o LEFT JOIN crm.customers c ON c.customer_id = o.customer_id "
    "WHERE c.customer_id IS NULL",
    "SELECT c.city, p.category, sum(i.quantity * i.unit_price) AS spend FROM crm.customers c "
    "JOIN shop.orders o ON o.customer_id = c.customer_id JOIN shop.order_items i ON i.order_id = o.order_id "
    "JOIN shop.products p ON p.product_id = i.product_id WHERE o.status = 'paid' GROUP BY ALL",
    "SELECT c.customer_id, e.social.followers AS followers, sum(b.seconds) AS seconds, count(DISTINCT o.order_id) AS n "
    "FROM crm.customers c LEFT JOIN partners.enrichment e ON e.customer_id = c.customer_id "
    "LEFT JOIN clicks.browsing b ON b.customer_id = c.customer_id "
    "LEFT JOIN shop.orders o ON o.customer_id = c.customer_id GROUP BY ALL",
    "SELECT c.customer_id, r.region FROM crm.customers c JOIN local.regions r ON r.city = c.city",
    "SELECT c.customer_id, r.region FROM crm.customers c FULL JOIN local.regions r ON r.city = c.city",
    "SELECT a.order_id, b.order_id AS later FROM shop.orders a JOIN shop.orders b "
    "ON a.customer_id = b.customer_id AND b.order_ts > a.order_ts WHERE a.customer_id < 5",
    # window functions
    "SELECT order_id, customer_id, row_number() OVER (PARTITION BY customer_id ORDER BY order_ts, order_id) AS n "
    "FROM shop.orders",
    "SELECT c.customer_id, o.order_ts, sum(o.total) OVER (PARTITION BY c.customer_id ORDER BY o.order_ts, o.order_id) "
    "AS running FROM crm.customers c JOIN shop.orders o USING (customer_id)",
    "SELECT * FROM shop.orders QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY total DESC NULLS LAST, "
    "order_id) = 1",
    # subqueries and CTEs
    "SELECT customer_id FROM crm.customers WHERE customer_id IN "
    "(SELECT customer_id FROM shop.orders WHERE status = 'cancelled')",
    "SELECT c.customer_id FROM crm.customers c WHERE EXISTS "
    "(SELECT 1 FROM shop.orders o WHERE o.customer_id = c.customer_id AND o.channel = 'app')",
    "SELECT c.customer_id, (SELECT max(total) FROM shop.orders o WHERE o.customer_id = c.customer_id) AS biggest "
    "FROM crm.customers c",
    "WITH spend AS (SELECT customer_id, sum(total) AS s FROM shop.orders GROUP BY customer_id) "
    "SELECT r.region, sum(spend.s) FROM crm.customers c JOIN spend USING (customer_id) "
    "LEFT JOIN local.regions r ON r.city = c.city GROUP BY r.region",
    "WITH o AS (SELECT * FROM shop.orders WHERE total > 50) SELECT a.customer_id, count(*) FROM o a "
    "JOIN o b USING (customer_id) GROUP BY 1",
    # set operations
    "SELECT city FROM crm.customers UNION SELECT city FROM local.regions",
    "SELECT city FROM crm.customers EXCEPT SELECT city FROM local.regions",
    "SELECT customer_id FROM crm.customers INTERSECT SELECT customer_id FROM partners.enrichment",
    "SELECT customer_id, 'order' AS kind FROM shop.orders UNION ALL SELECT customer_id, 'click' FROM clicks.browsing",
    # nested JSON and blob partitions
    "SELECT customer_id, social.followers FROM partners.enrichment WHERE social.followers > 1000",
    "SELECT customer_id, len(interests) AS n, nps FROM partners.enrichment WHERE nps IS NOT NULL",
    "SELECT interest, count(*) FROM partners.enrichment, unnest(interests) AS t(interest) GROUP BY 1",
    "SELECT category, sum(page_views), sum(seconds) FROM clicks.browsing WHERE partition_hour >= "
    "TIMESTAMP '2026-11-01 10:00:00' AND partition_hour < TIMESTAMP '2026-11-01 12:00:00' GROUP BY 1",
    "SELECT customer_id, max(window_start) AS last_seen FROM clicks.browsing GROUP BY 1",
    # empty results
    "SELECT * FROM crm.customers WHERE customer_id = -1",
    "SELECT c.customer_id FROM crm.customers c JOIN shop.orders o USING (customer_id) WHERE o.total < 0",
    "SELECT count(*), sum(total) FROM shop.orders WHERE channel = 'nowhere'",
    # decimals, dates, strings, NULLs
    "SELECT sum(total), avg(total), min(total), max(total) FROM shop.orders",
    "SELECT p.category, sum(i.quantity * i.unit_price) FROM shop.order_items i JOIN shop.products p USING (product_id) "
    "GROUP BY 1",
    "SELECT date_trunc('month', order_ts) AS month, count(*) FROM shop.orders GROUP BY 1",
    "SELECT channel, count(*) FROM shop.orders GROUP BY channel",
    "SELECT upper(trim(channel)) AS channel, count(*) FROM shop.orders GROUP BY 1",
    "SELECT coalesce(city, 'unknown') AS city, count(*) FROM crm.customers GROUP BY 1 HAVING count(*) > 1",
    "SELECT count(DISTINCT status), count(DISTINCT lower(status)) FROM shop.orders",
    "SELECT order_id, CASE WHEN status = 'PAID' THEN 'upper' WHEN status = 'paid' THEN 'lower' ELSE 'other' END "
    "FROM shop.orders",
    "SELECT customer_id, city FROM crm.customers ORDER BY city NULLS FIRST, customer_id",
    "SELECT count(*) FROM (SELECT * FROM shop.orders WHERE total > 10 LIMIT 7)",
    # join reductions: a selective side's keys sent to the other side
    "SELECT o.order_id, i.line_no, i.quantity FROM shop.orders o JOIN shop.order_items i ON i.order_id = o.order_id "
    "WHERE o.customer_id = 7",
    "SELECT c.customer_id, o.order_id FROM crm.customers c JOIN shop.orders o ON o.customer_id = c.customer_id "
    "WHERE c.city = 'Austin'",
    "SELECT c.customer_id, o.order_id FROM crm.customers c JOIN shop.orders o ON o.customer_id = c.customer_id "
    "WHERE c.city = 'Nowhere'",
    "SELECT r.region, c.customer_id FROM local.regions r JOIN crm.customers c ON c.city = r.city "
    "WHERE r.region = 'West'",
    "SELECT r.city, o.order_id FROM local.regions r JOIN shop.orders o ON o.channel = r.city WHERE r.region = 'West'",
    "SELECT o.order_id, e.nps FROM shop.orders o LEFT JOIN partners.enrichment e ON e.customer_id = o.customer_id "
    "WHERE o.status = 'cancelled'",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_federated_query_matches_the_oracle(world, sql):
    check(world, sql)


def test_the_suite_has_at_least_40_queries():
    assert len(QUERIES) >= 40


def sent(scans, source):
    return " | ".join(s.sent for s in scans if s.source == source)


def test_case_insensitive_equality_is_pushed_exactly_with_an_index_friendly_twin(world):
    scans = check(world, "SELECT order_id, channel FROM shop.orders WHERE channel = 'WEB'")
    received = sent(scans, "shop")
    assert "`channel` = 'WEB' AND `orders`.`channel` COLLATE utf8mb4_nopad_bin = 'WEB'" in received
    got, _ = world.c360("SELECT DISTINCT channel FROM shop.orders WHERE channel = 'WEB'")
    assert got.column("channel").to_pylist() == ["WEB"]
    assert scans[0].rows == len(world.expected("SELECT * FROM shop.orders WHERE channel = 'WEB'"))  # not 'web' too


def test_ranges_and_not_equal_on_case_insensitive_strings_are_pushed_under_a_binary_collation(world):
    scans = check(world, "SELECT order_id FROM shop.orders WHERE channel <> 'web' AND channel > 'a'")
    received = sent(scans, "shop")
    assert "`channel` COLLATE utf8mb4_nopad_bin <> 'web'" in received
    assert "`channel` COLLATE utf8mb4_nopad_bin > 'a'" in received


def test_postgres_strings_are_exact_so_ranges_are_pushed_in_byte_order(world):
    scans = check(world, "SELECT customer_id FROM crm.customers WHERE city < 'P' AND city <> 'Austin'")
    received = sent(scans, "crm")
    assert "\"city\" COLLATE \"C\" < 'P'" in received and "\"city\" <> 'Austin'" in received


def test_projection_filters_and_top_n_reach_mariadb(world):
    scans = check(world, "SELECT order_id, total FROM shop.orders WHERE total > 100 "
                         "ORDER BY total DESC, order_id LIMIT 5")
    received = sent(scans, "shop")
    assert received.startswith(
        "SELECT `orders`.`order_id` AS `orders_order_id`, `orders`.`total` AS `orders_total` FROM"
    )
    assert "`total` > 100" in received and "LIMIT 5" in received and "ORDER BY" in received
    assert scans[0].rows == 5


def test_limit_is_pushed_once_string_filters_are_exact(world):
    scans = check(world, "SELECT count(*) FROM (SELECT * FROM shop.orders WHERE channel = 'web' LIMIT 3)")
    assert "LIMIT 3" in sent(scans, "shop") and scans[0].rows == 3


def test_blob_partitions_outside_the_filter_are_not_read(world):
    scans = check(world, "SELECT count(*) FROM clicks.browsing WHERE partition_hour >= TIMESTAMP '2026-11-01 10:00:00' "
                         "AND partition_hour < TIMESTAMP '2026-11-01 12:00:00'")
    received = sent(scans, "clicks")
    assert received.startswith("2 files")
    assert "2026/11/01/10/" in received and "2026/11/01/11/" in received and "/09/" not in received


def test_parameters_are_bound_and_pushed(world):
    scans = check(world, "SELECT order_id FROM shop.orders WHERE customer_id = ? AND total > ?", [7, 20])
    assert "`customer_id` = 7" in sent(scans, "shop") and "`total` > 20" in sent(scans, "shop")


def test_a_selective_side_reduces_the_other_across_sources(world):
    scans = check(world, "SELECT c.customer_id, o.order_id FROM crm.customers c JOIN shop.orders o "
                         "ON o.customer_id = c.customer_id WHERE c.city = 'Austin'")
    expected_keys = sorted(r[0] for r in world.oracle.execute(
        "SELECT customer_id FROM crm.customers WHERE city = 'Austin'").fetchall())
    assert f"`customer_id` IN ({', '.join(map(str, expected_keys))})" in sent(scans, "shop")


def test_point_query_moves_exactly_one_row_out_of_mariadb(tmp_path, mariadb):
    import os
    import textwrap

    import c360

    mariadb.execute(
        "DROP TABLE IF EXISTS big_customers",
        "CREATE TABLE big_customers (customer_id BIGINT PRIMARY KEY, name VARCHAR(40), score DOUBLE)",
        "INSERT INTO big_customers SELECT seq, CONCAT('name-', seq), seq / 7 FROM seq_1_to_100000",
    )
    os.environ["C360_POINT_PASSWORD"] = mariadb.password
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "shop.yaml").write_text(textwrap.dedent(f"""
        sources:
          shop:
            kind: mysql
            host: {mariadb.host}
            port: {mariadb.port}
            user: {mariadb.user}
            password: ${{ENV:C360_POINT_PASSWORD}}
            database: {mariadb.database}
    """))
    with c360.connect(catalog) as connection:
        cursor = connection.execute("SELECT * FROM shop.big_customers WHERE customer_id = 42")
        assert cursor.fetchall() == [(42, "name-42", 6.0)]
        [scan] = cursor.scans
        assert scan.rows == 1
        assert "WHERE `big_customers`.`customer_id` = 42" in scan.sent
