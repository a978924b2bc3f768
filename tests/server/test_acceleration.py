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


def test_a_lookup_on_a_copy_is_read_as_python_rows_in_the_trip_that_starts_it(tmp_path, monkeypatch):
    """The server's row source of a direct lookup: its one row fetched with the start, without Arrow, in hand."""
    import tests.acceleration.projects as projects
    from c360.acceleration.refresh import refresh
    from c360.catalog import Catalog
    from c360.server.backend import EngineBackend, Rows
    from tests.acceleration.test_direct import TYPED, TYPED_VIEW

    monkeypatch.setattr(projects, "VIEWS", {"typed": TYPED_VIEW})
    catalog_dir = accelerated_project(tmp_path, TYPED)
    catalog = Catalog(catalog_dir)
    refresh(catalog, catalog.accelerations["typed"])
    catalog.close()
    backend = EngineBackend(catalog_dir, refresh=False)
    session = backend.session()
    try:
        query = "SELECT * FROM typed WHERE customer_id = $1"
        for customer_id in (42, 43, 44):
            source = session.execute(query, [customer_id], rows=True)
            while source.next_batch() is not None:
                pass
            source.close()
        source = session.execute(query, [42], rows=True)
        assert source.in_hand
        batch = source.next_batch()
        assert isinstance(batch, Rows) and batch.num_rows == 1 and batch.rows[0][0] == 42
        assert source.next_batch() is None
        source.close()
        arrow = session.execute(query, [42])  # a caller that did not ask for rows (COPY, Flight) gets Arrow
        assert not arrow.in_hand and arrow.next_batch().num_rows == 1
        arrow.close()
    finally:
        session.close()
        backend.close()


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_lookups_on_a_copy_answer_as_the_live_sources_in_text_and_binary(tmp_path, monkeypatch, binary):
    import tests.acceleration.projects as projects
    from c360.acceleration.refresh import refresh
    from c360.catalog import Catalog
    from tests.acceleration.test_direct import TYPED, TYPED_VIEW

    monkeypatch.setattr(projects, "VIEWS", {"typed": TYPED_VIEW})
    catalog_dir = accelerated_project(tmp_path, TYPED)
    catalog = Catalog(catalog_dir)
    refresh(catalog, catalog.accelerations["typed"])
    catalog.close()
    running = start_server(catalog_dir, tmp_path / "serve.log")
    try:
        with psycopg.connect(running.dsn(), autocommit=True) as copy, \
                psycopg.connect(running.dsn(), autocommit=True) as live:
            live.execute("SET max_staleness = 0")
            query = "SELECT * FROM typed WHERE customer_id = %s"
            for customer_id in (42, 43, 44, 42, 7, 44, 43, 42, 43):  # past psycopg's prepare threshold too
                answer = copy.execute(query, [customer_id], binary=binary)
                expected = live.execute(query, [customer_id], binary=binary)
                assert [(c.name, c.type_code) for c in answer.description] == \
                    [(c.name, c.type_code) for c in expected.description]
                assert answer.fetchall() == expected.fetchall()
    finally:
        stop_server(running.process)
