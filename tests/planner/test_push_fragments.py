"""Whole single-source fragments on the real servers: each answer is the oracle's, and each pushed
construct is in what the source received (and each refused one is not).

The world (:mod:`tests.oracle`) has ``shop`` in MariaDB (case-insensitive, PAD SPACE collation),
``crm`` in PostgreSQL through ODBC, ``local`` in SQLite and file sources.
"""

from __future__ import annotations

import pytest

from tests.oracle import check


def sent(scans, source):
    return " | ".join(s.sent for s in scans if s.source == source)


def only(scans, source):
    found = [s for s in scans if s.source == source]
    assert len(found) == 1, [s.sent for s in scans]
    return found[0]


# --- joins, semi joins and anti joins inside one source ---------------------------------------------


def test_a_join_of_two_tables_of_one_source_is_one_statement(world):
    scans = check(world, "SELECT o.order_id, i.line_no, i.quantity FROM shop.orders o "
                         "JOIN shop.order_items i ON i.order_id = o.order_id WHERE o.total > 200 AND i.quantity > 1")
    scan = only(scans, "shop")
    assert scan.table == "orders + order_items"
    assert "JOIN `order_items` AS `i`" in scan.sent and "`i`.`order_id` = `o`.`order_id`" in scan.sent
    assert "`o`.`total` > 200" in scan.sent and "`i`.`quantity` > 1" in scan.sent


def test_a_left_join_inside_one_source_keeps_its_unmatched_rows(world):
    scans = check(world, "SELECT p.product_id, count(i.order_id) AS lines FROM shop.products p "
                         "LEFT JOIN shop.order_items i ON i.product_id = p.product_id AND i.quantity > 3 "
                         "GROUP BY p.product_id")
    scan = only(scans, "shop")
    assert "LEFT JOIN `order_items` AS `i` ON" in scan.sent and "GROUP BY" in scan.sent


def test_a_left_outer_join_across_sources_sends_its_own_on_conditions_to_the_nullable_side(world):
    """TPC-H Q13: ``customer LEFT OUTER JOIN orders ON … AND o_comment NOT LIKE …``; LEFT OUTER is LEFT."""
    scans = check(world, "SELECT c.customer_id, count(o.order_id) AS n FROM crm.customers c "
                         "LEFT OUTER JOIN shop.orders o ON o.customer_id = c.customer_id "
                         "AND o.status NOT LIKE '%id' GROUP BY c.customer_id")
    scan = only(scans, "shop")
    assert "NOT LIKE '%id'" in scan.sent or "NOT `o`.`status`" in scan.sent, scan.sent


@pytest.mark.parametrize("sql, words", [
    ("SELECT o.order_id FROM shop.orders o WHERE EXISTS "
     "(SELECT 1 FROM shop.order_items i WHERE i.order_id = o.order_id AND i.quantity >= 3)", "EXISTS"),
    ("SELECT o.order_id FROM shop.orders o WHERE NOT EXISTS "
     "(SELECT * FROM shop.order_items i WHERE i.order_id = o.order_id)", "NOT EXISTS"),
    ("SELECT o.order_id FROM shop.orders o WHERE o.order_id IN "
     "(SELECT i.order_id FROM shop.order_items i WHERE i.unit_price > 80)", "IN (SELECT"),
    ("SELECT p.product_id FROM shop.products p WHERE p.product_id NOT IN "
     "(SELECT i.product_id FROM shop.order_items i WHERE i.quantity = 4)", "NOT"),
    ("SELECT o.order_id FROM shop.orders o WHERE o.order_id IN (SELECT i.order_id FROM shop.order_items i "
     "GROUP BY i.order_id HAVING sum(i.quantity) > 7)", "HAVING SUM"),
])
def test_semi_and_anti_joins_of_the_same_source_go_with_it(world, sql, words):
    scan = only(check(world, sql), "shop")
    assert words in scan.sent
    assert scan.table == "orders" or scan.table == "products"


def test_exists_reads_no_columns_of_the_inner_table(world):
    scan = only(check(world, "SELECT count(*) FROM shop.orders o WHERE EXISTS "
                             "(SELECT * FROM shop.order_items i WHERE i.order_id = o.order_id)"), "shop")
    assert "EXISTS(SELECT 1 FROM" in scan.sent


def test_a_semi_join_on_another_source_stays_local_and_both_are_read(world):
    scans = check(world, "SELECT o.order_id FROM shop.orders o WHERE EXISTS "
                         "(SELECT 1 FROM crm.customers c WHERE c.customer_id = o.customer_id AND c.opt_in)")
    assert "EXISTS" not in sent(scans, "shop")
    assert sent(scans, "crm")


# --- aggregates ---------------------------------------------------------------------------------------


def test_group_by_a_case_insensitive_string_keeps_duckdbs_groups(world):
    scans = check(world, "SELECT channel, count(*) AS n, sum(total) AS spend, min(order_ts) AS first "
                         "FROM shop.orders GROUP BY channel")
    scan = only(scans, "shop")
    assert "GROUP BY `orders`.`channel` COLLATE utf8mb4_nopad_bin" in scan.sent
    assert scan.rows == len(world.expected("SELECT DISTINCT channel FROM shop.orders"))  # 'web' and 'WEB' apart


def test_avg_is_a_sum_and_a_count_divided_by_duckdb(world):
    scans = check(world, "SELECT status, avg(total) AS mean, avg(customer_id) AS mean_id FROM shop.orders GROUP BY 1")
    scan = only(scans, "shop")
    assert "AVG" not in scan.sent and "SUM(`orders`.`total`)" in scan.sent and "COUNT(`orders`.`total`)" in scan.sent


def test_count_distinct_and_string_extremes_are_exact(world):
    scans = check(world, "SELECT count(DISTINCT channel) AS channels, min(channel) AS lowest, max(status) AS highest "
                         "FROM shop.orders")
    scan = only(scans, "shop")
    assert "COUNT(DISTINCT `orders`.`channel` COLLATE utf8mb4_nopad_bin)" in scan.sent
    assert "MIN(`orders`.`channel` COLLATE utf8mb4_nopad_bin)" in scan.sent


def test_filter_clauses_become_case_in_mariadb(world):
    scans = check(world, "SELECT customer_id, sum(total) FILTER (WHERE status = 'paid') AS paid, "
                         "count(*) FILTER (WHERE channel = 'web') AS web FROM shop.orders GROUP BY customer_id")
    scan = only(scans, "shop")
    assert "FILTER" not in scan.sent and "SUM(CASE WHEN" in scan.sent and "COUNT(CASE WHEN" in scan.sent


def test_division_and_date_arithmetic_stay_local_over_pushed_aggregates(world):
    scans = check(world, "SELECT customer_id, sum(total) / count(*) AS per_order, "
                         "DATE '2026-12-01' - CAST(max(order_ts) AS DATE) AS idle_days "
                         "FROM shop.orders WHERE status <> 'cancelled' GROUP BY customer_id")
    scan = only(scans, "shop")
    assert "GROUP BY" in scan.sent and "/" not in scan.sent


def test_having_goes_with_the_group_by(world):
    scans = check(world, "SELECT customer_id, count(*) AS n FROM shop.orders GROUP BY customer_id HAVING count(*) > 4")
    assert "HAVING COUNT(*) > 4" in only(scans, "shop").sent


def test_a_sum_of_floats_is_not_pushed(world):
    scans = check(world, "SELECT category, sum(seconds) FROM clicks.browsing GROUP BY 1")
    assert scans  # a file source: DuckDB computes it; nothing to assert about SQL


# --- order and limit ----------------------------------------------------------------------------------


def test_top_n_on_a_case_insensitive_string_uses_duckdbs_order_and_nulls_last(world):
    scans = check(world, "SELECT order_id, channel FROM shop.orders ORDER BY channel, order_id LIMIT 7")
    scan = only(scans, "shop")
    order = scan.sent.split(" ORDER BY ", 1)[1]
    assert order.startswith("CASE WHEN `orders`.`channel` COLLATE utf8mb4_nopad_bin IS NULL THEN 1 ELSE 0 END")
    assert "`orders`.`channel` COLLATE utf8mb4_nopad_bin ASC" in order and order.endswith("LIMIT 7")
    assert scan.rows == 7


def test_top_n_over_groups(world):
    scans = check(world, "SELECT customer_id, sum(total) AS spend FROM shop.orders GROUP BY customer_id "
                         "ORDER BY spend DESC NULLS LAST, customer_id LIMIT 3")
    scan = only(scans, "shop")
    assert "LIMIT 3" in scan.sent and scan.rows == 3


def test_postgres_orders_strings_in_byte_order(world):
    scans = check(world, "SELECT customer_id, city FROM crm.customers ORDER BY city DESC, customer_id LIMIT 5")
    assert "COLLATE \"C\" DESC" in only(scans, "crm").sent


# --- expressions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("predicate, words", [
    ("o.order_ts < i.order_id * INTERVAL 1 DAY + TIMESTAMP '2026-01-01'", None),
    ("i.unit_price * i.quantity > o.total", "`i`.`unit_price` * `i`.`quantity` > `o`.`total`"),
    ("substring(o.channel, 1, 2) = 'we'", "SUBSTRING("),
    ("length(o.status) = 4", "CHAR_LENGTH("),
    ("year(o.order_ts) = 2026 AND month(o.order_ts) IN (3, 4)", "EXTRACT(YEAR FROM"),
    ("o.channel LIKE '%e%'", "LIKE '%e%'"),
    ("coalesce(o.total, 0) > 100 OR o.channel IS NULL", "COALESCE("),
    ("CASE WHEN o.status = 'paid' THEN o.total ELSE 0 END > 50", "CASE WHEN"),
])
def test_expressions_translate_or_stay_local_with_the_same_answer(world, predicate, words):
    scans = check(world, "SELECT o.order_id, i.line_no FROM shop.orders o JOIN shop.order_items i "
                         f"ON i.order_id = o.order_id WHERE {predicate}")
    if words is not None:
        assert words in sent(scans, "shop")


def test_sqlite_like_is_sent_as_a_case_sensitive_glob(world):
    scans = check(world, "SELECT city FROM local.regions WHERE city LIKE 'S%' OR city LIKE '%l_'")
    assert "GLOB 'S*'" in sent(scans, "local") and "GLOB '*l?'" in sent(scans, "local")


# --- across sources --------------------------------------------------------------------------------------


def test_a_fragment_is_reduced_by_a_selective_side_of_another_source(world):
    scans = check(world, "SELECT c.customer_id, count(*) AS lines FROM crm.customers c "
                         "JOIN shop.orders o ON o.customer_id = c.customer_id "
                         "JOIN shop.order_items i ON i.order_id = o.order_id WHERE c.city = 'Austin' GROUP BY 1")
    shop = only(scans, "shop")
    assert shop.table == "orders + order_items"
    assert "`o`.`customer_id` IN (" in shop.sent


def test_explain_names_the_tables_a_fragment_joins(world):
    text = world.connection.engine.explain("SELECT count(*) FROM shop.orders o JOIN shop.order_items i "
                                           "ON i.order_id = o.order_id")
    assert "shop.orders + shop.order_items AS _f1" in text


# --- choosing by statistics --------------------------------------------------------------------------


def test_mariadb_joins_only_along_an_index_and_explain_says_why(tmp_path, mariadb):
    """Without an index on either join key MariaDB would join by nested loops: each table is read on its
    own and DuckDB joins them; with one, the join goes to MariaDB."""
    import os
    import textwrap

    import c360

    mariadb.execute(
        "DROP TABLE IF EXISTS plain_a", "DROP TABLE IF EXISTS plain_b", "DROP TABLE IF EXISTS keyed_b",
        "CREATE TABLE plain_a (k BIGINT, v INT)", "CREATE TABLE plain_b (k BIGINT, w INT)",
        "CREATE TABLE keyed_b (k BIGINT PRIMARY KEY, w INT)",
        "INSERT INTO plain_a SELECT seq % 50, seq FROM seq_1_to_200",
        "INSERT INTO plain_b SELECT seq, seq * 2 FROM seq_1_to_60",
        "INSERT INTO keyed_b SELECT seq, seq * 2 FROM seq_1_to_60",
    )
    os.environ["C360_STATS_PASSWORD"] = mariadb.password
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "shop.yaml").write_text(textwrap.dedent(f"""
        sources:
          shop:
            kind: mysql
            host: {mariadb.host}
            port: {mariadb.port}
            user: {mariadb.user}
            password: ${{ENV:C360_STATS_PASSWORD}}
            database: {mariadb.database}
    """))
    with c360.connect(catalog) as connection:
        assert connection.catalog.table("shop", "keyed_b").primary_key == ("k",)
        assert connection.catalog.table("shop", "plain_b").indexes == ()
        plain = connection.execute("SELECT sum(a.v * b.w) FROM shop.plain_a a JOIN shop.plain_b b ON a.k = b.k")
        keyed = connection.execute("SELECT sum(a.v * b.w) FROM shop.plain_a a JOIN shop.keyed_b b ON a.k = b.k")
        assert plain.fetchall() == keyed.fetchall()
        assert len(plain.scans) == 2 and len(keyed.scans) == 1
        assert any("join with shop.plain_a kept local: no index" in note for s in plain.scans for note in s.notes)


def test_statistics_are_discovered_with_the_schema(world):
    catalog = world.connection.catalog
    orders = catalog.table("shop", "orders")
    assert orders.primary_key == ("order_id",) and orders.indexed("customer_id") and orders.row_count is not None
    customers = catalog.table("crm", "customers")  # PostgreSQL through ODBC
    assert customers.primary_key == ("customer_id",) and customers.indexed("customer_id")
    assert not customers.indexed("city")
    assert catalog.table("local", "regions").indexes == ()  # SQLite, no index


def test_semi_joins_moved_from_a_join_condition_leave_nothing_behind(world):
    """sqlglot moves WHERE conjuncts into the ON of the join that brings their table; when that table is
    the first of a fragment, the conjuncts it takes must leave that ON too (TPC-H Q21's shape)."""
    scans = check(world, "SELECT c.first_name, count(*) AS n FROM crm.customers c, shop.order_items i1, shop.orders o "
                         "WHERE c.customer_id = o.customer_id AND o.order_id = i1.order_id AND o.status = 'paid' "
                         "AND EXISTS (SELECT * FROM shop.order_items i2 WHERE i2.order_id = i1.order_id "
                         "AND i2.product_id <> i1.product_id) AND NOT EXISTS (SELECT * FROM shop.order_items i3 "
                         "WHERE i3.order_id = i1.order_id AND i3.product_id <> i1.product_id AND i3.quantity > 2) "
                         "GROUP BY c.first_name ORDER BY 2 DESC, 1 LIMIT 100")
    shop = only(scans, "shop")
    assert "NOT EXISTS" in shop.sent and shop.table == "order_items + orders"


def test_distinct_goes_to_the_source_with_duckdbs_string_identity(world):
    scans = check(world, "SELECT DISTINCT channel, status FROM shop.orders WHERE total > 20")
    shop = only(scans, "shop")
    assert "GROUP BY `orders`.`channel` COLLATE utf8mb4_nopad_bin" in shop.sent
    assert shop.rows == len(world.expected("SELECT DISTINCT channel, status FROM shop.orders WHERE total > 20"))


@pytest.mark.parametrize("sql", [
    # a WHERE condition on the side a RIGHT JOIN null-extends holds after the join, not before
    "SELECT o.order_id, i.line_no FROM shop.order_items i RIGHT JOIN shop.orders o ON i.order_id = o.order_id "
    "WHERE i.quantity <> 2",
    # an ON condition on the preserved side of a RIGHT JOIN filters nothing
    "SELECT o.order_id, i.line_no FROM shop.order_items i RIGHT JOIN shop.orders o "
    "ON i.order_id = o.order_id AND o.total > 100",
    "SELECT o.order_id, i.line_no FROM shop.order_items i FULL JOIN shop.orders o ON i.order_id = o.order_id "
    "WHERE o.total > 100 OR i.quantity > 2",
    "SELECT p.product_id, count(i.order_id) FROM shop.order_items i RIGHT JOIN shop.products p "
    "ON i.product_id = p.product_id AND i.quantity > 3 GROUP BY 1",
])
def test_right_and_full_joins_keep_their_conditions_where_they_hold(world, sql):
    check(world, sql)


def test_count_distinct_of_a_constant_stays_distinct(world):
    check(world, "SELECT count(DISTINCT 'x') AS n, count(DISTINCT o.channel) AS c FROM shop.orders o")
    check(world, "SELECT count(DISTINCT 'x') AS n FROM local.regions")


def test_min_max_of_booleans_stay_local_for_postgres(world):
    scans = check(world, "SELECT min(opt_in) AS lo, max(opt_in) AS hi FROM crm.customers")
    assert "MIN(" not in only(scans, "crm").sent


def test_a_between_with_a_column_bound_parses_in_postgres(world):
    check(world, "SELECT count(*) AS n FROM crm.customers c WHERE c.first_name BETWEEN c.city AND 'Zed'")


def test_a_subquery_in_an_aggregate_under_group_by_all(world):
    check(world, "SELECT p.product_id AS c0, sum(CASE WHEN p.category IN (SELECT s.category FROM shop.products s) "
                 "THEN 1 END) AS c2 FROM shop.products p GROUP BY ALL")


def test_a_where_condition_goes_with_a_left_join_pushed_whole(world):
    """The LEFT JOIN runs inside the source, so WHERE (applied after it) goes there too."""
    scans = check(world, "SELECT o.order_id, i.line_no FROM shop.orders o LEFT JOIN shop.order_items i "
                         "ON i.order_id = o.order_id WHERE o.total > 100")
    shop = only(scans, "shop")
    assert "LEFT JOIN" in shop.sent and "> 100" in shop.sent


def test_a_grouped_expression_with_a_parameter_grouped_by_position(world):
    check(world, "SELECT CASE WHEN o.customer_id IN (10, ?) THEN o.customer_id ELSE 100 END AS k, count(*) AS n "
                 "FROM shop.orders o LEFT JOIN local.regions r ON r.city = o.channel GROUP BY 1", [3])


@pytest.mark.parametrize("where", ["o.status <> 'cancelled' AND o.total > 50", "i.quantity > 1 OR i.quantity IS NULL",
                                   "i.line_no IS NULL"])
def test_where_goes_with_a_left_join_inside_the_fragment(world, where):
    """The LEFT JOIN's own member is null-extended inside the fragment, before its WHERE: the WHERE goes too,
    and with it the GROUP BY (the shape of queries/rfm.sql)."""
    scans = check(world, "SELECT o.customer_id, count(DISTINCT o.order_id) AS n, sum(i.quantity) AS q "
                         "FROM shop.orders o LEFT JOIN shop.order_items i ON i.order_id = o.order_id "
                         f"WHERE {where} GROUP BY o.customer_id")
    scan = only(scans, "shop")
    assert "LEFT JOIN `order_items` AS `i`" in scan.sent and " WHERE " in scan.sent and "GROUP BY" in scan.sent


def test_when_nothing_is_pushed_scans_keep_the_columns_derived_tables_list(world):
    """The unused CTE over MariaDB makes the planner try fragments; none is pushed, so DuckDB runs the query as
    written, whose derived table still reads customer_id and seconds (found by the fuzzer, seed 201042)."""
    check(world, "WITH c AS (SELECT o.order_id FROM shop.orders o) SELECT count(*) AS n FROM "
                 "(SELECT b.customer_id AS k, count(*) OVER (PARTITION BY b.seconds) AS w FROM clicks.browsing b) d")


def test_a_pushed_average_of_decimals_is_duckdbs_to_the_last_bit(world):
    """avg(total) goes to MariaDB as a sum and a count; the division is DuckDB's own (long double over
    count * 10^scale), not CAST(sum AS DOUBLE) / count, which was one ulp off for about one group in nine."""
    sql = "SELECT o.customer_id, avg(o.total) AS a, avg(o.order_id) AS b FROM shop.orders o GROUP BY o.customer_id"
    cursor = world.connection.cursor()
    got = sorted(cursor.execute(sql).fetchall())
    assert got == sorted(world.oracle.execute(sql.replace("shop.orders", "shop.orders")).fetchall())
    shop = only(cursor.scans, "shop")
    assert "SUM(" in shop.sent and "GROUP BY" in shop.sent
