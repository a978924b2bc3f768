"""The byte-counting proxy: what it counts is what the servers sent, whoever the client is.

Bytes are checked against MariaDB's own per-session counter; rows against the
row counts of the queries, for each client the benchmark puts behind the proxy:
pymysql (c360's shop source), DuckDB's mysql scanner (compressed protocol,
prepared statements, MariaDB's cached metadata), psycopg (DataRow messages),
binary and text COPY (DuckDB's postgres scanner reads through binary COPY),
psqlODBC (c360's crm source), and HTTP to Azurite.
"""

from __future__ import annotations

import os

import duckdb
import pymysql
import pyodbc
import pytest

from benchmarks.tpch import extensions
from benchmarks.tpch.proxy import Proxies

ROWS = 20_000


@pytest.fixture(scope="module")
def servers(mariadb, postgres_odbc):
    shop = mariadb.child("proxy")
    crm = postgres_odbc.child("proxy")
    shop.execute(
        "CREATE TABLE t (a BIGINT PRIMARY KEY, b VARCHAR(40), c DECIMAL(15,2), d DATE)",
        f"INSERT INTO t SELECT seq, CONCAT('row ', seq), seq / 7, DATE '2020-01-01' + INTERVAL seq DAY "
        f"FROM seq_1_to_{ROWS}",
    )
    crm.execute(
        "CREATE TABLE t (a BIGINT PRIMARY KEY, b VARCHAR(40), c DECIMAL(15,2), d DATE)",
        f"INSERT INTO t SELECT g, 'row ' || g, g / 7.0, DATE '2020-01-01' + g FROM generate_series(1, {ROWS}) g",
    )
    with Proxies({"shop": (shop.host, shop.port, "mysql"), "crm": (crm.host, crm.port, "postgres")}) as proxies:
        yield shop, crm, proxies


def _delta(proxies, run, name):
    before = proxies.snapshot()
    result = run()
    return (proxies.snapshot() - before)[name], result


def test_mariadb_bytes_are_the_servers_own_bytes_sent(servers):
    shop, _, proxies = servers
    connection = pymysql.connect(
        host="127.0.0.1", port=proxies.port("shop"), user=shop.user, password=shop.password, database=shop.database
    )
    with connection.cursor() as cursor:

        def bytes_sent() -> int:
            cursor.execute("SHOW SESSION STATUS LIKE 'Bytes_sent'")
            return int(cursor.fetchone()[1])

        first = bytes_sent()
        server_before = bytes_sent()
        show = server_before - first  # what one SHOW's answer costs (the counter is read before answering)
        proxy_before = proxies.snapshot()
        cursor.execute("SELECT * FROM t WHERE a <= 12345")
        assert len(cursor.fetchall()) == 12345
        proxy_after = proxies.snapshot()
        server_after = bytes_sent()
    connection.close()
    moved = (proxy_after - proxy_before)["shop"]
    # The server's delta holds the second SHOW's answer and the query's; the two SHOW answers differ by a digit at most.
    assert abs(moved.bytes - (server_after - server_before - show)) <= 2
    assert moved.rows == 12345
    assert moved.opaque == 0


def test_mariadb_rows_through_duckdbs_compressed_prepared_scanner(servers):
    shop, _, proxies = servers
    connection = duckdb.connect()
    extensions.load(connection, "mysql_scanner")
    connection.execute(
        f"ATTACH 'host=127.0.0.1 port={proxies.port('shop')} user={shop.user} "
        f"password={shop.password} database={shop.database}' AS m (TYPE mysql, READ_ONLY)"
    )
    query = "SELECT * FROM m.t WHERE a <= 777"
    connection.execute(query).fetchall()  # the catalog's own queries happen here
    moved, rows = _delta(proxies, lambda: connection.execute(query).fetchall(), "shop")
    full, _ = _delta(proxies, lambda: connection.execute("SELECT * FROM m.t").fetchall(), "shop")
    connection.close()
    assert len(rows) == 777 and moved.rows == 777
    assert full.rows == ROWS
    assert moved.opaque == 0 and full.opaque == 0


def test_postgres_rows_of_datarow_and_binary_and_text_copy(servers):
    import psycopg

    _, crm, proxies = servers
    with psycopg.connect(
        host="127.0.0.1",
        port=proxies.port("crm"),
        user=crm.user,
        password=crm.password,
        dbname=crm.database,
        sslmode="disable",
        autocommit=True,
    ) as connection:
        moved, rows = _delta(proxies, lambda: connection.execute("SELECT * FROM t WHERE a <= 321").fetchall(), "crm")
        assert len(rows) == 321 and moved.rows == 321

        def copy(statement):
            with connection.cursor().copy(statement) as stream:
                return sum(len(block) for block in stream)

        binary, size = _delta(
            proxies, lambda: copy("COPY (SELECT * FROM t WHERE a <= 888) TO STDOUT (FORMAT binary)"), "crm"
        )
        empty, _ = _delta(proxies, lambda: copy("COPY (SELECT * FROM t WHERE a <= 0) TO STDOUT (FORMAT binary)"), "crm")
        text, _ = _delta(proxies, lambda: copy("COPY (SELECT * FROM t WHERE a <= 999) TO STDOUT"), "crm")
    assert (binary.rows, empty.rows, text.rows) == (888, 0, 999)
    assert binary.bytes > size  # the COPY data plus the messages around it


def test_postgres_rows_through_psqlodbc_and_duckdbs_scanner(servers):
    _, crm, proxies = servers
    odbc = pyodbc.connect(
        f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={proxies.port('crm')};"
        f"Database={crm.database};Uid={crm.user};Pwd={crm.password};SSLmode=disable;"
    )
    cursor = odbc.cursor()
    cursor.execute("SELECT * FROM t WHERE a <= 5").fetchall()  # the driver's first catalog queries
    moved, rows = _delta(proxies, lambda: cursor.execute("SELECT * FROM t WHERE a <= 4321").fetchall(), "crm")
    odbc.close()
    assert len(rows) == 4321
    assert 4321 <= moved.rows <= 4321 + 10  # psqlODBC asks pg_catalog about the result's column types too

    connection = duckdb.connect()
    extensions.load(connection, "postgres_scanner")
    connection.execute(
        f"ATTACH 'host=127.0.0.1 port={proxies.port('crm')} user={crm.user} password={crm.password} "
        f"dbname={crm.database} sslmode=disable' AS p (TYPE postgres, READ_ONLY)"
    )
    connection.execute("SELECT count(*) FROM p.t").fetchall()
    moved, rows = _delta(proxies, lambda: connection.execute("SELECT a, b FROM p.t").fetchall(), "crm")
    connection.close()
    assert len(rows) == ROWS
    assert ROWS <= moved.rows <= ROWS + 5  # the scanner's own snapshot/transaction queries answer a row or two


def test_http_bytes_of_a_blob_download(azurite):
    service = azurite.service()
    container = azurite.new_container("proxy")
    body = os.urandom(1_000_000)
    service.get_blob_client(container, "x.bin").upload_blob(body)
    with Proxies({"blob": (azurite.host, azurite.port, "http")}) as proxies:
        from azure.storage.blob import BlobServiceClient

        through = BlobServiceClient.from_connection_string(
            azurite.connection_string.replace(f":{azurite.port}/", f":{proxies.port('blob')}/")
        )
        moved, downloaded = _delta(
            proxies, lambda: through.get_blob_client(container, "x.bin").download_blob().readall(), "blob"
        )
    assert downloaded == body
    assert len(body) < moved.bytes < len(body) + 8_192  # the body and the HTTP headers
    assert moved.rows == 0 and moved.connections >= 1
