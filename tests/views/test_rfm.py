"""``queries/rfm.sql`` on the fixed world: every number below is worked out by hand from
:mod:`tests.views.world` (the reasoning is in the comments), never read from the view."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from tests.views.world import AS_OF, EARLIER

COLUMNS = "customer_id, recency_days, frequency, monetary, r_score, f_score, m_score, rfm_score, segment"
# recency, frequency, monetary, r, f, m, rfm_score, segment of a customer with no order in the window
NOT_SCORED = (None, 0, Decimal("0.00"), None, None, None, None, "Lost")


def rfm(connection) -> dict[int, tuple]:
    rows = connection.execute(f"SELECT {COLUMNS} FROM rfm ORDER BY customer_id").fetchall()
    return {row[0]: row[1:] for row in rows}


def test_rfm_as_of_june_30_scores_quintiles_with_ties_and_the_edge_cases(as_of):
    # Window [2025-06-30 00:00, 2026-06-30 00:00). Six customers bought in it (ntile(5) of 6 rows: 2,1,1,1,1):
    #   1: orders 06-29 (20), 06-05 (20+10), 05-01 (20) -> recency 1, frequency 3, money 70
    #   4: 06-15 (5) and 5: 06-15 (5)                  -> recency 15, frequency 1, money 5 (a tie)
    #   6: 2025-07-01 (10); its 2026-06-30 00:00 order is at the as-of instant -> recency 364, 1, 10
    #   7: 06-25 returned (an order, no money), 06-01 (40) -> recency 5, frequency 2, money 40
    #  42: 06-28 (30), 06-21 (20); cancelled 03-01 and 2025-06-20 (outside) do not count -> 2, 2, 50
    # R ordered by recency desc, id: 6,4 | 5 | 7 | 42 | 1 -> 6:1 4:1 5:2 7:3 42:4 1:5 (the 4/5 tie splits by id)
    # F ordered by frequency, id:    4,5 | 6 | 7 | 42 | 1 -> 4:1 5:1 6:2 7:3 42:4 1:5 (6 ties 4 and 5 on 1)
    # M ordered by money, id:        4,5 | 6 | 7 | 42 | 1 -> 4:1 5:1 6:2 7:3 42:4 1:5
    # Segments by (R, F): 1 (5,5) Champions; 4 (1,1) Lost; 5 (2,1) Hibernating; 6 (1,2) Hibernating;
    # 7 (3,3) Need Attention; 42 (4,4) Loyal. 2 (only cancelled), 3 (no orders), 8 (no orders): not scored.
    assert rfm(as_of(AS_OF)) == AS_OF_SCORES


AS_OF_SCORES = {
    1: (1, 3, Decimal("70.00"), 5, 5, 5, "555", "Champions"),
    2: NOT_SCORED,
    3: NOT_SCORED,
    4: (15, 1, Decimal("5.00"), 1, 1, 1, "111", "Lost"),
    5: (15, 1, Decimal("5.00"), 2, 1, 1, "211", "Hibernating"),
    6: (364, 1, Decimal("10.00"), 1, 2, 2, "122", "Hibernating"),
    7: (5, 2, Decimal("40.00"), 3, 3, 3, "333", "Need Attention"),
    8: NOT_SCORED,
    42: (2, 2, Decimal("50.00"), 4, 4, 4, "444", "Loyal"),
}


def test_rfm_as_of_an_earlier_date_uses_only_what_came_before_it(as_of):
    # Window [2025-06-10, 2026-06-10). Four customers bought (ntile(5) of 4 rows: 1,1,1,1):
    #   1: 06-05 (30), 05-01 (20) -> recency 5, frequency 2, money 50
    #   6: 2025-07-01 (10)        -> recency 344, 1, 10
    #   7: 06-01 (40)             -> recency 9, 1, 40 (the return on 06-25 is in the future)
    #  42: 2025-06-20 (10)        -> recency 355, 1, 10
    # R by recency desc: 42, 6, 7, 1 -> 1, 2, 3, 4.  F by frequency, id: 6, 7, 42, 1 -> 1, 2, 3, 4.
    # M by money, id: 6, 42 (tie on 10), 7, 1 -> 1, 2, 3, 4.
    # Segments: 1 (4,4) Loyal; 6 (2,1) Hibernating; 7 (3,2) About to Sleep; 42 (1,3) At Risk.
    # 4 and 5 buy after 06-10; 8 signs up on 06-20 and is not a customer yet.
    assert rfm(as_of(EARLIER)) == {
        1: (5, 2, Decimal("50.00"), 4, 4, 4, "444", "Loyal"),
        2: NOT_SCORED,
        3: NOT_SCORED,
        4: NOT_SCORED,
        5: NOT_SCORED,
        6: (344, 1, Decimal("10.00"), 2, 1, 1, "211", "Hibernating"),
        7: (9, 1, Decimal("40.00"), 3, 2, 3, "323", "About to Sleep"),
        42: (355, 1, Decimal("10.00"), 1, 3, 2, "132", "At Risk"),
    }


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
    # 5's R score is 2 only because 4 and 6 rank below it: the window needs every buyer.
    assert row == [(5, 15, 1, Decimal("5.00"), 2, 1, 1, "211", "Hibernating")]
    sent = [scan.sent for scan in connection.execute(f"SELECT {COLUMNS} FROM rfm WHERE customer_id = 5").scans
            if scan.source == "shop" and scan.table.startswith("orders")]
    assert len(sent) == 1 and "\"customer_id\" =" not in sent[0] and "\"order_ts\" <" in sent[0]


def test_rfm_on_mariadb_reads_one_row_per_buyer(tmp_path, mariadb):
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
        [scan] = [s for s in cursor.scans if s.source == "shop"]
        assert scan.table == "orders + order_items" and scan.rows == 6
        assert "GROUP BY `ro`.`customer_id`" in scan.sent and "LEFT JOIN `order_items`" in scan.sent
        assert "`ro`.`order_ts` >= CAST('2025-06-30 00:00:00' AS DATETIME)" in scan.sent
