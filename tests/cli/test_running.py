"""Commands that wait on a source show the progress line too (c360/cli/running.py's wait): ``c360 tables`` and
``c360 describe`` while a real SQLite file is locked by another connection, erased before the answer."""

from __future__ import annotations

import io
import os
import sqlite3
import sys

import pexpect
import pytest

from c360.cli.running import wait
from tests.projects import shop_project


@pytest.mark.parametrize(("args", "line", "answer"), [
    (["tables"], r"listing tables \d+\.\ds · shop", "┌"),
    (["describe", "shop.orders"], r"running \d+\.\ds", "┌"),
    (["refresh"], r"refreshing schemas \d+\.\ds", "shop: 2 tables"),
    (["explain", "SELECT * FROM shop.orders"], r"planning \d+\.\ds", "DuckDB runs:"),
])
def test_a_command_waiting_on_a_locked_source_shows_the_progress_line_then_erases_it(tmp_path, args, line, answer):
    shop_project(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "C360_DEBUG"}
    lock = sqlite3.connect(tmp_path / "shop.sqlite", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # readers wait (sqlite3's busy timeout) until it ends
    try:
        child = pexpect.spawn(sys.executable, ["-m", "c360", *args], cwd=str(tmp_path), env=env, encoding="utf-8",
                              dimensions=(24, 100), timeout=120)
        child.expect(line)
    finally:
        lock.execute("COMMIT")
        lock.close()
    child.expect("\r\x1b\\[K" + answer)  # the line erased before the answer is drawn
    if answer == "┌":
        child.expect("order_id" if args[0] == "describe" else "shop.orders")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_wait_returns_the_value_raises_the_error_and_writes_nothing_when_quick():
    stream = io.StringIO()
    assert wait(lambda: 42, lambda elapsed: "never", progress=True, stream=stream) == 42
    with pytest.raises(ZeroDivisionError):
        wait(lambda: 1 / 0, lambda elapsed: "never", progress=True, stream=stream)
    assert stream.getvalue() == ""


def test_wait_shows_the_line_after_a_second_only_when_asked():
    import time

    shown, quiet = io.StringIO(), io.StringIO()
    assert wait(lambda: time.sleep(1.3) or "done", lambda elapsed: f"busy {elapsed:.0f}", progress=True,
                stream=shown) == "done"
    assert "busy 1" in shown.getvalue() and shown.getvalue().endswith("\r\x1b[K")
    wait(lambda: time.sleep(1.3), lambda elapsed: "busy", progress=False, stream=quiet)
    assert quiet.getvalue() == ""
