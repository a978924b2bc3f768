"""Cancel and query timeouts through each driver's own API (not a hand-made CancelRequest): the slow query
runs inside its source (SQLite counting towards 10^12), so a server still busy afterwards means the cancel
never reached the source. Each test then runs another query on the same connection."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from tests.server.conftest import SLOW_SOURCE_QUERY, STATEMENT_TIMEOUT_MS, wait_until
from tests.servers import odbc_drivers

#: seconds within which a cancel or a timeout must end the query
PROMPT_SECONDS = 10


def _cancel_once_busy(server, before: float, cancel) -> threading.Thread:
    """Call ``cancel()`` from another thread once the server spends CPU on the query (after ``before``)."""

    def run():
        server.wait_until_busy(before, cpu=0.5)
        cancel()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _psql(server, *args: str, **popen) -> subprocess.Popen:
    psql = shutil.which("psql")
    assert psql, "the psql binary (PostgreSQL client) is required: apt-get install postgresql-client"
    return subprocess.Popen(
        [psql, "-X", "-h", "127.0.0.1", "-p", str(server.port), "-U", "tester", "c360", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        **popen,
    )


@pytest.mark.compat(client="psql", operation="cancel")
def test_psql_sends_a_cancel_on_control_c(server):
    # psql's -c runs its statements in one session: the first one makes the session's engine
    running = _psql(server, "-c", "SELECT 1", "-c", SLOW_SOURCE_QUERY)
    before = server.cpu_seconds()
    server.wait_until_busy(before, cpu=0.5)
    started = time.monotonic()
    running.send_signal(signal.SIGINT)  # Ctrl-C: psql sends a CancelRequest on a new connection
    _, err = running.communicate(timeout=30)
    assert "canceling statement due to user request" in err
    assert time.monotonic() - started < PROMPT_SECONDS
    server.wait_until_idle()


@pytest.mark.compat(client="psql", operation="timeout")
def test_psql_statement_timeout_from_pgoptions(server):
    psql = shutil.which("psql")
    assert psql, "the psql binary (PostgreSQL client) is required: apt-get install postgresql-client"
    done = subprocess.run(
        [psql, "-X", "-h", "127.0.0.1", "-p", str(server.port), "-U", "tester", "c360",
         "-c", "SHOW statement_timeout", "-c", SLOW_SOURCE_QUERY],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PGCONNECT_TIMEOUT": "10", "PGOPTIONS": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"},
    )
    assert f" {STATEMENT_TIMEOUT_MS}" in done.stdout, done.stdout
    assert "canceling statement due to statement timeout" in done.stderr
    server.wait_until_idle()


@pytest.mark.compat(client="psycopg2", operation="cancel")
def test_psycopg2_connection_cancel(server):
    import psycopg2
    import psycopg2.errors

    connection = psycopg2.connect(server.dsn())
    try:
        connection.autocommit = True
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        _cancel_once_busy(server, server.cpu_seconds(), connection.cancel)
        with pytest.raises(psycopg2.errors.QueryCanceled):
            cursor.execute(SLOW_SOURCE_QUERY)
        server.wait_until_idle()
        cursor.execute("SELECT 2")
        assert cursor.fetchall() == [(2,)]
    finally:
        connection.close()


@pytest.mark.compat(client="psycopg2", operation="timeout")
def test_psycopg2_statement_timeout_in_the_connection_options(server):
    import psycopg2
    import psycopg2.errors

    connection = psycopg2.connect(server.dsn(options=f"'-c statement_timeout={STATEMENT_TIMEOUT_MS}'"))
    try:
        connection.autocommit = True
        cursor = connection.cursor()
        started = time.monotonic()
        with pytest.raises(psycopg2.errors.QueryCanceled, match="statement timeout"):
            cursor.execute(SLOW_SOURCE_QUERY)
        assert time.monotonic() - started < PROMPT_SECONDS
        server.wait_until_idle()
        cursor.execute("SELECT 2")
        assert cursor.fetchall() == [(2,)]
    finally:
        connection.close()


def _asyncpg(server, work, **connect):
    import asyncpg

    async def run():
        connection = await asyncpg.connect(host="127.0.0.1", port=server.port, user="tester", database="c360",
                                           **connect)
        try:
            return await work(connection)
        finally:
            await connection.close()

    return asyncio.run(run())


@pytest.mark.compat(client="asyncpg", operation="cancel")
def test_asyncpg_cancelling_the_task_cancels_the_query(server):
    async def work(connection):
        await connection.fetch("SELECT 1")
        before = server.cpu_seconds()
        task = asyncio.ensure_future(connection.fetch(SLOW_SOURCE_QUERY))
        while not server.busy_since(before, 0.5):
            assert not task.done(), task
            await asyncio.sleep(0.05)
        task.cancel()  # asyncpg sends a CancelRequest and waits for the server's answer
        with pytest.raises(asyncio.CancelledError):
            await task
        return await connection.fetch("SELECT 2 AS two")

    assert [tuple(row) for row in _asyncpg(server, work)] == [(2,)]
    server.wait_until_idle()


@pytest.mark.compat(client="asyncpg", operation="timeout")
def test_asyncpg_fetch_timeout_and_a_server_setting(server):
    import asyncpg

    async def work(connection):
        await connection.fetch("SELECT 1")
        with pytest.raises(asyncio.TimeoutError):
            await connection.fetch(SLOW_SOURCE_QUERY, timeout=1.5)  # asyncpg cancels the query itself
        with pytest.raises(asyncpg.QueryCanceledError, match="statement timeout"):
            await connection.fetch(SLOW_SOURCE_QUERY)  # statement_timeout from server_settings
        return await connection.fetch("SELECT 2 AS two")

    rows = _asyncpg(server, work, server_settings={"statement_timeout": str(STATEMENT_TIMEOUT_MS)})
    assert [tuple(row) for row in rows] == [(2,)]
    server.wait_until_idle()


@pytest.mark.compat(client="asyncpg", operation="paging")
def test_asyncpg_cursor_pages_through_a_portal(server):
    async def work(connection):
        async with connection.transaction():
            cursor = await connection.cursor("SELECT n FROM shop.nums WHERE n < $1 ORDER BY n", 2500)
            first = await cursor.fetch(1000)
            second = await cursor.fetch(1000)
            rest = await cursor.fetch(1000)
        return [len(first), len(second), len(rest), first[0][0], rest[-1][0]]

    assert _asyncpg(server, work) == [1000, 1000, 500, 0, 2499]


@pytest.mark.compat(client="pg8000", operation="timeout")
def test_pg8000_statement_timeout_startup_parameter(server):
    import pg8000.native

    connection = pg8000.native.Connection("tester", host="127.0.0.1", port=server.port, database="c360",
                                          startup_params={"statement_timeout": str(STATEMENT_TIMEOUT_MS)})
    try:
        started = time.monotonic()
        with pytest.raises(pg8000.native.DatabaseError, match="statement timeout"):
            connection.run(SLOW_SOURCE_QUERY)
        assert time.monotonic() - started < PROMPT_SECONDS
        server.wait_until_idle()
        assert connection.run("SELECT 2") == [[2]]
    finally:
        connection.close()


def _odbc(server, **options):
    import pyodbc

    assert "PostgreSQL Unicode" in odbc_drivers(), "psqlODBC is missing: apt-get install odbc-postgresql"
    extra = "".join(f"{key}={value};" for key, value in options.items())
    return pyodbc.connect(f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={server.port};Database=c360;"
                          f"Uid=tester;Pwd=;{extra}", timeout=30, autocommit=True)


@pytest.mark.compat(client="psqlODBC", operation="cancel")
def test_psqlodbc_sqlcancel_from_another_thread(server):
    import pyodbc

    connection = _odbc(server)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1").fetchall()
        _cancel_once_busy(server, server.cpu_seconds(), cursor.cancel)  # SQLCancel
        with pytest.raises(pyodbc.Error, match="57014|cancel"):
            cursor.execute(SLOW_SOURCE_QUERY)
        server.wait_until_idle()
        assert connection.cursor().execute("SELECT 2").fetchall()[0][0] == 2
    finally:
        connection.close()


@pytest.mark.compat(client="psqlODBC", operation="timeout")
def test_psqlodbc_statement_timeout_through_pqopt(server):
    """psqlODBC has no SQL_ATTR_QUERY_TIMEOUT on a connection; its ``pqopt`` passes libpq options, as a Power BI
    or Excel user's DSN would."""
    import pyodbc

    connection = _odbc(server, pqopt=f"{{options='-c statement_timeout={STATEMENT_TIMEOUT_MS}'}}")
    try:
        cursor = connection.cursor()
        assert cursor.execute("SHOW statement_timeout").fetchall()[0][0] == str(STATEMENT_TIMEOUT_MS)
        started = time.monotonic()
        with pytest.raises(pyodbc.Error, match="statement timeout"):
            cursor.execute(SLOW_SOURCE_QUERY)
        assert time.monotonic() - started < PROMPT_SECONDS
        server.wait_until_idle()
        assert connection.cursor().execute("SELECT 2").fetchall()[0][0] == 2
    finally:
        connection.close()


def test_a_bad_statement_timeout_at_start_up_refuses_the_connection(server):
    import psycopg

    with pytest.raises(psycopg.OperationalError, match='invalid value for parameter "statement_timeout"'):
        psycopg.connect(server.dsn(options="'-c statement_timeout=soon'"))
    wait_until(server.alive, what="the server to stay up")
    assert "Traceback" not in server.log.read_text()  # a refusal, logged in one line
