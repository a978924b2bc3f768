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
    cursor.execute("SELECT name FROM shop.customers WHERE signup >= :since ORDER BY name",
                   {"since": dt.date(2025, 6, 1)})
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
    assert ("sent: SELECT \"customers\".\"name\" AS \"customers_name\" FROM \"customers\" AS \"customers\" "
            "WHERE \"customers\".\"customer_id\" = 42") in text


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
            cursor.execute("SELECT count(*) FROM big.numbers a, big.numbers b WHERE a.n % 1000 = b.n % 1000 "
                           "AND b.n > 0")  # two scans (not one shared): the query takes seconds
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


# --- parameters are values, never SQL text (issue #12) ---------------------------------------------


@pytest.mark.parametrize("value", ["a\x00b", "it's", "'; DROP TABLE x; --", "$1", "?", "\\", "é😀"])
def test_string_parameters_arrive_as_themselves(connection, value):
    cursor = connection.cursor()
    assert cursor.execute("SELECT ? AS v, length(?) AS n", [value, value]).fetchall() == [(value, len(value))]
    assert cursor.execute("SELECT count(*) FROM shop.customers WHERE name = ?", [value]).fetchall() == [(0,)]


def test_the_duckdb_query_carries_parameters_not_literals(connection):
    cursor = connection.cursor()
    cursor.execute("SELECT name FROM shop.customers WHERE customer_id = ? AND name <> ?", [42, "x\x00y"])
    assert cursor.fetchall() == [("Ann",)]
    # a NUL cannot be spelled in SQLite's SQL: that comparison stays in DuckDB, with its value a parameter
    plan = connection.engine.plan("SELECT name FROM shop.customers WHERE customer_id = ? AND name <> ?",
                                  [42, "x\x00y"])
    assert "$1" in plan.sql and "42" not in plan.sql and plan.params == ["x\x00y"]
    [scan] = plan.scans
    assert '"customer_id" = 42' in scan.statement.sql("sqlite")  # the source gets the value as a literal


def test_a_deeply_nested_query_is_a_syntax_error(connection):
    with pytest.raises(c360.ProgrammingError, match="nested too deeply"):
        connection.cursor().execute("SELECT " + "(" * 3000 + "1" + ")" * 3000)


def test_set_variable_with_an_invalid_constant_fails_at_once(connection):
    with pytest.raises(c360.DataError, match="yesterday-ish"):
        connection.cursor().execute("SET VARIABLE as_of = CAST(? AS DATE)", ["yesterday-ish"])


def test_closing_a_connection_with_an_unread_result_ends_its_scans(tmp_path):
    """A result whose rows were never fetched must not keep scan threads alive past the engine's close
    (the process used to abort at exit: 'terminate called without an active exception')."""
    import subprocess
    import sys

    from tests.views.world import write_world

    catalog = write_world(tmp_path)
    script = (
        "import c360\n"
        f"with c360.connect({str(catalog)!r}) as connection:\n"
        "    cursor = connection.execute('SELECT * FROM partners.enrichment LIMIT 0')\n"
        "    print(cursor.description[0][0])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "customer_id\n" and done.stderr == ""


def test_parameters_bind_in_text_order_when_a_with_clause_holds_some(connection):
    """sqlglot walks a WITH clause after the query it belongs to; ``?`` must still bind left to right."""
    cursor = connection.cursor()
    cursor.execute("WITH paid AS (SELECT order_id, customer_id FROM shop.orders WHERE status = ?) "
                   "SELECT order_id FROM paid WHERE customer_id = ? ORDER BY 1", ("paid", 42))
    assert cursor.fetchall() == [(1,)]
    cursor.execute("WITH big AS (SELECT order_id FROM shop.orders WHERE amount > ?) "
                   "SELECT count(*) FROM big WHERE order_id < ?", (10, 4))
    assert cursor.fetchall() == [(1,)]


def test_schema_qualified_columns_resolve_inside_a_correlated_subquery(connection):
    """``shop.customers.customer_id`` names the outer table from inside the subquery, as in DuckDB itself."""
    cursor = connection.cursor()
    cursor.execute("SELECT shop.customers.name, (SELECT count(*) FROM shop.orders "
                   "WHERE shop.orders.customer_id = shop.customers.customer_id) AS n FROM shop.customers ORDER BY 1")
    assert cursor.fetchall() == [("Ann", 2), ("Bob", 1), ("Cy", 1), ("Dee", 0)]
    assert [d[0] for d in cursor.description] == ["name", "n"]


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_show_and_describe_are_answered_from_the_catalog_in_either_dialect(tmp_path, dialect):
    with c360.connect(shop_project(tmp_path), dialect=dialect) as connection:
        cursor = connection.cursor()
        for statement in ("SHOW SCHEMAS", "SHOW SOURCES"):
            cursor.execute(statement)
            assert [d[0] for d in cursor.description] == ["schema", "kind", "description"]
            assert cursor.fetchall()[0][:2] == ("shop", "sqlite")
        assert cursor.execute("SHOW TABLES").fetchall() == [("shop", "customers", "table"), ("shop", "orders", "table")]
        described = cursor.execute("DESCRIBE shop.orders").fetchall()
        assert [row[:2] for row in described[:2]] == [("order_id", "BIGINT"), ("customer_id", "BIGINT")]
