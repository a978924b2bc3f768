"""``c360 serve --flight-port``: Arrow Flight SQL through the real ADBC Flight SQL driver and pyarrow.flight.

The server runs as a process over the server tests' SQLite project (see
conftest); answers are compared with the same SQL run by SQLite on the
project's own file.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time

import adbc_driver_flightsql.dbapi as flightsql
import adbc_driver_manager
import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute
import pyarrow.flight as flight
import pytest

from c360.server import flight_messages as fm
from tests.server.conftest import NUMS_ROWS, PASSWORD, SLOW_SOURCE_QUERY, start_server, stop_server

#: ADBC's DB-API warns on every connection that autocommit cannot be turned off: c360 is read-only and says
#: it has no transactions (SqlInfo 8), which is the truth this warning reports.
pytestmark = pytest.mark.filterwarnings("ignore:Cannot disable autocommit")


def _flight_location(server) -> str:
    match = re.search(r"Flight SQL at (\S+)", server.log.read_text())
    assert match, server.log.read_text()
    return match.group(1)


@pytest.fixture(scope="module")
def flight_server(project, tmp_path_factory):
    running = start_server(project, tmp_path_factory.mktemp("flight_log") / "serve.log", "--flight-port", "0")
    yield running
    stop_server(running.process)


@pytest.fixture(scope="module")
def scram_flight_server(project, tmp_path_factory):
    running = start_server(
        project, tmp_path_factory.mktemp("flight_scram_log") / "serve.log", "--flight-port", "0",
        env={"C360_SERVE_USER": "analyst", "C360_SERVE_PASSWORD": PASSWORD},
    )
    yield running
    stop_server(running.process)


def connect(server, user="tester", password="x"):
    return flightsql.connect(_flight_location(server), db_kwargs={"username": user, "password": password})


def sqlite_rows(project, sql, params=()):
    connection = sqlite3.connect(project.parent / "shop.sqlite")
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


@pytest.mark.compat(client="ADBC Flight SQL", operation="connect")
@pytest.mark.compat(client="ADBC Flight SQL", operation="preview")
def test_a_query_returns_the_same_rows_as_the_source_as_arrow(flight_server, project):
    sql = "SELECT order_id, customer_id, status FROM shop.orders ORDER BY order_id"
    with connect(flight_server) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        table = cursor.fetch_arrow_table()
    assert isinstance(table, pa.Table)
    assert table.column_names == ["order_id", "customer_id", "status"]
    assert [tuple(row.values()) for row in table.to_pylist()] == sqlite_rows(project, sql.replace("shop.", ""))


@pytest.mark.compat(client="ADBC Flight SQL", operation="parameters")
def test_parameters_are_bound_through_a_prepared_statement(flight_server, project):
    sql = "SELECT order_id, status FROM shop.orders WHERE customer_id = ? AND order_id > ? ORDER BY order_id"
    with connect(flight_server) as connection, connection.cursor() as cursor:
        cursor.execute(sql, (42, 0))
        first = cursor.fetchall()
        cursor.execute(sql, (44, 0))  # the same statement again, other values
        second = cursor.fetchall()
    assert first == sqlite_rows(project, sql.replace("shop.", ""), (42, 0))
    assert second == sqlite_rows(project, sql.replace("shop.", ""), (44, 0)) == [(4, "paid")]


def test_set_variable_stays_with_the_client_session(flight_server):
    with connect(flight_server) as first, connect(flight_server) as second:
        with first.cursor() as cursor:
            cursor.execute("SET VARIABLE as_of = DATE '2026-01-01'")
            cursor.execute("SELECT getvariable('as_of') AS as_of")
            assert str(cursor.fetchall()[0][0]) == "2026-01-01"
        with second.cursor() as cursor:
            cursor.execute("SELECT getvariable('as_of') AS as_of")
            assert cursor.fetchall() == [(None,)]


def test_a_refused_statement_is_a_clear_error(flight_server, tmp_path):
    target = tmp_path / "out.csv"
    with connect(flight_server) as connection, connection.cursor() as cursor:
        with pytest.raises(adbc_driver_manager.Error) as raised:
            cursor.execute(f"COPY (SELECT * FROM shop.orders) TO '{target}'")
        assert "COPY statements are not allowed" in str(raised.value)
        assert "Traceback" not in str(raised.value)
        cursor.execute("SELECT 1 AS one")  # the session still works
        assert cursor.fetchall() == [(1,)]
    assert not target.exists()


def test_an_unknown_table_names_the_table(flight_server):
    with connect(flight_server) as connection, connection.cursor() as cursor:
        with pytest.raises(adbc_driver_manager.Error, match="custmers"):
            cursor.execute("SELECT * FROM shop.custmers")


@pytest.mark.compat(client="ADBC Flight SQL", operation="schemas")
@pytest.mark.compat(client="ADBC Flight SQL", operation="tables")
@pytest.mark.compat(client="ADBC Flight SQL", operation="columns")
def test_get_objects_lists_the_catalog_schemas_tables_and_columns(flight_server):
    with connect(flight_server) as connection:
        objects = connection.adbc_get_objects(depth="all").read_all().to_pylist()
        assert [catalog["catalog_name"] for catalog in objects] == ["c360"]
        schemas = {schema["db_schema_name"]: schema for schema in objects[0]["catalog_db_schemas"]}
        assert {"shop", "c360"} <= set(schemas)
        tables = {table["table_name"]: table for table in schemas["shop"]["db_schema_tables"]}
        assert {"orders", "customers", "products"} <= set(tables)
        assert tables["orders"]["table_type"] == "TABLE"
        assert [column["column_name"] for column in tables["orders"]["table_columns"]] == [
            "order_id", "customer_id", "amount", "order_ts", "status"]
        views = {table["table_name"]: table["table_type"] for table in schemas["c360"]["db_schema_tables"]}
        assert views == {"paid_orders": "VIEW"}
        filtered = connection.adbc_get_objects(depth="tables", db_schema_filter="sh%",
                                               table_name_filter="cust%").read_all().to_pylist()
        names = [t["table_name"] for s in filtered[0]["catalog_db_schemas"] for t in s["db_schema_tables"]]
        assert names == ["customers"]


def test_get_table_schema_is_the_schema_a_query_returns(flight_server):
    with connect(flight_server) as connection, connection.cursor() as cursor:
        schema = connection.adbc_get_table_schema("orders", db_schema_filter="shop")
        cursor.execute("SELECT * FROM shop.orders")
        assert schema.names == cursor.fetch_arrow_table().schema.names
        assert schema.field("amount").type == pa.decimal128(12, 2)
        assert connection.adbc_get_table_types() == ["TABLE", "VIEW"]


def test_get_info_names_the_server(flight_server):
    with connect(flight_server) as connection:
        info = connection.adbc_get_info()
    assert info["vendor_name"] == "c360"
    assert info["vendor_arrow_version"] == pa.__version__


@pytest.mark.compat(client="ADBC Flight SQL", operation="cancel")
def test_cancel_stops_a_running_query(flight_server):
    with connect(flight_server) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 AS warm")  # the session's engine exists: CPU now means the query
        cursor.fetchall()
        before = flight_server.cpu_seconds()
        outcome = {}

        def run():
            try:
                cursor.execute(SLOW_SOURCE_QUERY)  # SQLite counts towards 10^12: hours, unless cancelled
                outcome["rows"] = cursor.fetchall()
            except adbc_driver_manager.Error as error:
                outcome["error"] = error

        thread = threading.Thread(target=run)
        thread.start()
        flight_server.wait_until_busy(before, cpu=1.0)
        started = time.monotonic()
        cursor.adbc_cancel()
        thread.join(30)
        assert not thread.is_alive()
        assert "cancel" in str(outcome.get("error", outcome)).lower()
        assert time.monotonic() - started < 10
        flight_server.wait_until_idle()  # the cancel reached the source, while the connection stays open
        cursor.execute("SELECT 2 AS two")
        assert cursor.fetchall() == [(2,)]


@pytest.mark.compat(client="pyarrow.flight", operation="timeout")
def test_a_call_cancelled_by_its_deadline_stops_the_statement(flight_server):
    client = flight.connect(_flight_location(flight_server))
    token = client.authenticate_basic_token("tester", "any")
    command = flight.FlightDescriptor.for_command(fm.pack("CommandStatementQuery", {fm.QUERY: SLOW_SOURCE_QUERY}))
    with pytest.raises(flight.FlightTimedOutError):
        client.get_flight_info(command, flight.FlightCallOptions(headers=[token], timeout=2))
    flight_server.wait_until_idle()  # SQLite would count for hours had the deadline not cancelled it


def test_users_log_in_with_their_password_and_others_are_refused(scram_flight_server):
    with connect(scram_flight_server, "analyst", PASSWORD) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) AS n FROM shop.orders")
        assert cursor.fetchall() == [(4,)]
    with pytest.raises(adbc_driver_manager.Error, match="password authentication failed"):
        with connect(scram_flight_server, "analyst", "wrong") as connection, connection.cursor() as cursor:
            cursor.execute("SELECT 1")


@pytest.mark.compat(client="pyarrow.flight", operation="connect")
@pytest.mark.compat(client="pyarrow.flight", operation="preview")
def test_pyarrow_flight_needs_a_token_then_gets_arrow(flight_server, project):
    client = flight.connect(_flight_location(flight_server))
    command = flight.FlightDescriptor.for_command(
        fm.pack("CommandStatementQuery", {fm.QUERY: "SELECT customer_id, name FROM shop.customers ORDER BY 1"}))
    with pytest.raises(flight.FlightUnauthenticatedError, match="log in with basic auth"):
        client.get_flight_info(command)
    token = client.authenticate_basic_token("tester", "any")
    options = flight.FlightCallOptions(headers=[token])
    info = client.get_flight_info(command, options)
    table = client.do_get(info.endpoints[0].ticket, options).read_all()
    assert table.schema == info.schema
    assert [tuple(row.values()) for row in table.to_pylist()] == sqlite_rows(
        project, "SELECT customer_id, name FROM customers ORDER BY 1")
    with pytest.raises(flight.FlightServerError, match="already fetched"):
        client.do_get(info.endpoints[0].ticket, options).read_all()


def test_close_session_logs_the_token_out(flight_server):
    client = flight.connect(_flight_location(flight_server))
    options = flight.FlightCallOptions(headers=[client.authenticate_basic_token("tester", "any")])
    command = flight.FlightDescriptor.for_command(fm.pack("CommandStatementQuery", {fm.QUERY: "SELECT 1 AS one"}))
    client.get_flight_info(command, options)
    assert list(client.do_action(flight.Action("CloseSession", b""), options))
    with pytest.raises(flight.FlightUnauthenticatedError, match="unknown or expired"):
        client.get_flight_info(command, options)


def test_a_malformed_command_is_one_sentence_without_a_traceback(flight_server):
    client = flight.connect(_flight_location(flight_server))
    options = flight.FlightCallOptions(headers=[client.authenticate_basic_token("tester", "any")])
    with pytest.raises(flight.FlightServerError) as raised:
        client.get_flight_info(flight.FlightDescriptor.for_command(b"\xff\xff"), options)
    assert "Malformed Flight SQL command" in str(raised.value)
    assert "Traceback" not in str(raised.value)


def test_execute_schema_is_the_schema_the_query_returns(flight_server):
    sql = "SELECT order_id, amount * 2 AS doubled, status FROM shop.orders"
    with connect(flight_server) as connection, connection.cursor() as cursor:
        schema = cursor.adbc_execute_schema(sql)
        cursor.execute(sql)
        assert schema.names == ["order_id", "doubled", "status"]
        assert schema.types == cursor.fetch_arrow_table().schema.types


def test_flight_on_another_address_without_tls_is_refused(project):
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "c360", "serve", "--catalog", str(project), "--host", "0.0.0.0", "--port", "0",
         "--flight-port", "0"],
        capture_output=True, text=True, timeout=60, cwd=project.parent,
        env={**os.environ, "C360_SERVE_USER": "analyst", "C360_SERVE_PASSWORD": PASSWORD},
    )
    assert result.returncode != 0
    assert "Refusing Flight SQL on 0.0.0.0 without users and TLS" in result.stderr
    assert "Traceback" not in result.stderr


def test_prepare_gives_one_parameter_per_placeholder(flight_server):
    with connect(flight_server) as connection, connection.cursor() as cursor:
        parameters = cursor.adbc_prepare("SELECT order_id FROM shop.orders WHERE customer_id = ? AND amount > ?")
        assert parameters.names == ["1", "2"]
        assert cursor.adbc_prepare("SELECT 1 AS one").names == []


def test_cancel_flight_info_drops_a_result_not_yet_fetched(flight_server):
    client = flight.connect(_flight_location(flight_server))
    options = flight.FlightCallOptions(headers=[client.authenticate_basic_token("tester", "any")])
    info = client.get_flight_info(
        flight.FlightDescriptor.for_command(fm.pack("CommandStatementQuery", {fm.QUERY: "SELECT * FROM shop.nums"})),
        options)
    request = fm.encode({1: info.serialize()})  # CancelFlightInfoRequest
    (result,) = client.do_action(flight.Action("CancelFlightInfo", request), options)
    assert fm.decode(result.body.to_pybytes()) == {1: [1]}  # CancelStatus CANCELLED
    with pytest.raises(flight.FlightServerError, match="already fetched"):
        client.do_get(info.endpoints[0].ticket, options).read_all()
    (again,) = client.do_action(flight.Action("CancelFlightInfo", request), options)
    assert fm.decode(again.body.to_pybytes()) == {1: [3]}  # NOT_CANCELLABLE: nothing left to cancel


@pytest.mark.compat(client="pyarrow.flight", operation="keys")
def test_primary_keys_are_the_ones_the_source_declares(flight_server):
    client = flight.connect(_flight_location(flight_server))
    options = flight.FlightCallOptions(headers=[client.authenticate_basic_token("tester", "any")])

    def keys(table):
        command = fm.pack("CommandGetPrimaryKeys", {fm.SCHEMA: "shop", fm.TABLE: table})
        info = client.get_flight_info(flight.FlightDescriptor.for_command(command), options)
        return client.do_get(info.endpoints[0].ticket, options).read_all().to_pylist()

    assert keys("products") == [{"catalog_name": "c360", "db_schema_name": "shop", "table_name": "products",
                                 "column_name": "product_id", "key_name": "products_pkey", "key_sequence": 1}]
    assert keys("orders") == []


def test_sql_info_says_read_only_and_no_transactions(flight_server):
    client = flight.connect(_flight_location(flight_server))
    options = flight.FlightCallOptions(headers=[client.authenticate_basic_token("tester", "any")])
    command = fm.pack("CommandGetSqlInfo", {})
    info = client.get_flight_info(flight.FlightDescriptor.for_command(command), options)
    rows = client.do_get(info.endpoints[0].ticket, options).read_all().to_pylist()
    answers = {row["info_name"]: row["value"] for row in rows}
    assert answers[0] == "c360" and answers[3] is True and answers[8] == 0
    only = fm.pack("CommandGetSqlInfo", {fm.INFO: 3})  # one id asked: one row
    info = client.get_flight_info(flight.FlightDescriptor.for_command(only), options)
    assert client.do_get(info.endpoints[0].ticket, options).read_all().to_pylist() == [{"info_name": 3, "value": True}]


def test_with_a_certificate_flight_speaks_tls(project, tmp_path):
    import subprocess

    done = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(tmp_path / "key.pem"),
         "-out", str(tmp_path / "cert.pem")],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, f"openssl could not make a test certificate: {done.stderr}"
    running = start_server(project, tmp_path / "serve.log", "--flight-port", "0",
                           "--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem"))
    try:
        location = _flight_location(running)
        assert location.startswith("grpc+tls://")
        connection = flightsql.connect(location, db_kwargs={
            "username": "tester", "password": "x",
            "adbc.flight.sql.client_option.tls_root_certs": (tmp_path / "cert.pem").read_text(),
        })
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) AS n FROM shop.customers")
            assert cursor.fetchall() == [(4,)]
        with pytest.raises((flight.FlightUnavailableError, flight.FlightInternalError)):  # plain text is not TLS
            plain = flight.connect(location.replace("grpc+tls", "grpc+tcp"))
            plain.authenticate_basic_token("tester", "x")
    finally:
        stop_server(running.process)


def test_results_never_fetched_are_closed_past_the_limit(flight_server):
    from c360.server.flight import PENDING_RESULTS

    client = flight.connect(_flight_location(flight_server))
    options = flight.FlightCallOptions(headers=[client.authenticate_basic_token("tester", "any")])
    infos = [client.get_flight_info(flight.FlightDescriptor.for_command(
        fm.pack("CommandStatementQuery", {fm.QUERY: f"SELECT {i} AS i"})), options) for i in range(PENDING_RESULTS + 1)]
    with pytest.raises(flight.FlightServerError, match="unknown or was already fetched"):
        client.do_get(infos[0].endpoints[0].ticket, options).read_all()
    last = client.do_get(infos[-1].endpoints[0].ticket, options).read_all()
    assert last.to_pylist() == [{"i": PENDING_RESULTS}]


@pytest.mark.compat(client="ADBC Flight SQL", operation="paging")
def test_a_large_result_streams_as_record_batches(flight_server):
    with connect(flight_server) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT a.n FROM shop.nums a, shop.nums b WHERE b.n < 10")  # 200,000 rows
        reader = cursor.fetch_record_batch()
        sizes, total = [], 0
        for batch in reader:
            sizes.append(batch.num_rows)
            total += pa.compute.sum(batch.column(0)).as_py()
        assert sum(sizes) == 10 * NUMS_ROWS and len(sizes) > 1  # several batches, read one at a time
        assert total == 10 * NUMS_ROWS * (NUMS_ROWS - 1) // 2


@pytest.mark.compat(client="ADBC Flight SQL", operation="timeout")
def test_a_query_timeout_ends_the_statement_in_its_source(flight_server):
    connection = flightsql.connect(_flight_location(flight_server), db_kwargs={
        "username": "tester", "password": "x", "adbc.flight.sql.rpc.timeout_seconds.query": "1.5"})
    with connection, connection.cursor() as cursor:
        started = time.monotonic()
        with pytest.raises(adbc_driver_manager.Error, match="(?i)deadline|timed? ?out"):
            cursor.execute(SLOW_SOURCE_QUERY)
        assert time.monotonic() - started < 10
        flight_server.wait_until_idle()  # the deadline cancelled the call, and the call the source
        cursor.execute("SELECT 2 AS two")
        assert cursor.fetchall() == [(2,)]


def _catalog_command(server, name: str, fields: dict) -> tuple[pa.Schema, pa.Table]:
    """A Flight SQL catalog command through pyarrow.flight: GetSchema's answer and the rows."""
    client = flight.connect(_flight_location(server))
    options = flight.FlightCallOptions(headers=[client.authenticate_basic_token("tester", "any")])
    descriptor = flight.FlightDescriptor.for_command(fm.pack(name, fields))
    schema = client.get_schema(descriptor, options).schema
    info = client.get_flight_info(descriptor, options)
    return schema, client.do_get(info.endpoints[0].ticket, options).read_all()


@pytest.mark.parametrize("name, fields", [
    ("CommandGetImportedKeys", {2: "shop", 3: "orders"}),
    ("CommandGetExportedKeys", {2: "shop", 3: "customers"}),
    ("CommandGetCrossReference", {2: "shop", 3: "customers", 5: "shop", 6: "orders"}),
])
def test_foreign_key_commands_answer_no_rows_in_the_schema_flight_sql_fixes(flight_server, name, fields):
    schema, table = _catalog_command(flight_server, name, fields)
    assert table.schema == schema
    assert schema.names == ["pk_catalog_name", "pk_db_schema_name", "pk_table_name", "pk_column_name",
                            "fk_catalog_name", "fk_db_schema_name", "fk_table_name", "fk_column_name",
                            "key_sequence", "fk_key_name", "pk_key_name", "update_rule", "delete_rule"]
    assert schema.field("update_rule").type == pa.uint8() and not schema.field("key_sequence").nullable
    assert table.num_rows == 0  # c360 discovers no foreign keys


def test_xdbc_type_info_lists_types_the_server_runs_in_order(flight_server):
    schema, table = _catalog_command(flight_server, "CommandGetXdbcTypeInfo", {})
    assert table.schema == schema
    assert schema.names[:4] == ["type_name", "data_type", "column_size", "literal_prefix"]
    assert schema.names[-1] == "interval_precision" and len(schema.names) == 19
    rows = table.to_pylist()
    assert [(r["data_type"], r["type_name"]) for r in rows] == sorted((r["data_type"], r["type_name"]) for r in rows)
    names = {row["type_name"]: row for row in rows}
    assert names["BIGINT"]["data_type"] == -5 and names["VARCHAR"]["data_type"] == 12
    assert (names["DATE"]["sql_data_type"], names["DATE"]["datetime_subcode"]) == (9, 1)
    with connect(flight_server) as connection, connection.cursor() as cursor:
        for row in rows:  # every type named is one the server's SQL knows
            cursor.execute(f"SELECT CAST(NULL AS {row['type_name']}) AS x")
            assert cursor.fetchall() == [(None,)]
    _, bigint = _catalog_command(flight_server, "CommandGetXdbcTypeInfo", {1: -5})  # a negative int32 filter
    assert bigint.column("type_name").to_pylist() == ["BIGINT"]


@pytest.mark.compat(client="pyarrow.flight", operation="parameters")
def test_a_prepared_statement_gives_typed_parameters_and_binds_them(flight_server, project):
    client = flight.connect(_flight_location(flight_server))
    options = flight.FlightCallOptions(headers=[client.authenticate_basic_token("tester", "any")])
    sql = ("SELECT order_id FROM shop.orders WHERE customer_id = ? AND amount > ? AND order_ts < CAST(? AS DATE) "
           "ORDER BY 1")
    request = fm.pack("ActionCreatePreparedStatementRequest", {fm.QUERY: sql})
    (result,) = client.do_action(flight.Action("CreatePreparedStatement", request), options)
    _, prepared = fm.unpack(result.body.to_pybytes())
    parameters = pa.ipc.read_schema(pa.py_buffer(fm.raw(prepared, fm.PARAMETER_SCHEMA)))
    assert parameters.names == ["1", "2", "3"]
    assert parameters.types == [pa.int64(), pa.decimal128(12, 2), pa.date32()]
    handle = fm.raw(prepared, fm.RESULT_HANDLE)
    descriptor = flight.FlightDescriptor.for_command(fm.pack("CommandPreparedStatementQuery", {fm.HANDLE: handle}))
    import datetime
    import decimal

    values = pa.record_batch([pa.array([42]), pa.array([decimal.Decimal("1.00")], pa.decimal128(12, 2)),
                              pa.array([datetime.date(2030, 1, 1)])], schema=parameters)
    writer, reader = client.do_put(descriptor, parameters, options)
    writer.write_batch(values)
    writer.done_writing()
    reader.read()
    writer.close()
    info = client.get_flight_info(descriptor, options)
    rows = client.do_get(info.endpoints[0].ticket, options).read_all().column("order_id").to_pylist()
    expected = sqlite_rows(project, "SELECT order_id FROM orders WHERE customer_id = 42 AND amount > 1 ORDER BY 1")
    assert rows == [row[0] for row in expected] and rows


def test_adbc_prepare_sees_the_inferred_parameter_types(flight_server):
    with connect(flight_server) as connection, connection.cursor() as cursor:
        parameters = cursor.adbc_prepare("SELECT name FROM shop.customers WHERE customer_id IN (?, ?) AND ? < 1")
        assert parameters.types == [pa.int64(), pa.int64(), pa.int32()]
        untyped = cursor.adbc_prepare("SELECT ? AS anything")
        assert untyped.types == [pa.null()]  # nothing in the query says: the bound value's type decides
        cursor.execute("SELECT name FROM shop.customers WHERE customer_id IN (?, ?) ORDER BY 1", (42, 44))
        assert cursor.fetchall() == [("Ann",), ("Cy",)]


@pytest.mark.compat(client="pyarrow.flight", operation="schemas")
@pytest.mark.compat(client="pyarrow.flight", operation="tables")
@pytest.mark.compat(client="pyarrow.flight", operation="columns")
def test_pyarrow_flight_lists_schemas_and_tables_with_their_arrow_schemas(flight_server):
    _, schemas = _catalog_command(flight_server, "CommandGetDbSchemas", {})
    assert {"shop", "c360"} <= set(schemas.column("db_schema_name").to_pylist())
    _, tables = _catalog_command(flight_server, "CommandGetTables", {fm.SCHEMA_PATTERN: "shop",
                                                                     fm.INCLUDE_SCHEMA: True})
    found = {row["table_name"]: row for row in tables.to_pylist()}
    assert {"orders", "products"} <= set(found) and found["orders"]["table_type"] == "TABLE"
    columns = pa.ipc.read_schema(pa.py_buffer(found["products"]["table_schema"]))
    assert [(f.name, f.type) for f in columns] == [("product_id", pa.int64()), ("sku", pa.string()),
                                                   ("name", pa.string())]
