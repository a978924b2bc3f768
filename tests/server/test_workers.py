"""``c360 serve --workers N``: processes sharing one port, cancel requests reaching the right one, one stop."""

from __future__ import annotations

import socket
import threading
import time

import psycopg
import pytest

from c360.server.workers import FIRST_PID, PIDS_PER_WORKER
from tests.server.conftest import SLOW_QUERY, start_server, stop_server


@pytest.fixture(scope="module")
def workers(project, tmp_path_factory):
    running = start_server(project, tmp_path_factory.mktemp("workers_log") / "serve.log", "--workers", "2")
    yield running
    stop_server(running.process)


def test_connections_are_spread_over_the_workers_and_each_answers(workers):
    connections = [psycopg.connect(workers.dsn(), autocommit=True) for _ in range(16)]
    try:
        owners = {(c.info.backend_pid - FIRST_PID) // PIDS_PER_WORKER for c in connections}
        assert owners == {0, 1}
        for connection in connections:
            assert connection.execute("SELECT count(*) FROM shop.orders WHERE order_id > %s", [0]).fetchall() == [(4,)]
    finally:
        for connection in connections:
            connection.close()


def test_a_cancel_request_reaches_the_worker_running_the_query_whichever_worker_receives_it(workers):
    connections = [psycopg.connect(workers.dsn(), autocommit=True) for _ in range(6)]
    outcomes: dict[int, str] = {}

    def run(number: int, connection) -> None:
        try:
            connection.execute(SLOW_QUERY)
            outcomes[number] = "finished"
        except psycopg.errors.QueryCanceled:
            outcomes[number] = "cancelled"
        except psycopg.Error as error:
            outcomes[number] = f"failed: {error}"

    for connection in connections:
        connection.execute("SELECT 1").fetchall()
    threads = [threading.Thread(target=run, args=(n, c), daemon=True) for n, c in enumerate(connections)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    started = time.monotonic()
    for connection in connections:  # each CancelRequest lands on either worker (the kernel picks)
        connection.cancel()
    for thread in threads:
        thread.join(30)
    assert outcomes == {n: "cancelled" for n in range(6)} and time.monotonic() - started < 30
    for connection in connections:
        assert connection.execute("SELECT 1").fetchall() == [(1,)]
        connection.close()


def test_stopping_the_server_stops_every_worker(project, tmp_path):
    running = start_server(project, tmp_path / "serve.log", "--workers", "2")
    with psycopg.connect(running.dsn(), autocommit=True) as connection:
        assert connection.execute("SELECT 1").fetchall() == [(1,)]
    stop_server(running.process)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", running.port), timeout=5).close()
