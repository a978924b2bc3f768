"""The JSON-files connector against real files: discovery, drift, pushdown, pruning, errors, cancel."""

from __future__ import annotations

import datetime as dt
import json
import re
import textwrap
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import sqlglot

from c360.catalog import Catalog
from c360.errors import CatalogError, FileFormatError, NotFoundError
from connectors.base import FILTER_OPS, ScanRequest
from connectors.json_files import JsonConnector

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "json"
PARTNERS = FIXTURES / "partners"


def parse(sql: str):
    return sqlglot.parse_one(sql, read="duckdb")


def order_by(sql: str):
    return tuple(parse(f"SELECT 1 ORDER BY {sql}").args["order"].expressions)


def fixture_rows(folder: Path) -> list[dict]:
    """The records of every JSON file under ``folder``, parsed independently with the json module."""
    rows = []
    for path in sorted(folder.rglob("*.json*")):
        text = path.read_text()
        if text.lstrip().startswith("["):
            rows.extend(json.loads(text))
        else:
            rows.extend(json.loads(line) for line in text.splitlines() if line.strip())
    return rows


def partners(tables=None) -> JsonConnector:
    return JsonConnector("partners", {"path": "partners", "tables": tables or {}}, base_dir=FIXTURES)


def read(scan) -> list[dict]:
    return [row for batch in scan.batches() for row in batch.to_pylist()]


def test_discovery_finds_nested_fields_and_the_union_of_drifting_files():
    schema = partners().schema("enrichment")
    types = {c.name: c.type for c in schema.columns}
    assert types["customer_id"] == pa.int64()
    assert pa.types.is_list(types["interests"]) and types["interests"].value_type == pa.string()
    assert types["social"] == pa.struct([("followers", pa.int64()), ("sentiment", pa.float64())])
    assert types["newsletter"] == pa.bool_()  # only in the array file
    assert not any(c.partition for c in schema.columns)


def test_undeclared_tables_are_top_level_files_and_folders_of_json():
    assert partners().tables() == ["enrichment", "visits"]


def test_newline_delimited_and_array_files_read_with_missing_fields_as_null():
    connector = partners()
    schema = connector.schema("enrichment")
    rows = read(connector.scan(ScanRequest(schema, ("customer_id", "social", "interests", "tier"))))
    expected = [
        {k: r.get(k) for k in ("customer_id", "social", "interests", "tier")}
        for r in fixture_rows(PARTNERS / "enrichment")
    ]
    for row in expected:
        if row["social"] is not None:
            row["social"] = {"followers": row["social"].get("followers"), "sentiment": row["social"].get("sentiment")}
    assert sorted(rows, key=lambda r: r["customer_id"]) == sorted(expected, key=lambda r: r["customer_id"])


def test_declared_columns_ignore_extra_fields_and_null_missing_ones():
    tables = {"enrichment": {"files": "enrichment/*.json*", "columns": {"customer_id": "BIGINT", "loyalty": "VARCHAR"}}}
    connector = partners(tables)
    schema = connector.declared_schema("enrichment", tables["enrichment"])
    assert [c.name for c in schema.columns] == ["customer_id", "loyalty"]
    rows = read(connector.scan(ScanRequest(schema, ("customer_id", "loyalty"))))
    assert sorted(r["customer_id"] for r in rows) == [1, 2, 3, 4, 5, 6]
    assert {r["loyalty"] for r in rows} == {None}


def test_projection_and_filters_are_in_the_sql_sent_and_applied():
    connector = partners()
    schema = connector.schema("enrichment")
    request = ScanRequest(
        schema,
        ("customer_id",),
        filters=(parse("tier IN ('gold', 'silver')"), parse("social.followers > 10 OR interests IS NULL")),
    )
    scan = connector.scan(request)
    files, per_file = scan.sent.split("; SQL per group of up to 256 files, shown for the first file: ")
    assert files == "2 files: enrichment/part-1.jsonl, enrichment/part-2.json"
    assert "\"tier\" IN ('gold', 'silver')" in per_file
    assert "'newsletter'" not in per_file  # projection: unused columns are not read
    rows = read(scan)
    expected = [
        r["customer_id"]
        for r in fixture_rows(PARTNERS / "enrichment")
        if r.get("tier") in ("gold", "silver")
        and ((r.get("social") or {}).get("followers", 0) > 10 or r.get("interests") is None)
    ]
    assert sorted(r["customer_id"] for r in rows) == sorted(expected)
    assert all(set(row) == {"customer_id"} for row in rows)


def test_capabilities_claim_every_filter_op_limit_and_top_n():
    capabilities = JsonConnector.capabilities
    assert capabilities.filters == FILTER_OPS
    assert capabilities.limit and capabilities.top_n and capabilities.partitions


def test_limit_is_sent_and_stops_reading_further_files():
    connector = partners()
    connector.group_files = 1  # one file per DuckDB query, so "further files" can be seen
    schema = connector.schema("enrichment")
    scan = connector.scan(ScanRequest(schema, ("customer_id",), limit=2))
    assert "LIMIT 2" in scan.sent
    rows = read(scan)
    assert len(rows) == 2
    assert scan.read_files == ["enrichment/part-1.jsonl"]


def test_top_n_across_files_returns_the_global_first_rows():
    connector = partners()
    schema = connector.schema("enrichment")
    scan = connector.scan(ScanRequest(schema, ("customer_id",), order_by=order_by("customer_id DESC"), limit=4))
    assert 'ORDER BY "customer_id" DESC LIMIT 4' in scan.sent
    ids = sorted((r["customer_id"] for r in fixture_rows(PARTNERS / "enrichment")), reverse=True)[:4]
    assert [r["customer_id"] for r in read(scan)] == ids


def test_top_n_by_a_column_not_projected():
    connector = partners()
    schema = connector.schema("enrichment")
    scan = connector.scan(ScanRequest(schema, ("tier",), order_by=order_by("customer_id"), limit=2))
    rows = read(scan)
    by_id = sorted(fixture_rows(PARTNERS / "enrichment"), key=lambda r: r["customer_id"])
    assert rows == [{"tier": r.get("tier")} for r in by_id[:2]]


HIVE = {"visits": {"partitioning": {"style": "hive"}}}


def test_hive_partition_column_is_typed_and_filled_from_the_path():
    connector = partners(HIVE)
    schema = connector.schema("visits")
    date = schema.column("date")
    assert date.partition and date.type == pa.date32()
    rows = read(connector.scan(ScanRequest(schema, ("date", "pages"))))
    assert sorted((r["date"].isoformat(), r["pages"]) for r in rows) == sorted(
        (p.parent.name.split("=")[1], r["pages"])
        for p in (PARTNERS / "visits").rglob("*.jsonl")
        for r in fixture_rows(p.parent)
    )


def test_partition_filter_prunes_the_files_read():
    connector = partners(HIVE)
    schema = connector.schema("visits")
    request = ScanRequest(schema, ("customer_id", "date"), filters=(parse("date >= DATE '2026-11-02'"),))
    scan = connector.scan(request)
    assert scan.sent.split("; ")[0] == (
        "2 files: visits/date=2026-11-02/part-0.jsonl, visits/date=2026-11-03/part-0.jsonl"
    )
    rows = read(scan)
    assert scan.read_files == ["visits/date=2026-11-02/part-0.jsonl", "visits/date=2026-11-03/part-0.jsonl"]
    assert {r["date"] for r in rows} == {dt.date(2026, 11, 2), dt.date(2026, 11, 3)}
    assert len(rows) == len(fixture_rows(PARTNERS / "visits/date=2026-11-02")) + len(
        fixture_rows(PARTNERS / "visits/date=2026-11-03")
    )


def test_a_filter_mixing_partition_and_data_columns_is_applied_without_pruning():
    connector = partners(HIVE)
    schema = connector.schema("visits")
    request = ScanRequest(schema, ("customer_id", "pages"), filters=(parse("date = DATE '2026-11-01' OR pages = 7"),))
    scan = connector.scan(request)
    assert scan.sent.startswith("3 files")
    assert sorted(r["pages"] for r in read(scan)) == [3, 5, 7]


def test_declared_schema_adds_the_hive_partition_columns():
    tables = {"visits": {"columns": {"customer_id": "BIGINT"}, "partitioning": {"style": "hive"}}}
    schema = partners(tables).declared_schema("visits", tables["visits"])
    assert [(c.name, c.partition) for c in schema.columns] == [("customer_id", False), ("date", True)]


def test_template_partitioning_in_a_json_folder(tmp_path):
    for hour in (8, 9, 10):
        folder = tmp_path / "clicks" / f"2026/11/01/{hour:02d}"
        folder.mkdir(parents=True)
        (folder / "a.jsonl").write_text(json.dumps({"n": hour}) + "\n")
    tables = {"clicks": {"files": "clicks/**/*.jsonl",
                         "partitioning": {"template": "{yyyy}/{MM}/{dd}/{HH}/", "column": "hour"}}}
    connector = JsonConnector("t", {"path": str(tmp_path), "tables": tables}, base_dir=tmp_path)
    schema = connector.schema("clicks")
    scan = connector.scan(ScanRequest(schema, ("n", "hour"), filters=(parse("hour > TIMESTAMP '2026-11-01 08:30'"),)))
    assert scan.sent.startswith("2 files: clicks/2026/11/01/09/a.jsonl, clicks/2026/11/01/10/a.jsonl")
    assert sorted((r["n"], r["hour"].hour) for r in read(scan)) == [(9, 9), (10, 10)]


def test_a_malformed_file_names_the_file_and_line_when_discovering():
    connector = JsonConnector("orders", {"path": "broken"}, base_dir=FIXTURES)
    with pytest.raises(FileFormatError, match=r"file 'orders.jsonl' is not valid JSON at line 3"):
        connector.schema("orders")


def test_a_malformed_file_names_the_file_and_line_when_reading(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.jsonl").write_text('{"x": 1}\n')
    (tmp_path / "t" / "b.jsonl").write_text('{"x": 2}\n{"x": 3}\n{"x": 4\n{"x": 5}\n')
    tables = {"t": {"columns": {"x": "BIGINT"}}}
    connector = JsonConnector("s", {"path": str(tmp_path), "tables": tables}, base_dir=tmp_path)
    schema = connector.declared_schema("t", tables["t"])
    with pytest.raises(FileFormatError, match=r"Source 's' .*file 't/b.jsonl' is not valid JSON at line [34]"):
        read(connector.scan(ScanRequest(schema, ("x",))))


def test_a_missing_folder_is_not_found():
    connector = JsonConnector("p", {"path": "no-such-folder", "tables": {"t": {}}}, base_dir=FIXTURES)
    with pytest.raises(NotFoundError, match=r"Source 'p' \(json at .*no-such-folder\): folder .* does not exist"):
        connector.schema("t")


def test_a_glob_matching_nothing_is_not_found():
    connector = partners({"t": {"files": "enrichment/*.csv"}})
    with pytest.raises(NotFoundError, match=r"table 't' matches no files \(enrichment/\*\.csv under "):
        connector.schema("t")


def test_an_empty_folder_matches_no_files(tmp_path):
    (tmp_path / "t").mkdir()
    connector = JsonConnector("s", {"path": str(tmp_path), "tables": {"t": {}}}, base_dir=tmp_path)
    with pytest.raises(NotFoundError, match=r"table 't' matches no files \(t\.json, "):
        connector.schema("t")


def test_a_matching_zero_byte_file_is_an_empty_table_not_a_missing_one(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.json").write_bytes(b"")
    declared = {"t": {"columns": {"x": "BIGINT"}}}
    connector = JsonConnector("s", {"path": str(tmp_path), "tables": declared}, base_dir=tmp_path)
    schema = connector.declared_schema("t", declared["t"])
    assert read(connector.scan(ScanRequest(schema, ("x",)))) == []
    undeclared = JsonConnector("s", {"path": str(tmp_path), "tables": {"t": {}}}, base_dir=tmp_path)
    with pytest.raises(NotFoundError, match=r"table 't' has only empty files .*declare them under 'columns'"):
        undeclared.schema("t")


def test_an_unknown_table_setting_is_a_catalog_error():
    with pytest.raises(CatalogError, match="unknown setting 'fles'. Did you mean 'files'"):
        partners({"t": {"fles": "x"}})


def test_cancel_stops_reading_further_files(tmp_path):
    (tmp_path / "t").mkdir()
    for i in range(20):
        (tmp_path / "t" / f"{i:02d}.jsonl").write_text("".join(json.dumps({"i": i, "j": k}) + "\n" for k in range(10)))
    connector = JsonConnector("s", {"path": str(tmp_path)}, base_dir=tmp_path)
    connector.group_files = 3
    scan = connector.scan(ScanRequest(connector.schema("t"), ("i",)))
    batches = scan.batches()
    first = next(batches)
    scan.cancel()
    rest = list(batches)
    assert first.num_rows == 30 and rest == []
    assert scan.read_files == ["t/00.jsonl", "t/01.jsonl", "t/02.jsonl"]


def test_a_scan_parses_on_the_sources_threads_with_room_ahead_of_the_reader(tmp_path):
    """At DuckDB's default result buffer a scan returning most of what it parses runs on one thread (partsupp
    at SF 1: 0.20 s on one or two); with 16 MB ahead of the reader, 0.11 s on two."""
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.jsonl").write_text("".join(json.dumps({"i": i}) + "\n" for i in range(100)))
    seen = {}
    for threads in (None, 3):
        options = {"path": str(tmp_path)} if threads is None else {"path": str(tmp_path), "threads": threads}
        connector = JsonConnector("s", options, base_dir=tmp_path)
        scan = connector.scan(ScanRequest(connector.schema("t"), ("i",)))
        batches = scan.batches()
        next(batches)
        seen[threads] = scan._connection.execute(
            "SELECT current_setting('threads'), current_setting('streaming_buffer_size')").fetchone()
        list(batches)
    import os

    assert seen[None][0] == min(4, os.cpu_count()) and seen[3][0] == 3
    assert seen[3][1] == "15.2 MiB"  # 16 MB


def test_a_long_list_of_integer_keys_is_joined_from_a_table_the_scan_registers(tmp_path):
    """A join reduction's keys (here 12,000, more than one SQL statement takes) go in one scan as a table:
    DuckDB joins the parse against it (partsupp at SF 1 by 29,581 keys: 0.15 s; as a literal list 0.24 s)."""
    from connectors.files.query import KEY_TABLE
    from connectors.sql import integer_keys

    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.jsonl").write_text("".join(json.dumps({"i": i, "s": str(i)}) + "\n" for i in range(30_000)))
    declared = {"t": {"columns": {"i": "BIGINT", "s": "VARCHAR"}}}
    connector = JsonConnector("s", {"path": str(tmp_path), "tables": declared}, base_dir=tmp_path)
    table = connector.schema("t")
    keys = list(range(0, 36_000, 3))  # 12,000 keys, a sixth of them beyond the file's rows
    compact = sqlglot.exp.In(this=sqlglot.exp.column("i"), expressions=[integer_keys(keys)])
    literal = parse(f"i IN ({', '.join(map(str, keys[:KEY_TABLE + 1]))})")
    for predicate, expected in ((compact, list(range(0, 30_000, 3))), (literal, keys[:KEY_TABLE + 1])):
        scan = connector.scan(ScanRequest(table, ("i", "s"), (predicate,)))  # two columns: estimated at no rows
        assert sorted(row["i"] for row in read(scan)) == expected
        # on the source's DuckDB, the hash table is built from the keys, not from the parse
        explain = connector.cursor()
        for name, key_table in scan.key_tables.items():
            explain.register(name, key_table)
        sql = scan.sent.split("shown for the first file: ")[1]
        plan = explain.execute("EXPLAIN " + sql.replace("'t/a.jsonl'", repr(str(tmp_path / "t" / "a.jsonl"))))
        assert "Join Type: SEMI" in plan.fetchall()[0][1]
        assert scan.read_files == ["t/a.jsonl"]
        assert re.search(r'WHERE "i" IN \(SELECT "__c360_key" FROM __c360_keys_\d+\)$', scan.sent), scan.sent
    many = keys[:KEY_TABLE + 1]
    short = parse(f"i IN ({', '.join(map(str, keys[:KEY_TABLE]))})")
    negated = parse(f"i NOT IN ({', '.join(map(str, many))})")
    text = parse(f"s IN ({', '.join(repr(str(k)) for k in many)})")  # not an integer column
    negative = parse(f"i IN ({', '.join(str(-k) for k in many)})")  # not only plain integer literals
    for kept in (short, negated, text, negative):
        scan = connector.scan(ScanRequest(table, ("i",), (kept,)))
        read(scan)
        assert "__c360_keys" not in scan.sent, scan.sent
    connector.close()


def test_a_sources_scans_share_one_duckdb_until_the_source_closes(tmp_path):
    """A fresh DuckDB cost each scan ~40 ms before its first rows (TPC-H Q2's partsupp: 0.15 s against 0.11 s)."""
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.jsonl").write_text(json.dumps({"i": 1}) + "\n")
    connector = JsonConnector("s", {"path": str(tmp_path)}, base_dir=tmp_path)

    def scanned(sql: str):
        scan = connector.scan(ScanRequest(connector.schema("t"), ("i",)))
        batches = scan.batches()
        next(batches)
        try:
            return scan._connection.execute(sql).fetchall()
        finally:
            list(batches)

    scanned("CREATE TABLE seen AS SELECT 1 AS x")  # a table of the database, not of the scan's connection
    assert scanned("SELECT count(*) FROM seen") == [(1,)]
    connector.close()
    with pytest.raises(duckdb.CatalogException, match="seen"):
        scanned("SELECT * FROM seen")


def test_what_a_scan_sent_is_written_only_when_asked_for(tmp_path, monkeypatch):
    """An example SQL cost each scan ~8 ms of sqlglot, on every query, explained or not."""
    from connectors.files import connector as module

    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.jsonl").write_text(json.dumps({"i": 1}) + "\n")
    calls = []
    original = module.describe_scan
    monkeypatch.setattr(module, "describe_scan", lambda *args: calls.append(1) or original(*args))
    connector = JsonConnector("s", {"path": str(tmp_path)}, base_dir=tmp_path)
    scan = connector.scan(ScanRequest(connector.schema("t"), ("i",)))
    assert read(scan) == [{"i": 1}] and calls == []
    assert scan.sent.startswith("1 file: t/a.jsonl; SQL per group") and scan.sent and calls == [1]


@pytest.mark.parametrize("value", [0, -1, "two", 1.5, True])
def test_threads_must_be_a_whole_number(tmp_path, value):
    with pytest.raises(CatalogError, match=r"Source 's' \(json\): 'threads' must be a whole number \(1 or more\)"):
        JsonConnector("s", {"path": str(tmp_path), "threads": value}, base_dir=tmp_path)


def test_many_files_are_read_a_group_at_a_time(tmp_path):
    (tmp_path / "t").mkdir()
    for i in range(7):
        (tmp_path / "t" / f"{i:02d}.jsonl").write_text(json.dumps({"i": i}) + "\n")
    connector = JsonConnector("s", {"path": str(tmp_path)}, base_dir=tmp_path)
    connector.group_files = 3
    scan = connector.scan(ScanRequest(connector.schema("t"), ("i",)))
    assert [len(group) for group in scan.groups()] == [3, 3, 1]
    assert sorted(r["i"] for r in read(scan)) == list(range(7))
    assert scan.stats.batches == 3


def test_a_catalog_json_source_uses_declared_and_discovered_tables(tmp_path):
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "sources.yaml").write_text(
        textwrap.dedent(
            f"""
            sources:
              partners:
                kind: json
                path: {PARTNERS}
                tables:
                  visits:
                    columns: {{customer_id: BIGINT, pages: BIGINT}}
                    partitioning: {{style: hive}}
            """
        )
    )
    catalog = Catalog(tmp_path / "catalog")
    try:
        assert catalog.tables("partners") == ["visits", "enrichment"]
        visits = catalog.table("partners", "visits")
        assert [(c.name, c.partition) for c in visits.columns] == [
            ("customer_id", False), ("pages", False), ("date", True)
        ]
        assert catalog.table("partners", "enrichment").column("social") is not None
    finally:
        catalog.close()


def test_a_value_that_does_not_fit_the_declared_type_names_the_file(tmp_path):
    (tmp_path / "t.jsonl").write_text('{"x": 1}\n{"x": 2}\n{"x": "many"}\n')
    tables = {"t": {"columns": {"x": "BIGINT"}}}
    connector = JsonConnector("s", {"path": str(tmp_path), "tables": tables}, base_dir=tmp_path)
    schema = connector.declared_schema("t", tables["t"])
    with pytest.raises(FileFormatError, match=r"Source 's' .*file 't.jsonl' could not be read as json: .*line 3"):
        read(connector.scan(ScanRequest(schema, ("x",))))


def test_a_file_removed_after_listing_is_not_found(tmp_path):
    (tmp_path / "t").mkdir()
    for name in ("a", "b"):
        (tmp_path / "t" / f"{name}.jsonl").write_text('{"x": 1}\n')
    tables = {"t": {"columns": {"x": "BIGINT"}}}
    connector = JsonConnector("s", {"path": str(tmp_path), "tables": tables}, base_dir=tmp_path)
    scan = connector.scan(ScanRequest(connector.declared_schema("t", tables["t"]), ("x",)))
    (tmp_path / "t" / "b.jsonl").unlink()
    with pytest.raises(NotFoundError, match=r"Source 's' .*file 't/b.jsonl' was listed but no longer exists"):
        read(scan)


def test_through_the_engine_filters_are_pushed_and_the_answer_matches_the_files(tmp_path):
    import c360

    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "partners.yaml").write_text(
        textwrap.dedent(
            f"""
            sources:
              partners:
                kind: json
                path: {PARTNERS}
            """
        )
    )
    connection = c360.connect(catalog=str(tmp_path / "catalog"))
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT customer_id, tier FROM partners.enrichment WHERE tier <> 'gold' OR tier IS NULL")
        rows = sorted(cursor.fetchall())
        (scan,) = cursor.scans
    finally:
        connection.close()
    expected = sorted(
        (r["customer_id"], r.get("tier")) for r in fixture_rows(PARTNERS / "enrichment") if r.get("tier") != "gold"
    )
    assert rows == expected
    assert "WHERE \"tier\" <> 'gold' OR \"tier\" IS NULL" in scan.sent
