"""The shared file logic: globs, partition paths, exact pruning, JSON error lines, sampling."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
import sqlglot

from c360.errors import CatalogError
from connectors.base import Column, TableSchema
from connectors.files import (
    FileEntry,
    Layout,
    LocalFolder,
    Partitioning,
    glob_regex,
    json_error_line,
    literal_prefix,
    partition_filters,
    prune,
    sample,
)


def parse(sql: str):
    return sqlglot.parse_one(sql, read="duckdb")


def test_glob_star_stays_in_one_folder_and_double_star_spans_folders():
    assert glob_regex("a/*.jsonl").match("a/x.jsonl")
    assert not glob_regex("a/*.jsonl").match("a/b/x.jsonl")
    assert glob_regex("a/**/*.jsonl").match("a/x.jsonl")
    assert glob_regex("a/**/*.jsonl").match("a/b/c/x.jsonl")
    assert not glob_regex("a/**/*.jsonl").match("a/b/c/x.json")
    assert glob_regex("a/part-?.json").match("a/part-1.json")
    assert not glob_regex("a.b").match("axb")


def test_literal_prefix_is_the_folders_before_the_first_wildcard():
    assert literal_prefix("enrichment/*.jsonl") == "enrichment/"
    assert literal_prefix("a/b/**/x.json") == "a/b/"
    assert literal_prefix("*.json") == ""
    assert literal_prefix("a/da*/x.json") == "a/"


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


def test_layout_lists_matching_files_skips_hidden_ones_and_parses_partitions(tmp_path):
    for relative in ["agg/2026/11/01/10/a.json", "agg/2026/11/01/11/b.json", "agg/2026/11/01/11/_SUCCESS",
                     "agg/notes/readme.json", "other/2026/11/01/10/c.json"]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("{}\n")
    layout = Layout(
        prefix="agg/",
        format="jsonl",
        partitioning=Partitioning.from_declaration({"template": "{yyyy}/{MM}/{dd}/{HH}/", "column": "h"}, where="t"),
    )
    entries = layout.entries(LocalFolder(tmp_path))
    assert [e.key for e in entries] == ["agg/2026/11/01/10/a.json", "agg/2026/11/01/11/b.json"]
    assert dict(entries[1].partitions) == {"h": dt.datetime(2026, 11, 1, 11)}


def test_unknown_format_is_a_catalog_error_with_a_suggestion():
    with pytest.raises(CatalogError, match="Did you mean 'parquet'"):
        Layout(prefix="", format="parquett")


def test_json_error_line_finds_the_bad_line_of_a_newline_delimited_file(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n{"a": 3,,}\n{"a": 4}\n')
    line, reason = json_error_line(path)
    assert line == 4
    assert "property name" in reason


def test_json_error_line_finds_the_bad_line_of_an_array_file(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('[\n  {"a": 1},\n  {"a": 2\n  {"a": 3}\n]\n')
    assert json_error_line(path)[0] == 4


def test_json_error_line_accepts_values_spanning_lines(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"a": 1,\n "b": [1,\n 2]}\n{"a": 2}\n')
    assert json_error_line(path) is None


def test_sample_spreads_over_the_listing_including_first_and_last():
    entries = [FileEntry(f"f{i:02d}", 1) for i in range(20)]
    chosen = sample(entries, 5)
    assert len(chosen) == 5
    assert chosen[0].key == "f00" and chosen[-1].key == "f19"
    assert sample(entries[:3], 5) == entries[:3]
