"""A repeated lookup of one copy runs as one prepared SQL on the copy's DuckDB, without parsing or planning."""

from __future__ import annotations

import pytest

import c360
import c360.engine
from c360.acceleration.refresh import refresh
from c360.catalog import Catalog
from tests.acceleration.projects import accelerated_project, shop

SPEND = """
    acceleration:
      spend: {key: [customer_id], max_staleness: 1h}
      shop.orders: {key: [order_id], max_staleness: 1h}
"""

LOOKUP = "SELECT customer_id, total, orders FROM spend WHERE customer_id = ?"


@pytest.fixture
def project(tmp_path):
    catalog_dir = accelerated_project(tmp_path, SPEND)
    catalog = Catalog(catalog_dir)
    for acceleration in catalog.accelerations.values():
        refresh(catalog, acceleration)
    catalog.close()
    return catalog_dir


@pytest.fixture
def parses(monkeypatch):
    """How many statements the engine parsed with sqlglot (the real parser, counted)."""
    counted = []
    real = c360.engine.parse

    def counting(sql, **kwargs):
        counted.append(sql)
        return real(sql, **kwargs)

    monkeypatch.setattr(c360.engine, "parse", counting)
    return counted


def test_a_trusted_lookup_shape_runs_on_the_copy_without_parsing_and_answers_as_live(project, parses):
    connection, live = c360.connect(project), c360.connect(project)
    live.execute("SET max_staleness = 0")
    for customer_id in (42, 43):  # planned in full, then a new value verified against a full plan
        assert connection.execute(LOOKUP, [customer_id]).fetchall() == live.execute(LOOKUP, [customer_id]).fetchall()
    parsed = len(parses)
    for customer_id in (44, 42, 7, 43):
        cursor = connection.execute(LOOKUP, [customer_id])
        assert cursor.fetchall() == live.execute(LOOKUP, [customer_id]).fetchall()
        [scan] = cursor.scans
        assert '"customer_id" = $1' in scan.sent and "the whole query ran in the copy's DuckDB" in scan.sent
        assert scan.rows == (0 if customer_id == 7 else 1)
    assert len(parses) == parsed + 4  # the live connection's four: none on the accelerated one
    # another statement shape is planned as usual
    cursor = connection.execute("SELECT total FROM spend WHERE customer_id = ? AND orders > 1", [42])
    assert cursor.fetchall() == [(40.0,)] and len(parses) == parsed + 5
    connection.close()
    live.close()


def test_a_direct_lookup_reads_a_new_copy_after_a_refresh_and_the_live_sources_under_max_staleness_0(project):
    connection = c360.connect(project)
    for customer_id in (42, 43, 44):
        connection.execute(LOOKUP, [customer_id]).fetchall()
    shop(project.parent, "INSERT INTO orders VALUES (5, 42, 5.0, '2026-03-05 00:00:00')")
    assert connection.execute(LOOKUP, [42]).fetchall() == [(42, 40.0, 2)]  # the copy, still fresh enough
    connection.execute("SET max_staleness = 0")
    assert connection.execute(LOOKUP, [42]).fetchall() == [(42, 45.0, 3)]
    connection.execute("RESET max_staleness")
    catalog = Catalog(project)
    refresh(catalog, catalog.accelerations["spend"])
    catalog.close()
    assert connection.execute(LOOKUP, [42]).fetchall() == [(42, 45.0, 3)]
    connection.close()


def test_a_shape_with_a_value_computed_from_a_parameter_is_rebound_not_run_directly(project):
    connection = c360.connect(project)
    query = "SELECT customer_id FROM spend WHERE customer_id = CAST(? AS BIGINT) + 1"
    for value in (41, 42, 43, 41):
        cursor = connection.execute(query, [value])
        assert cursor.fetchall() == ([(value + 1,)] if value + 1 in (42, 43, 44) else [])
        assert "$1" not in cursor.scans[0].sent
    connection.close()


def test_a_repeated_join_of_several_copies_runs_where_they_are_attached_without_parsing(project, parses):
    connection, live = c360.connect(project), c360.connect(project)
    live.execute("SET max_staleness = 0")
    joined = ("SELECT s.customer_id, s.total, o.order_id FROM spend s JOIN shop.orders o "
              "ON o.customer_id = s.customer_id WHERE o.amount >= ? ORDER BY 3")
    for amount in (0.0, 15.0):
        assert connection.execute(joined, [amount]).fetchall() == live.execute(joined, [amount]).fetchall()
    parsed = len(parses)
    for amount in (25.0, 40.0, 100.0):
        cursor = connection.execute(joined, [amount])
        assert cursor.fetchall() == live.execute(joined, [amount]).fetchall()
        assert len(cursor.scans) == 2
        assert all("attaching the copies" in s.sent for s in cursor.scans)
        assert any('"amount" >= $1' in s.sent for s in cursor.scans)
    assert len(parses) == parsed + 3  # the live connection's
    connection.close()
    live.close()


TYPED = """
    acceleration:
      typed: {key: [customer_id], max_staleness: 1h}
"""

#: one column of each kind whose Python value DuckDB gives as Arrow does, and one (a time zone) whose it does not
TYPED_VIEW = ("SELECT o.customer_id, sum(o.amount) AS total, count(*) > 1 AS repeat, "
              "CAST(sum(o.amount) AS DECIMAL(12, 2)) AS exact, max(o.updated_at) AS last_ts, "
              "CAST(max(o.updated_at) AS DATE) AS last_day, 'c' || CAST(o.customer_id AS VARCHAR) AS code, "
              "list(o.order_id ORDER BY o.order_id) AS orders, CAST(NULL AS VARCHAR) AS nothing "
              "FROM shop.orders AS o GROUP BY o.customer_id")
ZONED_VIEW = "SELECT customer_id, CAST(max(updated_at) AS TIMESTAMPTZ) AS at FROM shop.orders GROUP BY customer_id"


@pytest.fixture
def typed(tmp_path, monkeypatch):
    import tests.acceleration.projects as projects

    monkeypatch.setattr(projects, "VIEWS", {"typed": TYPED_VIEW, "zoned": ZONED_VIEW})
    catalog_dir = accelerated_project(tmp_path, TYPED + "      zoned: {key: [customer_id], max_staleness: 1h}\n")
    catalog = Catalog(catalog_dir)
    for acceleration in catalog.accelerations.values():
        refresh(catalog, acceleration)
    catalog.close()
    return catalog_dir


def test_a_direct_lookup_of_plain_columns_gives_python_rows_without_arrow_equal_to_arrows(typed):
    connection, live = c360.connect(typed), c360.connect(typed)
    live.execute("SET max_staleness = 0")
    engine, query = connection.engine, "SELECT * FROM typed WHERE customer_id = ?"
    for customer_id in (42, 43, 44):  # planned, verified, then run directly once (which learns the schema)
        connection.execute(query, [customer_id]).fetchall()
    for customer_id in (42, 44, 7):
        execution = engine.execute(query, [customer_id])
        assert execution.rows_ready and execution._reader is None  # no Arrow made
        expected = live.execute(query, [customer_id]).fetch_arrow()
        assert execution.schema.equals(expected.schema)
        assert execution.fetch_rows(10) == [tuple(row.values()) for row in expected.to_pylist()]
        assert execution.fetch_rows(10) == []
    # a caller that reads Arrow still gets it, and the DB-API answers as live
    assert connection.execute(query, [43]).fetchall() == live.execute(query, [43]).fetchall()
    connection.close()
    live.close()


def test_a_direct_lookup_with_a_column_whose_python_value_differs_from_arrows_stays_arrow(typed):
    connection = c360.connect(typed)
    query = "SELECT * FROM zoned WHERE customer_id = ?"
    for customer_id in (42, 43, 44, 42):
        connection.execute(query, [customer_id]).fetchall()
    execution = connection.engine.execute(query, [43])
    assert execution._direct is not None and not execution.rows_ready
    assert [batch.num_rows for batch in execution.reader()] == [1]
    connection.close()


def test_a_lookup_of_every_column_runs_as_the_copys_select_itself_and_a_projection_keeps_its_query(project):
    connection, live = c360.connect(project), c360.connect(project)
    live.execute("SET max_staleness = 0")
    everything = "SELECT * FROM spend WHERE customer_id = ? AND orders >= 1"
    some = "SELECT total + 1 AS more FROM spend WHERE customer_id = ?"
    for customer_id in (42, 43, 44, 42):
        for query in (everything, some):
            assert connection.execute(query, [customer_id]).fetchall() == live.execute(query, [customer_id]).fetchall()
    statements = {entry.plan.sql: entry.direct for entry in connection.engine.plan_cache._entries.values()
                  if entry.direct}
    [whole] = [s for sql, s in statements.items() if "SELECT *" in sql]
    assert whole.sql == whole.sent[0] and whole.sql.startswith('SELECT "customer_id"')
    [projected] = [s for sql, s in statements.items() if "more" in sql]
    assert projected.sql != projected.sent[0] and f"({projected.sent[0]})" in projected.sql
    connection.close()
    live.close()


def test_a_lookup_with_a_datetime_parameter_runs_directly_as_a_cast_of_it_and_answers_as_live(project, parses):
    import datetime as dt

    connection, live = c360.connect(project), c360.connect(project)
    live.execute("SET max_staleness = 0")
    query = "SELECT order_id, amount FROM shop.orders WHERE customer_id = ? AND updated_at < ? ORDER BY order_id"
    values = [(42, dt.datetime(2026, 3, 2)), (43, dt.datetime(2026, 3, 1, 12)), (42, dt.datetime(2026, 3, 3)),
              (44, dt.datetime(2026, 3, 2, 12)), (42, dt.datetime(2026, 3, 1, 10))]
    for customer_id, before in values[:2]:  # planned in full, then new values verified against a full plan
        assert connection.execute(query, [customer_id, before]).fetchall() == \
            live.execute(query, [customer_id, before]).fetchall()
    parsed = len(parses)
    for customer_id, before in values[2:]:
        cursor = connection.execute(query, [customer_id, before])
        assert cursor.fetchall() == live.execute(query, [customer_id, before]).fetchall()
        assert 'CAST($2 AS TIMESTAMP)' in cursor.scans[0].sent, cursor.scans[0].sent
    assert len(parses) == parsed + 3  # the live connection's: none on the accelerated one
    assert connection.execute(query, [42, dt.datetime(2026, 3, 3)]).fetchall() == [(1, 10.0), (3, 30.0)]
    # a date compared with a timestamp is a value computed from the parameter (its midnight): rebound, not direct
    by_day = "SELECT order_id FROM shop.orders WHERE customer_id = ? AND updated_at < ? ORDER BY order_id"
    for customer_id, day in ((42, dt.date(2026, 3, 2)), (43, dt.date(2026, 3, 2)), (42, dt.date(2026, 3, 3))):
        cursor = connection.execute(by_day, [customer_id, day])
        assert cursor.fetchall() == live.execute(by_day, [customer_id, day]).fetchall()
        assert "$2" not in cursor.scans[0].sent
    connection.close()
    live.close()


def test_an_engine_whose_lookups_all_run_on_a_copy_never_opens_its_own_duckdb(project):
    """A server session's engine shares the server's plan cache: once a lookup shape is trusted, a new session's
    lookups run on the copy's DuckDB and the session's own (with the project's functions) is never opened."""
    import duckdb

    from c360.engine import Engine

    catalog = Catalog(project)
    first = Engine(catalog, owns_catalog=False)
    for customer_id in (42, 43, 44):
        _rows(first.execute(LOOKUP, [customer_id]))
    second = Engine(catalog, views=first.views, owns_catalog=False, plans=first.plan_cache)
    for customer_id in (42, 7, 43):
        answer = _rows(second.execute(LOOKUP, [customer_id]))
        assert answer == _rows(first.execute(LOOKUP, [customer_id]))
    assert not second.duckdb_opened
    assert _rows(second.execute("SELECT count(*) AS n FROM spend")) == [{"n": 3}]
    assert _rows(second.execute("SELECT 1 + 1 AS two")) == [{"two": 2}]
    assert second.duckdb_opened
    second.close()
    with pytest.raises(duckdb.ConnectionException):
        second.cursor()
    first.close()
    catalog.close()


def _rows(execution) -> list[dict]:
    return [row for batch in execution.reader() for row in batch.to_pylist()]


def test_a_repeated_plain_select_of_a_copy_runs_on_its_lookup_duckdb_locked_and_answers_as_live(project):
    import duckdb

    from c360.acceleration.connector import LOOKUP_OPTIMIZERS_OFF

    connection, live = c360.connect(project), c360.connect(project)
    live.execute("SET max_staleness = 0")
    everything = "SELECT * FROM spend WHERE customer_id = ? AND orders >= 1"
    some = "SELECT total + 1 AS more FROM spend WHERE customer_id = ?"
    for customer_id in (42, 43, 44, 42, 7, 43):
        for query in (everything, some):
            assert connection.execute(query, [customer_id]).fetchall() == live.execute(query, [customer_id]).fetchall()
    statements = {entry.plan.sql: entry.direct for entry in connection.engine.plan_cache._entries.values()
                  if entry.direct}
    [whole] = [s for sql, s in statements.items() if "SELECT *" in sql]
    [projected] = [s for sql, s in statements.items() if "more" in sql]
    assert projected.lookup is None  # not the copy's plain SELECT: it runs on the copy's own DuckDB
    assert whole.lookup == whole.sql.replace('FROM "data"', 'FROM "c360_copy"."data"') != whole.sql
    # the run gave its cursor back to the engine's lookup cursors: the optimizer passes are off there, and it is
    # locked down like every DuckDB that runs a user's SQL
    [[cursor]] = [free for (path, lookup), free in connection.engine.copy_cursors._free.items() if lookup and free]
    disabled = cursor.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0]
    assert set(LOOKUP_OPTIMIZERS_OFF) <= set(disabled.split(","))
    assert cursor.execute("SELECT count(*) FROM c360_copy.data").fetchone()[0] > 0
    with pytest.raises(duckdb.Error):
        cursor.execute("SELECT * FROM read_csv('/etc/hostname')")
    with pytest.raises(duckdb.Error):
        cursor.execute("SET enable_external_access = true")
    connection.close()
    live.close()


def test_the_db_api_reads_a_direct_lookups_rows_without_arrow_and_arrow_when_asked_first(typed):
    connection, live = c360.connect(typed), c360.connect(typed)
    live.execute("SET max_staleness = 0")
    query = "SELECT * FROM typed WHERE customer_id = ?"
    for customer_id in (42, 43, 44):  # planned, verified, then run directly once (which learns the schema)
        connection.execute(query, [customer_id]).fetchall()
    for customer_id in (42, 44, 7):
        cursor = connection.execute(query, [customer_id])
        execution = cursor._execution
        assert cursor.fetchall() == live.execute(query, [customer_id]).fetchall()
        assert execution._reader is None and cursor.rowcount == (0 if customer_id == 7 else 1)  # no Arrow made
        assert cursor.fetchall() == [] and cursor.fetchone() is None
    # Arrow asked before any row: DuckDB's Arrow itself; after a row: the rest by the schema
    expected = live.execute(query, [43]).fetch_arrow()
    assert connection.execute(query, [43]).fetch_arrow().equals(expected)
    cursor = connection.execute(query, [43])
    assert cursor.fetchone() == tuple(expected.to_pylist()[0].values())
    assert cursor.fetch_arrow().num_rows == 0 and cursor.fetchone() is None
    cursor = connection.execute(query, [43])
    assert cursor.description == live.execute(query, [43]).description
    assert cursor.fetch_df().equals(expected.to_pandas())
    connection.close()
    live.close()


def test_the_db_api_reads_a_direct_result_of_many_rows_in_chunks_and_the_rest_as_arrow(project, monkeypatch):
    import c360.dbapi

    monkeypatch.setattr(c360.dbapi, "ROW_CHUNK", 2)  # three rows: a chunk of two, then one
    connection, live = c360.connect(project), c360.connect(project)
    live.execute("SET max_staleness = 0")
    query = "SELECT * FROM spend WHERE customer_id >= ? ORDER BY customer_id"
    for low in (0, 1, 2):
        connection.execute(query, [low]).fetchall()
    expected = live.execute(query, [5]).fetchall()
    assert len(expected) == 3
    cursor = connection.execute(query, [5])
    assert cursor._rows_mode and cursor.fetchall() == expected and cursor.rowcount == 3
    cursor = connection.execute(query, [5])
    assert [cursor.fetchone(), *cursor.fetchmany(1)] == expected[:2]
    assert cursor.fetch_arrow().to_pylist() == [dict(zip(("customer_id", "total", "orders"), expected[2]))]
    connection.close()
    live.close()
