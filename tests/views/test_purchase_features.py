"""``queries/purchase_features.sql`` on the fixed world: spend and order counts per category over
10, 30, 60 and 365 days, worked out by hand from :mod:`tests.views.world`."""

from __future__ import annotations

from decimal import Decimal as D

from tests.views.world import AS_OF, EARLIER

COLUMNS = ("customer_id, category, spend_10d, spend_30d, spend_60d, spend_365d, orders_10d, orders_30d, "
           "orders_60d, orders_365d, days_since_last_purchase, avg_basket_365d")


def features(connection, where: str = "TRUE"):
    return connection.execute(
        f"SELECT {COLUMNS} FROM purchase_features WHERE {where} ORDER BY customer_id, category"
    ).fetchall()


def test_purchases_as_of_june_30_per_category_and_window(as_of):
    # Windows start 06-20 (10 d), 05-31 (30 d), 05-01 00:00 (60 d), 2025-06-30 (365 d); all end before 06-30.
    # Products: 1 and 3 are Technology, 2 is Home.
    rows = features(as_of(AS_OF))
    assert rows == [
        # 1: 101 06-29 Tech 20; 102 06-05 Home 20 + Tech 10; 103 05-01 10:00 Home 20
        (1, "Home", D("0"), D("20"), D("40"), D("40"), 0, 1, 2, 2, 25, D("20")),
        (1, "Technology", D("20"), D("30"), D("30"), D("30"), 1, 2, 2, 2, 1, D("15")),
        # 2 only cancelled: no rows. 4 and 5: 06-15 Tech 5.
        (4, "Technology", D("0"), D("5"), D("5"), D("5"), 0, 1, 1, 1, 15, D("5")),
        (5, "Technology", D("0"), D("5"), D("5"), D("5"), 0, 1, 1, 1, 15, D("5")),
        # 6: 602 2025-07-01 Tech 10; 601 (Home, at the as-of instant) is excluded
        (6, "Technology", D("0"), D("0"), D("0"), D("10"), 0, 0, 0, 1, 364, D("10")),
        # 7: 701 06-25 Tech, returned: an order worth nothing; 702 06-01 Home 40
        (7, "Home", D("0"), D("40"), D("40"), D("40"), 0, 1, 1, 1, 29, D("40")),
        (7, "Technology", D("0"), D("0"), D("0"), D("0"), 1, 1, 1, 1, 5, D("0")),
        # 42: 4201 06-28 Tech 30, 4202 06-21 Home 20; 4203 cancelled; 4204 before the 365 days
        (42, "Home", D("20"), D("20"), D("20"), D("20"), 1, 1, 1, 1, 9, D("20")),
        (42, "Technology", D("30"), D("30"), D("30"), D("30"), 1, 1, 1, 1, 2, D("30")),
    ]


def test_purchases_as_of_june_10_leave_out_later_orders(as_of):
    # Windows start 05-31 (10 d), 05-11 (30 d), 04-11 (60 d), 2025-06-10 (365 d); all end before 06-10.
    rows = features(as_of(EARLIER), "customer_id IN (1, 7, 42)")
    assert rows == [
        (1, "Home", D("20"), D("20"), D("40"), D("40"), 1, 1, 2, 2, 5, D("20")),
        (1, "Technology", D("10"), D("10"), D("10"), D("10"), 1, 1, 1, 1, 5, D("10")),
        (7, "Home", D("40"), D("40"), D("40"), D("40"), 1, 1, 1, 1, 9, D("40")),
        (42, "Technology", D("0"), D("0"), D("0"), D("10"), 0, 0, 0, 1, 355, D("10")),
    ]
