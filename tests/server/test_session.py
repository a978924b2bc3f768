"""The query protocols as psycopg 3 drives them: simple and extended, parameters, cursors, COPY, errors."""

from __future__ import annotations

import datetime as dt
import struct
from decimal import Decimal

import psycopg
import pytest

from tests.server import wire


@pytest.fixture
def conn(dsn):
    with psycopg.connect(dsn, autocommit=True) as connection:
        yield connection


def test_simple_protocol_query_returns_rows_with_postgres_types(conn):
    cursor = psycopg.ClientCursor(conn)  # client-side binding: the simple query protocol
    cursor.execute("SELECT order_id, amount, order_ts, status FROM shop.orders WHERE order_id = %s", [1])
    assert cursor.fetchall() == [(1, Decimal("12.99"), dt.datetime(2026, 1, 1, 10, 0), "paid")]
    assert [c.type_code for c in cursor.description] == [20, 1700, 1114, 25]


def test_several_statements_in_one_simple_query_each_return_a_result(conn):
    cursor = conn.cursor()
    cursor.execute("SELECT 1 AS a; SELECT 'two' AS b;")
    assert cursor.fetchall() == [(1,)]
    assert cursor.nextset()
    assert cursor.fetchall() == [("two",)]


@pytest.mark.parametrize(
    "value",
    ["plain", "it's \"quoted\" ü", None, dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 23, 59, 58, 123456),
     Decimal("-1234.5600"), True, False, 9_007_199_254_740_993, 2.5],
)
@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_extended_protocol_parameter_comes_back_unchanged(conn, value, binary):
    cursor = conn.cursor(binary=binary)
    cursor.execute("SELECT %s AS v", [value])
    assert cursor.fetchall() == [(value,)]


def test_parameters_filter_rows_in_the_source(conn):
    rows = conn.execute(
        "SELECT order_id FROM shop.orders WHERE order_ts >= %s AND status = %s AND amount > %s ORDER BY order_id",
        [dt.datetime(2026, 1, 1), "paid", Decimal("10")],
    ).fetchall()
    assert rows == [(1,), (4,)]


def test_a_parameter_used_twice_and_out_of_order_binds_by_number(conn):
    cursor = psycopg.RawCursor(conn)  # sends $n placeholders as written
    cursor.execute("SELECT $2::text AS b, $1::int + $1::int AS twice", [21, "x"])
    assert cursor.fetchall() == [("x", 42)]


def test_date_and_null_parameters_compare_against_source_columns(conn):
    assert conn.execute("SELECT name FROM shop.customers WHERE signup = %s", [dt.date(2025, 6, 1)]).fetchall() == [("Bob",)]
    assert conn.execute("SELECT count(*) FROM shop.customers WHERE %s::date IS NULL", [None]).fetchall() == [(4,)]


def test_binary_results_decode_to_the_same_values_as_text(conn):
    sql = "SELECT * FROM shop.orders ORDER BY order_id"
    assert conn.cursor(binary=True).execute(sql).fetchall() == conn.cursor().execute(sql).fetchall()


@pytest.mark.compat(client="psycopg3", operation="paging")
def test_server_side_cursor_streams_in_itersize_batches(dsn):
    with psycopg.connect(dsn) as connection:
        with connection.cursor(name="big_scan") as cursor:
            cursor.itersize = 1000
            cursor.execute("SELECT n FROM shop.nums WHERE n < %s ORDER BY n", [2500])
            first = cursor.fetchmany(3)
            rest = list(cursor)
        assert first == [(0,), (1,), (2,)]
        assert [r[0] for r in rest] == list(range(3, 2500))
        connection.commit()


def test_declare_fetch_close_work_as_sql_commands(dsn):
    with psycopg.connect(dsn) as connection:
        cursor = connection.cursor()
        cursor.execute("DECLARE c CURSOR FOR SELECT n FROM shop.nums ORDER BY n")
        assert cursor.execute("FETCH FORWARD 2 FROM c").fetchall() == [(0,), (1,)]
        cursor.execute("MOVE 3 IN c")
        assert cursor.statusmessage == "MOVE 3"
        assert cursor.execute("FETCH NEXT FROM c").fetchall() == [(5,)]
        cursor.execute("CLOSE c")
        with pytest.raises(psycopg.errors.InvalidCursorName):
            cursor.execute("FETCH 1 FROM c")
        connection.rollback()


def test_execute_with_a_row_limit_suspends_the_portal_and_resumes(server):
    client = wire.Wire(server.port)
    client.startup()
    client.message(b"P", wire.parse("", "SELECT n FROM shop.nums WHERE n < 5 ORDER BY n"))
    client.message(b"B", wire.bind("", ""))
    client.message(b"E", wire.execute("", 2))
    client.message(b"E", wire.execute("", 2))
    client.message(b"E", wire.execute("", 2))
    client.message(b"S")
    messages = client.until_ready()
    kinds = [kind for kind, _ in messages]
    assert kinds == [b"1", b"2", b"D", b"D", b"s", b"D", b"D", b"s", b"D", b"C", b"Z"]
    assert wire.data_rows(messages) == [["0"], ["1"], ["2"], ["3"], ["4"]]
    client.close()


def test_transactions_are_accepted_and_an_error_aborts_until_rollback(dsn):
    with psycopg.connect(dsn) as connection:  # psycopg sends BEGIN before the first statement
        assert connection.execute("SELECT 1").fetchall() == [(1,)]
        assert connection.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        with pytest.raises(psycopg.errors.UndefinedTable):
            connection.execute("SELECT * FROM shop.nope")
        assert connection.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            connection.execute("SELECT 1")
        connection.rollback()
        assert connection.execute("SELECT 2").fetchall() == [(2,)]
        connection.commit()


@pytest.mark.parametrize(
    "sql, error",
    [
        ("SELECT * FROM shop.ordrs", psycopg.errors.UndefinedTable),
        ("SELEC 1", psycopg.errors.SyntaxError),
        ("INSERT INTO shop.orders VALUES (9, 1, 1, NULL, 'x')", psycopg.errors.ReadOnlySqlTransaction),
    ],
)
def test_c360_errors_arrive_with_their_sqlstate_and_the_session_goes_on(conn, sql, error):
    with pytest.raises(error) as raised:
        conn.execute(sql)
    assert "\n" not in raised.value.diag.message_primary
    assert conn.execute("SELECT 1").fetchall() == [(1,)]


def test_unknown_table_error_keeps_the_did_you_mean(conn):
    with pytest.raises(psycopg.errors.UndefinedTable, match="Did you mean 'shop.orders'"):
        conn.execute("SELECT * FROM shop.ordrs")


def test_copy_to_stdout_exports_csv_with_header(conn):
    with conn.cursor().copy("COPY (SELECT order_id, status FROM shop.orders ORDER BY order_id) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
        data = b"".join(bytes(chunk) for chunk in copy)
    assert data.decode() == "order_id,status\n1,paid\n2,CANCELLED\n3,\n4,paid\n"


def test_copy_table_to_stdout_in_text_format_escapes_and_marks_nulls(conn):
    with conn.cursor().copy("COPY shop.customers (customer_id, signup) TO STDOUT") as copy:
        rows = [row for row in copy.rows()]
    assert sorted(rows, key=lambda r: int(r[0])) == [("42", "2025-01-01"), ("43", "2025-06-01"), ("44", None), ("45", "2026-01-01")]


def test_set_and_show_round_trip_and_show_knows_postgres_settings(conn):
    conn.execute("SET application_name = 'c360-tests'")
    assert conn.execute("SHOW application_name").fetchall() == [("c360-tests",)]
    assert conn.execute("SHOW transaction isolation level").fetchall() == [("read committed",)]
    assert conn.execute("SHOW standard_conforming_strings").fetchall() == [("on",)]
    with pytest.raises(psycopg.errors.UndefinedObject):
        conn.execute("SHOW no_such_setting")


def test_views_are_queryable_in_the_c360_schema(conn):
    assert sorted(conn.execute("SELECT order_id FROM c360.paid_orders").fetchall()) == [(1,), (4,)]


def test_an_empty_query_gets_an_empty_query_response(server):
    client = wire.Wire(server.port)
    client.startup()
    assert [kind for kind, _ in client.query("  ;  ")] == [b"I", b"Z"]
    client.close()


def test_statements_prepared_by_psycopg_keep_working_after_the_prepare_threshold(conn):
    for customer in [42, 43, 44, 45, 42, 43, 44, 45]:
        assert conn.execute("SELECT customer_id FROM shop.customers WHERE customer_id = %s", [customer]).fetchall() == [(customer,)]


def test_describe_statement_reports_parameter_types_and_result_columns(server):
    client = wire.Wire(server.port)
    client.startup()
    body = b"s1\0SELECT order_id, status FROM shop.orders WHERE order_id = $1\0" + struct.pack("!hI", 1, 20)
    client.message(b"P", body)
    client.message(b"D", b"Ss1\0")
    client.message(b"S")
    messages = client.until_ready()
    kinds = [kind for kind, _ in messages]
    assert kinds == [b"1", b"t", b"T", b"Z"]
    assert struct.unpack("!hI", messages[1][1]) == (1, 20)
    row_description = messages[2][1]
    assert struct.unpack_from("!h", row_description) == (2,)
    assert row_description[2:].startswith(b"order_id\0") and b"status\0" in row_description
    client.close()


def test_untyped_text_parameters_bind_as_strings_the_engine_casts(server):
    client = wire.Wire(server.port)
    client.startup()
    client.message(b"P", wire.parse("", "SELECT label FROM shop.nums WHERE n = $1"))  # no parameter types: OID 0
    client.message(b"B", wire.bind("", "", ["7"]))
    client.message(b"E", wire.execute(""))
    client.message(b"S")
    assert wire.data_rows(client.until_ready()) == [["n7"]]
    client.close()


def test_flush_answers_before_sync_and_close_forgets_the_statement(server):
    client = wire.Wire(server.port)
    client.startup()
    client.message(b"P", wire.parse("s1", "SELECT 1"))
    client.message(b"H")
    assert client.read()[0] == b"1"  # ParseComplete arrives on Flush, without a Sync
    client.message(b"C", b"Ss1\0")
    client.message(b"H")
    assert client.read()[0] == b"3"  # CloseComplete
    client.message(b"B", wire.bind("", "s1"))
    client.message(b"E", wire.execute(""))  # skipped: the Bind failed
    client.message(b"S")
    messages = client.until_ready()
    assert [kind for kind, _ in messages] == [b"E", b"Z"]
    assert wire.error_fields(messages[0][1])["C"] == "26000"
    client.close()


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_lists_arrive_as_postgres_arrays(conn, binary):
    cursor = conn.cursor(binary=binary)
    cursor.execute("SELECT [1, 2, NULL] AS ints, ['a b', 'c\"d', NULL, '', 'x,{y}'] AS texts")
    assert cursor.fetchall() == [([1, 2, None], ["a b", 'c"d', None, "", "x,{y}"])]
    assert [c.type_code for c in cursor.description] == [1007, 1009]


def test_set_variable_is_per_connection_and_reaches_the_engine(dsn):
    query = "SELECT order_id FROM shop.orders WHERE order_id >= getvariable('min_id') ORDER BY order_id"
    with psycopg.connect(dsn, autocommit=True) as first, psycopg.connect(dsn, autocommit=True) as second:
        cursor = first.execute("SET VARIABLE min_id = 3")
        assert cursor.statusmessage == "SET"
        assert first.execute(query).fetchall() == [(3,), (4,)]
        assert second.execute(query).fetchall() == []  # unset there: NULL
        first.execute("RESET VARIABLE min_id")
        assert first.execute(query).fetchall() == []


def test_explain_shows_what_each_source_received(conn):
    lines = [row[0] for row in conn.execute("EXPLAIN SELECT name FROM shop.customers WHERE customer_id = 42").fetchall()]
    assert any("sent:" in line and "42" in line for line in lines)
