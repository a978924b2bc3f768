"""``c360 shell`` driven through a real pseudo-terminal (pexpect): completion, history, multi-line statements,
meta commands, and Ctrl-C cancelling a slow MariaDB query at the server while the session goes on."""

from __future__ import annotations

import os
import re
import sys
import time

import pexpect
import pytest

from tests.projects import project, shop_project

PROMPT = "c360>"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def spawn(root, *args, history=None):
    env = {k: v for k, v in os.environ.items() if k != "C360_DEBUG"}
    env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", C360_HISTORY=str(history or root / "history"))
    child = pexpect.spawn(sys.executable, ["-m", "c360", *args], cwd=str(root), env=env, encoding="utf-8",
                          dimensions=(40, 160), timeout=60)
    child.expect(PROMPT)
    return child


def screen(child) -> str:
    """What the last expect consumed, without escape codes."""
    return _ANSI.sub("", child.before or "")


def footer(text: str) -> str:
    """A result's footer line (not the same words inside the progress line)."""
    return r"\n" + re.escape(text) + r"\r"


def leave(child):
    child.send("\x04")  # Ctrl-D
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


@pytest.fixture
def root(tmp_path):
    shop_project(tmp_path, views={"before": "SELECT order_id FROM shop.orders "
                                            "WHERE order_ts < CAST(getvariable('as_of') AS TIMESTAMP)\n"})
    return tmp_path


def test_tab_completes_a_table_then_the_statement_runs(root):
    child = spawn(root, "shell")
    child.send("SELECT * FROM shop.ord\t")
    child.expect("ers")  # the rest of 'orders', inserted by completion
    child.send(" ORDER BY 1 LIMIT 2;\r")
    child.expect(footer("2 rows"))
    assert "CANCELLED" in screen(child)
    child.expect(PROMPT)
    child.send("SELECT cust\t")  # a column: no table named yet, so among the keywords and names: none
    child.send("\x15")  # Ctrl-U clears the line
    child.send("SELECT * FROM shop.orders o WHERE o.stat\t")
    child.expect("us")
    child.send(" = 'paid' ORDER BY 1;\r")
    child.expect(footer("2 rows"))
    leave(child)


def test_a_statement_may_span_lines_and_runs_at_the_semicolon(root):
    child = spawn(root, "shell")
    child.send("SELECT 40 + 2 AS answer,\r")
    child.expect(r"\.\.\.>")
    child.send("'two lines' AS how\r")
    child.expect(r"\.\.\.>")
    child.send(";\r")
    child.expect(footer("1 row"))
    assert "answer" in screen(child) and "two lines" in screen(child)
    leave(child)


def test_history_recalls_statements_within_and_across_sessions(root):
    child = spawn(root, "shell")
    child.send("SELECT count(*) AS n FROM shop.orders;\r")
    child.expect(footer("1 row"))
    child.expect(PROMPT)
    child.send("\x1b[A")  # Up: the previous statement, run again
    child.send("\r")
    child.expect(footer("1 row"))
    leave(child)
    assert "SELECT count(*) AS n FROM shop.orders;" in (root / "history").read_text()
    child = spawn(root, "shell")
    child.send("\x1b[A\r")
    child.expect(footer("1 row"))
    assert "│ 4 │" in screen(child)
    leave(child)


def test_meta_commands(root):
    child = spawn(root, "shell")
    child.send(".help\r")
    child.expect("Ctrl-C cancels")
    child.send(".tables\r")
    child.expect(footer("3 rows"))
    assert "orders" in screen(child) and "before" in screen(child)
    child.send(".describe shop.orders\r")
    child.expect(footer("5 rows"))
    assert "DECIMAL(12,2)" in screen(child)
    child.send(".explain SELECT name FROM shop.customers WHERE customer_id = 42\r")
    child.expect('"customer_id" = 42')
    child.send(".format csv\r")
    child.expect("format csv")
    for statement in ("SHOW SCHEMAS;", "SHOW SOURCES;"):  # answered from the catalog, as in every door
        child.send(statement + "\r")
        child.expect(r'"schema","kind","description"\r\n"shop","sqlite",')
    child.send("SHOW TABLES;\r")
    child.expect(r'"shop","orders","table"')
    child.send(".asof 2026-02-01\r")
    child.expect("as of 2026-02-01")
    child.send("SELECT * FROM before ORDER BY 1;\r")
    child.expect(r'"order_id"\r\n(\d+)\r\n(\S*)')
    assert child.match.group(1) == "1" and not child.match.group(2).isdigit()  # only the order before Feb 1
    child.send(".timing on\r")
    child.expect("timing on")
    child.send("SELECT 1 AS one;\r")
    child.expect(r"time: \d+\.\d{3}s")
    child.send(".format nonsense\r")
    child.expect("error: .format takes one of table, vertical, csv, json")
    child.send(".profile nosuch\r")
    child.expect(PROMPT)
    child.send("SELECT 2 AS two;\r")  # a failed .profile keeps the session's engine
    child.expect(r"\"two\"\s+2")
    leave(child)


def test_c360_alone_on_a_terminal_is_the_shell_and_piped_it_is_the_help(root):
    child = spawn(root)
    child.send("SELECT 7 AS seven;\r")
    child.expect(footer("1 row"))
    leave(child)
    import subprocess

    done = subprocess.run([sys.executable, "-m", "c360"], cwd=root, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert "Usage" in done.stdout + done.stderr and "shell" in done.stdout + done.stderr


# --- Ctrl-C reaches MariaDB ------------------------------------------------------------------------

PASSWORD = "C360_SHELL_TEST_PASSWORD"


@pytest.fixture(scope="module")
def slow_shop(mariadb):
    server = mariadb.child("shell")
    server.execute("CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1), (2)",
                   "CREATE VIEW slow AS SELECT SLEEP(60) AS s")
    return server


def running(server) -> list[tuple]:
    return server.admin_query(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s AND DB = %s AND COMMAND IN ('Query', 'Execute')"
        " AND INFO LIKE %s", (server.user, server.database, "%slow%"))


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_ctrl_c_cancels_a_slow_mariadb_query_at_the_server_and_the_session_goes_on(tmp_path, slow_shop, monkeypatch):
    options = slow_shop.options("${ENV:%s}" % PASSWORD)
    project(tmp_path, "sources:\n  shop:\n    kind: mysql\n" + "".join(f"    {k}: {v}\n" for k, v in options.items()))
    monkeypatch.setenv(PASSWORD, slow_shop.password)
    child = spawn(tmp_path, "shell")
    child.send("SELECT count(*) AS n FROM shop.t;\r")  # the source answers, and the engine is warm
    child.expect(footer("1 row"))
    child.send("SELECT * FROM shop.slow;\r")
    assert wait_until(lambda: running(slow_shop), 30), "the slow query never reached MariaDB"
    child.expect(r"running \d+\.\ds · shop\.slow 0 rows")  # the progress line, on stderr (a terminal here)
    started = time.monotonic()
    child.sendintr()  # Ctrl-C
    child.expect("cancelled")
    assert wait_until(lambda: not running(slow_shop), 10), "the query still runs in MariaDB after Ctrl-C"
    assert time.monotonic() - started < 10
    child.expect(PROMPT)
    child.send("SELECT count(*) AS n FROM shop.t;\r")
    child.expect(footer("1 row"))
    assert "│ 2 │" in screen(child)
    leave(child)


def test_ctrl_c_on_c360_query_cancels_at_the_server_too_and_exits_130(tmp_path, slow_shop, monkeypatch):
    options = slow_shop.options("${ENV:%s}" % PASSWORD)
    project(tmp_path, "sources:\n  shop:\n    kind: mysql\n" + "".join(f"    {k}: {v}\n" for k, v in options.items()))
    monkeypatch.setenv(PASSWORD, slow_shop.password)
    env = {k: v for k, v in os.environ.items() if k != "C360_DEBUG"}
    child = pexpect.spawn(sys.executable, ["-m", "c360", "query", "SELECT * FROM shop.slow"], cwd=str(tmp_path),
                          env=env, encoding="utf-8", dimensions=(24, 120), timeout=60)
    assert wait_until(lambda: running(slow_shop), 30), "the slow query never reached MariaDB"
    child.sendintr()
    child.expect("interrupted")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert wait_until(lambda: not running(slow_shop), 10), "the query still runs in MariaDB after Ctrl-C"
