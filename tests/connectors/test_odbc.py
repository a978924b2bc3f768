"""OdbcConnector against the real PostgreSQL server, reached through unixODBC and psqlODBC."""

from __future__ import annotations

import datetime
import socket
import struct
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
from connectors.dialects import C360TSQL, C360Postgres
from connectors.odbc import OdbcConnector, OdbcScan, arrow_type_for, datetimeoffset, location_of

PASSWORD_VARIABLE = "C360_TEST_ODBC_PASSWORD"

PEOPLE = [
    # id, name, city, amount, joined, seen, vip
    (1, "Ana", "Lisboa", Decimal("10.50"), datetime.date(2024, 1, 5), datetime.datetime(2024, 1, 5, 8, 30, 0), True),
    (2, "ana", "Porto", Decimal("99.99"), datetime.date(2024, 2, 10), datetime.datetime(2024, 2, 10, 23, 59, 59), False),
    (3, "Chloé", "Paris", None, datetime.date(2024, 3, 15), None, True),
    (4, "Dmitri", None, Decimal("0.01"), None, datetime.datetime(2023, 12, 31, 0, 0, 1), False),
    (5, "Émile", "paris", Decimal("250.00"), datetime.date(2023, 11, 1), datetime.datetime(2023, 11, 1, 12, 0, 0), None),
    (6, "back\\slash", "Oslo", Decimal("7.00"), datetime.date(2024, 4, 1), None, False),
    (7, "北京客户", "Beijing", Decimal("42.42"), datetime.date(2024, 5, 20), datetime.datetime(2024, 5, 20, 6, 0, 0), True),
    (8, "Ana ", "Lisboa", Decimal("1.00"), datetime.date(2024, 6, 1), None, True),
]


@pytest.fixture(scope="module")
def crm(postgres_odbc):
    """A database of this module's own, with a few tables; the connector reads it as source 'crm'."""
    postgres_odbc = postgres_odbc.child("odbc_connector")
    postgres_odbc.execute(
        """CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, city TEXT,
            amount NUMERIC(12,2), joined DATE, seen TIMESTAMP, vip BOOLEAN)""",
        """CREATE TABLE kinds (small SMALLINT, whole INTEGER, big BIGINT, price NUMERIC(12,2), free NUMERIC,
            r REAL, d DOUBLE PRECISION, flag BOOLEAN, day DATE, ts TIMESTAMP, tstz TIMESTAMPTZ, t TIME,
            note TEXT, label VARCHAR(10), code CHAR(3), raw BYTEA, id UUID)""",
        """INSERT INTO kinds VALUES (-2, -4, -5, 12.34, 1.5, 1.5, 0.25, TRUE, '2024-02-29',
            '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15+02', '13:14:15', 'ünïcödé', 'x', 'ab',
            '\\x00ff', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')""",
        "CREATE VIEW slow AS SELECT pg_sleep(30)::text AS s",
        "CREATE SCHEMA crm",
        "CREATE TABLE crm.customers (customer_id BIGINT, full_name TEXT)",
        "INSERT INTO crm.customers VALUES (1, 'Zoë')",
    )
    with postgres_odbc.connect() as connection:
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO people VALUES (%s, %s, %s, %s, %s, %s, %s)", PEOPLE)
    return postgres_odbc


@pytest.fixture(params=["arrow-odbc", "pyodbc"])
def connector(crm, monkeypatch, request):
    """The connector, once per transport: every scan test runs through both."""
    monkeypatch.setenv(PASSWORD_VARIABLE, crm.password)
    return OdbcConnector(
        "crm",
        {"connection_string": crm.connection_string("${ENV:%s}" % PASSWORD_VARIABLE), "dialect": "postgres",
         "transport": request.param},
    )


def where(text: str):
    return sqlglot.parse_one(text, dialect="duckdb")


def ordered(text: str):
    return sqlglot.parse_one(f"SELECT 1 ORDER BY {text}", dialect="duckdb").args["order"].expressions[0]


def read(scan) -> list[dict]:
    return pa.Table.from_batches(list(scan.batches()), schema=scan.request.table.arrow_schema(scan.request.columns)).to_pylist()


def oracle(filter_sql: str) -> list[dict]:
    """DuckDB's answer for the same filter over the same rows."""
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE people (id INT, name VARCHAR, city VARCHAR, amount DECIMAL(12,2), joined DATE,"
        " seen TIMESTAMP, vip BOOLEAN)"
    )
    connection.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?)", PEOPLE)
    return [{"id": row[0]} for row in connection.execute(f"SELECT id FROM people WHERE {filter_sql} ORDER BY id").fetchall()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- configuration -------------------------------------------------------------------------------


def test_location_comes_from_server_and_port_never_the_password(connector):
    assert connector.location == "127.0.0.1:5432"
    assert "Pwd" not in repr(connector) and "ENV" not in repr(connector)


@pytest.mark.parametrize(
    "connection_string, location",
    [
        ("Driver={ODBC Driver 18 for SQL Server};Server=tcp:crm.database.windows.net,1433;Uid=u;Pwd={a;b}", "crm.database.windows.net:1433"),
        ("DRIVER={FreeTDS};SERVER=10.0.0.5;PORT=1433;UID=sa;PWD=${ENV:X}", "10.0.0.5:1433"),
        ("Server=db.local;Database=crm", "db.local"),
        ("DSN=crm_prod;PWD=secret", "dsn crm_prod"),
    ],
)
def test_location_parses_sql_server_connection_strings(connection_string, location):
    assert location_of(connection_string) == location


def test_dialect_decides_like_exactness_and_default_schema():
    tsql = OdbcConnector("crm", {"connection_string": "Server=x"})
    postgres = OdbcConnector("crm", {"connection_string": "Server=x", "dialect": "postgres"})
    assert (tsql.dialect, tsql.schema_name, tsql.capabilities.like_exact) == (C360TSQL, "dbo", False)
    assert (postgres.dialect, postgres.schema_name, postgres.capabilities.like_exact) == (C360Postgres, "public", True)
    assert tsql.capabilities.limit and tsql.capabilities.top_n and tsql.capabilities.can_filter("like_prefix")


def test_sql_server_datetimeoffset_bytes_become_aware_datetimes():
    raw = struct.pack("<6hI2h", 2024, 2, 29, 13, 14, 15, 123456000, -5, -30)
    value = datetimeoffset(raw)
    assert value == datetime.datetime(2024, 2, 29, 18, 44, 15, 123456, tzinfo=datetime.timezone.utc)
    assert value.utcoffset() == -datetime.timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    "data_type, precision, scale, arrow",
    [
        ("bit", None, None, pa.bool_()),
        ("tinyint", 3, 0, pa.int16()),  # 0..255 in SQL Server
        ("smallint", 5, 0, pa.int16()),
        ("int", 10, 0, pa.int32()),
        ("bigint", 19, 0, pa.int64()),
        ("decimal", 18, 4, pa.decimal128(18, 4)),
        ("numeric", 38, 0, pa.decimal128(38, 0)),
        ("money", 19, 4, pa.decimal128(19, 4)),
        ("smallmoney", 10, 4, pa.decimal128(10, 4)),
        ("real", 24, None, pa.float32()),
        ("float", 24, None, pa.float32()),
        ("float", 53, None, pa.float64()),
        ("date", None, None, pa.date32()),
        ("datetime", None, None, pa.timestamp("us")),
        ("datetime2", None, None, pa.timestamp("us")),
        ("smalldatetime", None, None, pa.timestamp("us")),
        ("datetimeoffset", None, None, pa.timestamp("us", tz="UTC")),
        ("time", None, None, pa.time64("us")),
        ("timestamp", None, None, pa.binary()),  # a row version in SQL Server, not a time
        ("nvarchar", None, None, pa.string()),
        ("char", None, None, pa.string()),
        ("uniqueidentifier", None, None, pa.string()),
        ("xml", None, None, pa.string()),
        ("varbinary", None, None, pa.binary()),
        ("image", None, None, pa.binary()),
    ],
)
def test_sql_server_types_map_to_arrow(data_type, precision, scale, arrow):
    assert arrow_type_for("tsql", data_type, precision, scale) == arrow


@pytest.mark.parametrize(
    "collation", ["SQL_Latin1_General_CP1_CI_AS", "Latin1_General_100_CS_AS", "Latin1_General_BIN2", None]
)
def test_sql_server_strings_are_never_exact_because_equality_pads(collation):
    # SQL Server pads the shorter string with spaces before comparing, whatever the
    # collation, so 'a' = 'a ' is true even under _CS and _BIN2 collations.
    tsql = OdbcConnector("crm", {"connection_string": "Server=x"})
    assert tsql.exact_strings("nvarchar", collation) is False


def test_unknown_dialect_is_a_catalog_error():
    with pytest.raises(CatalogError, match="unknown dialect 'sqlserver'"):
        OdbcConnector("crm", {"connection_string": "Server=x", "dialect": "sqlserver"})


# --- discovery -----------------------------------------------------------------------------------


def test_tables_lists_the_default_schema(connector):
    tables = connector.tables()
    assert {"people", "kinds", "slow"} <= set(tables)
    assert "customers" not in tables  # lives in schema crm


def test_other_schemas_are_listed_as_schema_dot_table_and_queryable(connector, crm, tmp_path, monkeypatch):
    assert "crm.customers" in connector.tables()
    assert not any(t.startswith(("pg_catalog.", "information_schema.")) for t in connector.tables())
    assert connector.schema("crm.customers").remote_name == ("crm", "customers")
    import c360
    from tests.projects import project

    catalog = project(tmp_path, f"""
        sources:
          src:
            kind: odbc
            dialect: postgres
            connection_string: "{crm.connection_string('${ENV:%s}' % PASSWORD_VARIABLE)}"
    """)
    with c360.connect(catalog) as connection:
        cursor = connection.execute("SELECT full_name FROM src.crm.customers WHERE customer_id = 1")
        assert cursor.fetchall() == [("Zoë",)]
        assert 'FROM "crm"."customers" AS "customers" WHERE "customers"."customer_id" = 1' in cursor.scans[0].sent
        assert connection.execute("SELECT count(*) FROM src.public.kinds").fetchone() == \
            connection.execute("SELECT count(*) FROM src.kinds").fetchone()


def test_schema_maps_types_to_arrow_and_remote_name(connector):
    schema = connector.schema("kinds")
    assert schema.remote_name == ("public", "kinds")
    assert {c.name: c.type for c in schema.columns} == {
        "small": pa.int16(),
        "whole": pa.int32(),
        "big": pa.int64(),
        "price": pa.decimal128(12, 2),
        "free": pa.float64(),
        "r": pa.float32(),
        "d": pa.float64(),
        "flag": pa.bool_(),
        "day": pa.date32(),
        "ts": pa.timestamp("us"),
        "tstz": pa.timestamp("us", tz="UTC"),
        "t": pa.time64("us"),
        "note": pa.string(),
        "label": pa.string(),
        "code": pa.string(),
        "raw": pa.binary(),
        "id": pa.string(),
    }


def test_scan_returns_every_type_with_its_value(connector):
    schema = connector.schema("kinds")
    (row,) = read(connector.scan(ScanRequest(schema, tuple(c.name for c in schema.columns))))
    assert row == {
        "small": -2,
        "whole": -4,
        "big": -5,
        "price": Decimal("12.34"),
        "free": 1.5,
        "r": 1.5,
        "d": 0.25,
        "flag": True,
        "day": datetime.date(2024, 2, 29),
        "ts": datetime.datetime(2024, 2, 29, 13, 14, 15, 123456),
        "tstz": datetime.datetime(2024, 2, 29, 11, 14, 15, tzinfo=datetime.timezone.utc),
        "t": datetime.time(13, 14, 15),
        "note": "ünïcödé",
        "label": "x",
        "code": "ab ",
        "raw": b"\x00\xff",
        "id": row["id"],
    }
    assert row["id"].lower() == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"


def test_scan_keeps_nulls_decimals_dates_and_unicode(connector):
    schema = connector.schema("people")
    names = ("id", "name", "city", "amount", "joined", "seen", "vip")
    rows = read(connector.scan(ScanRequest(schema, names)))
    assert sorted(rows, key=lambda r: r["id"]) == [dict(zip(names, row)) for row in PEOPLE]


def test_postgres_strings_are_exact_except_blank_padded_char(connector):
    schema = connector.schema("kinds")
    assert schema.column("note").exact_strings is True
    assert schema.column("label").exact_strings is True
    assert schema.column("code").exact_strings is False  # char(3): 'ab' = 'ab ' there
    assert schema.column("id").exact_strings is False


def test_postgres_like_tells_case_apart_so_it_is_claimed_exact(connector, crm):
    assert crm.query("SELECT 'ABC' LIKE 'ab%', 'ABC' LIKE 'AB%'") == [(False, True)]
    assert connector.capabilities.like_exact is True
    rows = read(connector.scan(ScanRequest(connector.schema("people"), ("id",), filters=(where("name LIKE 'an%'"),))))
    assert rows == [{"id": 2}] == oracle("name LIKE 'an%'")


def test_blank_padded_char_really_ignores_trailing_spaces(crm):
    assert crm.query("SELECT code = 'ab', code = 'ab   ', note = 'ünïcödé ' FROM kinds") == [(True, True, False)]


def test_nondeterministic_postgres_collation_makes_strings_inexact(connector, crm):
    crm.execute(
        "CREATE COLLATION IF NOT EXISTS caseless (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
        "CREATE TABLE IF NOT EXISTS tags (label TEXT COLLATE caseless, plain TEXT COLLATE \"C\")",
    )
    assert crm.query("SELECT 'ABC' = 'abc' COLLATE caseless") == [(True,)]
    schema = connector.schema("tags")
    assert schema.column("label").collation == "caseless" and schema.column("label").exact_strings is False
    assert schema.column("plain").exact_strings is True


def test_schema_option_selects_another_schema(crm, monkeypatch):
    monkeypatch.setenv(PASSWORD_VARIABLE, crm.password)
    connector = OdbcConnector(
        "crm",
        {"connection_string": crm.connection_string("${ENV:%s}" % PASSWORD_VARIABLE), "dialect": "postgres", "schema": "crm"},
    )
    assert [t for t in connector.tables() if "." not in t] == ["customers"]
    assert "public.kinds" in connector.tables()  # the other schemas stay reachable as schema.table
    schema = connector.schema("customers")
    scan = connector.scan(ScanRequest(schema, ("full_name",)))
    assert scan.sent == 'SELECT "full_name" FROM "crm"."customers"'
    assert read(scan) == [{"full_name": "Zoë"}]


def test_unknown_table_suggests_the_closest_name(connector):
    with pytest.raises(UnknownTableError, match=r"Unknown table 'crm.peple'. Did you mean 'people'\?"):
        connector.schema("peple")


# --- pushdown ------------------------------------------------------------------------------------


def test_projection_is_sent_and_only_requested_columns_come_back(connector):
    scan = connector.scan(ScanRequest(connector.schema("people"), ("name", "id")))
    assert scan.sent == 'SELECT "name", "id" FROM "public"."people"'
    rows = read(scan)
    assert set(rows[0]) == {"name", "id"} and len(rows) == len(PEOPLE)


FILTERS = {
    "compare": ("amount > 50", '"amount" > 50'),
    "compare_string": ("name = 'Ana'", "\"name\" = 'Ana'"),
    "compare_date": ("joined >= DATE '2024-02-10'", "\"joined\" >= CAST('2024-02-10' AS DATE)"),
    "compare_timestamp": ("seen < TIMESTAMP '2024-01-01 00:00:00'", "\"seen\" < CAST('2024-01-01 00:00:00' AS TIMESTAMP)"),
    "in": ("id IN (2, 4, 6)", '"id" IN (2, 4, 6)'),
    "in_strings": ("city IN ('Paris', 'Oslo')", "\"city\" IN ('Paris', 'Oslo')"),
    "between": ("amount BETWEEN 10 AND 100", '"amount" BETWEEN 10 AND 100'),
    "is_null": ("city IS NULL", '"city" IS NULL'),
    "is_not_null": ("seen IS NOT NULL", 'NOT "seen" IS NULL'),
    "like_prefix": ("city LIKE 'Pa%'", "\"city\" LIKE 'Pa%'"),
    "like_prefix_backslash": ("name LIKE 'back\\%'", "\"name\" LIKE 'back\\\\%'"),
    "boolean": ("(amount < 20 OR city = 'Paris') AND NOT id = 3", '("amount" < 20 OR "city" = \'Paris\') AND NOT "id" = 3'),
    "boolean_column": ("vip = TRUE", '"vip" = TRUE'),
    "unicode": ("name = 'Chloé'", "\"name\" = 'Chloé'"),
}


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_is_sent_and_rows_match_duckdb(connector, name):
    duckdb_filter, fragment = FILTERS[name]
    scan = connector.scan(ScanRequest(connector.schema("people"), ("id",), filters=(where(duckdb_filter),)))
    assert scan.sent == f'SELECT "id" FROM "public"."people" WHERE {fragment}'
    rows = sorted(read(scan), key=lambda r: r["id"])
    assert rows == oracle(duckdb_filter)
    assert rows


def test_limit_is_sent(connector):
    scan = connector.scan(ScanRequest(connector.schema("people"), ("id",), limit=3))
    assert scan.sent == 'SELECT "id" FROM "public"."people" LIMIT 3'
    assert len(read(scan)) == 3 and scan.stats.rows == 3


def test_top_n_is_sent_and_orders_nulls_like_duckdb(connector):
    scan = connector.scan(ScanRequest(connector.schema("people"), ("id",), order_by=(ordered("amount"),), limit=8))
    assert scan.sent == 'SELECT "id" FROM "public"."people" ORDER BY "amount" LIMIT 8'
    by_amount = sorted((row for row in PEOPLE if row[3] is not None), key=lambda row: row[3])
    assert [r["id"] for r in read(scan)] == [row[0] for row in by_amount] + [3]


# --- cancel and timeout --------------------------------------------------------------------------


def slow_queries(server) -> list[tuple]:
    return server.admin_query(
        "SELECT pid FROM pg_stat_activity WHERE usename = %s AND datname = %s AND state = 'active' AND query LIKE %s",
        (server.user, server.database, '%FROM "public"."slow"%'),
    )


def wait_until(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_cancel_stops_the_query_on_the_server(connector, crm):
    scan = connector.scan(ScanRequest(connector.schema("slow"), ("s",)))
    outcome = {}

    def consume():
        try:
            outcome["rows"] = read(scan)
        except Exception as error:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = error

    worker = threading.Thread(target=consume)
    worker.start()
    assert wait_until(lambda: slow_queries(crm)), "the slow query never showed up in pg_stat_activity"
    scan.cancel()
    assert wait_until(lambda: not slow_queries(crm)), "the query still runs on the server after cancel()"
    worker.join(5)
    assert not worker.is_alive()
    assert isinstance(outcome.get("error"), QueryCancelledError), outcome
    assert str(outcome["error"]) == "Source 'crm' (odbc at 127.0.0.1:5432): the query was cancelled"


def test_timeout_stops_the_query_and_says_so(connector, crm):
    scan = connector.scan(ScanRequest(connector.schema("slow"), ("s",), timeout=1.0))
    started = time.monotonic()
    with pytest.raises(SourceTimeoutError, match=r"^Source 'crm' \(odbc at 127.0.0.1:5432\) did not finish within 1s"):
        read(scan)
    assert time.monotonic() - started < 5
    assert wait_until(lambda: not slow_queries(crm))


def test_cancel_racing_the_statement_ends_cleanly_every_time(connector, crm):
    """SQLCancel from another thread while the scan finishes and frees its statement.

    Before close() waited for a cancel in flight, this corrupted the heap and killed the
    interpreter within a few dozen rounds.
    """
    crm.execute("CREATE OR REPLACE VIEW slowish AS SELECT pg_sleep(0.03)::text AS s")
    schema = connector.schema("slowish")
    outcomes = []
    for round_number in range(40):
        scan = connector.scan(ScanRequest(schema, ("s",)))
        timer = threading.Timer(0.002 * round_number, scan.cancel)
        timer.start()
        try:
            outcomes.append(len(read(scan)))
        except QueryCancelledError:
            outcomes.append("cancelled")
        timer.join()
    # 0: cancelled after the row arrived, which Scan.batches then drops (the canceller knows)
    assert set(outcomes) <= {0, 1, "cancelled"}
    assert "cancelled" in outcomes


def test_timeout_between_batches_is_an_error_not_a_short_answer(connector, crm):
    crm.execute("CREATE TABLE IF NOT EXISTS numbers AS SELECT g AS n FROM generate_series(1, 20000) g")
    scan = connector.scan(ScanRequest(connector.schema("numbers"), ("n",), timeout=1.0))
    batches = scan.batches()
    next(batches)
    time.sleep(2.5)  # a slow consumer: the timeout (plus its grace) strikes while it holds the first batch
    with pytest.raises(SourceTimeoutError, match="did not finish within 1s"):
        list(batches)


# --- errors --------------------------------------------------------------------------------------


def test_unreachable_port_is_named_without_the_password(crm, monkeypatch):
    monkeypatch.setenv(PASSWORD_VARIABLE, "hunter2-never-shown")
    port = free_port()
    text = crm.connection_string("${ENV:%s}" % PASSWORD_VARIABLE).replace("Port=5432", f"Port={port}")
    connector = OdbcConnector("crm", {"connection_string": text, "dialect": "postgres"})
    with pytest.raises(SourceUnreachableError) as caught:
        connector.tables()
    assert str(caught.value) == f"Source 'crm' (odbc at 127.0.0.1:{port}) is unreachable: connection refused"
    assert "hunter2" not in str(caught.value)


def test_unreachable_sql_server_through_freetds_is_named_without_the_password(monkeypatch):
    monkeypatch.setenv(PASSWORD_VARIABLE, "hunter2-never-shown")
    port = free_port()
    connector = OdbcConnector(
        "crm",
        {"connection_string": f"Driver={{FreeTDS}};Server=127.0.0.1;Port={port};Database=crm;Uid=sa;"
                              f"Pwd=${{ENV:{PASSWORD_VARIABLE}}};TDS_Version=7.4"},
    )
    with pytest.raises(SourceUnreachableError) as caught:
        connector.tables()
    assert str(caught.value) == (
        f"Source 'crm' (odbc at 127.0.0.1:{port}) is unreachable: "
        "Unable to connect: Adaptive Server is unavailable or does not exist"
    )
    assert "hunter2" not in str(caught.value)


def test_missing_environment_variable_is_named(crm, monkeypatch):
    monkeypatch.delenv("C360_TEST_UNSET_VARIABLE", raising=False)
    connector = OdbcConnector(
        "crm", {"connection_string": crm.connection_string("${ENV:C360_TEST_UNSET_VARIABLE}"), "dialect": "postgres"}
    )
    with pytest.raises(MissingSecretError, match="C360_TEST_UNSET_VARIABLE"):
        connector.tables()


def test_missing_driver_is_named(crm):
    connector = OdbcConnector("crm", {"connection_string": "Driver={No Such Driver};Server=127.0.0.1;Pwd=abc123secret"})
    with pytest.raises(SourceError, match="ODBC driver is not installed") as caught:
        connector.tables()
    assert "abc123secret" not in str(caught.value)


def test_server_error_names_the_source(connector, crm):
    crm.execute("CREATE TABLE doomed (id INT)")
    doomed = connector.schema("doomed")
    crm.execute("DROP TABLE doomed")
    with pytest.raises(SourceError, match=r"^Source 'crm' \(odbc at 127.0.0.1:5432\) failed: .*doomed.*SQLSTATE 42P01"):
        read(connector.scan(ScanRequest(doomed, ("id",))))


# --- transports -----------------------------------------------------------------------------------


def test_auto_transport_is_arrow_odbc_where_a_cancel_can_reach_the_server(crm):
    postgres = OdbcConnector("crm", {"connection_string": crm.odbc, "dialect": "postgres"})
    scan = postgres.scan(ScanRequest(postgres.schema("people"), ("id",)))
    assert len(read(scan)) == len(PEOPLE)
    assert scan.transport == "arrow-odbc"
    assert OdbcConnector("crm", {"connection_string": "Server=x", "dialect": "tsql"}).uses_arrow_odbc() is False


def test_arrow_odbc_is_refused_where_a_cancel_could_not_reach_the_server():
    with pytest.raises(CatalogError, match="transport arrow-odbc needs dialect postgres"):
        OdbcConnector("crm", {"connection_string": "Server=x", "dialect": "tsql", "transport": "arrow-odbc"})
    with pytest.raises(CatalogError, match="'transport' must be one of auto, arrow-odbc, pyodbc, not 'jdbc'"):
        OdbcConnector("crm", {"connection_string": "Server=x", "transport": "jdbc"})


def test_a_statement_runs_with_only_its_text_and_result_schema(connector):
    """The planner may push any statement; the scan needs its text and the schema of its result."""
    sql = (
        'SELECT p.city, COUNT(*) AS n, SUM(p.amount) AS total, MAX(k.tstz) AS latest FROM people AS p'
        ' CROSS JOIN kinds AS k GROUP BY p.city ORDER BY p.city NULLS LAST'
    )
    schema = pa.schema([("city", pa.string()), ("n", pa.int64()), ("total", pa.decimal128(38, 2)),
                        ("latest", pa.timestamp("us", tz="UTC"))])
    scan = OdbcScan(connector, sql, schema)
    rows = pa.Table.from_batches(list(scan.batches()), schema=schema).to_pylist()
    expected = {}
    for person in PEOPLE:
        city = expected.setdefault(person[2], {"n": 0, "total": None})
        city["n"] += 1
        if person[3] is not None:
            city["total"] = (city["total"] or 0) + person[3]
    assert {row["city"]: {"n": row["n"], "total": row["total"]} for row in rows} == expected
    utc = datetime.timezone.utc
    assert {row["latest"] for row in rows} == {datetime.datetime(2024, 2, 29, 11, 14, 15, tzinfo=utc)}
    assert scan.transport == connector.transport


def test_a_value_longer_than_arrow_odbcs_buffers_is_read_whole_through_pyodbc(crm):
    crm.execute("CREATE TABLE IF NOT EXISTS long_notes AS SELECT 1 AS id, repeat('x\u00e9', 50000) AS note")
    connector = OdbcConnector("crm", {"connection_string": crm.odbc, "dialect": "postgres"})
    scan = connector.scan(ScanRequest(connector.schema("long_notes"), ("id", "note")))
    assert read(scan) == [{"id": 1, "note": "x\u00e9" * 50000}]  # 150,000 bytes: never truncated
    assert scan.transport == "pyodbc"
