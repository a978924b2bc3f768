"""Catalog tables as Spark reads: range-partitioned JDBC, filters MariaDB receives, the quoting trap,
files with their declared schema and folder-template column, and no password in any plan."""

from __future__ import annotations

import contextlib
import time

import pytest

from c360.catalog import Catalog
from c360.spark.sources import SparkSources, mysql_location, partition_count


@pytest.fixture(scope="module")
def catalog(spark_project):
    return Catalog(spark_project.catalog)


@pytest.fixture(scope="module")
def sources(spark, catalog):
    return SparkSources(spark, catalog, rows_per_partition=40, max_partitions=4)


def plan(frame) -> str:
    """Every plan Spark keeps for a DataFrame (parsed, analysed, optimised, physical), as text."""
    return frame._jdf.queryExecution().toString()


def test_a_jdbc_table_is_read_in_key_ranges_chosen_from_its_statistics(sources, spark_project):
    frame, read = sources.dataframe("shop", "orders")
    low, high, rows = spark_project.mariadb.query("SELECT MIN(order_id), MAX(order_id), COUNT(*) FROM orders")[0]
    assert (read.partition_column, read.bounds, read.rows) == ("order_id", (low, high), rows)
    assert read.partitions == min(4, -(-rows // 40)) > 1
    assert frame.rdd.getNumPartitions() == read.partitions
    assert f"numPartitions={read.partitions}" in plan(frame)
    assert frame.count() == rows  # the ranges cover every row once


def test_the_postgres_table_is_read_through_its_jdbc_driver(sources, spark_project):
    frame, read = sources.dataframe("crm", "customers")
    assert read.url.startswith("jdbc:postgresql://")
    assert frame.count() == spark_project.postgres.query("SELECT COUNT(*) FROM customers")[0][0]
    assert read.partition_column == "customer_id"


def test_partition_count_follows_rows_and_caps():
    assert partition_count(0, 1, 0, rows_per_partition=10, max_partitions=8) == 1
    assert partition_count(25, 1, 100, rows_per_partition=10, max_partitions=8) == 3
    assert partition_count(1000, 1, 100, rows_per_partition=10, max_partitions=8) == 8
    assert partition_count(1000, 5, 6, rows_per_partition=10, max_partitions=8) == 2  # one per key value at most


@contextlib.contextmanager
def general_log(mariadb):
    """MariaDB's general log into mysql.general_log while the block runs (the previous settings restored)."""
    (output, enabled), = mariadb.admin_query("SELECT @@global.log_output, @@global.general_log")
    mariadb.admin_query("SET GLOBAL log_output = 'TABLE'")
    mariadb.admin_query("SET GLOBAL general_log = 1")
    started = mariadb.admin_query("SELECT NOW(6)")[0][0]
    try:
        yield lambda: [row[0].decode() if isinstance(row[0], bytes) else row[0] for row in mariadb.admin_query(
            "SELECT argument FROM mysql.general_log WHERE event_time >= %s AND user_host LIKE %s "
            "AND command_type IN ('Query', 'Execute')", (started, f"{mariadb.user}[%"))]
    finally:
        mariadb.admin_query("SET GLOBAL general_log = %s", (int(enabled),))
        mariadb.admin_query("SET GLOBAL log_output = %s", (output,))


def test_a_filter_and_the_projection_reach_mariadb(spark, sources, spark_project):
    sources.register("shop", "orders")
    with general_log(spark_project.mariadb) as received:
        got = spark.sql("SELECT order_id FROM shop__orders WHERE customer_id = 42 AND status = 'returned'").collect()
        time.sleep(0.2)
        statements = [s for s in received() if "FROM `orders`" in s and "`customer_id`" in s]
    expected = spark_project.mariadb.query(
        "SELECT order_id FROM orders WHERE customer_id = 42 AND status = 'returned'")
    assert sorted(r[0] for r in got) == sorted(r[0] for r in expected)
    assert statements, "MariaDB received no SELECT of orders"
    for statement in statements:  # every range partition's SELECT carries the filters and only the columns read
        assert "`customer_id` = 42" in statement and "`status` = 'returned'" in statement
        assert statement.split(" FROM ")[0] == "SELECT `order_id`"  # only the column the query reads


def test_the_mariadb_url_trap_is_avoided(spark, catalog, spark_project):
    """With jdbc:mariadb:// Spark quotes "customer_id" and MariaDB compares a string constant: no rows.
    c360's jdbc:mysql:// URL makes Spark use backticks and the answer is right."""
    location = mysql_location(catalog.source("shop"))
    assert location.url.startswith("jdbc:mysql://")
    truth = spark_project.mariadb.query("SELECT COUNT(*) FROM orders WHERE customer_id = 42")[0][0]
    assert truth > 0

    def count(url: str) -> int:
        options = {**location.options(), "url": url}
        frame = spark.read.format("jdbc").options(**options).option("dbtable", "orders").load()
        return frame.filter("customer_id = 42").count()

    assert count(location.url) == truth
    trapped = location.url.replace("jdbc:mysql:", "jdbc:mariadb:").split("?")[0]
    assert count(trapped) != truth  # the generic dialect's "customer_id" = 42: silently wrong


def test_no_password_reaches_a_plan_or_the_configuration(spark, sources, spark_project):
    frames = [sources.dataframe("shop", "orders")[0], sources.dataframe("crm", "customers")[0]]
    texts = [plan(f.filter("customer_id = 7")) for f in frames]
    texts += [str(v) for _, v in spark.sparkContext.getConf().getAll()]
    for password in (spark_project.shop_password, spark_project.crm_password):
        assert len(password) > 6
        assert not any(password in text for text in texts)


def test_blob_files_get_the_folder_templates_hour_and_the_declared_types(sources, spark_project):
    frame, read = sources.dataframe("clicks", "browsing")
    types = dict(frame.dtypes)
    assert types["partition_hour"] == "timestamp_ntz" and types["window_start"] == "timestamp_ntz"
    assert types["customer_id"] == "bigint" and types["seconds"] == "double"
    wrong = frame.filter("date_trunc('HOUR', window_start) <> partition_hour").count()
    assert frame.count() > 0 and wrong == 0  # each file's folder is its windows' hour


def test_partner_json_keeps_nested_and_list_columns(sources):
    frame, _ = sources.dataframe("partners", "enrichment")
    types = dict(frame.dtypes)
    assert types["interests"] == "array<string>"
    assert types["social"] == "struct<followers:bigint,sentiment:double>"
    assert frame.filter("updated_at IS NULL").count() == 0


def test_string_filters_pushed_to_mariadb_keep_sparks_case_and_trailing_space_meaning(spark, spark_project):
    """MariaDB's utf8mb4_general_ci finds 'Cancelled' and 'cancelled ' equal to 'cancelled'; Spark does
    not check a pushed filter again, so the read compares the column byte for byte instead."""
    spark_project.mariadb.execute(
        "CREATE TABLE labels (id INT PRIMARY KEY, label VARCHAR(20))",
        "INSERT INTO labels VALUES (1, 'cancelled'), (2, 'Cancelled'), (3, 'cancelled '), (4, 'CANCELLED'), (5, 'b')")
    catalog = Catalog(spark_project.catalog)
    catalog.refresh("shop")
    frame, _ = SparkSources(spark, catalog).dataframe("shop", "labels")
    assert spark_project.mariadb.query("SELECT COUNT(*) FROM labels WHERE label = 'cancelled'")[0][0] == 4
    assert sorted(r.id for r in frame.filter("label = 'cancelled'").collect()) == [1]
    assert sorted(r.id for r in frame.filter("label <> 'cancelled'").collect()) == [2, 3, 4, 5]
    assert sorted(r.id for r in frame.filter("label < 'a'").collect()) == [2, 4]  # bytes: 'C' < 'a'
    assert "PushedFilters: [*IsNotNull(label), *EqualTo(label,cancelled)]" in plan(frame.filter("label = 'cancelled'"))
