"""``c360 spark query``, ``c360 spark build`` and ``c360 score --engine spark``, in process on the
test run's Spark session (a command given no ``--master`` uses the running session)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from typer.testing import CliRunner

import c360
from c360.cli import app
from tests.spark.compare import assert_same_rows
from tests.spark.conftest import AS_OF_DATES


def run(*arguments: str):
    result = CliRunner().invoke(app, list(arguments), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def engine(catalog, sql: str, as_of):
    connection = c360.connect(str(catalog))
    try:
        cursor = connection.cursor()
        cursor.execute(f"SET VARIABLE as_of = DATE '{as_of.isoformat()}'")
        cursor.execute(sql)
        return cursor.fetch_arrow()
    finally:
        connection.close()


def test_spark_query_answers_like_the_engine(spark, spark_project):
    sql = ("SELECT o.status, count(*) AS orders FROM shop.orders AS o "
           "WHERE o.order_ts < CAST(getvariable('as_of') AS TIMESTAMP) GROUP BY o.status")
    as_of = AS_OF_DATES[1]
    output = run("spark", "query", sql, "--as-of", as_of.isoformat(), "--format", "json",
                 "--catalog", str(spark_project.catalog))
    got = {row["status"]: row["orders"] for row in map(json.loads, output.splitlines())}
    expected = {row["status"]: row["orders"] for row in engine(spark_project.catalog, sql, as_of).to_pylist()}
    assert len(got) > 1
    assert got == expected


def test_spark_query_show_sql_prints_the_translation_and_runs_nothing(spark_project):
    output = run("spark", "query", "SELECT count(*) FROM shop.orders WHERE order_ts < getvariable('as_of')",
                 "--show-sql", "--catalog", str(spark_project.catalog))
    assert "FROM shop__orders" in output and ":as_of" in output


def test_spark_build_writes_the_view_for_every_customer_as_parquet(spark, spark_project, tmp_path):
    as_of = AS_OF_DATES[0]
    out = tmp_path / "rfm"
    output = run("spark", "build", "rfm", "--as-of", as_of.isoformat(), "-o", str(out),
                 "--catalog", str(spark_project.catalog), "--rows-per-partition", "50")
    expected = engine(spark_project.catalog, "SELECT * FROM rfm", as_of)
    assert f"wrote {expected.num_rows:,} rows of rfm as of {as_of}" in output
    # rfm's per-buyer GROUP BY and its windows are computed by MariaDB; crm.customers is read in ranges
    orders = spark_project.mariadb.query("SELECT COUNT(*) FROM orders")[0][0]
    partitions = min(2 * spark.sparkContext.defaultParallelism, -(-orders // 50))
    assert partitions > 1
    # each pushed statement is read in ranges of its GROUP BY / PARTITION BY key
    assert f"shop.orders + order_items: a statement the source computes (pushed), {partitions} JDBC partition(s) " \
           "on k1" in output
    assert "shop.orders: a statement the source computes (pushed)" in output
    assert f"crm.customers: {customer_partitions(spark, spark_project)} JDBC partitions on customer_id" in output
    assert_same_rows(expected, pq.read_table(out), ["customer_id"])


def customer_partitions(spark, spark_project, rows_per_partition: int = 50) -> int:
    customers = spark_project.postgres.query("SELECT COUNT(*) FROM customers")[0][0]
    partitions = min(2 * spark.sparkContext.defaultParallelism, -(-customers // rows_per_partition))
    assert partitions > 1
    return partitions


def test_spark_build_without_pushdown_reads_the_shop_tables_in_ranges(spark, spark_project, tmp_path):
    as_of = AS_OF_DATES[0]
    out = tmp_path / "rfm"
    output = run("spark", "build", "rfm", "--as-of", as_of.isoformat(), "-o", str(out), "--no-pushdown",
                 "--catalog", str(spark_project.catalog), "--rows-per-partition", "50")
    orders = spark_project.mariadb.query("SELECT COUNT(*) FROM orders")[0][0]
    partitions = min(2 * spark.sparkContext.defaultParallelism, -(-orders // 50))
    assert partitions > 1 and f"shop.orders: {partitions} JDBC partitions on order_id" in output
    assert "pushed" not in output
    assert_same_rows(engine(spark_project.catalog, "SELECT * FROM rfm", as_of), pq.read_table(out), ["customer_id"])


def test_score_with_the_spark_engine_writes_the_engines_predictions(spark, spark_project, tmp_path):
    as_of = AS_OF_DATES[1].isoformat()
    on_spark, on_engine = tmp_path / "spark.parquet", tmp_path / "engine.parquet"
    output = run("score", "--engine", "spark", "--as-of", as_of, "-o", str(on_spark), "--rows-per-partition", "50",
                 "--catalog", str(spark_project.catalog))
    run("score", "--as-of", as_of, "-o", str(on_engine), "--catalog", str(spark_project.catalog))
    assert f"crm.customers: {customer_partitions(spark, spark_project)} JDBC partitions on customer_id" in output
    assert_same_rows(pq.read_table(on_engine), pq.read_table(on_spark), ["customer_id"])


def test_a_spark_error_is_one_line_naming_the_problem(spark, spark_project, capsys):
    from c360.cli import main

    status = main(["spark", "query", "SELECT o.no_such_column FROM shop.orders AS o",
                   "--catalog", str(spark_project.catalog)])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: Spark: ") and "no_such_column" in err and len(err.strip().splitlines()) == 1
