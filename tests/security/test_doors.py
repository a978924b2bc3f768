"""Every attack, through every front door: refused with a c360 error, and the filesystem untouched.

The DB-API and a real psycopg client of ``c360 serve`` take every attack; the
CLI, a process per statement, takes a sample of each kind. Each test checks the
files themselves (the secret's content never comes back, the target is never
created), not only the message.
"""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

import c360
from tests.security.attacks import ALL, SAMPLE, armory
from tests.server.conftest import start_server, stop_server


@pytest.fixture(scope="module")
def arms(tmp_path_factory):
    return armory(tmp_path_factory.mktemp("security"))


@pytest.fixture(scope="module")
def connection(arms):
    with c360.connect(arms.catalog) as connection:
        yield connection


@pytest.fixture(scope="module")
def server(arms, tmp_path_factory):
    running = start_server(arms.catalog, tmp_path_factory.mktemp("security_log") / "serve.log")
    yield running
    stop_server(running.process)


@pytest.mark.parametrize("attack", ALL)
def test_the_dbapi_refuses(connection, arms, attack):
    cursor = connection.cursor()
    with pytest.raises(c360.Error) as raised:
        cursor.execute(arms.arm(attack))
        cursor.fetchall()
    assert isinstance(raised.value, (c360.NotSupportedError, c360.ProgrammingError)), raised.value
    arms.assert_untouched(raised.value)


@pytest.mark.parametrize("attack", ALL)
def test_the_wire_server_refuses(server, arms, attack):
    with psycopg.connect(server.dsn(), autocommit=True) as client:
        with pytest.raises(psycopg.Error) as raised:
            rows = client.execute(arms.arm(attack)).fetchall()
            arms.assert_untouched(rows)
    arms.assert_untouched(raised.value)


@pytest.mark.parametrize("attack", [
    "COPY (SELECT * FROM read_csv('{secret}', header=false)) TO STDOUT",
    "COPY (SELECT content FROM read_text('{secret}')) TO STDOUT WITH (FORMAT csv)",
    "SELECT c.relname, t.content FROM pg_catalog.pg_class c, read_text('{secret}') t",
    "SELECT * FROM pg_class CROSS JOIN read_csv('{secret}')",
    "COPY (SELECT 1) TO '{target}'",
])
def test_the_wire_server_refuses_through_copy_and_the_system_catalogs(server, arms, attack):
    with psycopg.connect(server.dsn(), autocommit=True) as client:
        cursor = client.cursor()
        with pytest.raises(psycopg.Error) as raised:
            if attack.startswith("COPY") and "STDOUT" in attack:
                with cursor.copy(arms.arm(attack)) as copy:
                    data = b"".join(bytes(chunk) for chunk in copy)
                    arms.assert_untouched(data)
            else:
                arms.assert_untouched(cursor.execute(arms.arm(attack)).fetchall())
    arms.assert_untouched(raised.value)


def test_the_wire_server_keeps_answering_after_refusals(server, arms):
    with psycopg.connect(server.dsn(), autocommit=True) as client:
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            client.execute(arms.arm("SELECT * FROM read_text('{secret}')"))
        assert client.execute("SELECT count(*) FROM shop.orders").fetchone() == (4,)


def _cli(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "C360_DEBUG"}
    return subprocess.run([sys.executable, "-m", "c360", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("attack", SAMPLE)
def test_the_cli_refuses_in_one_line(arms, attack):
    done = _cli("query", arms.arm(attack), cwd=arms.root)
    assert done.returncode == 1, done
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    arms.assert_untouched(done.stdout, done.stderr)


def test_the_cli_explain_refuses_too(arms):
    done = _cli("explain", arms.arm("COPY (SELECT 1) TO '{target}'"), "--analyze", cwd=arms.root)
    assert done.returncode == 1 and "COPY" in done.stderr
    arms.assert_untouched(done.stdout, done.stderr)


def test_refusals_name_what_was_refused(connection, arms):
    cursor = connection.cursor()
    cases = {
        "COPY (SELECT 1) TO '{target}'": "COPY",
        "ATTACH '{target}' AS evil": "ATTACH",
        "INSTALL httpfs": "INSTALL",
        "SELECT * FROM read_csv('{secret}')": "read_csv()",
        "SET threads = 1": "SET threads",
        "INSERT INTO shop.orders VALUES (1)": "read-only",
    }
    for attack, words in cases.items():
        with pytest.raises(c360.Error, match=None) as raised:
            cursor.execute(arms.arm(attack))
        assert words in str(raised.value), (attack, str(raised.value))


def test_read_statements_still_work(connection):
    cursor = connection.cursor()
    allowed = [
        ("SELECT count(*) FROM shop.orders", [(4,)]),
        ("WITH o AS (SELECT * FROM shop.orders) SELECT count(*) FROM o", [(4,)]),
        ("SELECT 1 UNION ALL SELECT 2 ORDER BY 1", [(1,), (2,)]),
        ("VALUES (1, 'a')", [(1, "a")]),
        ("SELECT * FROM range(3)", [(0,), (1,), (2,)]),
        ("SELECT * FROM generate_series(1, 2)", [(1,), (2,)]),
        ("SELECT unnest([1, 2])", [(1,), (2,)]),
        ("SELECT count(*) FROM paid", [(2,)]),
    ]
    for sql, expected in allowed:
        assert cursor.execute(sql).fetchall() == expected, sql
    cursor.execute("SET VARIABLE x = 41")
    assert cursor.execute("SELECT getvariable('x') + 1").fetchall() == [(42,)]
    cursor.execute("RESET VARIABLE x")
    assert "orders" in [row[1] for row in cursor.execute("SHOW TABLES").fetchall()]
    assert [row[0] for row in cursor.execute("DESCRIBE shop.orders").fetchall()][:2] == ["order_id", "customer_id"]
    assert any("COUNT" in row[0] for row in cursor.execute("EXPLAIN SELECT count(*) FROM shop.orders").fetchall())
