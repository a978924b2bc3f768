"""Small c360 projects on disk for tests: a catalog folder plus real SQLite files."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

SHOP_DDL = """
CREATE TABLE orders (
    order_id INTEGER, customer_id BIGINT, amount DECIMAL(12,2), order_ts TIMESTAMP, status VARCHAR(20)
);
INSERT INTO orders VALUES
  (1, 42, 12.99, '2026-01-01 10:00:00', 'paid'),
  (2, 43, 5.50, '2026-02-01 11:00:00', 'CANCELLED'),
  (3, 42, NULL, '2026-03-01 00:00:00', NULL),
  (4, 44, 100.00, '2026-03-02 09:30:00', 'paid');
CREATE TABLE customers (customer_id BIGINT, name TEXT, signup DATE);
INSERT INTO customers VALUES
    (42, 'Ann', '2025-01-01'), (43, 'Bob', '2025-06-01'), (44, 'Cy', NULL), (45, 'Dee', '2026-01-01');
"""


def sqlite_file(path: Path, ddl: str) -> Path:
    connection = sqlite3.connect(path)
    connection.executescript(ddl)
    connection.commit()
    connection.close()
    return path


def project(root: Path, catalog_yaml: str, *, views: dict[str, str] | None = None) -> Path:
    """Write ``root/catalog/sources.yaml`` (and ``root/queries/*.sql``); return the catalog folder."""
    catalog = root / "catalog"
    catalog.mkdir(parents=True, exist_ok=True)
    (catalog / "sources.yaml").write_text(textwrap.dedent(catalog_yaml))
    if views:
        queries = root / "queries"
        queries.mkdir(exist_ok=True)
        for name, sql in views.items():
            (queries / f"{name}.sql").write_text(textwrap.dedent(sql))
    return catalog


def shop_project(root: Path, **kwargs) -> Path:
    """A project with one SQLite source ``shop`` (orders, customers)."""
    sqlite_file(root / "shop.sqlite", SHOP_DDL)
    return project(root, """
        sources:
          shop:
            kind: sqlite
            path: ../shop.sqlite
    """, **kwargs)
