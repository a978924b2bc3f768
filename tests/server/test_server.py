"""The server under pressure: cancel, slow queries beside fast ones, hostile clients, start-up rules."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import threading
import time

import psycopg
import pytest

from c360.errors import InterfaceError
from c360.server import ServerConfig
from tests.server import wire
from tests.server.conftest import SLOW_QUERY, SLOW_SOURCE_QUERY, poll, start_server, stop_server, wait_until


def _healthy(server) -> bool:
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        return connection.execute("SELECT count(*) FROM shop.orders").fetchall() == [(4,)]


def _warm(*connections) -> None:
    """Run a first query on each connection, so its session's engine exists before a slow query is timed."""
    for connection in connections:
        connection.execute("SELECT 1").fetchall()


class _CancelOnceBusy(threading.Thread):
    """Cancels the connections' queries once the server works on them; start it just before sending them.

    ``busy`` says whether the server got busy (if not, the queries are cancelled
    anyway, so the test ends); ``at`` is when the cancel requests went out.
    """

    def __init__(self, server, *connections):
        super().__init__(daemon=True)
        self.server, self.connections, self.before = server, connections, server.cpu_seconds()
        self.busy, self.at = None, None
        self.start()

    def run(self):
        self.busy = poll(lambda: self.server.busy_since(self.before))
        self.at = time.monotonic()
        for connection in self.connections:
            connection.cancel()


@pytest.mark.compat(client="psycopg3", operation="cancel")
@pytest.mark.parametrize("query", [SLOW_QUERY, SLOW_SOURCE_QUERY], ids=["in_duckdb", "inside_the_source"])
def test_a_cancel_request_stops_the_running_query_and_the_connection_stays_usable(server, query):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        _warm(connection)
        canceller = _CancelOnceBusy(server, connection)
        with pytest.raises(psycopg.errors.QueryCanceled):
            connection.execute(query)
        assert canceller.busy and time.monotonic() - canceller.at < 10
        # DuckDB, or SQLite counting to 10^12, would keep burning a core had the cancel not reached it
        server.wait_until_idle()
        assert connection.execute("SELECT 1").fetchall() == [(1,)]


def test_a_slow_query_does_not_block_other_clients(server):
    slow = psycopg.connect(server.dsn(), autocommit=True)
    failure = []

    def run_slow():
        try:
            slow.execute(SLOW_QUERY)
        except psycopg.errors.QueryCanceled:
            pass
        except Exception as error:  # noqa: BLE001 - reported below
            failure.append(error)

    _warm(slow)
    before = server.cpu_seconds()
    thread = threading.Thread(target=run_slow)
    thread.start()
    try:
        server.wait_until_busy(before)
        started = time.monotonic()
        for _ in range(20):
            assert _healthy(server)
        assert time.monotonic() - started < 10
    finally:
        slow.cancel()
        thread.join(30)
        slow.close()
    assert not failure


def test_garbage_bytes_get_an_error_or_a_closed_connection_and_others_carry_on(server):
    client = wire.Wire(server.port)
    client.send(b"\x16\x03\x01\x02\x00GET / HTTP/1.1\r\n\r\n" * 4)
    assert client.closed_by_server()
    assert _healthy(server)


def test_a_truncated_message_then_hang_up_leaves_the_server_serving(server):
    client = wire.Wire(server.port)
    client.startup()
    client.send(b"Q" + struct.pack("!i", 100) + b"SELECT")  # 6 of 96 bytes, then gone
    client.close()
    assert _healthy(server)


def test_a_one_gigabyte_length_prefix_is_refused_without_reading_it(server):
    client = wire.Wire(server.port)
    client.startup()
    client.send(b"Q" + struct.pack("!i", 1 << 30) + b"SELECT 1")
    kind, body = client.read()
    assert kind == b"E"
    assert wire.error_fields(body)["C"] == "08P01"
    assert client.closed_by_server()
    assert _healthy(server)


def test_a_huge_startup_packet_is_refused(server):
    client = wire.Wire(server.port)
    client.send(struct.pack("!ii", 1 << 30, 196608))
    kind, body = client.read()
    assert kind == b"E" and wire.error_fields(body)["C"] == "08P01"
    assert client.closed_by_server()


def test_an_unknown_message_type_is_a_protocol_violation(server):
    client = wire.Wire(server.port)
    client.startup()
    client.message(b"!", b"whatever")
    kind, body = client.read()
    assert kind == b"E" and wire.error_fields(body)["C"] == "08P01"
    assert client.closed_by_server()


def test_ssl_request_is_declined_when_no_certificate_is_configured(server):
    client = wire.Wire(server.port)
    client.send(struct.pack("!ii", 8, 80877103))
    assert client._recv(1) == b"N"
    messages = client.startup()
    assert messages[-1][0] == b"Z"
    client.close()


def test_psycopg_with_sslmode_prefer_falls_back_to_plain(server):
    with psycopg.connect(server.dsn(sslmode="prefer"), autocommit=True) as connection:
        assert connection.execute("SELECT 1").fetchall() == [(1,)]


def test_startup_reports_the_parameters_clients_expect(server):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        info = connection.info
        assert info.server_version >= 150000
        for name, value in [("client_encoding", "UTF8"), ("DateStyle", "ISO, MDY"), ("integer_datetimes", "on"),
                            ("standard_conforming_strings", "on"), ("server_encoding", "UTF8")]:
            assert info.parameter_status(name) == value


def test_trust_on_another_address_than_loopback_is_refused():
    with pytest.raises(InterfaceError, match="trust is allowed only on 127.0.0.1"):
        ServerConfig(host="0.0.0.0").check()


@pytest.fixture(scope="module")
def tls_server(project, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    done = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, f"openssl could not make a test certificate: {done.stderr}"
    running = start_server(project, folder / "serve.log", "--tls-cert", str(folder / "cert.pem"), "--tls-key", str(folder / "key.pem"))
    yield running
    stop_server(running.process)


def test_with_a_certificate_ssl_requests_get_tls(tls_server):
    with psycopg.connect(tls_server.dsn(sslmode="require"), autocommit=True) as connection:
        assert connection.pgconn.ssl_in_use
        assert connection.execute("SELECT count(*) FROM shop.orders").fetchall() == [(4,)]
    with psycopg.connect(tls_server.dsn(sslmode="disable"), autocommit=True) as connection:
        assert not connection.pgconn.ssl_in_use


def test_a_client_that_stops_reading_a_huge_result_does_not_grow_server_memory(server):
    client = wire.Wire(server.port)
    client.startup()
    assert _healthy(server)
    before = server.rss_bytes()
    # 400 million rows: the server must stop producing once the socket is full, not buffer them
    client.message(b"Q", b"SELECT a.n, a.label, b.label FROM shop.nums a, shop.nums b\0")
    wait_until(lambda: client.pending() > 0, what="the first rows")
    server.wait_until_idle()  # the socket is full and the server waits, instead of producing into memory
    early = server.rss_bytes()
    assert server.idle()
    late = server.rss_bytes()
    client.close()
    assert late - before < 64 * 2**20, f"server memory grew by {(late - before) / 2**20:.0f} MB"
    assert late - early < 16 * 2**20, f"server memory kept growing while idle: {(late - early) / 2**20:.0f} MB"
    assert _healthy(server)


def test_a_client_that_resets_the_connection_mid_result_ends_its_session_quietly(server):
    before = server.log.read_text()
    client = wire.Wire(server.port)
    client.startup()
    client.message(b"Q", b"SELECT a.n, a.label, b.label FROM shop.nums a, shop.nums b\0")
    wait_until(lambda: client.pending() > 0, what="the first rows")
    server.wait_until_idle()  # the server waits on the full socket, in the middle of the statement
    client.close()  # with unread rows: the kernel resets the connection
    assert _healthy(server)
    server.wait_until_idle()
    added = server.log.read_text()[len(before):]
    assert "Traceback" not in added and "internal error" not in added, added


@pytest.fixture(scope="module")
def two_thread_server(project, tmp_path_factory):
    running = start_server(project, tmp_path_factory.mktemp("two_threads") / "serve.log", "--threads", "2")
    yield running
    stop_server(running.process)


def test_cancel_gets_through_when_every_statement_thread_is_busy(two_thread_server):
    first = psycopg.connect(two_thread_server.dsn(), autocommit=True)
    second = psycopg.connect(two_thread_server.dsn(), autocommit=True)
    outcomes = []

    def run(connection):
        try:
            connection.execute(SLOW_QUERY)
            outcomes.append("finished")
        except psycopg.errors.QueryCanceled:
            outcomes.append("cancelled")

    _warm(first, second)
    canceller = _CancelOnceBusy(two_thread_server, first, second)
    threads = [threading.Thread(target=run, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert canceller.busy and time.monotonic() - canceller.at < 10
    assert outcomes == ["cancelled", "cancelled"]
    first.close()
    second.close()


# --- lock-down (issue #12): floods, a busy port, a quiet log --------------------------------------------


def test_hundreds_of_silent_connections_do_not_lock_out_a_real_client(server):
    """500 connections that never send a byte: the oldest still starting up are dropped so a real
    client gets in at once, instead of waiting out the start-up timeout of every silent one."""
    silent = []
    try:
        for _ in range(500):
            silent.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        started = time.monotonic()
        assert _healthy(server)
        assert time.monotonic() - started < 5
    finally:
        for sock in silent:
            sock.close()
    assert _healthy(server)


def test_serve_on_a_busy_port_says_so_in_one_line(project):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "c360", "serve", "--catalog", str(project), "--port", str(port)],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )
    finally:
        busy.close()
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"error: Cannot listen on 127.0.0.1:{port}: the port is already in use"
    assert "Traceback" not in done.stderr


def test_the_server_log_stays_quiet_under_normal_queries(server):
    before = server.log.read_text()
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        for _ in range(20):
            connection.execute("SELECT list_value(1, 2)[1], count(*) FROM shop.orders").fetchall()
            connection.execute("SELECT relname FROM pg_catalog.pg_class LIMIT 1").fetchall()
    added = server.log.read_text()[len(before):]
    assert added == "", added
