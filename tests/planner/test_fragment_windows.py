"""Window functions computed by the source inside a whole fragment: each answer is the oracle's, each
pushed window is in what the source received, each refused one is not (and the answer is still right).

The world (:mod:`tests.oracle`) has ``shop`` in MariaDB (case-insensitive PAD SPACE collation, NULL totals,
channels differing only in case or trailing spaces) and ``crm`` in PostgreSQL through ODBC. Only windows
whose answer is determined are compared (an ``ORDER BY`` that ends in a unique key, or ranks of peers).
"""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.mysql import has_window_functions
from tests.oracle import check


def only(scans, source):
    found = [s for s in scans if s.source == source]
    assert len(found) == 1, [s.sent for s in scans]
    return found[0]


SHOP = "SELECT o.order_id, {window} AS w FROM shop.orders o WHERE o.order_id > 3"


@pytest.mark.parametrize("window, words", [
    ("row_number() OVER (PARTITION BY o.customer_id ORDER BY o.order_ts, o.order_id)",
     "ROW_NUMBER() OVER (PARTITION BY `o`.`customer_id` ORDER BY CASE WHEN `o`.`order_ts` IS NULL THEN 1"),
    ("rank() OVER (ORDER BY o.total DESC)", "RANK() OVER (ORDER BY CASE WHEN `o`.`total` IS NULL THEN 1 "
                                            "ELSE 0 END, `o`.`total` DESC)"),
    ("dense_rank() OVER (ORDER BY o.total)", "`o`.`total` IS NULL THEN 1 ELSE 0 END, `o`.`total` ASC)"),
    ("rank() OVER (ORDER BY o.total NULLS FIRST)", "`o`.`total` IS NULL THEN 0 ELSE 1 END"),
    ("ntile(4) OVER (ORDER BY o.total DESC NULLS FIRST, o.order_id)", "NTILE(4) OVER"),
    ("percent_rank() OVER (PARTITION BY o.status ORDER BY o.total)", "COUNT(*) OVER (PARTITION BY "
                                                                     "`o`.`status` COLLATE utf8mb4_nopad_bin)"),
    ("cume_dist() OVER (ORDER BY o.customer_id)", "COUNT(*) OVER (ORDER BY"),
    ("lag(o.total) OVER (PARTITION BY o.customer_id ORDER BY o.order_ts, o.order_id)", "LAG(`o`.`total`) OVER"),
    ("lead(o.channel, 2) OVER (ORDER BY o.order_id)", "LEAD(`o`.`channel`, 2) OVER"),
    ("sum(o.total) OVER (PARTITION BY o.customer_id ORDER BY o.order_ts, o.order_id "
     "ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)", "ROWS BETWEEN 2 PRECEDING AND CURRENT ROW"),
    ("sum(o.total) OVER (ORDER BY o.order_id ROWS BETWEEN 1 FOLLOWING AND 3 FOLLOWING)", "1 FOLLOWING AND 3"),
    ("sum(o.customer_id) OVER (ORDER BY o.customer_id)", "SUM(`o`.`customer_id`) OVER (ORDER BY"),
    ("count(*) OVER (PARTITION BY o.channel)", "COUNT(*) OVER (PARTITION BY `o`.`channel` COLLATE"),
    ("count(o.total) OVER (ORDER BY o.channel RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)",
     "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"),
    ("min(o.channel) OVER (PARTITION BY o.customer_id)", "MIN(`o`.`channel` COLLATE utf8mb4_nopad_bin) OVER"),
    ("max(o.order_ts) OVER (PARTITION BY o.status ORDER BY o.order_id)", "MAX(`o`.`order_ts`) OVER"),
    ("rank() OVER (ORDER BY o.channel DESC)", "`o`.`channel` COLLATE utf8mb4_nopad_bin DESC)"),
    ("avg(o.customer_id) OVER ()", "SUM(`o`.`customer_id`) OVER ()"),
    ("first_value(o.channel) OVER (PARTITION BY o.customer_id ORDER BY o.order_id)", "FIRST_VALUE("),
    ("last_value(o.total) OVER (ORDER BY o.order_id ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)",
     "LAST_VALUE("),
    ("o.order_id - row_number() OVER (ORDER BY o.order_id)", "ROW_NUMBER() OVER"),
])
def test_a_window_over_the_fragments_rows_goes_to_mariadb(world, window, words):
    scan = only(check(world, SHOP.format(window=window)), "shop")
    assert words in scan.sent and "AVG" not in scan.sent


@pytest.mark.parametrize("window, reason", [
    ("lag(o.total, 1, 0) OVER (ORDER BY o.order_id)", "takes no default"),
    ("sum(o.total) OVER (ORDER BY o.customer_id RANGE BETWEEN 2 PRECEDING AND CURRENT ROW)", "frame bound"),
    ("sum(o.total) OVER (ORDER BY o.customer_id GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW)", "frame"),
    ("count(DISTINCT o.channel) OVER (PARTITION BY o.customer_id)", "DISTINCT"),
    ("row_number() OVER ()", "without ORDER BY"),
    ("sum(o.total) OVER (ORDER BY o.order_id ROWS BETWEEN 1 PRECEDING AND 2 PRECEDING)", "empty frame"),
    ("nth_value(o.total, 2) OVER (ORDER BY o.order_id)", "kept local"),
    ("avg(o.total) OVER (PARTITION BY o.status)", "only an average of integers"),
    ("sum(o.total) OVER (ORDER BY 1)", "constant window key"),
])
def test_a_window_mariadb_would_compute_differently_stays_local(world, window, reason):
    sql = SHOP.format(window=window)
    if window == "row_number() OVER ()":  # arbitrary numbering: compare what is determined
        sql = f"SELECT count(*) AS n, max(w) AS top FROM ({sql}) AS t"
    scan = only(check(world, sql), "shop")
    assert " OVER " not in scan.sent
    assert any(reason in note for note in scan.notes), scan.notes


def test_a_window_with_a_filter_left_local_stays_local(world):
    """A condition kept local (a function DuckDB alone computes) changes the rows a window sees."""
    scan = only(check(world, "SELECT o.order_id, rank() OVER (ORDER BY o.total) AS r FROM shop.orders o "
                             "WHERE hash(o.order_id) % 3 = 0"), "shop")
    assert " OVER " not in scan.sent


def test_qualify_stays_local_over_a_pushed_window(world):
    scans = check(world, "SELECT o.order_id, o.customer_id, row_number() OVER (PARTITION BY o.customer_id "
                         "ORDER BY o.total DESC NULLS LAST, o.order_id) AS rn FROM shop.orders o QUALIFY rn = 1")
    assert "QUALIFY" not in only(scans, "shop").sent


def test_top_n_goes_with_windows_computed_before_it(world):
    scan = only(check(world, "SELECT o.order_id, rank() OVER (ORDER BY o.total DESC) AS r FROM shop.orders o "
                             "ORDER BY o.order_id LIMIT 5"), "shop")
    assert "RANK() OVER" in scan.sent and scan.sent.endswith("LIMIT 5") and scan.rows == 5


def test_a_window_over_a_join_and_a_semi_join_of_the_source(world):
    scan = only(check(world, "SELECT o.order_id, i.line_no, sum(i.quantity) OVER (PARTITION BY o.customer_id "
                             "ORDER BY o.order_id, i.line_no) AS running FROM shop.orders o JOIN shop.order_items i "
                             "ON i.order_id = o.order_id WHERE EXISTS (SELECT 1 FROM shop.products p "
                             "WHERE p.product_id = i.product_id AND p.list_price > 20)"), "shop")
    assert "SUM(`i`.`quantity`) OVER" in scan.sent and "EXISTS" in scan.sent


# --- windows after GROUP BY -----------------------------------------------------------------------------


@pytest.mark.parametrize("sql, words", [
    ("SELECT o.customer_id, sum(o.total) AS s, rank() OVER (ORDER BY sum(o.total) DESC) AS r "
     "FROM shop.orders o GROUP BY o.customer_id", "RANK() OVER (ORDER BY CASE WHEN SUM(`o`.`total`) IS NULL"),
    ("SELECT o.status, o.channel, count(*) AS n, sum(count(*)) OVER (PARTITION BY o.status) AS per_status "
     "FROM shop.orders o GROUP BY 1, 2", "SUM(COUNT(*)) OVER (PARTITION BY `o`.`status` COLLATE"),
    ("SELECT o.customer_id, count(*) AS n, avg(count(*)) OVER () AS mean FROM shop.orders o "
     "GROUP BY 1 HAVING count(*) > 2", "HAVING COUNT(*) > 2"),
    ("SELECT o.channel, max(o.total) AS top, dense_rank() OVER (ORDER BY o.channel) AS r FROM shop.orders o "
     "GROUP BY o.channel", "DENSE_RANK() OVER (ORDER BY CASE WHEN `o`.`channel` IS NULL"),
])
def test_a_window_over_groups_goes_with_the_group_by(world, sql, words):
    scan = only(check(world, sql), "shop")
    assert words in scan.sent and " OVER " in scan.sent


def test_a_window_over_groups_stays_local_when_having_does(world):
    scan = only(check(world, "SELECT o.customer_id, sum(o.total) AS s, rank() OVER (ORDER BY sum(o.total)) AS r "
                             "FROM shop.orders o GROUP BY 1 HAVING hash(sum(o.total)) % 2 = 0"), "shop")
    assert "GROUP BY" in scan.sent and " OVER " not in scan.sent


# --- PostgreSQL ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("sql, words", [
    ("SELECT c.customer_id, rank() OVER (PARTITION BY c.opt_in ORDER BY c.income DESC) AS r FROM crm.customers c",
     "ORDER BY \"c\".\"income\" DESC NULLS LAST)"),
    ("SELECT c.customer_id, row_number() OVER (ORDER BY c.city, c.customer_id) AS r FROM crm.customers c",
     "ORDER BY \"c\".\"city\" COLLATE \"C\""),
    ("SELECT c.customer_id, lag(c.income, 1, 0) OVER (ORDER BY c.customer_id) AS prev FROM crm.customers c",
     "LAG(\"c\".\"income\", 1, 0) OVER"),
    ("SELECT c.customer_id, avg(c.customer_id) OVER (PARTITION BY c.opt_in) AS mean FROM crm.customers c",
     "COUNT(\"c\".\"customer_id\") OVER (PARTITION BY \"c\".\"opt_in\")"),
    ("SELECT c.customer_id, sum(c.income) OVER (ORDER BY c.birth_date NULLS FIRST, c.customer_id "
     "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 FOLLOWING) AS s FROM crm.customers c", "NULLS FIRST"),
    ("SELECT c.city, count(*) AS n, dense_rank() OVER (ORDER BY count(*) DESC) AS r FROM crm.customers c "
     "GROUP BY c.city", "DENSE_RANK() OVER (ORDER BY COUNT(*) DESC NULLS LAST)"),
])
def test_windows_go_to_postgres_with_duckdbs_null_order(world, sql, words):
    scan = only(check(world, sql), "crm")
    assert words in scan.sent


def test_sqlite_sources_are_not_sent_windows(world):
    scan = only(check(world, "SELECT r.city, rank() OVER (ORDER BY r.population) AS k FROM local.regions r"),
                "local")
    assert " OVER " not in scan.sent


def test_mariadb_and_mysql_versions_with_window_functions():
    assert has_window_functions("10.11.19-MariaDB-0+deb12u1") and has_window_functions("10.2.44-MariaDB")
    assert not has_window_functions("10.1.48-MariaDB") and has_window_functions("5.5.5-10.11.2-MariaDB")
    assert has_window_functions("8.0.36") and not has_window_functions("5.7.44-log")
    assert not has_window_functions("")


# --- what may filter a fragment whose windows the source computes -----------------------------------------


@pytest.mark.parametrize("partition", ["", "PARTITION BY o.customer_id "])
def test_a_join_reduction_never_thins_the_rows_a_pushed_window_sees(world, partition):
    """Keys of Austin's customers sent into the orders' statement would leave out rows the rank counts,
    unless every window partitions by that key."""
    scans = check(world, "SELECT c.customer_id, t.order_id, t.r FROM crm.customers c JOIN (SELECT o.customer_id, "
                         f"o.order_id, rank() OVER ({partition}ORDER BY o.total DESC) AS r FROM shop.orders o) AS t "
                         "ON t.customer_id = c.customer_id WHERE c.city = 'Austin'")
    shop = only(scans, "shop")
    assert "RANK() OVER" in shop.sent
    if not partition:
        assert "IN (" not in shop.sent


def test_only_partition_keys_of_every_pushed_window_are_reducible(world):
    from c360.planner import plan

    catalog = world.connection.catalog
    sql = ("SELECT o.customer_id, o.status, rank() OVER (PARTITION BY o.customer_id, o.status ORDER BY o.total) AS a, "
           "sum(o.total) OVER (PARTITION BY o.customer_id) AS b FROM shop.orders o")
    [scan] = [s for s in plan(sql, catalog=catalog).scans if s.source == "shop"]
    assert " OVER " in scan.statement.sql() and set(scan.reducible) == {"o_customer_id"}
    grouped = ("SELECT o.customer_id, o.status, count(*) AS n, rank() OVER (PARTITION BY o.status ORDER BY count(*)) "
               "AS r FROM shop.orders o GROUP BY 1, 2")
    [scan] = [s for s in plan(grouped, catalog=catalog).scans if s.source == "shop"]
    assert " OVER " in scan.statement.sql() and set(scan.reducible) == {"k2"}


# --- conditions on what the windows computed ------------------------------------------------------------


LATEST = ("SELECT o.customer_id, o.order_id, o.total, row_number() OVER (PARTITION BY o.customer_id "
          "ORDER BY o.order_ts DESC, o.order_id) AS rn FROM shop.orders o WHERE o.status <> 'cancelled'")


def test_the_latest_order_per_customer_leaves_mariadb_alone(world):
    scan = only(check(world, f"SELECT t.customer_id, t.order_id, t.total FROM ({LATEST}) AS t WHERE t.rn = 1"), "shop")
    assert "ROW_NUMBER() OVER" in scan.sent and scan.sent.endswith("AS `_w` WHERE `_w`.`w1` = 1")
    buyers = world.expected("SELECT count(DISTINCT customer_id) FROM shop.orders WHERE status <> 'cancelled'")
    assert scan.rows == buyers.column(0)[0].as_py()


def test_a_join_condition_on_the_window_goes_too(world):
    scans = check(world, f"SELECT c.first_name, t.order_id FROM crm.customers c JOIN ({LATEST}) AS t "
                         "ON t.customer_id = c.customer_id AND t.rn <= 2 WHERE c.opt_in")
    assert "`_w`.`w1` <= 2" in only(scans, "shop").sent


def test_qualify_goes_to_postgres_after_the_windows(world):
    scans = check(world, "SELECT c.customer_id, c.city, rank() OVER (PARTITION BY c.opt_in ORDER BY c.income DESC) "
                         "AS r FROM crm.customers c QUALIFY r <= 3")
    crm = only(scans, "crm")
    assert "WHERE \"_w\".\"w1\" <= 3" in crm.sent and crm.rows == 6


def test_qualify_reads_the_window_the_projection_shows_even_among_ties(world):
    """row_number among ties is arbitrary: QUALIFY must read the very numbers the SELECT list shows."""
    scans = check(world, "SELECT count(*) AS n, max(rn) AS top FROM (SELECT o.order_id, row_number() OVER "
                         "(PARTITION BY o.customer_id ORDER BY o.status) AS rn FROM shop.orders o QUALIFY rn = 1) AS t")
    assert "`_w`.`w1` = 1" in only(scans, "shop").sent


@pytest.mark.parametrize("condition", [
    "t.pr > 0.5",          # a float two engines may round apart
    "t.prev_channel = 'web'",  # a string of the fragment: no collation left to compare it by
    "t.r + t.pr > 1",
])
def test_conditions_the_source_might_decide_differently_stay_local(world, condition):
    scan = only(check(world, "SELECT t.order_id FROM (SELECT o.order_id, percent_rank() OVER (ORDER BY o.total) AS pr, "
                             "rank() OVER (ORDER BY o.total) AS r, lag(o.channel) OVER (ORDER BY o.order_id) "
                             f"AS prev_channel FROM shop.orders o) AS t WHERE {condition}"), "shop")
    assert "`_w`" not in scan.sent and " OVER " in scan.sent


def test_a_left_joined_window_keeps_its_condition_local(world):
    scan = only(check(world, f"SELECT c.customer_id, t.order_id FROM crm.customers c LEFT JOIN ({LATEST}) AS t "
                             "ON t.customer_id = c.customer_id AND t.rn = 1"), "shop")
    assert "`_w`" not in scan.sent


def test_a_cached_plan_rebinds_the_values_inside_and_around_the_windows(world):
    sql = ("SELECT t.customer_id, t.order_id FROM (SELECT o.customer_id, o.order_id, rank() OVER (PARTITION BY "
           "o.customer_id ORDER BY o.total DESC) AS r FROM shop.orders o WHERE o.order_ts < ?) AS t WHERE t.r <= ?")
    for params in ([TIMESTAMP_1, 1], [TIMESTAMP_2, 2], [TIMESTAMP_1, 2]):
        scan = only(check(world, sql, params), "shop")
        assert "`_w`.`w1` <= " in scan.sent


TIMESTAMP_1, TIMESTAMP_2 = dt.datetime(2026, 6, 1), dt.datetime(2026, 9, 1)


@pytest.mark.parametrize("sql, pushed", [
    ("SELECT o.order_id, i.line_no, count(i.line_no) OVER (PARTITION BY o.order_id) AS lines FROM shop.orders o "
     "LEFT JOIN shop.order_items i ON i.order_id = o.order_id", True),
    ("SELECT DISTINCT o.customer_id, count(*) OVER (PARTITION BY o.customer_id) AS n FROM shop.orders o", True),
    ("SELECT o.customer_id, sum(o.total) AS s, rank() OVER (ORDER BY sum(o.total) DESC NULLS LAST) AS r "
     "FROM shop.orders o GROUP BY 1 ORDER BY r, o.customer_id LIMIT 5", True),
    ("WITH w AS (SELECT o.order_id, lag(o.order_ts) OVER (ORDER BY o.order_id) AS before FROM shop.orders o) "
     "SELECT a.order_id, b.before FROM w a JOIN w b ON b.order_id = a.order_id + 1", True),
    ("SELECT o.order_id, rank() OVER (ORDER BY o.total) AS r FROM shop.orders o WHERE o.total > 400 "
     "UNION ALL SELECT p.product_id, dense_rank() OVER (ORDER BY p.list_price DESC) FROM shop.products p", True),
    ("SELECT c.customer_id, o.order_id, rank() OVER (ORDER BY o.total) AS r FROM crm.customers c "
     "JOIN shop.orders o ON o.customer_id = c.customer_id", False),
    ("SELECT o.order_id FROM shop.orders o WHERE o.order_id IN (SELECT i.order_id FROM (SELECT i.order_id, "
     "row_number() OVER (PARTITION BY i.order_id ORDER BY i.line_no) AS n FROM shop.order_items i) AS i "
     "WHERE i.n = 2)", True),
])
def test_windows_in_every_shape_of_block_answer_as_duckdb(world, sql, pushed):
    scans = check(world, sql)
    assert any(" OVER " in s.sent for s in scans if s.source == "shop") == pushed


def test_fractions_of_a_window_are_duckdbs_to_the_last_bit(world):
    """MariaDB sends PERCENT_RANK and CUME_DIST rounded to 10 decimals: the source sends ranks and counts, and
    DuckDB divides them as it divides its own; so is an average of integers (MariaDB rounds it to 4 places)."""
    sql = ("SELECT o.order_id, percent_rank() OVER (PARTITION BY o.status ORDER BY o.total) AS p, "
           "cume_dist() OVER (ORDER BY o.customer_id) AS c, avg(o.customer_id) OVER (PARTITION BY o.channel) AS a, "
           "percent_rank() OVER (PARTITION BY o.order_id ORDER BY o.total) AS lone FROM shop.orders o ORDER BY 1")
    got, scans = world.c360(sql)
    assert got.to_pylist() == world.expected(sql).to_pylist()  # exactly, not to 6 places
    sent = only(scans, "shop").sent
    assert "PERCENT_RANK" not in sent and "CUME_DIST" not in sent and "RANK() OVER (PARTITION BY" in sent


def test_an_average_duckdb_takes_in_long_double_stays_local(world):
    """avg of a HUGEINT (a sum of integers) or of a decimal: DuckDB divides in long double."""
    sql = ("SELECT o.customer_id, sum(o.order_id) AS s, avg(sum(o.order_id)) OVER () AS m, "
           "avg(count(*)) OVER () AS c FROM shop.orders o GROUP BY 1 ORDER BY 1")
    got, scans = world.c360(sql)
    assert got.to_pylist() == world.expected(sql).to_pylist()
    scan = only(scans, "shop")
    assert "SUM(COUNT(*)) OVER ()" in scan.sent and "SUM(SUM(" not in scan.sent
    assert any("only an average of integers" in note for note in scan.notes)


def test_a_condition_goes_around_windows_beside_values_duckdb_computes_per_row(world):
    """percent_rank is divided by DuckDB from the source's rank and count, row by row: the condition on the
    row number still goes to the source; one on a window DuckDB computes over every row does not."""
    inner = ("SELECT o.customer_id, o.order_id, percent_rank() OVER (PARTITION BY o.customer_id ORDER BY o.total) "
             "AS pr, row_number() OVER (PARTITION BY o.customer_id ORDER BY o.order_id) AS rn{extra} "
             "FROM shop.orders o")
    scan = only(check(world, f"SELECT * FROM ({inner.format(extra='')}) AS t WHERE t.rn = 1"), "shop")
    assert "AS `_w` WHERE `_w`.`w" in scan.sent
    local = ", sum(o.total) OVER (PARTITION BY hash(o.order_id) % 3) AS odd"
    scan = only(check(world, f"SELECT * FROM ({inner.format(extra=local)}) AS t WHERE t.rn = 1"), "shop")
    assert "`_w`" not in scan.sent
