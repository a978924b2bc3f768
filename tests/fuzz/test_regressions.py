"""Queries the fuzzer found answered wrongly, kept as tests (each with the seed that found it)."""

from __future__ import annotations

from tests.fuzz.check import check_query


def test_a_cte_read_several_times_is_not_reduced_by_a_join_of_one_reference(fuzz_world):
    """Seed 50241: ``c1`` is read by three references, one scan serving all; the join of one reference (in
    the EXCEPT branch, with a side of no rows) emptied the scan, and the other branch lost its rows."""
    check_query(fuzz_world, (
        "WITH c1 AS (SELECT t1.name AS o0, t1.person_id AS o1, t2.tier AS o3 FROM crm.accounts t1 "
        "JOIN crm.accounts t2 ON t1.account_id = t2.account_id WHERE t1.opened > DATE '2009-11-15') "
        "(SELECT t3.o0 AS o0, t4.account_id AS o1 FROM c1 t3 JOIN crm.accounts t4 ON t3.o1 = t4.person_id) "
        "EXCEPT (SELECT t7.name AS o0, t7.person_id AS o1 FROM c1 t6 JOIN crm.accounts t7 ON t6.o0 = t7.name "
        "AND (NOT t7.account_id IS NOT NULL) WHERE t7.balance = 100.00)"), [])


def test_a_window_sum_of_integers_pushed_to_its_source_is_a_hugeint(fuzz_world):
    """Seed 50396: MariaDB's SUM(int) OVER arrives as DECIMAL(38,0), under which DuckDB's ``//`` divides as a
    DOUBLE (3331 // 2 = 1665.5); DuckDB's own sum of integers is a HUGEINT (1665)."""
    check_query(fuzz_world, (
        "SELECT t4.o3 // 2 AS o0, t4.o3 AS o1 FROM (SELECT sum(t3.person_id) OVER (PARTITION BY t1.flag) AS o3 "
        "FROM shop.events t1 JOIN shop.events t3 ON t1.person_id = t3.person_id) t4"), [])


def test_is_distinct_from_a_constant_on_a_scan_read_for_two_references(fuzz_world):
    """Seed 50640: the file is read once for both references (a materialized CTE); DuckDB ORs the two
    references' filters into that scan and refused an OR holding IS DISTINCT FROM (``Comparison Type
    COMPARE_DISTINCT_FROM can't be an Arrow Scan Pushdown Filter``)."""
    check_query(fuzz_world, (
        "SELECT t1.person_id, t2.nickname FROM partners.profiles t1 JOIN partners.profiles t2 "
        "ON t1.person_id = t2.person_id AND t2.nickname IS DISTINCT FROM ? "
        "WHERE t1.nickname IS DISTINCT FROM ? AND t2.segment IS NOT DISTINCT FROM 'Gold'"), ["gold", "view "])


def test_is_distinct_from_a_computed_constant_that_fails_where_no_row_reaches_it(fuzz_world):
    """Seed 70895: ``x IS DISTINCT FROM 'Gold' = TRUE`` compares with ``('Gold' = TRUE)``, which fails only if a
    row reaches it; spelt as a COALESCE, its ``IS NULL`` stood alone and DuckDB folded it, failing when it
    planned. Only literals and parameters are spelt so."""
    check_query(fuzz_world, (
        "SELECT t1.points, t2.grp FROM partners.profiles t1 JOIN shop.people t2 ON t1.nickname = t2.name "
        "AND t2.name IS DISTINCT FROM 'Gold' = TRUE WHERE t2.city IN ('ALICE', 'Alice', 'open') "
        "AND t2.active = FALSE"), [])
