"""Refreshing copies: full and append (late rows, duplicates), a failing source, and a refresh killed midway."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

import c360
from c360.acceleration.refresh import refresh
from c360.acceleration.store import Store
from c360.catalog import Catalog
from c360.errors import SourceError
from tests.acceleration.projects import accelerated_project, shop

REPO = Path(__file__).resolve().parents[2]

APPEND = """
    acceleration:
      shop.orders: {refresh: append, column: updated_at, key: [order_id], overlap: 1h, max_staleness: 1h}
"""


def copy_rows(catalog_dir: Path, name: str) -> list[tuple]:
    """The rows of a copy's current data file, read straight from DuckDB (not through c360)."""
    store = Store(catalog_dir.parent)
    manifest = store.read(name)
    connection = duckdb.connect(str(store.data_path(manifest)), read_only=True)
    try:
        return connection.execute("SELECT * FROM data ORDER BY ALL").fetchall()
    finally:
        connection.close()


def test_a_full_refresh_copies_the_live_answer_sorted_by_key(tmp_path):
    catalog = Catalog(accelerated_project(tmp_path, """
        acceleration:
          spend: {key: [customer_id]}
    """))
    result = refresh(catalog, catalog.accelerations["spend"])
    assert (result.copy, result.mode, result.rows_read, result.rows) == ("spend", "full", 3, 3)
    assert copy_rows(catalog.path, "spend") == [(42, 40.0, 2), (43, 20.0, 1), (44, 40.0, 1)]
    manifest = Store(tmp_path).read("spend")
    assert manifest.as_of is not None and manifest.last_error is None and manifest.bytes > 0
    catalog.close()


def test_append_reads_past_the_watermark_with_overlap_and_replaces_rows_by_key(tmp_path):
    catalog = Catalog(accelerated_project(tmp_path, APPEND))
    orders = catalog.accelerations["shop.orders"]
    assert refresh(catalog, orders).mode == "full"  # no copy yet: the first refresh reads everything
    shop(tmp_path, "INSERT INTO orders VALUES (5, 45, 50.0, '2026-03-03 08:00:00')")  # new
    shop(tmp_path, "UPDATE orders SET amount = 41.0 WHERE order_id = 4")  # same key, at the watermark
    shop(tmp_path, "INSERT INTO orders VALUES (6, 46, 60.0, '2026-03-02 11:30:00')")  # late, inside the overlap
    shop(tmp_path, "INSERT INTO orders VALUES (7, 47, 70.0, '2026-03-01 00:00:00')")  # later than the overlap
    result = refresh(catalog, orders)
    assert (result.mode, result.rows_read, result.rows) == ("append", 3, 6)
    rows = copy_rows(catalog.path, "shop.orders")
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6]  # each key once; 7 is outside the overlap
    assert rows[3][2] == 41.0
    assert Store(tmp_path).read("shop.orders").watermark_value().isoformat() == "2026-03-03T08:00:00"
    assert refresh(catalog, orders, full=True).rows == 7  # a full refresh finds the very late row
    catalog.close()


def test_append_of_a_duplicated_key_keeps_the_newest_row(tmp_path):
    catalog = Catalog(accelerated_project(tmp_path, APPEND.replace("key: [order_id]", "key: [customer_id]")))
    orders = catalog.accelerations["shop.orders"]
    refresh(catalog, orders)  # full: the copy holds what the table holds
    shop(tmp_path, "INSERT INTO orders VALUES (8, 44, 80.0, '2026-03-04 00:00:00')")
    shop(tmp_path, "INSERT INTO orders VALUES (9, 44, 90.0, '2026-03-05 00:00:00')")
    refresh(catalog, orders)
    rows = [r for r in copy_rows(catalog.path, "shop.orders") if r[1] == 44]
    assert rows == [(9, 44, 90.0, rows[0][3])]  # one row for the key: the one with the newest updated_at
    catalog.close()


def test_a_failing_source_leaves_the_copy_in_place_marked_stale(tmp_path):
    catalog = Catalog(accelerated_project(tmp_path, APPEND))
    orders = catalog.accelerations["shop.orders"]
    refresh(catalog, orders)
    before = Store(tmp_path).read("shop.orders")
    (tmp_path / "shop.sqlite").rename(tmp_path / "moved.sqlite")
    with pytest.raises(SourceError, match="does not exist"):
        refresh(catalog, orders)
    after = Store(tmp_path).read("shop.orders")
    assert (after.file, after.refreshed_at, after.rows) == (before.file, before.refreshed_at, before.rows)
    assert after.stale and "does not exist" in after.last_error
    connection = c360.connect(catalog.path)
    assert len(connection.execute("SELECT * FROM shop.orders").fetchall()) == 4  # served by the copy
    connection.close()
    (tmp_path / "moved.sqlite").rename(tmp_path / "shop.sqlite")
    refresh(catalog, orders)
    assert not Store(tmp_path).read("shop.orders").stale  # a good refresh clears the error
    catalog.close()


def test_readers_never_see_a_half_refreshed_copy(tmp_path):
    catalog = Catalog(accelerated_project(tmp_path, APPEND))
    orders = catalog.accelerations["shop.orders"]
    refresh(catalog, orders)
    seen, stop = set(), threading.Event()

    def read():
        connection = c360.connect(catalog.path)
        while not stop.is_set():
            seen.add(connection.execute("SELECT count(*), sum(amount) FROM shop.orders").fetchone())
        connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for order_id in range(10, 16):
            shop(tmp_path, "INSERT INTO orders VALUES (?, 50, 1.0, '2026-04-01 00:00:00')", order_id)
            refresh(catalog, orders, full=True)
    finally:
        stop.set()
        reader.join()
    assert seen <= {(4 + n, 100.0 + n) for n in range(7)}  # only whole copies, never a partial one
    catalog.close()


def test_a_refresh_killed_midway_leaves_the_previous_copy_intact(tmp_path):
    catalog_dir = accelerated_project(tmp_path, """
        acceleration:
          shop.orders: {key: [order_id]}
    """)
    catalog = Catalog(catalog_dir)
    refresh(catalog, catalog.accelerations["shop.orders"])
    before = Store(tmp_path).read("shop.orders")
    connection = sqlite3.connect(tmp_path / "shop.sqlite")
    connection.executemany("INSERT INTO orders VALUES (?, ?, 1.0, '2026-05-01 00:00:00')",
                           ((i, i % 1000) for i in range(100, 400_100)))
    connection.commit()
    connection.close()
    script = ("import sys; from c360.catalog import Catalog; from c360.acceleration.refresh import refresh; "
              "c = Catalog(sys.argv[1]); refresh(c, c.accelerations['shop.orders'])")
    process = subprocess.Popen([sys.executable, "-c", script, str(catalog_dir)], cwd=REPO)
    folder = Store(tmp_path).folder
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".duckdb.tmp") for p in folder.iterdir()):
        assert process.poll() is None, "the refresh ended before it was caught writing"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert any(p.name.endswith(".duckdb.tmp") for p in folder.iterdir())  # it died while writing
    after = Store(tmp_path).read("shop.orders")
    assert (after.file, after.rows, after.last_error) == (before.file, 4, None)
    assert len(copy_rows(catalog_dir, "shop.orders")) == 4
    reader = c360.connect(catalog_dir)
    assert reader.execute("SELECT count(*) FROM shop.orders").fetchone() == (4,)  # the previous copy serves
    reader.close()
    assert refresh(catalog, catalog.accelerations["shop.orders"]).rows == 400_004
    assert not any(p.name.endswith(".tmp") for p in folder.iterdir())  # what the killed one left is gone
    catalog.close()


def test_a_refresh_is_bounded_by_its_declared_timeout_not_by_the_sources_interactive_one(tmp_path, mariadb):
    """A source's ``timeout`` bounds queries someone waits for; a refresh reads for as long as its declaration's
    ``timeout`` allows (at a million customers the year of orders takes minutes), and no longer."""
    from c360.errors import SourceTimeoutError
    from tests.projects import project

    mariadb.execute("CREATE OR REPLACE VIEW sleepy AS SELECT SLEEP(2) AS s, 1 AS id")
    os.environ["C360_REFRESH_TEST_PASSWORD"] = mariadb.password
    limits = (("quick", "\n            timeout: 1"), ("patient", ""))  # only the first source has one
    sources = "".join(f"""
          {name}:
            kind: mysql
            host: {mariadb.host}
            port: {mariadb.port}
            user: {mariadb.user}
            password: ${{ENV:C360_REFRESH_TEST_PASSWORD}}
            database: {mariadb.database}{extra}""" for name, extra in limits)
    catalog_dir = project(tmp_path, "\n        sources:" + sources + """
        acceleration:
          quick.sleepy: {key: [id]}
          patient.sleepy: {key: [id], timeout: 1s}
    """)
    catalog = Catalog(catalog_dir)
    try:
        assert catalog.accelerations["quick.sleepy"].timeout == 3600
        with c360.connect(catalog_dir) as connection:  # a query of the source still stops at its 1 s
            with pytest.raises(SourceTimeoutError, match="timed out after 1s"):
                connection.execute("SELECT * FROM quick.sleepy").fetchall()
        assert refresh(catalog, catalog.accelerations["quick.sleepy"]).rows == 1  # 2 s: past the source's 1 s
        with pytest.raises(SourceTimeoutError, match=r"Source 'patient' .* timed out after 1s"):
            refresh(catalog, catalog.accelerations["patient.sleepy"])
    finally:
        catalog.close()


def storage_methods(catalog_dir: Path, name: str) -> set[str]:
    """The compression methods of a copy's current data file's segments (DuckDB's ``pragma_storage_info``)."""
    store = Store(catalog_dir.parent)
    connection = duckdb.connect(str(store.data_path(store.read(name))), read_only=True)
    try:
        return {row[0] for row in connection.execute("SELECT compression FROM pragma_storage_info('data')").fetchall()}
    finally:
        connection.close()


@pytest.mark.parametrize("refresh_mode", ["full", "append"])
def test_a_copy_declared_compress_false_is_written_uncompressed_and_answers_as_live(tmp_path, refresh_mode):
    root_plain, root_compressed = tmp_path / "plain", tmp_path / "compressed"
    declared = {}
    for root, compress in ((root_plain, "false"), (root_compressed, "true")):
        root.mkdir()
        catalog = Catalog(accelerated_project(root, f"""
            acceleration:
              shop.orders: {{refresh: {refresh_mode}, column: updated_at, key: [order_id], compress: {compress}}}
        """))
        rows = [(n, 40 + n % 900, float(n % 97), f"2026-03-0{1 + n % 5} 10:00:00") for n in range(5, 20_000)]
        connection = sqlite3.connect(root / "shop.sqlite")
        connection.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", rows)
        connection.commit()
        connection.close()
        refresh(catalog, catalog.accelerations["shop.orders"])
        if refresh_mode == "append":  # new rows written into the previous file's copy
            shop(root, "INSERT INTO orders VALUES (20000, 45, 50.0, '2026-03-09 08:00:00')")
            assert refresh(catalog, catalog.accelerations["shop.orders"]).mode == "append"
        declared[compress] = catalog.accelerations["shop.orders"].compress
        catalog.close()
    assert declared == {"false": False, "true": True}
    assert storage_methods(root_plain / "catalog", "shop.orders") <= {"Uncompressed", "Constant"}
    assert storage_methods(root_compressed / "catalog", "shop.orders") - {"Uncompressed", "Constant"}  # bit-packed..
    assert copy_rows(root_plain / "catalog", "shop.orders") == copy_rows(root_compressed / "catalog", "shop.orders")
    accelerated, live = c360.connect(root_plain / "catalog"), c360.connect(root_plain / "catalog")
    live.execute("SET max_staleness = 0")
    query = "SELECT * FROM shop.orders WHERE order_id = ?"
    for order_id in (3, 777, 19_999, 20_000, 5, 777):
        cursor = accelerated.execute(query, [order_id])
        assert cursor.fetchall() == live.execute(query, [order_id]).fetchall()
        assert "ran in the copy's DuckDB" in cursor.scans[0].sent
    accelerated.close()
    live.close()
