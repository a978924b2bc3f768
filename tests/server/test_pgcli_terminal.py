"""pgcli as a person runs it: its own entry point in a real pseudo-terminal (pexpect), against ``c360 serve``.

``\\dt`` and ``\\d table`` answer through pgspecial's catalog queries; the completer's refresh (pgcli runs
it in the background at start and on ``\\refresh``) reads schemas, tables and columns, so typing a table's
prefix and Tab completes its name. The terminal is 200 columns wide with ``cat`` as the pager.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

from tests.server.conftest import SLOW_SOURCE_QUERY

#: seconds to wait for a screen to show what a test expects
SCREEN_SECONDS = 30
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>]|\r")


def _pgcli_binary() -> str:
    path = Path(sys.executable).with_name("pgcli")
    assert path.is_file(), f"pgcli's entry point is missing from {path.parent}: pip install pgcli (pyproject's test extra)"
    return str(path)


@pytest.fixture
def pgcli(server, tmp_path):
    import pexpect

    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "PAGER": "cat", "TERM": "xterm", "LESS": "",
           "PROMPT_TOOLKIT_NO_CPR": "1", "HOME": str(tmp_path)}
    child = pexpect.spawn(_pgcli_binary(), ["-h", "127.0.0.1", "-p", str(server.port), "-U", "tester", "c360",
                                            "--less-chatty"],
                          env=env, dimensions=(50, 200), encoding="utf-8", timeout=SCREEN_SECONDS)
    child.expect("c360>")
    yield child
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()


def _screen_until(child, pattern: str) -> str:
    """Everything the terminal showed until ``pattern`` (a regex) appears in the text, ANSI codes removed."""
    import pexpect

    seen = ""
    deadline = time.monotonic() + SCREEN_SECONDS
    while time.monotonic() < deadline:
        try:
            seen += child.read_nonblocking(65536, timeout=0.2)
        except pexpect.TIMEOUT:
            pass
        text = _ANSI.sub("", seen)
        if re.search(pattern, text, re.S):
            return text
    pytest.fail(f"pgcli never showed {pattern!r}; it showed:\n{_ANSI.sub('', seen)}", pytrace=False)


def test_pgcli_dt_lists_the_source_tables_in_a_terminal(pgcli):
    pgcli.sendline(r"\dt shop.*")
    text = _screen_until(pgcli, r"slow_counter.*c360>")
    for table in ("customers", "nums", "orders", "products", "slow_counter"):
        assert re.search(rf"\|\s*shop\s*\|\s*{table}\s*\|\s*table", text), text


def test_pgcli_d_table_shows_columns_and_keys_in_a_terminal(pgcli):
    pgcli.sendline(r"\d shop.products")
    text = _screen_until(pgcli, r"products_name_sku_idx.*c360>")
    assert re.search(r"\|\s*product_id\s*\|\s*bigint", text), text
    assert '"products_pkey" PRIMARY KEY, btree (product_id)' in text


@pytest.mark.compat(client="pgcli", operation="preview")
def test_pgcli_completion_refresh_completes_a_table_name(pgcli):
    pgcli.sendline(r"\refresh")
    _screen_until(pgcli, r"refresh.*c360>")
    # the refresh runs in the background: until it is done only keywords are offered, so try again (Ctrl-C
    # clears the line) until the menu pgcli shows while typing offers the table; Tab then picks it
    for _ in range(SCREEN_SECONDS):
        pgcli.send("SELECT name FROM shop.produ")
        if _shows(pgcli, "products", seconds=1.0):
            break
        pgcli.sendcontrol("c")
        _screen_until(pgcli, r"c360>")
    else:
        pytest.fail("pgcli never offered shop.products for shop.produ", pytrace=False)
    pgcli.send("\t")
    pgcli.send(" ")  # closes the completion menu, so Enter runs the line
    pgcli.send("\r")
    text = _screen_until(pgcli, r"Banana.*c360>")  # "shop.produ" alone would be an unknown table
    assert "Apple" in text


def _shows(child, word: str, seconds: float) -> bool:
    """Whether ``word`` appears in what the terminal shows within ``seconds``."""
    import pexpect

    try:
        child.expect(word, timeout=seconds)
        return True
    except pexpect.TIMEOUT:
        return False


@pytest.mark.compat(client="pgcli", operation="cancel")
def test_pgcli_control_c_cancels_the_running_query(pgcli, server):
    pgcli.sendline("SELECT 1")  # the session's engine exists: CPU from now on is the slow query
    _screen_until(pgcli, r"Time:.*c360>")
    before = server.cpu_seconds()
    pgcli.sendline(SLOW_SOURCE_QUERY)
    server.wait_until_busy(before, cpu=0.5)
    pgcli.sendcontrol("c")  # pgcli asks libpq to send a CancelRequest
    text = _screen_until(pgcli, r"cancelled query.*c360>")  # pgcli's words; idle below proves the source stopped
    assert "Traceback" not in text
    server.wait_until_idle()  # SQLite stopped counting
    pgcli.sendline("SELECT 2 AS two")
    _screen_until(pgcli, r"\|\s*2\s*\|.*c360>")
