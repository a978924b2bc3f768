"""Single-source subqueries sent whole to an ``odbc`` source: the project's ``shop`` in PostgreSQL (through ODBC
for the engine, its JDBC driver for Spark, standing in for SQL Server). rfm's and purchase_features' per-buyer
GROUP BYs reach PostgreSQL (its log) in ranges of ``customer_id``, and the answers equal the engine's."""

from __future__ import annotations

import sqlite3
import time

import pytest

from c360.catalog import Catalog
from c360.generate.tables import TABLES, ddl
from c360.spark.project import SparkProject
from c360.spark.sources import SparkSources, exact_statement
from tests.spark.compare import assert_same_rows
from tests.spark.conftest import AS_OF_DATES, CRM_PASSWORD_ENV
from tests.spark.test_views import engine_answer

AS_OF = AS_OF_DATES[0]
SHOP_PG_PASSWORD_ENV = "C360_SPARK_TEST_SHOP_PG_PASSWORD"


@pytest.fixture(scope="module")
def pg_project(spark_project, tmp_path_factory, monkeypatch_module):
    """spark_project's data with ``shop`` in a PostgreSQL database of its own (an ``odbc`` source, dialect
    postgres); crm, partners and clicks as in spark_project. Returns ``(catalog folder, shop's server)``."""
    shop = spark_project.postgres.child("shoppg")
    data = spark_project.catalog.parent / "demo-data"
    source = sqlite3.connect(data / "shop.sqlite")
    try:
        with shop.connect() as connection:
            for table in ("products", "orders", "order_items"):
                for statement in ddl(table, "postgres"):
                    connection.execute(statement)
                names = ", ".join(f'"{name}"' for name, _ in TABLES[table])
                rows = source.execute(f"SELECT {names} FROM {table}").fetchall()
                marks = ", ".join(["%s"] * len(TABLES[table]))
                with connection.cursor() as cursor:
                    cursor.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)
            connection.execute("ANALYZE")
    finally:
        source.close()
    monkeypatch_module.setenv(SHOP_PG_PASSWORD_ENV, shop.password)
    catalog = tmp_path_factory.mktemp("spark_pg_project") / "catalog"
    catalog.mkdir()
    crm = spark_project.postgres
    (catalog / "sources.yaml").write_text(f"""
sources:
  shop:
    kind: odbc
    dialect: postgres
    connection_string: "{shop.connection_string('${ENV:' + SHOP_PG_PASSWORD_ENV + '}')}"
  crm:
    kind: odbc
    dialect: postgres
    connection_string: "{crm.connection_string('${ENV:' + CRM_PASSWORD_ENV + '}')}"
""")
    for name in ("partners.yaml", "clicks.yaml"):
        (catalog / name).write_text((spark_project.catalog / name).read_text())
    for folder in ("queries", "models"):
        (catalog.parent / folder).symlink_to(spark_project.catalog.parent / folder)
    (catalog.parent / "demo-data").symlink_to(data)
    return catalog, shop


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.mark.parametrize("view", ["rfm", "purchase_features"])
def test_a_per_buyer_group_by_reaches_postgresql_in_ranges_and_the_answer_equals_the_engine(spark, pg_project, view):
    catalog_folder, shop = pg_project
    catalog = Catalog(catalog_folder)
    sources = SparkSources(spark, catalog, rows_per_partition=50)
    project = SparkProject(spark, catalog, as_of=AS_OF, sources=sources)
    with shop.statement_log() as received:
        answer = project.frame(view).toArrow()
        time.sleep(0.3)
        statements = [s for s in received() if '"orders"' in s]
    assert_same_rows(engine_answer(catalog_folder, view, AS_OF), answer,
                     ["customer_id"] + (["category"] if view == "purchase_features" else []))
    grouped = [s for s in statements if "GROUP BY" in s and '"order_items"' in s]
    assert grouped, f"PostgreSQL received no GROUP BY over orders and order_items: {statements}"
    assert "SUM(" in grouped[0]
    # no order line left PostgreSQL one by one: every statement reading order_items aggregates it
    assert all("GROUP BY" in s for s in statements if '"order_items"' in s)
    [read] = [r for r in sources.reads.values()
              if r.statement and {"orders", "order_items"} <= set(r.table.split(" + "))]
    assert read.kind == "odbc" and read.url.startswith("jdbc:postgresql://")
    low, high, rows = shop.query("SELECT MIN(customer_id), MAX(customer_id), COUNT(*) FROM orders")[0]
    assert (read.partition_column, read.bounds, read.rows) == ("k1", (low, high), rows)
    assert read.partitions == min(2 * spark.sparkContext.defaultParallelism, -(-rows // 50)) > 1
    ranged = [s for s in grouped if '"k1" >= ' in s or '"k1" < ' in s]
    assert len(ranged) == read.partitions
    if view == "rfm":  # the history windows too, in ranges of the key they are partitioned by
        windowed = [s for s in statements if 'ROW_NUMBER() OVER (PARTITION BY "rh"."customer_id"' in s]
        [window] = [r for r in sources.reads.values() if r.statement and "ROW_NUMBER()" in r.statement]
        assert window.partition_column == "rh_customer_id" and window.partitions > 1
        assert len([s for s in windowed if '"rh_customer_id" >= ' in s or '"rh_customer_id" < ' in s]) \
            == window.partitions


def test_without_pushdown_postgresql_receives_no_group_by_and_the_answer_is_the_same(spark, pg_project):
    catalog_folder, shop = pg_project
    catalog = Catalog(catalog_folder)
    project = SparkProject(spark, catalog, as_of=AS_OF, sources=SparkSources(spark, catalog, rows_per_partition=50),
                           pushdown=False)
    with shop.statement_log() as received:
        answer = project.frame("rfm").toArrow()
        time.sleep(0.3)
        statements = [s for s in received() if '"orders"' in s]
    assert_same_rows(engine_answer(catalog_folder, "rfm", AS_OF), answer, ["customer_id"])
    assert statements and not any("GROUP BY" in s or " OVER " in s for s in statements)


def test_string_columns_of_a_statement_pushed_to_postgresql_compare_byte_for_byte_and_tsql_is_left_as_sent():
    import pyarrow as pa

    schema = pa.schema([("k1", pa.int64()), ("k2", pa.string())])
    assert exact_statement('SELECT 1 AS "k1", \'a\' AS "k2"', schema, "postgres") == (
        '(SELECT "k1" AS "k1", "k2" COLLATE "C" AS "k2" FROM (SELECT 1 AS "k1", \'a\' AS "k2") AS "c360_pushed") '
        'AS "c360_exact"')
    assert exact_statement("SELECT 1 AS [k1], 'a' AS [k2]", schema, "tsql") == \
        "(SELECT 1 AS [k1], 'a' AS [k2]) AS [c360_pushed]"
