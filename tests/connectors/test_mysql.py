"""MySQLConnector against the real MariaDB server, through the connector API itself."""

from __future__ import annotations

import datetime
import socket
import threading
import time
from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest
import sqlglot

from c360.errors import (
    CatalogError,
    MissingSecretError,
    QueryCancelledError,
    SourceError,
    SourceTimeoutError,
    SourceUnreachableError,
    UnknownTableError,
)
from connectors.base import ScanRequest
from connectors.mysql import NET_WRITE_TIMEOUT, MySQLConnector, MySQLScan

PASSWORD_VARIABLE = "C360_TEST_MYSQL_PASSWORD"

PEOPLE = [
    # id, name, city, amount, joined, seen, vip
    (1, "Ana", "Lisboa", Decimal("10.50"), datetime.date(2024, 1, 5), datetime.datetime(2024, 1, 5, 8, 30, 0), 1),
    (2, "Bruno", "Porto", Decimal("99.99"), datetime.date(2024, 2, 10), datetime.datetime(2024, 2, 10, 23, 59, 59), 0),
    (3, "Chloé", "Paris", None, datetime.date(2024, 3, 15), None, 1),
    (4, "Dmitri", None, Decimal("0.01"), None, datetime.datetime(2023, 12, 31, 0, 0, 1), 0),
    (5, "Émile", "Paris", Decimal("250.00"), datetime.date(2023, 11, 1), datetime.datetime(2023, 11, 1, 12, 0, 0), None),
    (6, "back\\slash", "Oslo", Decimal("7.00"), datetime.date(2024, 4, 1), None, 0),
    (7, "北京客户", "Beijing", Decimal("42.42"), datetime.date(2024, 5, 20), datetime.datetime(2024, 5, 20, 6, 0, 0), 1),
]


@pytest.fixture(scope="module")
def shop(mariadb):
    """A database of this module's own, with a few tables; the connector reads it as source 'shop'."""
    mariadb = mariadb.child("mysql_connector")
    mariadb.execute(
        """CREATE TABLE people (
            id INT NOT NULL PRIMARY KEY,
            name VARCHAR(40) NOT NULL,
            city VARCHAR(40) NULL,
            amount DECIMAL(12,2) NULL,
            joined DATE NULL,
            seen DATETIME NULL,
            vip BOOLEAN NULL
        ) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci""",
        """CREATE TABLE kinds (
            tiny TINYINT, small SMALLINT, medium MEDIUMINT, whole INT, big BIGINT, ubig BIGINT UNSIGNED,
            price DECIMAL(12,2), ratio DOUBLE, f FLOAT, flag BOOLEAN, d DATE, dt DATETIME(6), ts TIMESTAMP NULL,
            t TIME, y YEAR, note TEXT, code CHAR(3), blobby VARBINARY(10), b BIT(8),
            ci VARCHAR(10) COLLATE utf8mb4_general_ci,
            padded_bin VARCHAR(10) COLLATE utf8mb4_bin,
            nopad_bin VARCHAR(10) COLLATE utf8mb4_nopad_bin
        )""",
        """INSERT INTO kinds VALUES (-1, -2, -3, -4, -5, 18446744073709551615, 12.34, 0.5, 1.5, TRUE,
            '2024-02-29', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15', '13:14:15', 2024, 'ünïcödé',
            'abc', X'00ff', b'00000101', 'x', 'y', 'z')""",
        "CREATE VIEW people_view AS SELECT id, name FROM people",
        "CREATE VIEW slow AS SELECT SLEEP(30) AS s",
        """CREATE TABLE big (customer_id BIGINT NOT NULL PRIMARY KEY, segment VARCHAR(10) NOT NULL,
            amount DECIMAL(10,2) NOT NULL)""",
        """INSERT INTO big SELECT seq, CONCAT('s', seq % 7), (seq % 1000) / 10 FROM seq_1_to_100000""",
    )
    connection = mariadb.connect()
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO people VALUES (%s, %s, %s, %s, %s, %s, %s)", PEOPLE)
    connection.close()
    return mariadb


@pytest.fixture(params=["duckdb", "pymysql"])
def connector(shop, monkeypatch, request):
    """The connector, once per transport: every scan test runs through both."""
    monkeypatch.setenv(PASSWORD_VARIABLE, shop.password)
    connector = MySQLConnector("shop", {**shop.options("${ENV:%s}" % PASSWORD_VARIABLE), "transport": request.param})
    yield connector
    connector.close()


def where(text: str) -> sqlglot.exp.Expression:
    return sqlglot.parse_one(text, dialect="duckdb")


def ordered(text: str) -> sqlglot.exp.Ordered:
    return sqlglot.parse_one(f"SELECT 1 ORDER BY {text}", dialect="duckdb").args["order"].expressions[0]


def read(scan) -> list[dict]:
    return pa.Table.from_batches(list(scan.batches()), schema=scan.request.table.arrow_schema(scan.request.columns)).to_pylist()


def oracle(filter_sql: str, columns: str = "id") -> list[dict]:
    """What DuckDB answers for the same filter over the same rows (the meaning c360 promises)."""
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE people (id INT, name VARCHAR, city VARCHAR, amount DECIMAL(12,2), joined DATE,"
        " seen TIMESTAMP, vip BOOLEAN)"
    )
    connection.executemany(
        "INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?)",
        [row[:6] + (None if row[6] is None else bool(row[6]),) for row in PEOPLE],
    )
    cursor = connection.execute(f"SELECT {columns} FROM people WHERE {filter_sql} ORDER BY id")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- discovery ---------------------------------------------------------------------------------


def test_tables_lists_base_tables_and_views(connector):
    assert {"people", "kinds", "people_view", "slow", "big"} <= set(connector.tables())


def test_schema_maps_mysql_types_to_arrow(connector):
    schema = connector.schema("kinds")
    types = {column.name: column.type for column in schema.columns}
    assert types == {
        "tiny": pa.int8(),
        "small": pa.int16(),
        "medium": pa.int32(),
        "whole": pa.int32(),
        "big": pa.int64(),
        "ubig": pa.uint64(),
        "price": pa.decimal128(12, 2),
        "ratio": pa.float64(),
        "f": pa.float32(),
        "flag": pa.bool_(),
        "d": pa.date32(),
        "dt": pa.timestamp("us"),
        "ts": pa.timestamp("us"),
        "t": pa.time64("us"),
        "y": pa.int16(),
        "note": pa.string(),
        "code": pa.string(),
        "blobby": pa.binary(),
        "b": pa.int64(),
        "ci": pa.string(),
        "padded_bin": pa.string(),
        "nopad_bin": pa.string(),
    }
    assert schema.remote_name == ("kinds",)


def test_schema_reports_nullability(connector):
    schema = connector.schema("people")
    assert schema.column("id").nullable is False
    assert schema.column("city").nullable is True


def test_scan_returns_every_type_with_its_value(connector):
    schema = connector.schema("kinds")
    scan = connector.scan(ScanRequest(schema, tuple(c.name for c in schema.columns)))
    (row,) = read(scan)
    assert row == {
        "tiny": -1,
        "small": -2,
        "medium": -3,
        "whole": -4,
        "big": -5,
        "ubig": 18446744073709551615,
        "price": Decimal("12.34"),
        "ratio": 0.5,
        "f": 1.5,
        "flag": True,
        "d": datetime.date(2024, 2, 29),
        "dt": datetime.datetime(2024, 2, 29, 13, 14, 15, 123456),
        "ts": datetime.datetime(2024, 2, 29, 13, 14, 15),
        "t": datetime.time(13, 14, 15),
        "y": 2024,
        "note": "ünïcödé",
        "code": "abc",
        "blobby": b"\x00\xff",
        "b": 5,
        "ci": "x",
        "padded_bin": "y",
        "nopad_bin": "z",
    }


def test_scan_keeps_nulls_decimals_dates_and_unicode(connector):
    schema = connector.schema("people")
    rows = read(connector.scan(ScanRequest(schema, ("id", "name", "city", "amount", "joined", "seen", "vip"))))
    expected = [
        dict(zip(("id", "name", "city", "amount", "joined", "seen", "vip"), row[:6] + (None if row[6] is None else bool(row[6]),)))
        for row in PEOPLE
    ]
    assert sorted(rows, key=lambda r: r["id"]) == expected


def test_zero_dates_become_nulls(shop, connector):
    shop.execute(
        "CREATE TABLE IF NOT EXISTS zeros (id INT, d DATE, dt DATETIME, amount DECIMAL(60,3))",
        "DELETE FROM zeros",
        "SET SESSION sql_mode = ''",
        "INSERT INTO zeros VALUES (1, '0000-00-00', '0000-00-00 00:00:00', 1.5), (2, '2024-01-31', '2024-01-31 10:00:00', NULL)",
    )
    schema = connector.schema("zeros")
    assert schema.column("amount").type == pa.float64()  # wider than Arrow's 38-digit decimals
    assert read(connector.scan(ScanRequest(schema, ("id", "d", "dt", "amount")))) == [
        {"id": 1, "d": None, "dt": None, "amount": 1.5},
        {"id": 2, "d": datetime.date(2024, 1, 31), "dt": datetime.datetime(2024, 1, 31, 10), "amount": None},
    ]


def test_unknown_table_suggests_the_closest_name(connector):
    with pytest.raises(UnknownTableError, match=r"Unknown table 'shop.peeple'. Did you mean 'people'\?"):
        connector.schema("peeple")


# --- pushdown: what is sent, and what comes back -------------------------------------------------


def test_projection_is_sent_and_only_requested_columns_come_back(connector):
    schema = connector.schema("people")
    scan = connector.scan(ScanRequest(schema, ("name", "id")))
    assert scan.sent == "SELECT `name`, `id` FROM `people`"
    rows = read(scan)
    assert set(rows[0]) == {"name", "id"}
    assert len(rows) == len(PEOPLE)


FILTERS = {
    "compare": ("amount > 50", "`amount` > 50"),
    "compare_date": ("joined >= DATE '2024-02-10'", "`joined` >= CAST('2024-02-10' AS DATE)"),
    "compare_timestamp": ("seen < TIMESTAMP '2024-01-01 00:00:00'", "`seen` < CAST('2024-01-01 00:00:00' AS DATETIME)"),
    "in": ("id IN (2, 4, 6)", "`id` IN (2, 4, 6)"),
    "between": ("amount BETWEEN 10 AND 100", "`amount` BETWEEN 10 AND 100"),
    "is_null": ("city IS NULL", "`city` IS NULL"),
    "is_not_null": ("seen IS NOT NULL", "NOT `seen` IS NULL"),
    "like_prefix": ("city LIKE 'Pa%'", "`city` LIKE 'Pa%'"),
    "like_prefix_backslash": ("name LIKE 'back\\%'", "`name` LIKE 'back\\\\\\\\%'"),
    "boolean": ("(amount < 20 OR city = 'Paris') AND NOT id = 3", "(`amount` < 20 OR `city` = 'Paris') AND NOT `id` = 3"),
    "boolean_column": ("vip = TRUE", "`vip` = TRUE"),
}


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_is_sent_and_rows_are_correct(connector, name):
    duckdb_filter, sent_fragment = FILTERS[name]
    schema = connector.schema("people")
    scan = connector.scan(ScanRequest(schema, ("id",), filters=(where(duckdb_filter),)))
    assert scan.sent == f"SELECT `id` FROM `people` WHERE {sent_fragment}"
    rows = sorted(read(scan), key=lambda r: r["id"])
    assert rows == oracle(duckdb_filter)
    assert rows  # every filter here selects something, so an empty answer is a failure


def test_limit_is_sent(connector):
    schema = connector.schema("people")
    scan = connector.scan(ScanRequest(schema, ("id",), limit=3))
    assert scan.sent == "SELECT `id` FROM `people` LIMIT 3"
    assert len(read(scan)) == 3
    assert scan.stats.rows == 3


def test_top_n_is_sent_with_duckdb_null_ordering(connector):
    schema = connector.schema("people")
    scan = connector.scan(ScanRequest(schema, ("id", "amount"), order_by=(ordered("amount DESC"),), limit=2))
    assert scan.sent == "SELECT `id`, `amount` FROM `people` ORDER BY `amount` DESC LIMIT 2"
    assert [r["id"] for r in read(scan)] == [5, 2]


def test_top_n_ascending_puts_nulls_last_like_duckdb(connector):
    schema = connector.schema("people")
    scan = connector.scan(ScanRequest(schema, ("id",), order_by=(ordered("amount"),), limit=7))
    assert scan.sent.endswith("ORDER BY CASE WHEN `amount` IS NULL THEN 1 ELSE 0 END, `amount` LIMIT 7")
    by_amount = sorted((row for row in PEOPLE if row[3] is not None), key=lambda row: row[3])
    assert [r["id"] for r in read(scan)] == [row[0] for row in by_amount] + [3]


def test_point_query_on_100k_rows_moves_one_row(connector):
    schema = connector.schema("big")
    assert connector.scan(ScanRequest(schema, ("customer_id",))).sent == "SELECT `customer_id` FROM `big`"
    scan = connector.scan(ScanRequest(schema, ("customer_id", "segment", "amount"), filters=(where("customer_id = 42"),)))
    assert scan.sent == "SELECT `customer_id`, `segment`, `amount` FROM `big` WHERE `customer_id` = 42"
    assert read(scan) == [{"customer_id": 42, "segment": "s0", "amount": Decimal("4.20")}]
    assert scan.stats.rows == 1


def test_full_scan_streams_in_batches(connector):
    schema = connector.schema("big")
    scan = connector.scan(ScanRequest(schema, ("customer_id",)))
    total = sum(batch.num_rows for batch in scan.batches())
    assert total == 100_000
    assert scan.stats.batches > 1


# --- collations: why string filters are inexact here -------------------------------------------


def test_default_collation_ignores_case_and_trailing_spaces_on_the_server(shop):
    (row,) = shop.query("SELECT 'ABC' = 'abc', 'x' = 'x  ', 'e' = 'é'")
    assert row == (1, 1, 1)  # DuckDB says false to all three
    assert duckdb.sql("SELECT 'ABC' = 'abc', 'x' = 'x  ', 'e' = 'é'").fetchone() == (False, False, False)


def test_like_ignores_case_on_the_server_so_it_is_not_claimed_exact(connector, shop):
    assert shop.query("SELECT 'ABC' LIKE 'ab%', 'Émile' LIKE 'em%'") == [(1, 1)]
    assert connector.capabilities.like_exact is False
    schema = connector.schema("people")
    rows = read(connector.scan(ScanRequest(schema, ("name",), filters=(where("name LIKE 'ÉM%'"),))))
    assert rows == [{"name": "Émile"}]  # a superset of DuckDB's answer (none), re-checked there


def test_case_insensitive_collation_makes_equality_a_superset(connector):
    schema = connector.schema("people")
    rows = read(connector.scan(ScanRequest(schema, ("name",), filters=(where("name = 'ana  '"),))))
    assert rows == [{"name": "Ana"}]  # what DuckDB must re-check away


def test_collation_flags_follow_what_the_server_compares(connector):
    schema = connector.schema("kinds")
    assert schema.column("ci").collation == "utf8mb4_general_ci"
    assert schema.column("ci").exact_strings is False
    assert schema.column("padded_bin").collation == "utf8mb4_bin"
    assert schema.column("padded_bin").exact_strings is False  # PAD SPACE: 'y' = 'y ' there
    assert schema.column("nopad_bin").exact_strings is True
    assert schema.column("price").collation is None and schema.column("price").exact_strings is True


def test_padded_binary_collation_really_ignores_trailing_spaces(shop):
    (row,) = shop.query("SELECT padded_bin = 'y  ', nopad_bin = 'z  ', padded_bin = 'Y' FROM kinds")
    assert row == (1, 0, 0)


# --- cancel, timeout, early close ----------------------------------------------------------------


def running(server, user) -> list[tuple]:
    return server.admin_query(
        "SELECT ID, INFO FROM information_schema.PROCESSLIST WHERE USER = %s AND DB = %s AND COMMAND IN ('Query', 'Execute')"
        " AND INFO LIKE %s",
        (user, server.database, "%FROM `slow`%"),
    )


def wait_until(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_cancel_stops_the_query_on_the_server(connector, shop):
    scan = connector.scan(ScanRequest(connector.schema("slow"), ("s",)))
    outcome = {}

    def consume():
        try:
            outcome["rows"] = read(scan)
        except Exception as error:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = error

    worker = threading.Thread(target=consume)
    started = time.monotonic()
    worker.start()
    assert wait_until(lambda: running(shop, shop.user)), "the slow query never showed up in the processlist"
    scan.cancel()
    assert wait_until(lambda: not running(shop, shop.user)), "the query still runs on the server after cancel()"
    worker.join(5)
    assert not worker.is_alive()
    assert time.monotonic() - started < 10
    assert isinstance(outcome.get("error"), QueryCancelledError), outcome
    assert str(outcome["error"]) == "Source 'shop' (mysql at 127.0.0.1:3306): the query was cancelled"


def test_timeout_stops_the_query_and_says_so(connector, shop):
    scan = connector.scan(ScanRequest(connector.schema("slow"), ("s",), timeout=1.0))
    started = time.monotonic()
    with pytest.raises(SourceTimeoutError, match=r"Source 'shop' \(mysql at 127.0.0.1:3306\) did not finish within 1s"):
        read(scan)
    assert time.monotonic() - started < 5
    assert wait_until(lambda: not running(shop, shop.user))


def test_timeout_between_batches_is_an_error_not_a_short_answer(connector, shop):
    scan = connector.scan(ScanRequest(connector.schema("big"), ("customer_id",), timeout=1.0))
    batches = scan.batches()
    next(batches)
    time.sleep(2.0)  # a slow consumer: the timeout strikes while it holds the first batch
    with pytest.raises(SourceTimeoutError, match="did not finish within 1s"):
        list(batches)


def test_stopping_early_stops_the_server_streaming(connector, shop):
    scan = connector.scan(ScanRequest(connector.schema("big"), ("customer_id",)))
    batches = scan.batches()
    next(batches)
    thread_id = scan._thread_id
    batches.close()
    assert wait_until(
        lambda: not shop.admin_query(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE ID = %s AND COMMAND IN ('Query', 'Execute')", (thread_id,)
        )
    )


# --- errors --------------------------------------------------------------------------------------


def test_unreachable_port_is_named_without_the_password(shop, monkeypatch):
    monkeypatch.setenv(PASSWORD_VARIABLE, "hunter2-never-shown")
    port = free_port()
    options = {**shop.options("${ENV:%s}" % PASSWORD_VARIABLE), "port": port}
    connector = MySQLConnector("shop", options)
    with pytest.raises(SourceUnreachableError) as caught:
        connector.tables()
    assert str(caught.value) == f"Source 'shop' (mysql at 127.0.0.1:{port}) is unreachable: connection refused"
    assert "hunter2" not in str(caught.value) and "hunter2" not in repr(connector)


def test_wrong_password_is_refused_without_echoing_it(shop, monkeypatch):
    monkeypatch.setenv(PASSWORD_VARIABLE, "wrong-password-xyz")
    connector = MySQLConnector("shop", shop.options("${ENV:%s}" % PASSWORD_VARIABLE))
    with pytest.raises(SourceError) as caught:
        connector.tables()
    assert str(caught.value) == (
        f"Source 'shop' (mysql at 127.0.0.1:3306) refused the login for user '{shop.user}': access denied"
    )


def test_unix_socket_replaces_host_and_port(shop, monkeypatch):
    monkeypatch.setenv(PASSWORD_VARIABLE, shop.password)
    options = {**shop.options("${ENV:%s}" % PASSWORD_VARIABLE), "unix_socket": "/run/mysqld/mysqld.sock"}
    connector = MySQLConnector("shop", options)
    assert connector.location == "/run/mysqld/mysqld.sock"
    assert "people" in connector.tables()


def test_port_must_be_a_number(shop):
    with pytest.raises(CatalogError, match="'port' must be a number"):
        MySQLConnector("shop", {**shop.options("x"), "port": "mysql"})


def test_missing_environment_variable_is_named(shop, monkeypatch):
    monkeypatch.delenv("C360_TEST_UNSET_VARIABLE", raising=False)
    connector = MySQLConnector("shop", shop.options("${ENV:C360_TEST_UNSET_VARIABLE}"))
    with pytest.raises(MissingSecretError, match="C360_TEST_UNSET_VARIABLE"):
        connector.tables()


def test_server_error_names_the_source(connector, shop):
    schema = connector.schema("people")
    shop.execute("CREATE TABLE IF NOT EXISTS doomed (id INT)")
    doomed = connector.schema("doomed")
    shop.execute("DROP TABLE doomed")
    # pymysql passes the error number on; DuckDB's scanner only the server's message
    with pytest.raises(SourceError, match=r"^Source 'shop' \(mysql at 127.0.0.1:3306\) failed: Table '.*doomed' doesn't exist( \(MySQL error 1146\))?$"):
        read(connector.scan(ScanRequest(doomed, ("id",))))
    assert schema.column("id") is not None


# --- transports: what moves the rows, and what it must keep exact ---------------------------------


def test_auto_transport_reads_mariadb_through_duckdb(shop, monkeypatch):
    monkeypatch.setenv(PASSWORD_VARIABLE, shop.password)
    connector = MySQLConnector("shop", shop.options("${ENV:%s}" % PASSWORD_VARIABLE))
    scan = connector.scan(ScanRequest(connector.schema("big"), ("customer_id",)))
    assert sum(batch.num_rows for batch in scan.batches()) == 100_000
    assert scan.transport == "duckdb"
    connector.close()


def test_a_compressed_source_reads_its_rows_and_pymysql_refuses_compression(shop, monkeypatch):
    """``compress: true`` compresses the rows' protocol (DuckDB's scanner); metadata goes through pymysql,
    which cannot compress and must not be asked to (it raised NotImplementedError on every query)."""
    monkeypatch.setenv(PASSWORD_VARIABLE, shop.password)
    connector = MySQLConnector("shop", {**shop.options("${ENV:%s}" % PASSWORD_VARIABLE), "compress": True})
    try:
        scan = connector.scan(ScanRequest(connector.schema("big"), ("customer_id",)))
        assert sum(batch.num_rows for batch in scan.batches()) == 100_000
        assert scan.transport == "duckdb"
    finally:
        connector.close()
    with pytest.raises(CatalogError, match="'compress' needs the duckdb transport"):
        MySQLConnector("shop", {**shop.options("x"), "compress": True, "transport": "pymysql"})


def test_unknown_transport_is_refused(shop):
    with pytest.raises(CatalogError, match="'transport' must be one of auto, duckdb, pymysql, not 'odbc'"):
        MySQLConnector("shop", {**shop.options("x"), "transport": "odbc"})


def test_awkward_values_survive_the_transport_exactly(shop, connector):
    shop.execute(
        """CREATE TABLE IF NOT EXISTS awkward (id INT PRIMARY KEY, ubig BIGINT UNSIGNED, b BIT(1), b12 BIT(12),
            raw VARBINARY(8), note VARCHAR(40) COLLATE utf8mb4_bin, d DATE, dt DATETIME, t TIME(6), price DECIMAL(38,10),
            ts TIMESTAMP NULL)""",
        "DELETE FROM awkward",
        "SET SESSION sql_mode = ''",
        "SET SESSION time_zone = '+02:00'",
        """INSERT INTO awkward VALUES
            (1, 18446744073709551615, b'1', b'101010101010', X'00FF10', 'emoji \U0001F600 ü 北京', '2024-00-10',
             '0000-00-00 00:00:00', '-838:59:59', 1234567890123456789012345678.0123456789, '2024-06-01 12:00:00'),
            (2, 0, b'0', b'0', X'', '', '2024-02-29', '2024-02-29 23:59:59', '23:59:59.999999', -0.0000000001, NULL),
            (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '25:00:00', NULL, NULL)""",
    )
    schema = connector.schema("awkward")
    rows = sorted(read(connector.scan(ScanRequest(schema, tuple(c.name for c in schema.columns)))), key=lambda r: r["id"])
    assert rows == [
        {"id": 1, "ubig": 18446744073709551615, "b": 1, "b12": 0b101010101010, "raw": b"\x00\xff\x10",
         "note": "emoji \U0001F600 ü 北京", "d": None, "dt": None, "t": None,
         "price": Decimal("1234567890123456789012345678.0123456789"),
         "ts": datetime.datetime(2024, 6, 1, 10, 0)},  # written at +02:00, read in UTC
        {"id": 2, "ubig": 0, "b": 0, "b12": 0, "raw": b"", "note": "", "d": datetime.date(2024, 2, 29),
         "dt": datetime.datetime(2024, 2, 29, 23, 59, 59), "t": datetime.time(23, 59, 59, 999999),
         "price": Decimal("-0.0000000001"), "ts": None},
        {"id": 3, "ubig": None, "b": None, "b12": None, "raw": None, "note": None, "d": None, "dt": None, "t": None,
         "price": None, "ts": None},
    ]


def test_a_statement_runs_with_only_its_text_and_result_schema(connector):
    """The planner may push any statement; the scan needs its text and the schema of its result."""
    sql = (
        "SELECT p.city, COUNT(*) AS n, SUM(b.amount) AS total, MIN(p.joined) AS first"
        " FROM people AS p JOIN big AS b ON b.customer_id = p.id GROUP BY p.city ORDER BY n DESC, p.city"
    )
    schema = pa.schema([("city", pa.string()), ("n", pa.int64()), ("total", pa.decimal128(38, 2)), ("first", pa.date32())])
    scan = MySQLScan(connector, sql, schema)
    table = pa.Table.from_batches(list(scan.batches()), schema=schema)
    assert table.schema == schema
    expected = {}
    for person in PEOPLE:
        city = expected.setdefault(person[2], {"n": 0, "total": Decimal(0), "first": None})
        city["n"] += 1
        city["total"] += Decimal((person[0] % 1000)) / 10
        if person[4] is not None and (city["first"] is None or person[4] < city["first"]):
            city["first"] = person[4]
    assert {row["city"]: {k: row[k] for k in ("n", "total", "first")} for row in table.to_pylist()} == expected
    assert scan.sent == sql


def test_decimals_wider_than_the_scanner_reads_exactly_fall_back_to_pymysql(connector):
    sql = "SELECT CAST(123456789012345678901234567890.123 AS DECIMAL(60,3)) AS wide"
    schema = pa.schema([("wide", pa.decimal128(38, 3))])
    scan = MySQLScan(connector, sql, schema)
    assert [b.to_pylist() for b in scan.batches()] == [[{"wide": Decimal("123456789012345678901234567890.123")}]]
    assert scan.transport == "pymysql"


def test_sessions_use_utc_an_empty_sql_mode_and_c360s_write_timeout(connector):
    schema = pa.schema([("mode", pa.string()), ("zone", pa.string()), ("wait", pa.int64())])
    scan = MySQLScan(connector, "SELECT @@sql_mode, @@time_zone, @@net_write_timeout", schema)
    assert [b.to_pylist() for b in scan.batches()] == [[{"mode": "", "zone": "+00:00", "wait": NET_WRITE_TIMEOUT}]]
    assert scan.transport == connector.transport


def test_a_timeout_on_a_pushed_statement_is_the_sources_timeout(connector, shop):
    scan = MySQLScan(connector, "SELECT SLEEP(30) AS s FROM people", pa.schema([("s", pa.int64())]), timeout=1.0)
    started = time.monotonic()
    with pytest.raises(SourceTimeoutError, match=r"did not finish within 1s"):
        list(scan.batches())
    assert time.monotonic() - started < 5


def test_a_sum_of_decimals_goes_to_pymysql_at_once(shop, monkeypatch):
    """MariaDB widens SUM(DECIMAL) past 38 digits; the scanner would read it as a DOUBLE, refuse it, and the
    statement would run a second time through pymysql. It runs once, through pymysql."""
    monkeypatch.setenv(PASSWORD_VARIABLE, shop.password)
    connector = MySQLConnector("shop", shop.options("${ENV:%s}" % PASSWORD_VARIABLE))
    scan = MySQLScan(connector, "SELECT SUM(CAST(1.25 AS DECIMAL(10,2))) AS s", pa.schema([("s", pa.decimal128(38, 2))]))
    assert [b.to_pylist() for b in scan.batches()] == [[{"s": Decimal("1.25")}]]
    assert scan.transport == "pymysql"
    plain = MySQLScan(connector, "SELECT CAST(1.25 AS DECIMAL(10,2)) AS s", pa.schema([("s", pa.decimal128(38, 2))]))
    assert [b.to_pylist() for b in plain.batches()] == [[{"s": Decimal("1.25")}]]
    assert plain.transport == "duckdb"
    connector.close()
    from connectors.mysql import _sums_decimals

    assert _sums_decimals("SELECT SUM(`total`) AS `a1` FROM `orders`", pa.schema([("a1", pa.decimal128(38, 2))]))
    assert not _sums_decimals("SELECT SUM(`n`) AS `a1` FROM `orders`", pa.schema([("a1", pa.int64())]))


def _shop_catalog(folder, mariadb, password_variable: str, extra: str = "") -> None:
    """``folder/catalog.yaml`` with source ``shop`` on the test MariaDB database; ``extra`` follows its last
    line (more options of shop, or more sources)."""
    (folder / "catalog.yaml").write_text(
        "sources:\n  shop:\n    kind: mysql\n"
        f"    host: {mariadb.host}\n    port: {mariadb.port}\n    user: {mariadb.user}\n"
        f"    password: ${{ENV:{password_variable}}}\n    database: {mariadb.database}{extra}\n"
    )


def test_a_long_in_list_on_a_table_larger_than_the_page_cache_scans_it_instead_of_searching_its_index(
        tmp_path, mariadb):
    """A join reduction's IN list of thousands of keys on an indexed column makes MariaDB look each row up
    in the clustered index at random: on disk once the table outgrows the buffer pool (TPC-H SF 1 Q3: 22-28 s
    through ``orders_o_custkey``, 4-6 s scanning). c360 then sends ``IGNORE INDEX``; a short list, or a
    table that fits the cache, keeps the index. ``page_cache_mb`` stands for a small buffer pool here."""
    import os

    import c360
    from tests.projects import sqlite_file

    mariadb.execute(
        "DROP TABLE IF EXISTS visits",
        "CREATE TABLE visits (visit_id BIGINT PRIMARY KEY, customer_id INT, pages INT, KEY visits_by_customer "
        "(customer_id))",
        "INSERT INTO visits SELECT seq, seq % 3000, seq % 11 FROM seq_1_to_60000",
    )
    sqlite_file(tmp_path / "crm.sqlite", "CREATE TABLE customers (customer_id INT, vip BOOLEAN, grp INT);"
                "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < 2999) "
                "INSERT INTO customers SELECT n, n % 2, n % 10 FROM s;")
    os.environ["C360_LOOKUPS_PASSWORD"] = mariadb.password
    sql = ("SELECT c.vip, sum(v.pages), count(*) FROM crm.customers c JOIN shop.visits v "
           "ON v.customer_id = c.customer_id WHERE {} GROUP BY c.vip ORDER BY 1")

    def run(name, extra, condition):
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        _shop_catalog(folder, mariadb, "C360_LOOKUPS_PASSWORD", extra + "\n  crm:\n    kind: sqlite\n    path: ../crm.sqlite")
        with c360.connect(folder) as connection:
            cursor = connection.execute(sql.format(condition))
            rows, shop = cursor.fetchall(), next(s for s in cursor.scans if s.source == "shop")
            if "IGNORE INDEX" in shop.sent:  # EXPLAIN ANALYZE says why
                assert any(note.startswith("visits read by a scan, not through visits_by_customer: 1,500 keys")
                           for note in shop.notes), shop.notes
            return rows, shop.sent

    small = "\n    page_cache_mb: 0.01"
    long_list, short_list = "c.vip", "c.vip AND c.grp = 1"  # 1,500 and 300 customer keys reduce the visits
    answer, sent = run("small", small, long_list)
    assert "IGNORE INDEX (`visits_by_customer`)" in sent and "IN (" in sent
    default_answer, default_sent = run("default", "", long_list)  # a 60,000-row table fits any buffer pool
    assert "IGNORE INDEX" not in default_sent and "IN (" in default_sent
    assert answer == default_answer == [(True, Decimal(149994), 30000)]
    _, short_sent = run("small", small, short_list)
    assert "IGNORE INDEX" not in short_sent and "IN (" in short_sent
    with pytest.raises(CatalogError, match="'page_cache_mb' must be a number of megabytes"):
        run("bad", "\n    page_cache_mb: lots", long_list)


def test_the_index_hint_lands_on_the_table_an_in_list_of_a_pushed_join_searches():
    """In a pushed fragment the IN list names a table by its alias; only that table is hinted, and the
    planner's statement (possibly cached) is left as it was."""
    from connectors.mysql_lookups import LONG_IN_LIST, Layout, scan_instead_of_lookups

    keys = ", ".join(str(k) for k in range(LONG_IN_LIST + 1))
    statement = sqlglot.parse_one(
        "SELECT l.l_orderkey, o.o_orderdate FROM orders AS o JOIN lineitem AS l ON l.l_orderkey = o.o_orderkey "
        f"WHERE o.o_custkey IN ({keys}) AND l.l_suppkey IN (1, 2)", read="mysql")
    layouts = {"orders": Layout(200_000_000, {"PRIMARY": ("o_orderkey",), "orders_o_custkey": ("o_custkey",),
                                              "orders_o_date": ("o_orderdate",)}),
               "lineitem": Layout(900_000_000, {"lineitem_l_suppkey": ("l_suppkey",)})}
    before = statement.sql("mysql")
    hinted = scan_instead_of_lookups(statement, layouts.get, lambda: 128_000_000).sql("mysql")
    assert "FROM orders AS o IGNORE INDEX (`orders_o_custkey`) JOIN lineitem AS l ON" in hinted
    assert statement.sql("mysql") == before
    assert scan_instead_of_lookups(statement, layouts.get, lambda: 1_000_000_000) is statement  # it all fits the cache


def test_an_index_holding_every_column_read_keeps_serving_a_long_in_list():
    """InnoDB keeps the primary key in each secondary index: a one-table statement reading only the listed
    column (and the key) reads the index alone, cheap however big the table (TPC-H Q22's ``NOT EXISTS``)."""
    from connectors.mysql_lookups import LONG_IN_LIST, Layout, scan_instead_of_lookups

    keys = ", ".join(str(k) for k in range(LONG_IN_LIST + 1))
    layouts = {"orders": Layout(200_000_000, {"PRIMARY": ("o_orderkey",), "orders_o_custkey": ("o_custkey",)})}
    covered = sqlglot.parse_one(f"SELECT o_custkey, o_orderkey FROM orders WHERE o_custkey IN ({keys})", read="mysql")
    assert scan_instead_of_lookups(covered, layouts.get, lambda: 128_000_000) is covered
    wider = sqlglot.parse_one(f"SELECT o_custkey, o_totalprice FROM orders WHERE o_custkey IN ({keys})", read="mysql")
    assert "IGNORE INDEX (`orders_o_custkey`)" in scan_instead_of_lookups(wider, layouts.get, lambda: 1).sql("mysql")
    # in a join each key found is looked up in the other table at random: scanned all the same (Q7)
    joined = sqlglot.parse_one("SELECT o.o_custkey, l.l_quantity FROM orders AS o JOIN lineitem AS l "
                               f"ON l.l_orderkey = o.o_orderkey WHERE o.o_custkey IN ({keys})", read="mysql")
    assert "IGNORE INDEX (`orders_o_custkey`)" in scan_instead_of_lookups(joined, layouts.get, lambda: 1).sql("mysql")


def test_a_join_starts_from_the_filtered_table_when_the_other_is_found_by_its_primary_key():
    """TPC-H Q12: MariaDB starts from the unfiltered orders and probes lineitem 1.5 M times; starting from
    the filtered lineitem looks up ~30,000 orders by key. Both sides filtered, a partial key, or filters
    that keep too many rows: the optimizer's choice stands."""
    from connectors.mysql_join_order import drive_from_filtered_side
    from connectors.mysql_lookups import Layout

    layouts = {"orders": Layout(200_000_000, {"PRIMARY": ("o_orderkey",)}, rows=1_500_000),
               "lineitem": Layout(900_000_000, {"PRIMARY": ("l_orderkey", "l_linenumber")}, rows=6_000_000)}
    q12 = sqlglot.parse_one(
        "SELECT l.l_shipmode, SUM(o.o_totalprice) FROM orders AS o CROSS JOIN lineitem AS l "
        "WHERE o.o_orderkey = l.l_orderkey AND l.l_shipmode IN ('MAIL', 'SHIP') AND l.l_commitdate < l.l_receiptdate "
        "AND l.l_shipdate < l.l_commitdate AND l.l_receiptdate >= '1994-01-01' GROUP BY l.l_shipmode", read="mysql")
    before, notes = q12.sql("mysql"), []
    forced = drive_from_filtered_side(q12, layouts.get, notes).sql("mysql")
    assert "FROM lineitem AS l STRAIGHT_JOIN orders AS o WHERE o.o_orderkey = l.l_orderkey AND" in forced
    assert notes == ["join order forced: lineitem (4 filters) first, orders looked up by its primary key"]
    assert q12.sql("mysql") == before  # the planner's (cached) statement is left alone

    def kept(sql):
        statement = sqlglot.parse_one(sql, read="mysql")
        return drive_from_filtered_side(statement, layouts.get) is statement

    assert kept("SELECT 1 FROM orders AS o JOIN lineitem AS l ON o.o_orderkey = l.l_orderkey "
                "WHERE l.l_shipmode = 'MAIL' AND l.l_quantity < 3 AND l.l_tax = 0 AND o.o_orderstatus = 'F'")
    assert kept("SELECT 1 FROM lineitem AS l JOIN orders AS o ON o.o_custkey = l.l_orderkey "
                "WHERE l.l_shipmode = 'MAIL' AND l.l_quantity < 3 AND l.l_tax = 0")  # not orders' key
    assert kept("SELECT 1 FROM orders AS o JOIN lineitem AS l ON o.o_orderkey = l.l_orderkey "
                "WHERE l.l_shipdate >= '1995-01-01'")  # one filter may keep most of lineitem
    assert kept("SELECT 1 FROM orders AS o LEFT JOIN lineitem AS l ON o.o_orderkey = l.l_orderkey "
                "WHERE l.l_shipmode = 'MAIL' AND l.l_quantity < 3 AND l.l_tax = 0")


def test_a_pushed_join_forced_to_start_from_its_filtered_table_answers_the_same(tmp_path, mariadb):
    """Through c360 on real MariaDB: the statement sent starts from the filtered table with STRAIGHT_JOIN,
    EXPLAIN ANALYZE says so, and the answer is DuckDB's on the same rows."""
    import os

    import c360

    mariadb.execute(
        "DROP TABLE IF EXISTS order_lines", "DROP TABLE IF EXISTS orders_by_key",
        "CREATE TABLE orders_by_key (order_id BIGINT PRIMARY KEY, priority VARCHAR(10), total DECIMAL(10,2))",
        "INSERT INTO orders_by_key SELECT seq, CONCAT('p', seq % 5), (seq % 997) / 10 FROM seq_1_to_20000",
        "CREATE TABLE order_lines (order_id BIGINT, n INT, mode VARCHAR(8), shipped INT, committed INT, qty INT, "
        "PRIMARY KEY (order_id, n))",
        "INSERT INTO order_lines SELECT seq DIV 3 + 1, seq % 3, ELT(seq % 4 + 1, 'MAIL', 'SHIP', 'AIR', 'RAIL'), "
        "seq % 17, seq % 13, seq % 50 FROM seq_0_to_59999",
        "ANALYZE TABLE orders_by_key, order_lines",
    )
    os.environ["C360_JOIN_ORDER_PASSWORD"] = mariadb.password
    _shop_catalog(tmp_path, mariadb, "C360_JOIN_ORDER_PASSWORD")
    sql = ("SELECT o.priority, count(*) AS n, sum(o.total) AS total FROM shop.orders_by_key o "
           "JOIN shop.order_lines l ON o.order_id = l.order_id WHERE l.mode IN ('MAIL', 'SHIP') "
           "AND l.shipped < l.committed AND l.qty > 40 GROUP BY o.priority ORDER BY o.priority")
    with c360.connect(tmp_path) as connection:
        cursor = connection.execute(sql)
        rows, shop = cursor.fetchall(), next(s for s in cursor.scans if s.source == "shop")
        lines = connection.execute("SELECT * FROM shop.order_lines").fetch_arrow()
        orders = connection.execute("SELECT * FROM shop.orders_by_key").fetch_arrow()
    assert "FROM `order_lines` AS `l` STRAIGHT_JOIN `orders_by_key` AS `o`" in shop.sent, shop.sent
    assert any(note.startswith("join order forced: order_lines (") for note in shop.notes)
    oracle = duckdb.connect()
    oracle.register("orders_by_key", orders)
    oracle.register("order_lines", lines)
    expected = oracle.execute(sql.replace("shop.", "")).fetchall()
    assert rows == expected and len(rows) == 5


def test_a_statement_whose_kill_came_too_early_is_stopped_by_the_server(shop, monkeypatch):
    """A KILL QUERY that lands before the statement is sent stops nothing (seen under load, with a scan split in
    ranges). The scanner's statement carries max_statement_time (the timeout plus a grace), so MariaDB ends it."""
    monkeypatch.setenv(PASSWORD_VARIABLE, shop.password)
    monkeypatch.setattr(MySQLScan, "_kill", lambda self: None)  # every kill lost
    connector = MySQLConnector("shop", {**shop.options("${ENV:%s}" % PASSWORD_VARIABLE), "transport": "duckdb"})
    try:
        scan = MySQLScan(connector, "SELECT SLEEP(30) AS s FROM people", pa.schema([("s", pa.int64())]), timeout=1.0)
        started = time.monotonic()
        with pytest.raises(SourceTimeoutError):
            list(scan.batches())
        assert time.monotonic() - started < 10
    finally:
        connector.close()
