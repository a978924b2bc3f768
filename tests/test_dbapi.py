"""PEP 249 over c360: module globals, cursors, parameters, types, errors, Arrow/pandas helpers."""

import datetime as dt
import decimal
import threading
import time

import pytest

import c360
from tests.projects import shop_project


@pytest.fixture
def connection(tmp_path):
    with c360.connect(shop_project(tmp_path)) as connection:
        yield connection


def test_module_globals_follow_pep_249():
    assert c360.apilevel == "2.0"
    assert c360.threadsafety in (0, 1, 2, 3)
    assert c360.paramstyle in ("qmark", "named")
    for name in ("Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
                 "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError"):
        assert issubclass(getattr(c360, name), Exception)
    assert issubclass(c360.ProgrammingError, c360.DatabaseError)
    assert issubclass(c360.DatabaseError, c360.Error)
    assert c360.Date(2026, 1, 2) == dt.date(2026, 1, 2)
    assert c360.Binary(b"x") == b"x"


def test_fetch_methods_and_description(connection):
    cursor = connection.cursor()
    cursor.execute("SELECT order_id, amount, order_ts, status FROM shop.orders ORDER BY order_id")
    names = [d[0] for d in cursor.description]
    assert names == ["order_id", "amount", "order_ts", "status"]
    assert cursor.description[0][1] == c360.NUMBER
    assert cursor.description[1][1] == c360.NUMBER and cursor.description[1][4:6] == (12, 2)
    assert cursor.description[2][1] == c360.DATETIME
    assert cursor.description[3][1] == c360.STRING
    assert cursor.fetchone() == (1, decimal.Decimal("12.99"), dt.datetime(2026, 1, 1, 10), "paid")
    cursor.arraysize = 2
    assert [r[0] for r in cursor.fetchmany()] == [2, 3]
    assert [r[0] for r in cursor.fetchall()] == [4]
    assert cursor.fetchone() is None
    assert cursor.rowcount == 4


def test_qmark_and_named_parameters_are_bound_safely(connection):
    cursor = connection.cursor()
    cursor.execute("SELECT name FROM shop.customers WHERE customer_id = ? OR name = ?", [42, "x' OR '1'='1"])
    assert cursor.fetchall() == [("Ann",)]
    cursor.execute("SELECT name FROM shop.customers WHERE signup >= :since ORDER BY name", {"since": dt.date(2025, 6, 1)})
    assert cursor.fetchall() == [("Bob",), ("Dee",)]


def test_executemany_runs_each_parameter_set(connection):
    cursor = connection.cursor()
    cursor.executemany("SELECT name FROM shop.customers WHERE customer_id = ?", [[42], [43]])
    assert cursor.fetchall() == [("Bob",)]


def test_arrow_and_pandas_helpers(connection):
    cursor = connection.execute("SELECT customer_id, name FROM shop.customers ORDER BY 1")
    table = cursor.fetch_arrow()
    assert table.column_names == ["customer_id", "name"] and table.num_rows == 4
    frame = connection.execute("SELECT * FROM shop.customers").fetch_df()
    assert list(frame.columns) == ["customer_id", "name", "signup"] and len(frame) == 4


def test_errors_come_from_the_pep_249_tree(connection):
    cursor = connection.cursor()
    with pytest.raises(c360.ProgrammingError, match="Did you mean 'shop.orders'"):
        cursor.execute("SELECT * FROM shop.ordrs")
    with pytest.raises(c360.NotSupportedError, match="read-only"):
        cursor.execute("DELETE FROM shop.orders")
    with pytest.raises(c360.ProgrammingError):
        cursor.fetchall()


def test_closed_objects_refuse_work(tmp_path):
    connection = c360.connect(shop_project(tmp_path))
    cursor = connection.cursor()
    cursor.close()
    with pytest.raises(c360.InterfaceError):
        cursor.execute("SELECT 1")
    connection.close()
    with pytest.raises(c360.InterfaceError):
        connection.cursor()


def test_explain_through_the_cursor_names_what_was_sent(connection):
    rows = connection.execute("EXPLAIN SELECT name FROM shop.customers WHERE customer_id = 42").fetchall()
    text = "\n".join(r[0] for r in rows)
    assert "sent: SELECT \"customer_id\", \"name\" FROM \"customers\" WHERE \"customer_id\" = 42" in text


def test_cancel_stops_a_running_query(tmp_path):
    from tests.projects import project, sqlite_file

    sqlite_file(tmp_path / "big.sqlite",
                "CREATE TABLE numbers (n INTEGER);"
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 300000) "
                "INSERT INTO numbers SELECT n FROM s;")
    catalog = project(tmp_path, "sources:\n  big:\n    kind: sqlite\n    path: ../big.sqlite\n")
    with c360.connect(catalog) as connection:
        cursor = connection.cursor()
        timer = threading.Timer(0.3, cursor.cancel)
        timer.start()
        started = time.perf_counter()
        with pytest.raises(c360.OperationalError, match="cancelled"):
            cursor.execute("SELECT count(*) FROM big.numbers a, big.numbers b WHERE a.n % 1000 = b.n % 1000")
            cursor.fetchall()
        assert time.perf_counter() - started < 10


def test_set_variable_reaches_views_and_sources_as_a_literal(tmp_path):
    catalog = shop_project(tmp_path, views={
        "recent_orders": "SELECT * FROM shop.orders "
                         "WHERE order_ts < coalesce(getvariable('as_of'), current_date)\n",
    })
    with c360.connect(catalog) as connection:
        cursor = connection.cursor()
        cursor.execute("SET VARIABLE as_of = DATE '2026-02-01' + INTERVAL 1 DAY")
        assert cursor.description is None
        cursor.execute("SELECT order_id FROM recent_orders ORDER BY 1")
        assert cursor.fetchall() == [(1,), (2,)]
        assert "\"order_ts\" < '2026-02-02 00:00:00'" in cursor.scans[0].sent
        cursor.execute("RESET VARIABLE as_of")
        cursor.execute("SELECT count(*) FROM recent_orders")
        assert cursor.fetchone() == (4,)
