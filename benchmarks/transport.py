"""How fast rows move out of MariaDB and PostgreSQL (through ODBC) into Arrow, per transport.

A script, not a test. It fills two tables in each server once (database
``c360_bench_transport``; reused while the row count matches):

* ``narrow``: BIGINT key, INT, two DECIMALs, DATE, TINYINT, BIGINT UNSIGNED (lineitem-like numbers);
* ``wide``: BIGINT key and six text columns (~270 bytes a row, utf8mb4 with accents, CJK and emoji).

Then it reads each table in full through every candidate, each run in a fresh child
process (so peak memory is the candidate's own) that connects through a byte-counting
TCP proxy (``os.splice``, in this process: it costs the child nothing), and prints
rows/s, the bytes the server sent and the child's peak RSS::

    python benchmarks/transport.py --rows 1000000
    python benchmarks/transport.py --rows 1000000 --only mysql --candidates pymysql,duckdb
    python benchmarks/transport.py --rows 1000000 --scan      # + a full scan through c360.connect()

Candidates, MySQL: ``pymysql`` (c360's fallback: unbuffered cursor, values decoded as text
and parsed by Arrow a column at a time), ``mysqlclient`` (the same through ``MySQLdb``),
``mysqlclient-compress`` (the protocol's zlib compression), ``duckdb`` (``mysql_query`` of
the ``duckdb-extension-mysql`` wheel on a DuckDB connection of its own; what c360 uses),
``duckdb-compress``, ``duckdb-split2`` (two connections over halves of the key range, in
parallel), ``connectorx`` (DECIMAL and DATE cast to CHAR in the SQL and parsed by Arrow,
since connectorx turns DECIMAL into decimal128(38,10) and fails on zero dates),
``connectorx-raw`` (no casts: not exact, for reference). Every candidate's answer is
checked against the expected Arrow schema and row count.
ODBC (PostgreSQL through psqlODBC ``PostgreSQL Unicode``): ``pyodbc`` and ``arrow-odbc``,
each with the driver's defaults (the whole result is read into the driver before the
first row) and with ``UseDeclareFetch=1;Fetch=10000`` (a server cursor, 10,000 rows a
round trip).

``setup s`` is what the DuckDB candidates spend once per connector (load the extension,
attach), outside the timed read. ``--scan`` also times ``SELECT * FROM narrow`` / ``wide`` through ``c360.connect()`` with the
source's ``transport: pymysql`` (before) and the default transport (after), in the same run.
The machine is shared and has 2 cores: compare figures of one run with each other.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATABASE = "c360_bench_transport"
MYSQL = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
TABLES = ("narrow", "wide")
MYSQL_CANDIDATES = (
    "pymysql", "mysqlclient", "mysqlclient-compress", "duckdb", "duckdb-compress", "duckdb-split2",
    "connectorx", "connectorx-raw",
)
ODBC_CANDIDATES = ("pyodbc", "pyodbc-declarefetch", "arrow-odbc", "arrow-odbc-declarefetch")

MYSQL_TABLES = {
    "narrow": (
        "CREATE TABLE narrow (id BIGINT NOT NULL PRIMARY KEY, qty INT NOT NULL, price DECIMAL(15,2) NOT NULL,"
        " discount DECIMAL(4,2) NULL, shipped DATE NULL, flag TINYINT NOT NULL, big BIGINT UNSIGNED NOT NULL)",
        "INSERT INTO narrow SELECT seq, seq % 50 + 1, (seq * 7919 % 10000000) / 100,"
        " IF(seq % 10 = 0, NULL, (seq % 11) / 100), IF(seq % 97 = 0, NULL, DATE '1992-01-01' + INTERVAL (seq % 2500) DAY),"
        " seq % 3, seq * 2654435761 FROM seq_1_to_{rows}",
    ),
    "wide": (
        "CREATE TABLE wide (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(60) NOT NULL, email VARCHAR(80) NOT NULL,"
        " city VARCHAR(40) NULL, address VARCHAR(120) NOT NULL, comment VARCHAR(200) NULL, note TEXT NULL)",
        "INSERT INTO wide SELECT seq, CONCAT('Customer#', LPAD(seq, 9, '0')), CONCAT('user', seq, '@example.com'),"
        " ELT(1 + seq % 6, 'Lisboa', 'Porto', 'Paris', 'Zürich', '北京', NULL), CONCAT(seq % 9999, ' Rua das Flores, ', MD5(seq)),"
        " IF(seq % 5 = 0, NULL, CONCAT('carefully final deposits ', SHA1(seq), ' \U0001F600 ', MD5(seq + 1))),"
        " REPEAT(SUBSTRING(MD5(seq), 1, 8), 1 + seq % 8) FROM seq_1_to_{rows}",
    ),
}
POSTGRES_TABLES = {
    "narrow": (
        "CREATE TABLE narrow (id BIGINT NOT NULL PRIMARY KEY, qty INT NOT NULL, price NUMERIC(15,2) NOT NULL,"
        " discount NUMERIC(4,2) NULL, shipped DATE NULL, flag SMALLINT NOT NULL, big BIGINT NOT NULL)",
        "INSERT INTO narrow SELECT s, s % 50 + 1, (s * 7919 % 10000000) / 100.0,"
        " CASE WHEN s % 10 = 0 THEN NULL ELSE (s % 11) / 100.0 END,"
        " CASE WHEN s % 97 = 0 THEN NULL ELSE DATE '1992-01-01' + (s % 2500)::int END, s % 3, s * 2654435 FROM generate_series(1::bigint, {rows}) s",
    ),
    "wide": (
        "CREATE TABLE wide (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(60) NOT NULL, email VARCHAR(80) NOT NULL,"
        " city VARCHAR(40) NULL, address VARCHAR(120) NOT NULL, comment VARCHAR(200) NULL, note TEXT NULL)",
        "INSERT INTO wide SELECT s, 'Customer#' || LPAD(s::text, 9, '0'), 'user' || s || '@example.com',"
        " (ARRAY['Lisboa', 'Porto', 'Paris', 'Zürich', '北京', NULL])[1 + s % 6], (s % 9999) || ' Rua das Flores, ' || MD5(s::text),"
        " CASE WHEN s % 5 = 0 THEN NULL ELSE 'carefully final deposits ' || MD5(s::text) || MD5((s+2)::text) || ' \U0001F600 ' || MD5((s + 1)::text) END,"
        " REPEAT(SUBSTRING(MD5(s::text), 1, 8), (1 + s % 8)::int) FROM generate_series(1::bigint, {rows}) s",
    ),
}


# --- data ------------------------------------------------------------------------------------


def setup_mysql(rows: int) -> None:
    import pymysql

    connection = pymysql.connect(**MYSQL, charset="utf8mb4", autocommit=True)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
        cursor.execute(f"USE {DATABASE}")
        for table, (create, insert) in MYSQL_TABLES.items():
            try:
                cursor.execute(f"SELECT COUNT(*) FROM {table}")
                if cursor.fetchone()[0] == rows:
                    continue
            except pymysql.err.ProgrammingError:
                pass
            print(f"filling MariaDB {DATABASE}.{table} with {rows:,} rows", flush=True)
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(create)
            cursor.execute(insert.format(rows=rows))
    connection.close()


def setup_postgres(rows: int) -> None:
    import psycopg

    admin = psycopg.connect(**POSTGRES, dbname="postgres", autocommit=True)
    if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
        admin.execute(f"CREATE DATABASE {DATABASE} ENCODING 'UTF8' TEMPLATE template0")
    admin.close()
    with psycopg.connect(**POSTGRES, dbname=DATABASE, autocommit=True) as connection:
        for table, (create, insert) in POSTGRES_TABLES.items():
            exists = connection.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]
            if exists and connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == rows:
                continue
            print(f"filling PostgreSQL {DATABASE}.{table} with {rows:,} rows", flush=True)
            connection.execute(f"DROP TABLE IF EXISTS {table}")
            connection.execute(create)
            connection.execute(insert.format(rows=rows))
            connection.execute(f"ANALYZE {table}")


# --- the byte-counting proxy -----------------------------------------------------------------


class CountingProxy:
    """A TCP relay on a free loopback port to ``target``; ``sent`` counts the server's bytes."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sent = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, count: bool) -> None:
        read, write = os.pipe()
        try:
            while True:
                moved = os.splice(source.fileno(), write, 1 << 20)
                if moved == 0:
                    break
                if count:
                    with self._lock:
                        self.sent += moved
                while moved:
                    moved -= os.splice(read, target.fileno(), moved)
        except OSError:
            pass
        finally:
            os.close(read)
            os.close(write)
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def take(self) -> int:
        """Bytes sent by the server since the last call."""
        time.sleep(0.2)  # let the pumps finish the last packets
        with self._lock:
            sent, self.sent = self.sent, 0
        return sent


# --- candidates (each runs in a child process) -------------------------------------------------


def _mysql_schema(table: str):
    from connectors.mysql import MySQLConnector

    connector = MySQLConnector("bench", {**MYSQL, "database": DATABASE})
    schema = connector.schema(table)
    return connector, schema.arrow_schema()


def _odbc_connection_string(port: int, declare_fetch: bool) -> str:
    extra = "UseDeclareFetch=1;Fetch=10000;" if declare_fetch else ""
    return (
        f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={port};Database={DATABASE};Uid=postgres;"
        f"BoolsAsChar=0;{extra}"
    )


def run_candidate(name: str, table: str, port: int) -> dict:
    """Read ``table`` in full through candidate ``name`` on ``port``; rows and seconds."""
    import pyarrow as pa

    started = time.perf_counter()
    rows = 0
    setup = 0.0
    if name in ODBC_CANDIDATES:
        from connectors.odbc import OdbcConnector

        connection_string = _odbc_connection_string(port, name.endswith("declarefetch"))
        schema = OdbcConnector("bench", {"connection_string": connection_string, "dialect": "postgres"}).schema(
            table
        ).arrow_schema()
        started = time.perf_counter()
        batches = _odbc_batches(name, connection_string, f"SELECT * FROM {table}", schema)
    else:
        connector, schema = _mysql_schema(table)
        connector.port = port
        connector.compress = name.endswith("compress")
        if name.startswith("duckdb"):
            warm = time.perf_counter()
            connector.link.cursor().close()  # load the extension and attach once, as a catalog's connector does
            setup = time.perf_counter() - warm
        started = time.perf_counter()
        batches = _mysql_batches(name, connector, port, table, schema)
    for batch in batches:
        if batch.schema != schema and name != "connectorx-raw":
            raise AssertionError(f"{name}: got {batch.schema}, expected {schema}")
        rows += batch.num_rows
    seconds = time.perf_counter() - started
    del pa
    return {"rows": rows, "seconds": seconds, "setup": setup,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _mysql_batches(name, connector, port, table, schema):
    sql = f"SELECT * FROM `{table}`"
    if name == "pymysql":
        from connectors.mysql_pymysql import PyMySQLFetch

        yield from PyMySQLFetch(connector, sql, schema).batches()
    elif name.startswith("mysqlclient"):
        yield from _mysqlclient(port, sql, schema, compress=name.endswith("compress"))
    elif name.startswith("duckdb"):
        from connectors.mysql_duckdb import DuckDBMySQLFetch

        if name == "duckdb-split2":
            yield from _split(connector, table, schema, 2)
        else:
            yield from DuckDBMySQLFetch(connector, sql, schema).batches()
    elif name.startswith("connectorx"):
        yield from _connectorx(port, table, schema, exact=name == "connectorx")
    else:
        raise SystemExit(f"unknown candidate {name}")


def _split(connector, table, schema, parts: int):
    """The key range cut in ``parts``, each read on its own connection at once; batches as they come."""
    import queue

    from connectors.mysql_duckdb import DuckDBMySQLFetch

    low, high = connector._query(f"SELECT MIN(id), MAX(id) FROM `{table}`")[0]
    step = (high - low + parts) // parts
    channel: queue.Queue = queue.Queue(maxsize=8)
    done = object()

    def read(start, stop):
        sql = f"SELECT * FROM `{table}` WHERE id >= {start} AND id < {stop}"
        for batch in DuckDBMySQLFetch(connector, sql, schema).batches():
            channel.put(batch)
        channel.put(done)

    for part in range(parts):
        threading.Thread(target=read, args=(low + part * step, low + (part + 1) * step), daemon=True).start()
    finished = 0
    while finished < parts:
        item = channel.get()
        if item is done:
            finished += 1
        else:
            yield item


def _mysqlclient(port, sql, schema, compress: bool):
    import MySQLdb
    import MySQLdb.cursors
    from MySQLdb.constants import FIELD_TYPE
    from MySQLdb.converters import conversions

    from connectors.mysql_pymysql import rows_to_batch

    conv = dict(conversions)
    for field_type in (FIELD_TYPE.DATE, FIELD_TYPE.DATETIME, FIELD_TYPE.TIMESTAMP, FIELD_TYPE.NEWDECIMAL, FIELD_TYPE.DECIMAL):
        conv[field_type] = str
    connection = MySQLdb.connect(
        host="127.0.0.1", port=port, user=MYSQL["user"], password=MYSQL["password"], database=DATABASE,
        charset="utf8mb4", conv=conv, cursorclass=MySQLdb.cursors.SSCursor,
        init_command="SET SESSION time_zone = '+00:00', SESSION sql_mode = ''",
        **({"compress": True} if compress else {}),  # MySQLdb turns compression on for any compress= given
    )
    cursor = connection.cursor()
    cursor.execute(sql)
    while True:
        rows = cursor.fetchmany(8192)
        if not rows:
            break
        yield rows_to_batch(rows, schema)
    connection.close()


def _connectorx(port, table, schema, exact: bool):
    import connectorx
    import pyarrow as pa

    from connectors.arrow_cast import cast_exactly

    columns = []
    for field in schema:
        quoted = f"`{field.name}`"
        if exact and (pa.types.is_decimal(field.type) or pa.types.is_date32(field.type) or pa.types.is_timestamp(field.type)):
            columns.append(f"CAST({quoted} AS CHAR) AS {quoted}")
        else:
            columns.append(quoted)
    sql = f"SELECT {', '.join(columns)} FROM `{table}`"
    # prefer_socket=false: else the driver switches from TCP to the server's unix socket by itself
    url = f"mysql://{MYSQL['user']}:{MYSQL['password']}@127.0.0.1:{port}/{DATABASE}?prefer_socket=false"
    reader = connectorx.read_sql(
        url, sql, return_type="arrow_stream", batch_size=65536,
        pre_execution_query=["SET SESSION time_zone = '+00:00'", "SET SESSION sql_mode = ''"],
    )
    for batch in reader:
        yield cast_exactly(batch, schema) if exact else batch


def _odbc_batches(name, connection_string, sql, schema):
    if name.startswith("arrow-odbc"):
        from connectors.odbc_arrow import ArrowOdbcFetch  # c360's own: its buffer bounds and casts

        fetch = ArrowOdbcFetch(connection_string, sql, schema)
        fetch.open()
        yield from fetch.batches()
        fetch.close()
    else:
        import pyodbc

        from connectors.sql import rows_to_batch

        connection = pyodbc.connect(connection_string, autocommit=True)
        cursor = connection.execute(sql)
        while True:
            rows = cursor.fetchmany(8192)
            if not rows:
                break
            yield rows_to_batch(rows, schema)
        connection.close()


# --- c360 end to end -------------------------------------------------------------------------


def c360_scan(table: str, transport: str) -> dict:
    """``SELECT * FROM shop.<table>`` through ``c360.connect()`` with the source's ``transport``."""
    import c360

    with tempfile.TemporaryDirectory() as folder:
        catalog = Path(folder) / "catalog"
        catalog.mkdir()
        (catalog / "shop.yaml").write_text(
            "sources:\n  shop:\n    kind: mysql\n"
            f"    host: 127.0.0.1\n    port: {MYSQL['port']}\n    user: {MYSQL['user']}\n    database: {DATABASE}\n"
            f"    transport: {transport}\n"
        )
        connection = c360.connect(str(catalog))
        cursor = connection.cursor()
        started = time.perf_counter()
        cursor.execute(f"SELECT * FROM shop.{table}")
        rows = sum(batch.num_rows for batch in cursor.fetch_batches())
        seconds = time.perf_counter() - started
        connection.close()
    return {"rows": rows, "seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# --- driver ----------------------------------------------------------------------------------


def child(args) -> int:
    if args.child.startswith("c360-"):
        result = c360_scan(args.table, args.child.removeprefix("c360-"))
    else:
        result = run_candidate(args.child, args.table, args.port)
    print(json.dumps(result))
    return 0


def measure(candidate: str, table: str, proxy: CountingProxy | None, port: int) -> dict:
    command = [sys.executable, __file__, "--child", candidate, "--table", table, "--port", str(proxy.port if proxy else port)]
    if proxy:
        proxy.take()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "RUST_BACKTRACE": "0"})
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1][:160]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if proxy:
        result["bytes"] = proxy.take()
    return result


def median_run(runs: list[dict]) -> dict:
    """The run with the median time (runs alternate between candidates, so each saw the same noise)."""
    good = sorted((r for r in runs if "error" not in r), key=lambda r: r["seconds"])
    return good[len(good) // 2] if good else runs[0]


def report(title: str, results: dict) -> None:
    results = {key: median_run(runs) for key, runs in results.items()}
    print(f"\n{title}")
    print(f"  {'candidate':<26}{'table':<8}{'rows':>10}{'seconds':>9}{'k rows/s':>10}{'MB sent':>9}{'B/row':>7}"
          f"{'peak RSS MB':>12}{'setup s':>9}")
    for (candidate, table), result in results.items():
        if "error" in result:
            print(f"  {candidate:<26}{table:<8}  failed: {result['error']}")
            continue
        rate = result["rows"] / result["seconds"] / 1000
        sent = result.get("bytes")
        mb = f"{sent / 1e6:9.1f}" if sent is not None else f"{'-':>9}"
        per_row = f"{sent / max(result['rows'], 1):7.0f}" if sent is not None else f"{'-':>7}"
        print(
            f"  {candidate:<26}{table:<8}{result['rows']:>10,}{result['seconds']:>9.2f}{rate:>10.0f}{mb}{per_row}"
            f"{result['rss_mb']:>12.0f}{result.get('setup', 0):>9.2f}"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per table (default 1,000,000)")
    parser.add_argument("--only", choices=("mysql", "odbc"), help="one server only")
    parser.add_argument("--candidates", help="comma-separated candidate names (default: all)")
    parser.add_argument("--tables", default=",".join(TABLES), help="narrow,wide")
    parser.add_argument("--runs", type=int, default=1, help="runs per candidate, alternating; the median is shown")
    parser.add_argument("--scan", action="store_true", help="also a full scan through c360.connect(), before/after")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--table", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    tables = args.tables.split(",")
    chosen = set(args.candidates.split(",")) if args.candidates else None
    if args.only != "odbc":
        setup_mysql(args.rows)
        proxy = CountingProxy(MYSQL["host"], MYSQL["port"])
        candidates = [c for c in MYSQL_CANDIDATES if chosen is None or c in chosen]
        results = {}
        for _ in range(args.runs):
            for table in tables:
                for candidate in candidates:
                    results.setdefault((candidate, table), []).append(measure(candidate, table, proxy, MYSQL["port"]))
        report(f"MariaDB -> Arrow, {args.rows:,} rows per table (bytes: server to client, through the proxy)", results)
        if args.scan:
            scans = {}
            for _ in range(args.runs):
                for table in tables:
                    for transport in ("pymysql", "auto"):
                        scans.setdefault((f"c360.connect() {transport}", table), []).append(
                            measure(f"c360-{transport}", table, None, 0)
                        )
            report("SELECT * FROM shop.<table> through c360.connect() (no proxy)", scans)
    if args.only != "mysql":
        setup_postgres(args.rows)
        proxy = CountingProxy(POSTGRES["host"], POSTGRES["port"])
        candidates = [c for c in ODBC_CANDIDATES if chosen is None or c in chosen]
        results = {}
        for _ in range(args.runs):
            for table in tables:
                for candidate in candidates:
                    results.setdefault((candidate, table), []).append(measure(candidate, table, proxy, POSTGRES["port"]))
        report(f"PostgreSQL (psqlODBC) -> Arrow, {args.rows:,} rows per table", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
