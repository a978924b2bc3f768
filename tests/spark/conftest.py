"""One Spark session for every Spark test, and one project whose data lives in real sources.

The project (``spark_project``): the demo generator's data for 150 customers over 120 days, with
``shop`` in the session's MariaDB (JDBC through the MariaDB driver), ``crm`` in its PostgreSQL (an
``odbc`` source for the engine, JDBC with the PostgreSQL driver for Spark), ``partners`` as JSON
files and ``clicks`` as a local blob folder; the repository's ``queries/`` and ``models/``. Both
passwords are ``${ENV:...}`` references. The engine (``c360.connect``) and Spark read the same rows.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from c360.generate import Config, generate
from c360.generate.tables import TABLES, ddl
from c360.generate.targets import EmbeddedTarget

REPO = Path(__file__).resolve().parents[2]
END = dt.date(2026, 12, 1)
#: The two as-of dates every equality test runs at.
AS_OF_DATES = (dt.date(2026, 12, 1), dt.date(2026, 11, 20))
SHOP_PASSWORD_ENV = "C360_SPARK_TEST_SHOP_PASSWORD"
CRM_PASSWORD_ENV = "C360_SPARK_TEST_CRM_PASSWORD"


@pytest.fixture(scope="session")
def spark():
    """The one SparkSession of the test run (local[2])."""
    from c360.spark.session import start

    session = start("local[2]", conf={"spark.sql.shuffle.partitions": "2"})
    yield session
    session.stop()


def _rows(path: Path, table: str) -> list[tuple]:
    connection = sqlite3.connect(path)
    try:
        names = ", ".join(f'"{name}"' for name, _ in TABLES[table])
        return connection.execute(f"SELECT {names} FROM {table}").fetchall()
    finally:
        connection.close()


class Project:
    """The Spark tests' project: its catalog folder and the servers holding its data."""

    def __init__(self, catalog: Path, mariadb, postgres):
        self.catalog, self.mariadb, self.postgres = catalog, mariadb, postgres
        self.shop_password = mariadb.password
        self.crm_password = postgres.password


@pytest.fixture(scope="session")
def spark_project(tmp_path_factory, mariadb, postgres_odbc):
    """The generated data in MariaDB, PostgreSQL, JSON files and a blob folder, under one catalog."""
    root = tmp_path_factory.mktemp("spark_project")
    data = root / "demo-data"
    generate(Config(customers=150, days=120, seed=7, end=END, browsing_days=42), EmbeddedTarget(data))
    shop, crm = mariadb.child("spark"), postgres_odbc.child("spark")
    for table in ("products", "orders", "order_items"):
        rows = _rows(data / "shop.sqlite", table)
        marks = ", ".join(["%s"] * len(TABLES[table]))
        connection = shop.connect()
        with connection.cursor() as cursor:
            for statement in ddl(table, "mysql"):
                cursor.execute(statement)
            cursor.executemany(f"INSERT INTO `{table}` VALUES ({marks})", rows)
        connection.close()
    customers = _rows(data / "crm.sqlite", "customers")
    booleans = [i for i, (_, kind) in enumerate(TABLES["customers"]) if kind == "BOOLEAN"]
    customers = [tuple(None if v is None else bool(v) if i in booleans else v for i, v in enumerate(row))
                 for row in customers]
    with crm.connect() as connection:
        for statement in ddl("customers", "postgres"):
            connection.execute(statement)
        marks = ", ".join(["%s"] * len(TABLES["customers"]))
        with connection.cursor() as cursor:
            cursor.executemany(f'INSERT INTO "customers" VALUES ({marks})', customers)
        connection.execute("ANALYZE customers")
    shop.execute("ANALYZE TABLE orders, order_items, products")
    os.environ[SHOP_PASSWORD_ENV] = shop.password
    os.environ[CRM_PASSWORD_ENV] = crm.password
    catalog = root / "catalog"
    catalog.mkdir()
    (catalog / "sources.yaml").write_text(f"""
sources:
  shop:
    kind: mysql
    host: {shop.host}
    port: {shop.port}
    user: {shop.user}
    password: ${{ENV:{SHOP_PASSWORD_ENV}}}
    database: {shop.database}
  crm:
    kind: odbc
    dialect: postgres
    connection_string: "{crm.connection_string('${ENV:' + CRM_PASSWORD_ENV + '}')}"
""")
    for name in ("partners.yaml", "clicks.yaml"):
        shutil.copy(REPO / "catalog" / name, catalog / name)
    shutil.copytree(REPO / "queries", root / "queries")
    shutil.copytree(REPO / "models", root / "models")
    yield Project(catalog, shop, crm)
    os.environ.pop(SHOP_PASSWORD_ENV, None)
    os.environ.pop(CRM_PASSWORD_ENV, None)
