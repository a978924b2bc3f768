"""``c360 serve`` running for real, over a small SQLite project, for tests that drive it with real clients.

The server runs as its own process (``python -m c360 serve --port 0``), as it
does for users: a client in the same process as the server would share its
GIL, and libpq's cancel blocks while it waits for the server's reply. The
project (under ``tmp_path_factory``, so unique per test session) has one
SQLite source ``shop`` (with a description) with ``orders`` and ``customers``
(see :mod:`tests.projects`), ``products`` (a primary key and an index), a
``nums`` table of ``NUMS_ROWS`` integers for slow queries, and a view
``paid_orders`` (schema ``c360``, with a description).
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.projects import project as project_files
from tests.projects import shop_project

NUMS_ROWS = 20_000
#: a query the engine needs minutes for: a cross join DuckDB cannot shortcut
SLOW_QUERY = "SELECT sum(hash(a.n * 7 + b.n)) FROM shop.nums a, shop.nums b"
#: a query whose time is spent inside the source (SQLite)
SLOW_SOURCE_QUERY = "SELECT count(*) FROM shop.slow_counter"
#: a statement_timeout (ms) for tests of drivers that set one at connect: long enough for the statements a
#: driver runs before the slow one (its first builds the session's engine) on a loaded machine
STATEMENT_TIMEOUT_MS = 3000
PASSWORD = f"s3cret-{os.getpid()}"
START_SECONDS = 60
#: Longest wait for a condition (a query running, the server idle) before the test fails.
WAIT_SECONDS = 30
#: CPU seconds a warmed-up server spends only when it runs a query (its engine already exists).
BUSY_CPU_SECONDS = 0.3


@dataclass
class RunningServer:
    process: subprocess.Popen
    port: int
    log: Path

    def dsn(self, user: str = "tester", **extra) -> str:
        words = [f"host=127.0.0.1 port={self.port} user={user} dbname=c360 connect_timeout=10"]
        words += [f"{key}={value}" for key, value in extra.items()]
        return " ".join(words)

    def alive(self) -> bool:
        return self.process.poll() is None

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024

    def busy_since(self, before: float, cpu: float = BUSY_CPU_SECONDS) -> bool:
        """Whether the server used ``cpu`` seconds of CPU since the :meth:`cpu_seconds` reading ``before``:
        on a warmed-up session (its engine made by an earlier query) that means a query is running."""
        return self.cpu_seconds() - before >= cpu

    def wait_until_busy(self, before: float, cpu: float = BUSY_CPU_SECONDS) -> None:
        wait_until(lambda: self.busy_since(before, cpu), what=f"the server to spend {cpu} s of CPU on the query")

    def idle(self, window: float = 0.5, share: float = 0.1) -> bool:
        """Whether the server uses less than ``share`` of a core over the next ``window`` seconds."""
        before, started = self.cpu_seconds(), time.monotonic()
        time.sleep(window)  # the window the CPU share is measured over
        return self.cpu_seconds() - before < share * (time.monotonic() - started)

    def wait_until_idle(self) -> None:
        wait_until(self.idle, every=0, what="the server to stop working (under 10% of a core for 0.5 s)")


def wait_until(condition, *, seconds: float = WAIT_SECONDS, every: float = 0.05, what: str) -> None:
    """Return as soon as ``condition()`` is true; fail the test, naming ``what``, if it is not within ``seconds``."""
    if not poll(condition, seconds=seconds, every=every):
        pytest.fail(f"waited {seconds:.0f} s for {what}", pytrace=False)


def poll(condition, *, seconds: float = WAIT_SECONDS, every: float = 0.05) -> bool:
    """Whether ``condition()`` became true within ``seconds`` (checked every ``every`` seconds)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def start_server(catalog: Path, log: Path, *args: str, env: dict | None = None) -> RunningServer:
    """``c360 serve --port 0`` in a subprocess; returns once it listens (fails the test if it does not)."""
    handle = open(log, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "c360", "serve", "--catalog", str(catalog), "--port", "0", *args],
        stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})}, cwd=catalog.parent,
    )
    handle.close()
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        match = re.search(r"postgresql://[^:]+:(\d+)/", log.read_text())
        if match:
            return RunningServer(process, int(match.group(1)), log)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    stop_server(process)
    pytest.fail(f"c360 serve did not start; its output:\n{log.read_text()}", pytrace=False)


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="session")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("serve_project")
    shop_project(root)
    catalog = project_files(root, """
        sources:
          shop:
            kind: sqlite
            path: ../shop.sqlite
            description: The web shop's orders
    """, views={"paid_orders": "-- Orders that were paid\nSELECT order_id, amount FROM shop.orders WHERE status = 'paid'\n"})
    connection = sqlite3.connect(root / "shop.sqlite")
    # keys and indexes as the source declares them (the catalogs drivers read show them)
    connection.executescript(
        "CREATE TABLE products (product_id INTEGER PRIMARY KEY, sku TEXT, name TEXT);"
        "CREATE INDEX products_by_name ON products (name, sku);"
        "INSERT INTO products VALUES (1, 'A-1', 'Apple'), (2, 'B-2', 'Banana');"
    )
    connection.execute("CREATE TABLE nums (n BIGINT, label TEXT)")
    connection.executemany("INSERT INTO nums VALUES (?, ?)", ((i, f"n{i}") for i in range(NUMS_ROWS)))
    # a view SQLite needs hours for, yielding no row: the slow query runs in the source itself
    connection.execute(
        "CREATE VIEW slow_counter AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1e12) "
        "SELECT x FROM c WHERE x < 0"
    )
    connection.commit()
    connection.close()
    return catalog


@pytest.fixture(scope="session")
def server(project, tmp_path_factory):
    """A trust server on 127.0.0.1 (the default bind), shared by the session's tests."""
    running = start_server(project, tmp_path_factory.mktemp("serve_log") / "serve.log")
    yield running
    stop_server(running.process)


@pytest.fixture(scope="session")
def scram_server(project, tmp_path_factory):
    """A server that requires SCRAM-SHA-256 for user ``analyst`` (from the environment)."""
    running = start_server(
        project, tmp_path_factory.mktemp("scram_log") / "serve.log",
        env={"C360_SERVE_USER": "analyst", "C360_SERVE_PASSWORD": PASSWORD},
    )
    yield running
    stop_server(running.process)


@pytest.fixture
def dsn(server) -> str:
    return server.dsn()


@pytest.fixture(scope="session")
def postgres_shop():
    """A real PostgreSQL database holding the test project's ``shop`` schema (same rows as its SQLite source):
    the oracle wire queries are compared with. A DSN; the database is dropped at the end."""
    import psycopg

    from tests.projects import SHOP_DDL
    from tests.servers import POSTGRES_HOST, POSTGRES_PORT, _postgres_admin, unique_name

    admin = _postgres_admin()
    if admin is None:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_HOST}:{POSTGRES_PORT} (the oracle for wire SQL)")
    name = unique_name()
    admin.execute(f'CREATE DATABASE "{name}"')
    dsn = f"host={POSTGRES_HOST} port={POSTGRES_PORT} user=postgres dbname={name} options='-c TimeZone=UTC'"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("CREATE SCHEMA shop")
        connection.execute("SET search_path = shop")
        for statement in SHOP_DDL.split(";"):
            if statement.strip():
                connection.execute(statement)
        connection.execute("CREATE TABLE products (product_id INTEGER PRIMARY KEY, sku TEXT, name TEXT)")
        connection.execute("CREATE INDEX products_name_sku_idx ON products (name, sku)")
        connection.execute("INSERT INTO products VALUES (1, 'A-1', 'Apple'), (2, 'B-2', 'Banana')")
    yield dsn
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()
