"""``c360 serve`` running for real, over a small SQLite project, for tests that drive it with real clients.

The server runs as its own process (``python -m c360 serve --port 0``), as it
does for users: a client in the same process as the server would share its
GIL, and libpq's cancel blocks while it waits for the server's reply. The
project (under ``tmp_path_factory``, so unique per test session) has one
SQLite source ``shop`` with ``orders`` and ``customers`` (see
:mod:`tests.projects`), a ``nums`` table of ``NUMS_ROWS`` integers for slow
queries, and a view ``paid_orders`` (schema ``c360``).
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

from tests.projects import shop_project

NUMS_ROWS = 20_000
#: a query the engine needs minutes for: a cross join DuckDB cannot shortcut
SLOW_QUERY = "SELECT sum(hash(a.n * 7 + b.n)) FROM shop.nums a, shop.nums b"
#: a query whose time is spent inside the source (SQLite)
SLOW_SOURCE_QUERY = "SELECT count(*) FROM shop.slow_counter"
PASSWORD = f"s3cret-{os.getpid()}"
START_SECONDS = 60


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
    catalog = shop_project(root, views={"paid_orders": "SELECT order_id, amount FROM shop.orders WHERE status = 'paid'\n"})
    connection = sqlite3.connect(root / "shop.sqlite")
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
