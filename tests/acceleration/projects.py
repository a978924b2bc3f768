"""A small project with accelerated copies: a SQLite shop whose rows a test can change, and a view over it."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

from tests.projects import project

ORDERS = [
    (1, 42, 10.0, "2026-03-01 10:00:00"),
    (2, 43, 20.0, "2026-03-01 11:00:00"),
    (3, 42, 30.0, "2026-03-02 09:00:00"),
    (4, 44, 40.0, "2026-03-02 12:00:00"),
]

VIEWS = {"spend": "SELECT o.customer_id, sum(o.amount) AS total, count(*) AS orders "
                  "FROM shop.orders AS o GROUP BY o.customer_id"}


def accelerated_project(root: Path, acceleration: str) -> Path:
    """``root/shop.sqlite`` (orders with ``updated_at``) and a catalog with ``acceleration`` (YAML text)."""
    connection = sqlite3.connect(root / "shop.sqlite")
    connection.execute("CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id BIGINT, amount DOUBLE, "
                       "updated_at TIMESTAMP)")
    connection.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", ORDERS)
    connection.commit()
    connection.close()
    return project(root, """
        sources:
          shop:
            kind: sqlite
            path: ../shop.sqlite
    """ + textwrap.indent(textwrap.dedent(acceleration), " " * 8), views=VIEWS)


def shop(root: Path, sql: str, *params) -> None:
    """Change the project's orders (a real write to the SQLite file the source reads)."""
    connection = sqlite3.connect(root / "shop.sqlite")
    connection.execute(sql, params)
    connection.commit()
    connection.close()
