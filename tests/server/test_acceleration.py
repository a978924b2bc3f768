"""``c360 serve`` with accelerated copies: refreshed on schedule in the background, ``SET max_staleness`` per client."""

from __future__ import annotations

import time

import psycopg
import pytest

from c360.acceleration.store import Store
from tests.acceleration.projects import accelerated_project, shop
from tests.server.conftest import start_server, stop_server, wait_until


@pytest.fixture(scope="module")
def accelerated(tmp_path_factory):
    root = tmp_path_factory.mktemp("accelerated_serve")
    catalog = accelerated_project(root, """
        acceleration:
          shop.orders: {refresh: append, every: 1s, column: updated_at, key: [order_id], max_staleness: 1h}
          spend: {key: [customer_id], max_staleness: 1h}
    """)
    running = start_server(catalog, root / "serve.log")
    yield root, running
    stop_server(running.process)


def explain(connection, sql: str) -> str:
    return "\n".join(row[0] for row in connection.execute(f"EXPLAIN {sql}").fetchall())


def test_the_server_refreshes_on_schedule_and_clients_read_the_copy(accelerated):
    root, server = accelerated
    store = Store(root)
    wait_until(lambda: store.read("shop.orders") is not None and store.read("shop.orders").file,
               what="the first scheduled refresh of shop.orders")
    assert store.read("spend") is None  # no `every`: refreshed only by `c360 accelerate refresh`
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        assert "acceleration.shop.orders" in explain(connection, "SELECT * FROM shop.orders")
        first = store.read("shop.orders").refreshed_at
        shop(root, "INSERT INTO orders VALUES (9, 49, 90.0, '2026-03-09 00:00:00')")
        wait_until(lambda: store.read("shop.orders").refreshed_at > first + 0.5, what="a later scheduled refresh")
        wait_until(lambda: connection.execute("SELECT count(*) FROM shop.orders").fetchone() == (5,),
                   what="the new row to reach the copy")
        connection.execute("SET max_staleness TO 0")
        assert "acceleration" not in explain(connection, "SELECT * FROM shop.orders")
        connection.execute("RESET max_staleness")
        assert "acceleration.shop.orders" in explain(connection, "SELECT * FROM shop.orders")


def test_max_staleness_is_per_client(accelerated):
    root, server = accelerated
    wait_until(lambda: Store(root).read("shop.orders") is not None, what="the first scheduled refresh")
    with psycopg.connect(server.dsn(), autocommit=True) as live, \
            psycopg.connect(server.dsn(), autocommit=True) as other:
        live.execute("SET max_staleness = 0")
        assert "acceleration" not in explain(live, "SELECT * FROM shop.orders")
        assert "acceleration.shop.orders" in explain(other, "SELECT * FROM shop.orders")
        assert live.execute("SHOW max_staleness").fetchone() == ("0 (live sources only)",)
        assert other.execute("SHOW max_staleness").fetchone() == ("default (each copy's declared max_staleness)",)
        other.execute("SET max_staleness = '10 minutes'")
        assert other.execute("SHOW max_staleness").fetchone() == ("10m00s",)
        with pytest.raises(psycopg.Error, match="max_staleness must be a duration"):
            other.execute("SET max_staleness = 'soon'")


def test_queries_answer_while_a_refresh_runs(accelerated):
    root, server = accelerated
    started = time.monotonic()
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        for _ in range(20):
            assert connection.execute("SELECT count(*) FROM shop.orders WHERE order_id < 3").fetchone() == (2,)
    assert time.monotonic() - started < 20


def test_serving_shortens_the_interpreter_switch_interval(tmp_path):
    """A lookup waits at most this long for the interpreter lock while another client's statement is planned."""
    import asyncio
    import sys

    from c360.server.backend import EngineBackend
    from c360.server.server import Server, ServerConfig

    catalog = accelerated_project(tmp_path, "")
    before = sys.getswitchinterval()
    backend = EngineBackend(catalog, refresh=False)
    server = Server(backend, ServerConfig(port=0))

    async def start_and_close():
        await server.start()
        interval = sys.getswitchinterval()
        await server.close()
        return interval

    try:
        assert asyncio.run(start_and_close()) == ServerConfig().switch_interval < before
    finally:
        sys.setswitchinterval(before)
        backend.close()
