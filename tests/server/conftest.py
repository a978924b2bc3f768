"""A running ``c360 serve`` over a small SQLite project, for tests that drive it with real clients.

The project (``tmp_path_factory``, so unique per test session) has one SQLite
source ``shop`` with ``orders`` and ``customers`` (see :mod:`tests.projects`),
a ``nums`` table of ``NUMS_ROWS`` integers for slow queries, and a view
``paid_orders`` (schema ``c360``). Servers listen on a free port (port 0).
"""

from __future__ import annotations

import os
import socket
import sqlite3

import pytest

from c360.server import EngineBackend, ServerConfig, ServerThread
from c360.server.auth import Users, Verifier
from tests.projects import shop_project

NUMS_ROWS = 20_000
#: a query the engine needs minutes for: a cross join DuckDB cannot shortcut
SLOW_QUERY = "SELECT sum(hash(a.n * 7 + b.n)) FROM shop.nums a, shop.nums b"
PASSWORD = "s3cret-" + str(os.getpid())


@pytest.fixture(scope="session")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve_project")
    catalog = shop_project(root, views={"paid_orders": "SELECT order_id, amount FROM shop.orders WHERE status = 'paid'\n"})
    connection = sqlite3.connect(root / "shop.sqlite")
    connection.execute("CREATE TABLE nums (n BIGINT, label TEXT)")
    connection.executemany("INSERT INTO nums VALUES (?, ?)", ((i, f"n{i}") for i in range(NUMS_ROWS)))
    connection.commit()
    connection.close()
    return catalog


@pytest.fixture(scope="session")
def backend(project):
    backend = EngineBackend(project)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def server(backend):
    """A trust server on 127.0.0.1 (the default bind), shared by the session's tests."""
    with ServerThread(backend, ServerConfig(port=0)) as running:
        yield running


@pytest.fixture(scope="session")
def scram_server(backend):
    """A server that requires SCRAM-SHA-256 for user ``analyst``."""
    users = Users({"analyst": Verifier.from_password(PASSWORD)})
    with ServerThread(backend, ServerConfig(port=0, users=users)) as running:
        yield running


@pytest.fixture
def dsn(server):
    return f"host=127.0.0.1 port={server.port} user=tester dbname=c360 connect_timeout=10"


def raw_connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock
