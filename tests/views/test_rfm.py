"""``queries/rfm.sql`` on the fixed world: every number below is worked out by hand from
:mod:`tests.views.world` (the reasoning is in the comments), never read from the view."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import c360
from tests.views.world import AS_OF, CATALOG, CUSTOMERS, EARLIER, PRODUCTS, REPO, _database

COLUMNS = "customer_id, recency_days, frequency, monetary, r_score, f_score, m_score, rfm_score, segment"
# recency, frequency, monetary, r, f, m, rfm_score, segment of a customer with no order in the window
NOT_SCORED = (None, 0, Decimal("0.00"), None, None, None, None, "Lost")


def rfm(connection) -> dict[int, tuple]:
    rows = connection.execute(f"SELECT {COLUMNS} FROM rfm ORDER BY customer_id").fetchall()
    return {row[0]: row[1:] for row in rows}


def test_rfm_as_of_june_30_scores_quintiles_with_ties_and_the_edge_cases(as_of):
    # Window [2025-06-30 00:00, 2026-06-30 00:00). Six customers bought in it (n = 6):
    #   1: orders 06-29 (20), 06-05 (20+10), 05-01 (20) -> recency 1, frequency 3, money 70
    #   4: 06-15 (5) and 5: 06-15 (5)                  -> recency 15, frequency 1, money 5 (a tie)
    #   6: 2025-07-01 (10); its 2026-06-30 00:00 order is at the as-of instant -> recency 364, 1, 10
    #   7: 06-25 returned (an order, no money), 06-01 (40) -> recency 5, frequency 2, money 40
    #  42: 06-28 (30), 06-21 (20); cancelled 03-01 and 2025-06-20 (outside) do not count -> 2, 2, 50
    # score = 1 + floor(5 w / 6), w = buyers with a strictly worse value: w 0 1 2 3 4 5 -> 1 1 2 3 4 5
    # R (worse = older): 6 w0 -> 1; 4, 5 w1 -> 1 (the tie shares it); 7 w3 -> 3; 42 w4 -> 4; 1 w5 -> 5
    # F (worse = fewer): 4, 5, 6 w0 -> 1; 7, 42 w3 -> 3; 1 w5 -> 5
    # M (worse = less):  4, 5 w0 -> 1; 6 w2 -> 2; 7 w3 -> 3; 42 w4 -> 4; 1 w5 -> 5
    # Segments by (R, F): 1 (5,5) Champions; 4, 5, 6 (1,1) Lost; 7 (3,3) Need Attention; 42 (4,3) Potential
    # Loyalist. 2 (only cancelled), 3 (no orders), 8 (no orders): not scored.
    assert rfm(as_of(AS_OF)) == AS_OF_SCORES


AS_OF_SCORES = {
    1: (1, 3, Decimal("70.00"), 5, 5, 5, "555", "Champions"),
    2: NOT_SCORED,
    3: NOT_SCORED,
    4: (15, 1, Decimal("5.00"), 1, 1, 1, "111", "Lost"),
    5: (15, 1, Decimal("5.00"), 1, 1, 1, "111", "Lost"),
    6: (364, 1, Decimal("10.00"), 1, 1, 2, "112", "Lost"),
    7: (5, 2, Decimal("40.00"), 3, 3, 3, "333", "Need Attention"),
    8: NOT_SCORED,
    42: (2, 2, Decimal("50.00"), 4, 3, 4, "434", "Potential Loyalist"),
}


def test_rfm_as_of_an_earlier_date_uses_only_what_came_before_it(as_of):
    # Window [2025-06-10, 2026-06-10). Four customers bought (n = 4: w 0 1 2 3 -> 1 2 3 4):
    #   1: 06-05 (30), 05-01 (20) -> recency 5, frequency 2, money 50
    #   6: 2025-07-01 (10)        -> recency 344, 1, 10
    #   7: 06-01 (40)             -> recency 9, 1, 40 (the return on 06-25 is in the future)
    #  42: 2025-06-20 (10)        -> recency 355, 1, 10
    # R: 42 w0, 6 w1, 7 w2, 1 w3 -> 1, 2, 3, 4.  F: 6, 7, 42 w0 -> 1; 1 w3 -> 4.
    # M: 6, 42 (tie on 10) w0 -> 1; 7 w2 -> 3; 1 w3 -> 4.
    # Segments: 1 (4,4) Loyal; 6 (2,1) Hibernating; 7 (3,1) About to Sleep; 42 (1,1) Lost.
    # 4 and 5 buy after 06-10; 8 signs up on 06-20 and is not a customer yet.
    assert rfm(as_of(EARLIER)) == {
        1: (5, 2, Decimal("50.00"), 4, 4, 4, "444", "Loyal"),
        2: NOT_SCORED,
        3: NOT_SCORED,
        4: NOT_SCORED,
        5: NOT_SCORED,
        6: (344, 1, Decimal("10.00"), 2, 1, 1, "211", "Hibernating"),
        7: (9, 1, Decimal("40.00"), 3, 1, 3, "313", "About to Sleep"),
        42: (355, 1, Decimal("10.00"), 1, 1, 1, "111", "Lost"),
    }


def _tie_world(root, groups: list[int]):
    """Customers 1..n; customer k's value group g (1 = worst) gives g orders of 10, the last one 11 - g days
    before AS_OF: recency, frequency and money all rank the customers by g, with g's ties."""
    customers = [(k, *CUSTOMERS[0][1:13], "2024-01-01", 1) for k in range(1, len(groups) + 1)]
    orders, items = [], []
    for k, g in enumerate(groups, start=1):
        for j in range(g):
            order_id = 100 * k + j
            day = AS_OF - timedelta(days=11 - g + 7 * j)
            orders.append((order_id, k, f"{day.isoformat()} 12:00:00", "web", "completed"))
            items.append((order_id, 1, 1, 1, 10.00))
    _database(root / "crm.sqlite", {"customers": customers})
    _database(root / "shop.sqlite", {"products": PRODUCTS, "orders": orders, "order_items": items})
    catalog = root / "catalog"
    catalog.mkdir()
    (catalog / "sources.yaml").write_text(CATALOG.split("  partners:")[0])
    shutil.copytree(REPO / "queries", root / "queries")
    return catalog


@pytest.mark.parametrize(("groups", "expected"), [
    # 10 buyers: the quintile boundaries fall between the 2nd|3rd, 4th|5th, 6th|7th and 8th|9th, each inside
    # a tie; a tie's score is the one of its first member: 1 + floor(5 w / 10), w = buyers strictly worse
    ([1, 1, 1, 2, 2, 3, 3, 4, 4, 5], [1, 1, 1, 2, 2, 3, 3, 4, 4, 5]),
    # most buyers equal (one order each): they all get 1, and the few better ones skip to 4 and 5
    ([1, 1, 1, 1, 1, 1, 2, 3, 4, 5], [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]),
    # no ties: exactly two buyers per score, as ntile(5) would give
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
    # everyone equal: everyone 1
    ([3, 3, 3, 3, 3], [1, 1, 1, 1, 1]),
])
def test_equal_values_share_a_score_at_every_quintile_boundary(tmp_path, groups, expected):
    connection = c360.connect(str(_tie_world(tmp_path, groups)))
    try:
        connection.execute(f"SET VARIABLE as_of = DATE '{AS_OF.isoformat()}'")
        rows = connection.execute("SELECT customer_id, r_score, f_score, m_score, segment FROM rfm "
                                  "ORDER BY customer_id").fetchall()
    finally:
        connection.close()
    assert [r[1] for r in rows] == expected  # recency: more recent is better
    assert [r[2] for r in rows] == expected  # frequency
    assert [r[3] for r in rows] == expected  # monetary
    assert all(r[4] is not None for r in rows)


def test_segment_mapping_covers_every_score_pair_exactly_once():
    # The mapping table lives in the view; read it back from the view's own SQL text.
    text = (Path(__file__).resolve().parents[2] / "queries" / "rfm.sql").read_text()
    ranges = [(name.replace("''", "'"), int(a), int(b), int(c), int(d)) for name, a, b, c, d in
              re.findall(r"\('((?:[^']|'')+)',\s*(\d),\s*(\d),\s*(\d),\s*(\d)\)", text)]
    cover = {}
    for name, r_low, r_high, f_low, f_high in ranges:
        for r in range(r_low, r_high + 1):
            for f in range(f_low, f_high + 1):
                assert (r, f) not in cover, f"({r}, {f}) is mapped twice"
                cover[(r, f)] = name
    assert set(cover) == {(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert set(cover.values()) == {
        "Champions", "Loyal", "Potential Loyalist", "New", "Promising", "Need Attention", "About to Sleep",
        "At Risk", "Can't Lose Them", "Hibernating", "Lost",
    }


def test_a_filter_on_one_customer_does_not_change_their_quintiles(as_of):
    connection = as_of(AS_OF)
    row = connection.execute(f"SELECT {COLUMNS} FROM rfm WHERE customer_id = 5").fetchall()
    # 5's scores rank it among every buyer of the window, so the window needs them all.
    assert row == [(5, 15, 1, Decimal("5.00"), 1, 1, 1, "111", "Lost")]
    sent = [scan.sent for scan in connection.execute(f"SELECT {COLUMNS} FROM rfm WHERE customer_id = 5").scans
            if scan.source == "shop" and scan.table.startswith("orders")]
    # the quintiles' scan (orders "ro" of the 365 days) has no customer filter; the tenure's ("rh") has
    [quintiles] = [s for s in sent if '"ro"' in s]
    [tenure] = [s for s in sent if '"rh"' in s]
    assert "\"customer_id\" =" not in quintiles and "\"order_ts\" <" in quintiles
    assert '"rh"."customer_id" = 5' in tenure and len(sent) == 2


TENURE = "customer_id, days_since_first_order, days_since_signup, mean_days_between_orders, days_between_last_orders"


def test_tenure_and_gaps_between_orders_use_the_whole_history_before_the_as_of_date(as_of):
    def days(a: str, b: str) -> int:
        return (date.fromisoformat(b) - date.fromisoformat(a)).days

    rows = {r[0]: r[1:] for r in as_of(AS_OF).execute(f"SELECT {TENURE} FROM rfm").fetchall()}
    # 1: orders 05-01, 06-05, 06-29 -> first 60 days ago, gaps 35 and 24: mean 59 / 2, last 24; signed up 2024-01-01
    assert rows[1] == (60, days("2024-01-01", "2026-06-30"), 29.5, 24)
    # 2 only cancels, 3 never orders: no tenure as a buyer, but a sign-up date
    assert rows[2] == (None, days("2024-02-01", "2026-06-30"), None, None)
    assert rows[3] == (None, days("2025-01-01", "2026-06-30"), None, None)
    # 4: one order (06-15): no gap
    assert rows[4] == (15, days("2024-03-01", "2026-06-30"), None, None)
    # 6: the order at the as-of instant is not seen: only 2025-07-01
    assert rows[6] == (364, days("2024-04-01", "2026-06-30"), None, None)
    # 7: the returned order of 06-25 is an order: 06-01 and 06-25
    assert rows[7] == (29, days("2024-05-01", "2026-06-30"), 24.0, 24)
    # 42: 2025-06-20 is outside RFM's 365 days but part of the history; the cancelled 03-01 is not an order
    assert rows[42] == (375, days("2024-06-01", "2026-06-30"), 373 / 2, 7)
    assert rows[8] == (None, 10, None, None)  # signed up 06-20


def test_tenure_as_of_an_earlier_date_sees_only_the_orders_before_it(as_of):
    rows = {r[0]: r[1:] for r in as_of(EARLIER).execute(f"SELECT {TENURE} FROM rfm").fetchall()}
    assert rows[1][0::2] == (40, 35.0) and rows[1][3] == 35  # 05-01 and 06-05
    assert rows[7][0] == 9 and rows[7][2:] == (None, None)  # 06-01 only; the return of 06-25 is the future
    assert rows[42][0] == 355 and rows[42][2:] == (None, None)
    assert rows[4] == (None, (EARLIER - date(2024, 3, 1)).days, None, None)


def test_rfm_on_mariadb_reads_one_row_per_buyer(tmp_path, mariadb, as_of):
    # The same world with shop in MariaDB: the orders of the year and their lines are joined, filtered and
    # grouped there (the LEFT JOIN's own member does not keep WHERE local), so six rows leave it, one per
    # customer who bought in the window, and the scores are the hand-worked ones above.
    import os
    import shutil
    import textwrap

    import c360
    from c360.generate.tables import ddl
    from tests.views import world

    shop = mariadb.child("rfm")
    connection = shop.connect()
    with connection.cursor() as cursor:
        for table, rows in (("orders", world.ORDERS), ("order_items", world.ORDER_ITEMS)):
            for statement in ddl(table, "mysql"):
                cursor.execute(statement)
            cursor.executemany(f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(rows[0]))})", rows)
    connection.commit()
    connection.close()
    world._database(tmp_path / "crm.sqlite", {"customers": world.CUSTOMERS})
    os.environ["C360_RFM_SHOP_PASSWORD"] = shop.password
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "sources.yaml").write_text(textwrap.dedent(f"""
        sources:
          crm: {{kind: sqlite, path: ../crm.sqlite}}
          shop:
            kind: mysql
            host: {shop.host}
            port: {shop.port}
            user: {shop.user}
            password: ${{ENV:C360_RFM_SHOP_PASSWORD}}
            database: {shop.database}
    """))
    shutil.copytree(world.REPO / "queries", tmp_path / "queries")
    with c360.connect(tmp_path / "catalog") as connection:
        connection.execute(f"SET VARIABLE as_of = DATE '{AS_OF.isoformat()}'")
        cursor = connection.cursor()
        cursor.execute(f"SELECT {COLUMNS} FROM rfm ORDER BY customer_id")
        assert {row[0]: row[1:] for row in cursor.fetchall()} == AS_OF_SCORES
        [scan] = [s for s in cursor.scans if s.source == "shop" and "`ro`" in s.sent]
        assert scan.table == "orders + order_items" and scan.rows == 6
        assert "GROUP BY `ro`.`customer_id`" in scan.sent and "LEFT JOIN `order_items`" in scan.sent
        assert "`ro`.`order_ts` >= CAST('2025-06-30 00:00:00' AS DATETIME)" in scan.sent
        # the tenure's windows run in MariaDB too, and only each customer's last order leaves it
        cursor.execute(f"SELECT {TENURE} FROM rfm")
        embedded = as_of(AS_OF).execute(f"SELECT {TENURE} FROM rfm").fetchall()
        assert sorted(cursor.fetchall()) == sorted(embedded)
        [tenure] = [s for s in cursor.scans if s.source == "shop" and "`rh`" in s.sent]
        assert "LEAD(`rh`.`order_ts`) OVER (PARTITION BY `rh`.`customer_id`" in tenure.sent
        assert "AS `_w` WHERE `_w`.`w" in tenure.sent and " = 1" in tenure.sent
        assert tenure.rows == 6  # 1, 4, 5, 6, 7 and 42 (2 only cancelled; 3 and 8 never ordered)
