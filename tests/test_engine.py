"""Execution behaviour on real sources: concurrency, streaming, timeouts, failures named by source."""

from __future__ import annotations

import os
import time

import pytest

import c360
from c360.errors import SourceTimeoutError, SourceUnreachableError
from tests.projects import project, sqlite_file


def mysql_catalog(tmp_path, mariadb, *, timeout=None, port=None, names=("shop",)):
    """A project whose sources (``names``) are all the session's MariaDB database."""
    os.environ["C360_ENGINE_TEST_PASSWORD"] = mariadb.password
    extra = f"\n                timeout: {timeout}" if timeout else ""
    sources = "".join(f"""
              {name}:
                kind: mysql
                host: {mariadb.host}
                port: {port or mariadb.port}
                user: {mariadb.user}
                password: ${{ENV:C360_ENGINE_TEST_PASSWORD}}
                database: {mariadb.database}{extra}""" for name in names)
    return project(tmp_path, "\n            sources:" + sources + "\n")


def test_sources_are_scanned_concurrently(tmp_path, mariadb):
    mariadb.execute("CREATE OR REPLACE VIEW slow_a AS SELECT SLEEP(1) AS s, 1 AS id",
                    "CREATE OR REPLACE VIEW slow_b AS SELECT SLEEP(1) AS s, 1 AS id")
    with c360.connect(mysql_catalog(tmp_path, mariadb, names=("shop", "crm"))) as connection:
        cursor = connection.execute("SELECT a.id, a.s, b.s FROM shop.slow_a a JOIN crm.slow_b b ON a.id = b.id")
        assert cursor.fetchall() == [(1, 0, 0)]
        engine_scans = cursor._execution.scans
    first, second = (scan.stats for scan in engine_scans)
    assert first.started < second.finished and second.started < first.finished  # the two scans overlapped


def test_a_scan_stops_early_when_duckdb_needs_no_more_rows(tmp_path):
    sqlite_file(tmp_path / "big.sqlite",
                "CREATE TABLE numbers (n INTEGER);"
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 400000) "
                "INSERT INTO numbers SELECT n FROM s;")
    catalog = project(tmp_path, "sources:\n  big:\n    kind: sqlite\n    path: ../big.sqlite\n")
    with c360.connect(catalog) as connection:
        # lower() stays local, so the LIMIT cannot be pushed: only streaming keeps the scan short
        cursor = connection.execute("SELECT n FROM big.numbers WHERE lower(CAST(n AS VARCHAR)) <> 'x' LIMIT 5")
        assert len(cursor.fetchall()) == 5
        [scan] = cursor.scans
    assert "LIMIT" not in scan.sent
    assert scan.rows < 400_000 / 4


def test_a_source_timeout_cancels_the_remote_query(tmp_path, mariadb):
    mariadb.execute("CREATE OR REPLACE VIEW sleepy AS SELECT SLEEP(30) AS s")
    started = time.monotonic()
    with c360.connect(mysql_catalog(tmp_path, mariadb, timeout=1)) as connection:
        with pytest.raises(SourceTimeoutError, match=r"Source 'shop' \(mysql at 127.0.0.1:3306\) timed out after 1s"):
            connection.execute("SELECT * FROM shop.sleepy").fetchall()
    assert time.monotonic() - started < 15
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        running = mariadb.admin_query(
            "SELECT id FROM information_schema.PROCESSLIST WHERE INFO LIKE '%sleepy%' AND COMMAND = 'Query' "
            "AND INFO NOT LIKE '%PROCESSLIST%'")
        if not running:
            break
        time.sleep(0.2)
    assert running == []


def test_an_unreachable_source_is_named_without_its_password(tmp_path, mariadb):
    with c360.connect(mysql_catalog(tmp_path, mariadb, port=1)) as connection:
        with pytest.raises(SourceUnreachableError) as failure:
            connection.execute("SELECT * FROM shop.orders")
    message = str(failure.value)
    assert message.startswith("Source 'shop' (mysql at 127.0.0.1:1) is unreachable")
    assert mariadb.password not in message


def test_views_in_queries_folder_are_expanded_and_pushed_through(tmp_path):
    from tests.projects import shop_project

    catalog = shop_project(tmp_path, views={
        "paid_orders": "-- Paid orders only\n"
                       "SELECT order_id, customer_id, amount FROM shop.orders WHERE status = 'paid'\n",
    })
    with c360.connect(catalog) as connection:
        cursor = connection.execute("SELECT order_id FROM paid_orders WHERE customer_id = 42")
        assert cursor.fetchall() == [(1,)]
        [scan] = cursor.scans
    assert "\"status\" = 'paid'" in scan.sent and "\"customer_id\" = 42" in scan.sent


def test_after_duckdb_fails_internally_the_next_query_runs_on_a_fresh_engine(tmp_path):
    """DuckDB 1.5.5 fails an internal assertion on a DECIMAL filter it runs inside a correlated EXISTS over
    an Arrow stream, and then refuses every later query on that database. c360 says so in one line and
    restarts its DuckDB, so the connection stays usable."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.jsonl").write_text('{"customer_id": 1, "total": 10.5}\n{"customer_id": 2, "total": 3}\n')
    (data / "customers.jsonl").write_text('{"customer_id": 1}\n{"customer_id": 2}\n')
    catalog = project(tmp_path, """
        sources:
          f:
            kind: json
            path: ../data
            tables:
              orders: {files: [orders.jsonl], columns: {customer_id: BIGINT, total: "DECIMAL(10,2)"}}
              customers: {files: [customers.jsonl], columns: {customer_id: BIGINT}}
    """)
    with c360.connect(catalog) as connection:
        cursor = connection.cursor()
        sql = ("SELECT c.customer_id FROM f.customers c WHERE EXISTS (SELECT 1 FROM f.orders o "
               "WHERE o.customer_id = c.customer_id AND o.total > 5)")
        try:
            rows = cursor.execute(sql).fetchall()
        except c360.InternalError as error:
            assert "restarted" in str(error) and "Traceback" not in str(error)
        else:  # a DuckDB without the bug answers, and must answer right
            assert rows == [(1,)]
        assert cursor.execute("SELECT count(*) FROM f.orders").fetchall() == [(2,)]


def test_a_partitioned_window_aggregate_reads_its_stream_once(world):
    from tests.oracle import check

    check(world, "SELECT count(*) OVER (PARTITION BY o.channel) AS n, o.order_id FROM shop.orders o")


def test_filters_on_float_columns_of_a_stream_keep_duckdbs_meaning():
    """DuckDB 1.5.5 leaves the filters it pushes into an Arrow scan to Arrow, which tells -0.0 from 0.0 and fails
    NaN in every comparison; a float column's filters stay DuckDB's, the others' still reach the scan."""
    import duckdb
    import pyarrow as pa

    from c360.engine import register_stream

    table = pa.table({"x": pa.array([0.0, -0.0, float("nan"), 1.0, None]), "i": [1, 2, 3, 4, 5],
                      "f": pa.array([-0.0, 0.0, float("nan"), 2.0, 1.0], pa.float32())})
    connection = duckdb.connect()

    def query(sql):
        register_stream(connection, "s", pa.RecordBatchReader.from_batches(table.schema, table.to_batches()))
        return connection.execute(sql).fetchall()

    assert sorted(query("SELECT i FROM s WHERE x IN (0.0::DOUBLE, 5.0)")) == [(1,), (2,)]
    assert sorted(query("SELECT i FROM s WHERE x > 0.5")) == [(3,), (4,)]
    assert sorted(query("SELECT i FROM s WHERE f = 0.0::FLOAT OR f > 1.5")) == [(1,), (2,), (3,), (4,)]
    assert query("SELECT x, f FROM s WHERE i = 2")[0] == (-0.0, 0.0)
    assert str(query("SELECT x FROM s WHERE i = 2")[0][0]) == "-0.0"
    assert query("SELECT typeof(x), typeof(f) FROM s LIMIT 1") == [("DOUBLE", "FLOAT")]
    plan = query("EXPLAIN SELECT x FROM s WHERE i = 2 AND x > 0")[0][1]
    assert "i=2" in plan.replace(" ", "") and "x>0" not in plan.replace(" ", "")


def test_a_cancel_that_comes_before_a_scan_reached_its_source_stops_it_all_the_same(tmp_path):
    """A CancelRequest or statement_timeout may land before a scan's thread has sent its statement (a loaded
    machine): the cancel finds nothing to interrupt yet, and the statement must still never run (a source left
    counting keeps a server busy for hours)."""
    import threading

    from c360.catalog import Catalog
    from c360.engine import Engine
    from c360.errors import QueryCancelledError

    sqlite_file(tmp_path / "slow.sqlite",
                "CREATE VIEW slow_counter AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                "WHERE x < 1e12) SELECT x FROM c WHERE x < 0;")
    engine = Engine(Catalog(project(tmp_path, "sources:\n  slow:\n    kind: sqlite\n    path: ../slow.sqlite\n")))
    try:
        connector = engine.catalog.connector("slow")
        connect = connector._connect

        def slow_connect():  # the scan's thread gets the CPU late
            time.sleep(1)
            return connect()

        connector._connect = slow_connect
        execution = engine.prepare("SELECT count(*) FROM slow.slow_counter")
        before = set(threading.enumerate())
        threading.Timer(0.3, execution.cancel).start()  # while the scan's thread still waits to connect
        with pytest.raises(QueryCancelledError):
            execution.start()  # DuckDB runs the whole count inside start()
            list(execution.reader())
        execution.close()
        deadline = time.monotonic() + 10
        while any(t.name.startswith("c360-") and t.is_alive() for t in set(threading.enumerate()) - before):
            assert time.monotonic() < deadline, "the scan's thread still runs the statement in SQLite"
            time.sleep(0.05)
    finally:
        engine.close()


def test_a_sqlite_statement_stops_when_its_scan_is_cancelled_even_before_interrupt_can_reach_it(tmp_path):
    """SQLite's ``interrupt()`` is a no-op when no statement runs yet; the scan's progress handler checks the
    cancel switch itself, so raising it alone (without the kill) stops a statement already running."""
    import threading

    from c360.catalog import Catalog
    from connectors.base import ScanRequest

    sqlite_file(tmp_path / "slow.sqlite",
                "CREATE VIEW slow_counter AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                "WHERE x < 1e12) SELECT x FROM c WHERE x < 0;")
    catalog = Catalog(project(tmp_path, "sources:\n  slow:\n    kind: sqlite\n    path: ../slow.sqlite\n"))
    connector = catalog.connector("slow")
    table = catalog.table("slow", "slow_counter")
    scan = connector.scan(ScanRequest(table=table, columns=("x",)))
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_drain(scan)), daemon=True)
    reader.start()
    time.sleep(0.3)  # SQLite is counting
    scan.cancelled.set()  # the switch only: no interrupt() is sent
    reader.join(10)
    assert not reader.is_alive(), "SQLite kept counting after the scan was cancelled"
    catalog.close()


def _drain(scan):
    try:
        return list(scan.batches())
    except Exception as error:  # noqa: BLE001 - the test looks at what ended the scan
        return error
