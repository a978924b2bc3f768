"""A small, fixed Customer 360 world for the view tests, written by hand.

SQLite files for ``crm`` and ``shop``, JSON files for ``partners`` and hourly
``{yyyy}/{MM}/{dd}/{HH}/`` folders for ``clicks``, written and declared as the demo
generator writes them (:mod:`c360.generate.files`), under a catalog with the demo
catalog's table and column names, and the repository's ``queries/``
copied next to it. The expected values in the tests are worked out by hand from
the rows below; the comments say what each row is there to prove.

The two as-of dates used by the tests are ``AS_OF`` (2026-06-30) and
``EARLIER`` (2026-06-10).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from c360.generate.files import file_sources_yaml, write_browsing, write_partners
from c360.generate.targets import SqliteDatabase

REPO = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2026, 6, 30)
EARLIER = dt.date(2026, 6, 10)

CUSTOMERS = [
    # customer_id, first_name, last_name, email, phone, gender, birth_date, income_band, household_size,
    # head_of_household, city, state, country, signup_date, marketing_opt_in
    (1, "Ann", "Lee", "ann@example.com", None, "F", "1980-01-02", "50-75k", 2, 1, "Austin", "TX", "US",
     "2024-01-01", 1),
    (2, "Bob", "Ray", "bob@example.com", None, "M", "1975-03-04", None, 1, 0, "Boston", "MA", "US", "2024-02-01", 0),
    (3, "Cy", "Fox", None, None, None, None, None, None, None, None, None, "US", "2025-01-01", 0),
    (4, "Dee", "Kim", "dee@example.com", None, "F", "1990-05-06", "25-50k", 3, 1, "Denver", "CO", "US",
     "2024-03-01", 1),
    (5, "Eve", "Ng", "eve@example.com", None, "F", "1991-07-08", "25-50k", 1, 1, "Denver", "CO", "US", "2024-03-01", 1),
    (6, "Fay", "Orr", "fay@example.com", None, "F", "1960-09-10", "100k+", 2, 0, "Miami", "FL", "US", "2024-04-01", 0),
    (7, "Gus", "Poe", "gus@example.com", None, "M", "1985-11-12", "75-100k", 4, 1, "Seattle", "WA", "US",
     "2024-05-01", 1),
    (8, "Hal", "Qi", "hal@example.com", None, "M", "2000-12-13", None, None, None, "Reno", "NV", "US", "2026-06-20", 0),
    (42, "Ivy", "Roe", "ivy@example.com", "+1-201-555-0042", "F", "1988-02-14", "75-100k", 2, 1, "Portland", "OR", "US",
     "2024-06-01", 1),
]

PRODUCTS = [(1, "Laptop sleeve", "Technology", 10.00), (2, "Lamp", "Home", 20.00), (3, "Cable", "Technology", 5.00)]

ORDERS = [
    # order_id, customer_id, order_ts, channel, status
    (101, 1, "2026-06-29 18:00:00", "web", "completed"),
    (102, 1, "2026-06-05 10:00:00", "web", "completed"),
    (103, 1, "2026-05-01 10:00:00", "app", "completed"),
    (201, 2, "2026-06-20 12:00:00", "web", "cancelled"),   # customer 2 only ever cancels
    (202, 2, "2026-04-01 12:00:00", "web", "cancelled"),
    (401, 4, "2026-06-15 09:00:00", "web", "completed"),   # 4 and 5: the same recency, frequency, money
    (501, 5, "2026-06-15 14:00:00", "web", "completed"),
    (601, 6, "2026-06-30 00:00:00", "web", "completed"),   # exactly at the as-of instant: excluded
    (602, 6, "2025-07-01 08:00:00", "store", "completed"),  # 364 days before AS_OF
    (701, 7, "2026-06-25 10:00:00", "web", "returned"),    # an order, but no money
    (702, 7, "2026-06-01 10:00:00", "web", "completed"),
    (4201, 42, "2026-06-28 10:00:00", "web", "completed"),
    (4202, 42, "2026-06-21 10:00:00", "app", "completed"),
    (4203, 42, "2026-03-01 10:00:00", "web", "cancelled"),
    (4204, 42, "2025-06-20 10:00:00", "web", "completed"),  # inside EARLIER's 365 days, outside AS_OF's
]

ORDER_ITEMS = [
    # order_id, line_no, product_id, quantity, unit_price
    (101, 1, 1, 2, 10.00),
    (102, 1, 2, 1, 20.00), (102, 2, 3, 2, 5.00),
    (103, 1, 2, 1, 20.00),
    (201, 1, 1, 1, 10.00),
    (202, 1, 2, 1, 20.00),
    (401, 1, 3, 1, 5.00),
    (501, 1, 3, 1, 5.00),
    (601, 1, 2, 3, 20.00),
    (602, 1, 1, 1, 10.00),
    (701, 1, 1, 1, 10.00),
    (702, 1, 2, 2, 20.00),
    (4201, 1, 1, 3, 10.00),
    (4202, 1, 2, 1, 20.00),
    (4203, 1, 2, 1, 20.00),
    (4204, 1, 1, 1, 10.00),
]

PARTNERS = {
    "acme_data": [
        {"customer_id": 42, "partner": "acme_data", "interests": ["gadgets", "cooking"],
         "social": {"followers": 100, "sentiment": 0.5},
         "survey": {"nps": 9, "responded_at": "2026-01-10T00:00:00"}, "updated_at": "2026-05-01T00:00:00"},
        {"customer_id": 1, "partner": "acme_data", "interests": ["diy"],
         "social": {"followers": 5, "sentiment": -0.2}, "updated_at": "2026-06-20T00:00:00"},
    ],
    "socialscope": [  # schema drift: no survey, no sentiment here, an influencer tier
        {"customer_id": 42, "partner": "socialscope", "interests": ["gadgets", "gaming"],
         "social": {"followers": 250}, "influencer_tier": "micro", "updated_at": "2026-06-15T00:00:00"},
    ],
}  # customer 3 (and 2, 4-8) are in no partner file

BROWSING = [
    # window_start, customer_id, category, page_views, seconds (one-minute windows)
    ("2026-05-15 12:00:00", 42, "Home", 4, 44.0),          # inside EARLIER's 30 days only
    ("2026-05-30 23:59:00", 42, "Technology", 7, 70.0),    # one minute before AS_OF's 30 days
    ("2026-06-05 09:00:00", 42, "Technology", 5, 100.0),
    ("2026-06-22 23:59:00", 1, "Home", 2, 20.0),           # one minute before AS_OF's 7 days
    ("2026-06-23 00:00:00", 1, "Home", 1, 10.0),           # exactly AS_OF - 7 days: inside
    ("2026-06-25 10:00:00", 42, "Home", 2, 40.0),
    ("2026-06-29 20:00:00", 42, "Technology", 3, 60.0),
    ("2026-06-29 20:01:00", 42, "Technology", 1, 30.5),
    ("2026-06-30 00:00:00", 42, "Technology", 9, 90.0),    # at the as-of instant: excluded
]

CATALOG = """\
sources:
  crm:
    kind: sqlite
    path: ../crm.sqlite
  shop:
    kind: sqlite
    path: ../shop.sqlite
""" + file_sources_yaml("..")


def _database(path: Path, tables: dict[str, list[tuple]]) -> None:
    database = SqliteDatabase(path, list(tables))
    for table, rows in tables.items():
        database.insert(table, rows)
    database.commit()


def browsing_folder(window_start: str) -> str:
    """The hour folder of a window: ``2026/06/29/20`` (where the stream, and write_world, put it)."""
    return dt.datetime.fromisoformat(window_start).strftime("%Y/%m/%d/%H")


def write_world(root: Path) -> Path:
    """Write the world under ``root`` (the files as the demo generator writes them); return its catalog folder."""
    _database(root / "crm.sqlite", {"customers": CUSTOMERS})
    _database(root / "shop.sqlite", {"products": PRODUCTS, "orders": ORDERS, "order_items": ORDER_ITEMS})
    write_partners(root, [record for records in PARTNERS.values() for record in records])
    minute = dt.timedelta(minutes=1)
    write_browsing(root, [(dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(start) + minute, customer_id,
                           category, views, seconds) for start, customer_id, category, views, seconds in BROWSING])
    catalog = root / "catalog"
    catalog.mkdir()
    (catalog / "sources.yaml").write_text(CATALOG)
    shutil.copytree(REPO / "queries", root / "queries")
    return catalog
