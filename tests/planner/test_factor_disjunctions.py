"""OR branches: common conjuncts come out, and each table gets the OR of what every branch asks of it."""

import sqlglot

from c360.planner.factor_disjunctions import _factored
from tests.oracle import check


def factored(where: str) -> str:
    condition = sqlglot.parse_one(f"SELECT 1 FROM t WHERE {where}", read="duckdb").args["where"].this
    return _factored(condition).sql("duckdb")


def test_common_conjuncts_are_factored_out_and_each_table_gets_its_own_disjunction():
    assert factored(
        "(p.k = l.k AND p.b = 'B1' AND l.q <= 11 AND l.m = 'AIR') "
        "OR (p.k = l.k AND p.b = 'B2' AND l.q >= 10 AND l.m = 'AIR')"
    ) == ("p.k = l.k AND l.m = 'AIR' AND ((p.b = 'B1' AND l.q <= 11) OR (p.b = 'B2' AND l.q >= 10)) "
          "AND (l.q <= 11 OR l.q >= 10) AND (p.b = 'B1' OR p.b = 'B2')")


def test_a_table_missing_from_one_branch_gets_no_implied_predicate():
    assert factored("(a.x = 1 AND b.y = 2) OR (a.x = 3)") == \
        "((a.x = 1 AND b.y = 2) OR (a.x = 3)) AND (a.x = 1 OR a.x = 3)"


def test_an_or_over_one_table_is_left_as_it_is():
    assert factored("a.x <> 'gold' OR a.x IS NULL") == "a.x <> 'gold' OR a.x IS NULL"


def test_a_branch_that_is_only_the_common_part_makes_the_rest_redundant():
    assert factored("(a.x = 1) OR (a.x = 1 AND a.y = 2)") == "a.x = 1"


def test_subqueries_are_left_alone():
    where = "(a.x IN (SELECT 1) AND a.y = 1) OR (a.y = 1)"
    assert factored(where) == sqlglot.parse_one(f"SELECT 1 FROM t WHERE {where}").args["where"].this.sql("duckdb")


def test_the_source_receives_each_tables_share_of_an_or_and_the_answer_is_unchanged(world):
    scans = check(world, "SELECT o.order_id, i.line_no FROM shop.orders o, crm.customers c, shop.order_items i "
                         "WHERE (o.customer_id = c.customer_id AND i.order_id = o.order_id AND c.city = 'Austin' "
                         "AND i.quantity <= 2 AND o.status = 'paid') OR (o.customer_id = c.customer_id "
                         "AND i.order_id = o.order_id AND c.city = 'Seattle' AND i.quantity >= 3 "
                         "AND o.status = 'paid')")
    shop = next(s for s in scans if s.source == "shop")
    assert "`i`.`quantity` <= 2" in shop.sent and "`i`.`quantity` >= 3" in shop.sent and "'paid'" in shop.sent
    crm = next(s for s in scans if s.source == "crm")
    assert "'Austin'" in crm.sent and "'Seattle'" in crm.sent
