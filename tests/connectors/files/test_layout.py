"""A table's layout: globs, listing a table's files, and listing only the folders filters allow."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
import sqlglot

from c360.errors import CatalogError
from connectors.base import Column, TableSchema
from connectors.files.layout import Layout, glob_regex, literal_prefix
from connectors.files.partitions import Partitioning
from connectors.files.store import LocalFolder


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


def test_layout_lists_matching_files_skips_empty_and_hidden_ones_and_parses_partitions(tmp_path):
    for relative in ["agg/2026/11/01/10/a.json", "agg/2026/11/01/11/b.json", "agg/2026/11/01/11/_SUCCESS",
                     "agg/notes/readme.json", "other/2026/11/01/10/c.json", "agg/2026/11/01/12/.b.json.99.tmp",
                     "agg/_temporary/2026/11/01/10/d.json"]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("{}\n")
    (tmp_path / "agg/2026/11/01/13").mkdir()
    (tmp_path / "agg/2026/11/01/13/empty.json").write_text("")
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


def test_a_bounded_time_column_lists_only_the_folders_of_those_periods(tmp_path):
    for hour in range(24):
        folder = tmp_path / f"agg/2026/11/01/{hour:02d}"
        folder.mkdir(parents=True)
        (folder / "a.json").write_text("{}\n")
    layout = Layout(
        prefix="agg/",
        format="jsonl",
        partitioning=Partitioning.from_declaration({"template": "{yyyy}/{MM}/{dd}/{HH}/", "column": "h"}, where="t"),
    )
    table = TableSchema("t", (Column("h", pa.timestamp("us"), partition=True),))
    filters = [sqlglot.parse_one("h BETWEEN TIMESTAMP '2026-11-01 10:00' AND TIMESTAMP '2026-11-01 11:00'")]
    prefixes = layout.prefixes(filters, table)
    assert prefixes == ["agg/2026/11/01/10/", "agg/2026/11/01/11/"]
    store = LocalFolder(tmp_path)
    assert [e.key for e in layout.entries(store, prefixes)] == ["agg/2026/11/01/10/a.json", "agg/2026/11/01/11/a.json"]
    assert list(store.listed) == prefixes
    assert layout.prefixes([sqlglot.parse_one("h > TIMESTAMP '2026-11-01 10:00'")], table) == ["agg/"]


def test_a_prefix_inside_another_is_not_listed_twice():
    layout = Layout(prefix="t/", format="json", patterns=("t.json", "t/**/*.json", "t/a/*.json"))
    assert layout.prefixes() == [""]
    assert Layout(prefix="", format="json", patterns=("a/*.json", "b/x/*.json")).prefixes() == ["a/", "b/x/"]


def test_hive_filters_on_the_first_level_key_list_only_the_matching_folders(tmp_path):
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        for region in ("eu", "us"):
            folder = tmp_path / f"t/day={day}/region={region}"
            folder.mkdir(parents=True)
            (folder / "a.json").write_text("{}\n")
    (tmp_path / "t/_temporary").mkdir()
    hive = Partitioning.from_declaration({"style": "hive"}, where="x")
    layout = Layout(prefix="t/", format="json", partitioning=hive)
    store = LocalFolder(tmp_path)
    table = TableSchema("t", tuple(layout.partitioning.columns(layout.entries(store))))
    day_filter = [sqlglot.parse_one("day >= DATE '2026-11-02' AND region = 'eu'", read="duckdb")]
    prefixes = layout.prefixes(day_filter, table, store)
    assert prefixes == ["t/day=2026-11-02/", "t/day=2026-11-03/"]
    assert [e.key for e in layout.entries(store, prefixes)] == [
        "t/day=2026-11-02/region=eu/a.json", "t/day=2026-11-02/region=us/a.json",
        "t/day=2026-11-03/region=eu/a.json", "t/day=2026-11-03/region=us/a.json",
    ]
    region_only = [sqlglot.parse_one("region = 'eu'")]
    assert layout.prefixes(region_only, table, store) == ["t/"]
    mixed = [sqlglot.parse_one("day = DATE '2026-11-01' OR region = 'eu'", read="duckdb")]
    assert layout.prefixes(mixed, table, store) == ["t/"]


def test_hive_folders_are_not_narrowed_when_files_sit_beside_them(tmp_path):
    (tmp_path / "t/day=2026-11-01").mkdir(parents=True)
    (tmp_path / "t/day=2026-11-01/a.json").write_text("{}\n")
    (tmp_path / "t/loose.json").write_text("{}\n")
    hive = Partitioning.from_declaration({"style": "hive"}, where="x")
    layout = Layout(prefix="t/", format="json", partitioning=hive)
    table = TableSchema("t", (Column("day", pa.date32(), partition=True),))
    day_is_null = [sqlglot.parse_one("day IS NULL")]
    assert layout.prefixes(day_is_null, table, LocalFolder(tmp_path)) == ["t/"]


class SlowFolder(LocalFolder):
    """The real local store, each listing taking a blob round trip's time; it records how many overlap."""

    def __init__(self, root):
        super().__init__(root)
        import threading

        self.lock, self.running, self.most = threading.Lock(), 0, 0

    def list(self, prefix: str = ""):
        import time

        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.2)
        try:
            yield from super().list(prefix)
        finally:
            with self.lock:
                self.running -= 1


def test_the_folders_of_many_periods_are_listed_concurrently_and_in_order(tmp_path):
    hours = [f"agg/2026/11/01/{h:02d}/part.json" for h in range(24)]
    for relative in hours:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("{}\n")
    layout = Layout(prefix="agg/", format="jsonl", partitioning=Partitioning.from_declaration(
        {"template": "{yyyy}/{MM}/{dd}/{HH}/", "column": "h"}, where="t"))
    store = SlowFolder(tmp_path)
    entries = layout.entries(store, [f"agg/2026/11/01/{h:02d}/" for h in range(24)])
    assert [e.key for e in entries] == hours
    assert store.most > 1  # one after the other, 24 folders would wait 24 round trips
