"""Folder-template pruning on Spark: a view bounded in time reads only its periods' folders."""

from __future__ import annotations

import datetime as dt
import re

import sqlglot

from c360.spark.pruning import bounds
from c360.spark.views import DuckDBAsWritten
from tests.spark.compare import assert_same_rows
from tests.spark.conftest import AS_OF_DATES

WINDOW = """
SELECT bw.customer_id FROM clicks.browsing AS bw JOIN shop.orders AS o ON o.customer_id = bw.customer_id
WHERE bw.partition_hour >= CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) - INTERVAL 30 DAY
  AND bw.partition_hour < CAST(coalesce(getvariable('as_of'), current_date) AS TIMESTAMP) AND o.status <> 'x'
"""


def _browsing(sql: str):
    tree = sqlglot.parse_one(sql, read=DuckDBAsWritten)
    return next(t for t in tree.find_all(sqlglot.exp.Table) if t.name == "browsing")


def test_the_bounds_are_the_where_clauses_window_as_of_the_date():
    assert bounds(_browsing(WINDOW), "partition_hour", dt.date(2026, 11, 20)) == (
        dt.datetime(2026, 10, 21), dt.datetime(2026, 11, 20))


def test_without_an_as_of_date_the_window_is_todays_widened_by_a_day():
    low, high = bounds(_browsing(WINDOW), "partition_hour", None)
    today = dt.datetime.combine(dt.date.today(), dt.time())
    day = dt.timedelta(days=1)
    assert today - 32 * day <= low <= today - 30 * day and high >= today + day


def test_an_unbounded_or_indirect_read_is_not_pruned():
    as_of = dt.date(2026, 11, 20)
    one_sided = WINDOW.replace("AND bw.partition_hour <", "OR bw.partition_hour <")
    assert bounds(_browsing(one_sided), "partition_hour", as_of) is None
    other_table = WINDOW.replace("bw.partition_hour", "o.order_ts")
    assert bounds(_browsing(other_table), "partition_hour", as_of) is None
    in_a_subquery = "SELECT * FROM (SELECT * FROM clicks.browsing) AS b WHERE b.partition_hour >= DATE '2026-01-01'"
    assert bounds(_browsing(in_a_subquery), "partition_hour", as_of) is None


def _days(paths) -> set[dt.date]:
    found = (re.search(r"/(\d{4})/(\d{2})/(\d{2})/\d{2}/[^/]*$", path) for path in paths)
    return {dt.date(*map(int, match.groups())) for match in found if match}


def test_browsing_features_reads_only_the_folders_of_its_30_days(spark, spark_project):
    from c360.catalog import Catalog
    from c360.spark.project import SparkProject
    from c360.spark.sources import SparkSources
    from tests.spark.test_views import engine_answer

    catalog = Catalog(spark_project.catalog)
    as_of = AS_OF_DATES[1]
    sources = SparkSources(spark, catalog)
    answer = SparkProject(spark, catalog, as_of=as_of, sources=sources).frame("browsing_features").toArrow()
    [(name, read)] = [(n, r) for n, r in sources.reads.items() if r.table == "browsing"]
    assert read.pruned and 0 < len(read.paths) <= 31
    read_days = _days(spark.table(name).inputFiles())  # the files Spark's scan of the view reads
    all_days = _days(SparkSources(spark, catalog).dataframe("clicks", "browsing")[0].inputFiles())
    first = as_of - dt.timedelta(days=30)
    # [first, as_of): the day folders from first's to as_of's (its hour 00 is a bound's superset, as in the engine)
    assert read_days and all(first <= day <= as_of for day in read_days)
    assert min(all_days) < first and max(all_days) > as_of  # the table has folders on both sides
    assert_same_rows(engine_answer(spark_project.catalog, "browsing_features", as_of), answer,
                     ["customer_id", "category"])
