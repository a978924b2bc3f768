"""Partition values from paths, exact pruning, and listing narrowed to the periods asked for."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
import sqlglot

from c360.errors import CatalogError
from connectors.base import Column, TableSchema
from connectors.files.layout import FileEntry
from connectors.files.partitions import Partitioning, partition_filters, prune, time_bounds


def parse(sql: str):
    return sqlglot.parse_one(sql, read="duckdb")


def test_template_partitioning_reads_the_hour_from_the_path():
    partitioning = Partitioning.from_declaration(
        {"template": "{yyyy}/{MM}/{dd}/{HH}/", "column": "partition_hour"}, where="t"
    )
    assert partitioning.parse("2026/11/01/13/0_x.json") == {"partition_hour": dt.datetime(2026, 11, 1, 13)}
    assert partitioning.parse("misc/readme.json") is None
    assert partitioning.parse("2026/13/01/13/0_x.json") is None  # month 13 is not a time
    (column,) = partitioning.columns([])
    assert column.partition and column.type == pa.timestamp("us")


def test_template_with_an_unknown_token_is_a_catalog_error():
    with pytest.raises(CatalogError, match=r"unknown token '\{week\}'"):
        Partitioning.from_declaration({"template": "{yyyy}/{week}/", "column": "p"}, where="t")


def test_partitioning_without_template_or_hive_is_a_catalog_error():
    with pytest.raises(CatalogError, match="needs a 'template'"):
        Partitioning.from_declaration({"style": "spark"}, where="t")


def test_hive_partition_types_are_date_bigint_or_varchar_by_their_values():
    partitioning = Partitioning.from_declaration({"style": "hive"}, where="t")
    paths = ["day=2026-11-01/n=1/region=eu/f.csv", "day=2026-11-02/n=20/region=us%20east/f.csv"]
    entries = [FileEntry(p, 1, tuple(partitioning.parse(p).items())) for p in paths]
    assert entries[1].partitions[2] == ("region", "us east")
    types = {c.name: c.type for c in partitioning.columns(entries)}
    assert types == {"day": pa.date32(), "n": pa.int64(), "region": pa.string()}
    assert all(c.partition for c in partitioning.columns(entries))


def test_hive_declared_partition_types_win_over_inference():
    partitioning = Partitioning.from_declaration({"style": "hive", "columns": {"n": "VARCHAR"}}, where="t")
    entries = [FileEntry("n=1/f.csv", 1, (("n", "1"),))]
    assert [c.type for c in partitioning.columns(entries)] == [pa.string()]


HOURS = TableSchema(
    "t",
    (Column("clicks", pa.int64()), Column("partition_hour", pa.timestamp("us"), partition=True)),
)


def hour_entries():
    return [
        FileEntry(f"2026/11/01/{h:02d}/f.json", 1, (("partition_hour", dt.datetime(2026, 11, 1, h)),))
        for h in range(0, 24)
    ]


def test_prune_keeps_exactly_the_files_whose_partition_values_satisfy_the_predicate():
    entries = hour_entries()
    kept = prune(
        entries,
        [parse("partition_hour BETWEEN TIMESTAMP '2026-11-01 10:00' AND TIMESTAMP '2026-11-01 12:00'")],
        HOURS,
    )
    assert [e.key for e in kept] == [f"2026/11/01/{h}/f.json" for h in (10, 11, 12)]


def test_prune_evaluates_or_not_and_in_exactly():
    entries = hour_entries()
    predicate = parse(
        "NOT (partition_hour < TIMESTAMP '2026-11-01 22:00') "
        "OR EXTRACT(hour FROM partition_hour) IN (1, 3)"
    )
    kept = prune(entries, [predicate], HOURS)
    assert [dict(e.partitions)["partition_hour"].hour for e in kept] == [1, 3, 22, 23]


def test_prune_ignores_filters_that_touch_data_columns():
    entries = hour_entries()
    mixed = parse("clicks > 3 OR partition_hour = TIMESTAMP '2026-11-01 05:00'")
    assert partition_filters([mixed], HOURS) == []
    assert prune(entries, [mixed, parse("clicks > 100")], HOURS) == entries


HOURLY = Partitioning.from_declaration({"template": "{yyyy}/{MM}/{dd}/{HH}/", "column": "partition_hour"}, where="t")


def test_time_bounds_come_from_top_level_comparisons_between_and_in():
    filters = [
        parse("partition_hour >= TIMESTAMP '2026-11-01 11:00' AND partition_hour < '2026-11-02'"),
        parse("DATE '2026-11-01' <= partition_hour"),
        parse("partition_hour <> TIMESTAMP '2026-11-01 12:00'"),
    ]
    assert time_bounds(filters, "partition_hour") == (dt.datetime(2026, 11, 1, 11), dt.datetime(2026, 11, 2))
    between = [parse("partition_hour BETWEEN '2026-11-01 03:00' AND '2026-11-01 05:00'")]
    assert time_bounds(between, "partition_hour") == (dt.datetime(2026, 11, 1, 3), dt.datetime(2026, 11, 1, 5))
    listed = [parse("partition_hour IN ('2026-11-03 01:00', '2026-11-01 02:00')")]
    assert time_bounds(listed, "partition_hour") == (dt.datetime(2026, 11, 1, 2), dt.datetime(2026, 11, 3, 1))


def test_literal_time_bounds_are_read_without_duckdb_as_duckdb_reads_them():
    import duckdb

    closed = duckdb.connect()
    closed.close()  # a bound that needed DuckDB would fail here and leave that side unbounded
    filters = [parse("partition_hour >= TIMESTAMP '2026-11-01 11:00' AND partition_hour <= '2026-11-02 03:04:05.25'")]
    assert time_bounds(filters, "partition_hour", closed) == (dt.datetime(2026, 11, 1, 11),
                                                              dt.datetime(2026, 11, 2, 3, 4, 5, 250000))
    assert time_bounds([parse("partition_hour BETWEEN DATE '2026-11-01' AND CAST('2026-11-03 01:00:00' AS TIMESTAMP)")],
                       "partition_hour", closed) == (dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 3, 1))
    live = duckdb.connect()
    texts = ["TIMESTAMP '2026-11-01 11:00'", "'2026-11-02'", "DATE '2026-02-28'", "'2026-11-02 03:04:05.123456'",
             "CAST('2024-02-29 23:59:59' AS TIMESTAMP)", "TIMESTAMP '2026-11-01T11:00'", "'2026-11-01 11:00+02'",
             "DATE '2026-11-01' + INTERVAL 1 HOUR", "'2026-02-30'", "TIMESTAMPTZ '2026-11-01 11:00:00+00'"]
    for text in texts:  # whatever Python reads, DuckDB reads the same; the rest is DuckDB's to read
        expected = live.execute(f"SELECT TRY_CAST({text} AS TIMESTAMP)").fetchone()[0]
        assert time_bounds([parse(f"partition_hour >= {text}")], "partition_hour", live)[0] == expected, text
    live.close()


def test_time_bounds_ignore_what_could_widen_the_answer():
    filters = [
        parse("partition_hour > TIMESTAMP '2026-11-01' OR partition_hour < TIMESTAMP '2020-01-01'"),
        parse("NOT partition_hour < TIMESTAMP '2026-11-05'"),
        parse("partition_hour < other_column"),
    ]
    assert time_bounds(filters, "partition_hour") == (None, None)


def test_folders_use_the_finest_period_that_stays_small():
    hours = HOURLY.folders(dt.datetime(2026, 11, 1, 22), dt.datetime(2026, 11, 2, 1))
    assert hours == ["2026/11/01/22/", "2026/11/01/23/", "2026/11/02/00/", "2026/11/02/01/"]
    days = HOURLY.folders(dt.datetime(2026, 11, 30, 5), dt.datetime(2026, 12, 3, 1))
    assert days == ["2026/11/30/", "2026/12/01/", "2026/12/02/", "2026/12/03/"]
    months = HOURLY.folders(dt.datetime(2025, 11, 3), dt.datetime(2026, 2, 1))
    assert months == ["2025/11/", "2025/12/", "2026/01/", "2026/02/"]
    assert HOURLY.folders(dt.datetime(2026, 11, 2), dt.datetime(2026, 11, 1)) == []


def test_folders_are_not_narrowed_when_tokens_are_not_coarse_to_fine():
    odd = Partitioning.from_declaration({"template": "{dd}/{MM}/{yyyy}/", "column": "d"}, where="t")
    assert odd.folders(dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 2)) is None


def test_folders_of_a_template_with_several_tokens_in_one_folder_are_string_prefixes():
    daily = Partitioning.from_declaration({"template": "day={yyyy}-{MM}-{dd}/", "column": "d"}, where="t")
    assert daily.parse("day=2026-11-02/x.json") == {"d": dt.datetime(2026, 11, 2)}
    assert daily.folders(dt.datetime(2026, 11, 2), dt.datetime(2026, 11, 3, 5)) == [
        "day=2026-11-02/", "day=2026-11-03/"
    ]
    assert daily.folders(dt.datetime(2026, 10, 2), dt.datetime(2026, 12, 3)) == [
        "day=2026-10", "day=2026-11", "day=2026-12"
    ]
