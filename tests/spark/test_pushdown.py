"""Single-source subqueries sent to MariaDB whole: rfm's per-buyer GROUP BY reaches MariaDB (its general log),
the answers still equal the engine's, and without the pushdown MariaDB receives no GROUP BY."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest
import sqlglot

from c360.catalog import Catalog
from c360.spark.project import SparkProject
from c360.spark.pushdown import window_key
from c360.spark.sources import SparkSources, exact_statement
from connectors.base import Column, TableSchema
from tests.spark.compare import assert_same_rows
from tests.spark.conftest import AS_OF_DATES
from tests.spark.test_sources import general_log
from tests.spark.test_views import engine_answer

AS_OF = AS_OF_DATES[0]


def run(spark, spark_project, view: str, *, pushdown: bool):
    """The view on a project of its own (nothing cached), with what MariaDB received while it ran."""
    catalog = Catalog(spark_project.catalog)
    sources = SparkSources(spark, catalog, rows_per_partition=50)
    project = SparkProject(spark, catalog, as_of=AS_OF, sources=sources, pushdown=pushdown)
    with general_log(spark_project.mariadb) as received:
        answer = project.frame(view).toArrow()
        time.sleep(0.2)
        statements = received()
    return answer, [s for s in statements if "`orders`" in s], sources, project


@pytest.mark.parametrize("view", ["rfm", "purchase_features"])
def test_a_per_buyer_group_by_reaches_mariadb_and_the_answer_equals_the_engine(spark, spark_project, view):
    answer, statements, sources, _ = run(spark, spark_project, view, pushdown=True)
    assert_same_rows(engine_answer(spark_project.catalog, view, AS_OF), answer,
                     ["customer_id"] + (["category"] if view == "purchase_features" else []))
    grouped = [s for s in statements if "GROUP BY `" in s and "`order_items`" in s]
    assert grouped, f"MariaDB received no GROUP BY over orders and order_items: {statements}"
    assert "SUM(" in grouped[0] and "COUNT(DISTINCT" in grouped[0]
    # no order line left MariaDB one by one: every statement reading order_items aggregates it
    assert all("GROUP BY" in s for s in statements if "`order_items`" in s)
    pushed = [read for read in sources.reads.values() if read.statement]
    [read] = [r for r in pushed if "orders" in r.table.split(" + ") and "order_items" in r.table.split(" + ")]
    # read in ranges of the GROUP BY key (bounds from orders.customer_id), each range one grouped statement
    low, high, rows = spark_project.mariadb.query("SELECT MIN(customer_id), MAX(customer_id), COUNT(*) FROM orders")[0]
    assert (read.partition_column, read.bounds, read.rows) == ("k1", (low, high), rows)
    assert read.partitions == min(2 * spark.sparkContext.defaultParallelism, -(-rows // 50)) > 1
    ranged = [s for s in grouped if "`k1` >= " in s or "`k1` < " in s]
    assert len(ranged) == read.partitions


def test_without_pushdown_mariadb_receives_no_group_by_and_the_answer_is_the_same(spark, spark_project):
    answer, statements, sources, project = run(spark, spark_project, "rfm", pushdown=False)
    assert_same_rows(engine_answer(spark_project.catalog, "rfm", AS_OF), answer, ["customer_id"])
    assert statements and not any("GROUP BY" in s or " OVER " in s for s in statements)
    assert project.pushdown is None and not any(read.statement for read in sources.reads.values())


def test_rfm_windows_over_orders_reach_mariadb_in_ranges_of_their_partition_key(spark, spark_project):
    answer, statements, sources, _ = run(spark, spark_project, "rfm", pushdown=True)
    windowed = [s for s in statements if "ROW_NUMBER() OVER (PARTITION BY `rh`.`customer_id`" in s]
    assert windowed
    # read in ranges of customer_id, the key every window is partitioned by (each range holds whole partitions)
    [read] = [r for r in sources.reads.values() if r.statement and "ROW_NUMBER()" in r.statement]
    low, high, rows = spark_project.mariadb.query("SELECT MIN(customer_id), MAX(customer_id), COUNT(*) FROM orders")[0]
    assert (read.partition_column, read.bounds, read.rows) == ("rh_customer_id", (low, high), rows)
    assert read.partitions > 1
    assert len([s for s in windowed if "`rh_customer_id` >= " in s or "`rh_customer_id` < " in s]) == read.partitions
    # and the windows' columns (days_since_first_order, the gaps) still equal the engine's
    assert_same_rows(engine_answer(spark_project.catalog, "rfm", AS_OF), answer, ["customer_id"])


def test_a_window_statement_is_split_only_by_a_key_every_window_is_partitioned_by():
    schema = TableSchema("s", [Column("c", pa.int64()), Column("t", pa.timestamp("us")), Column("w1", pa.int64()),
                               Column("w2", pa.int64())])

    def key(first: str, second: str):
        sql = (f"SELECT `_w`.`c` AS `c`, `_w`.`t` AS `t`, `_w`.`w1` AS `w1`, `_w`.`w2` AS `w2` FROM (SELECT "
               f"`o`.`customer_id` AS `c`, `o`.`order_ts` AS `t`, COUNT(*) OVER (PARTITION BY {first}) AS `w1`, "
               f"ROW_NUMBER() OVER (PARTITION BY {second} ORDER BY `o`.`order_ts`) AS `w2` FROM `orders` AS `o`) "
               "AS `_w` WHERE `_w`.`w2` = 1")
        return window_key(sqlglot.parse_one(sql, read="mysql"), schema)

    assert key("`o`.`customer_id`", "`o`.`customer_id`, `o`.`order_ts`") == ("c", "orders", "customer_id")
    assert key("`o`.`customer_id`", "`o`.`order_ts`") is None  # no key common to both windows
    assert key("`o`.`order_ts`", "`o`.`order_ts`") is None  # the common key is not an integer


def test_a_plain_filter_stays_a_partitioned_read_and_a_note_says_why(spark, spark_project):
    catalog = Catalog(spark_project.catalog)
    project = SparkProject(spark, catalog, as_of=AS_OF, sources=SparkSources(spark, catalog, rows_per_partition=50))
    got = project.query("SELECT o.order_id FROM shop.orders AS o WHERE o.customer_id = 42").toArrow()
    truth = spark_project.mariadb.query("SELECT order_id FROM orders WHERE customer_id = 42")
    assert sorted(got.column("order_id").to_pylist()) == sorted(row[0] for row in truth)
    reads = list(project.sources.reads.values())
    assert not any(read.statement for read in reads) and reads[0].partitions > 1
    assert any("only filters and columns of shop.orders" in note for note in project.pushdown.notes)


def test_string_columns_of_a_pushed_statement_compare_byte_for_byte():
    schema = pa.schema([("k1", pa.int64()), ("k2", pa.string())])
    sql = exact_statement("SELECT 1 AS `k1`, 'a' AS `k2`", schema)
    assert sql == ("(SELECT `k1` AS `k1`, CAST(`k2` AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_nopad_bin AS `k2` "
                   "FROM (SELECT 1 AS `k1`, 'a' AS `k2`) AS `c360_pushed`) AS `c360_exact`")
    assert exact_statement("SELECT 1 AS k1", pa.schema([("k1", pa.int64())])) == "(SELECT 1 AS k1) AS `c360_pushed`"
