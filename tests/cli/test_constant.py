"""Constant statements (c360/cli/constant.py): recognised only when nothing in them can name a table, file,
function or second statement; answered exactly as the engine answers them; only for a catalog known to load."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from c360.cli import constant
from tests.projects import shop_project

CONSTANT = [
    "SELECT 1",
    "SELECT NULL AS nothing, 1.5 AS x, 'a' AS y",
    "select 1;",
    "SELECT 1 + 1, 'it''s' AS \"q x\", NULL, TRUE, FALSE, 1.50, 2e3, 7 / 2, 7 % 3, -(2 * 3) AS n",
    "SELECT 'a' AS a, 'b' AS b",
    "SELECT 1., 1.0e3, 1E3, 007, 0.10, 1e-2, 12345678901234567890, 1.5e+2, -0",
    "SELECT 1.e5, 1.E-2, 00.5, 'a''''b', '', 1 / 0, 5 % 0, 1 + 2.5 * (3 - 1)",
    "SELECT\n  1 AS a,\n\t2 AS b\n;",
]
NOT_CONSTANT = [
    "SELECT 1 FROM shop.orders",
    "SELECT x",
    "SELECT 1 x",  # an alias without AS: left to the parser
    "SELECT .5",  # the parser writes it 0.5, and DuckDB names the column after what it reads
    "SELECT now()",
    "SELECT read_csv('/etc/passwd')",
    "SELECT 1 -- ; COPY (SELECT 1) TO 'x'",
    "SELECT 1 /* ' */ ; ATTACH 'x' ; SELECT ' */",
    "SELECT 1--1",
    "SELECT 1; SELECT 2",
    "SELECT 1;;",
    "SELECT 1 AS",
    "SELECT \"a\"",
    "SELECT E'\\x41'",
    "SELECT $$a$$",
    "SELECT getvariable('as_of')",
    "SELECT 1 UNION SELECT 2",
    "(SELECT 1)",
    "SELECT",
    "",
    "VALUES (1)",
    "SELECT \u0661",  # a digit, but not an ASCII one
    "SELECT\u00a01",  # a space, but not one DuckDB reads as one
]


@pytest.mark.parametrize("sql", CONSTANT)
def test_a_constant_select_is_recognised(sql):
    assert constant.is_constant(sql)


@pytest.mark.parametrize("sql", NOT_CONSTANT)
def test_anything_that_could_name_a_table_function_or_second_statement_is_not(sql):
    assert not constant.is_constant(sql)


@pytest.fixture
def root(tmp_path):
    shop_project(tmp_path)
    return tmp_path


@pytest.mark.parametrize("sql", CONSTANT)
def test_the_quick_answer_is_the_engines_answer_and_is_drawn_the_same(root, sql):
    import c360
    from c360.cli.render import render

    catalog = root / "catalog"
    assert constant.answer(sql, catalog, "embedded") is None  # the catalog has not been loaded yet
    connection = c360.connect(catalog=str(catalog))
    try:
        expected = connection.cursor().execute(sql).fetch_arrow()
    finally:
        connection.close()
    constant.remember(catalog, "embedded")
    quick = constant.answer(sql, catalog, "embedded")
    assert quick is not None and quick.column_names == expected.column_names
    assert quick.rows == list(zip(*(column.to_pylist() for column in expected.columns)))  # names may repeat
    for width in (None, 40, 200):
        assert render(quick, width=width) == render(expected, width=width)


def test_a_statement_duckdb_refuses_is_left_to_the_ordinary_path(root):
    constant.remember(root / "catalog", "embedded")
    assert constant.is_constant("SELECT 1 + '2'")
    assert constant.answer("SELECT 'a' + 1", root / "catalog", "embedded") is None
    assert constant.answer("SELECT 1 + '2'", root / "catalog", "embedded") is None


def test_the_stamp_follows_the_catalog_files_and_the_profile(root):
    catalog = root / "catalog"
    constant.remember(catalog, "embedded")
    assert constant.known_good(catalog, "embedded")
    assert not constant.known_good(catalog, "servers")
    constant.remember(catalog, "servers")
    assert constant.known_good(catalog, "servers") and constant.known_good(catalog, "embedded")
    source = catalog / "sources.yaml"
    source.write_text(source.read_text() + "\n")
    assert not constant.known_good(catalog, "embedded") and not constant.known_good(catalog, "servers")
    constant.remember(catalog, "embedded")
    (catalog / "more.yaml").write_text("sources: {}\n")
    assert not constant.known_good(catalog, "embedded")


def c360_cli(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "C360_DEBUG"}
    return subprocess.run([sys.executable, "-m", "c360", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


def test_select_1_in_a_project_whose_catalog_broke_fails_as_any_query_does(root):
    assert c360_cli("query", "SELECT 1", "-f", "csv", cwd=root).stdout.splitlines() == ['"1"', "1"]
    source = root / "catalog" / "sources.yaml"
    time.sleep(0.01)
    source.write_text(source.read_text().replace("kind: sqlite", "kind: sqlitee"))
    done = c360_cli("query", "SELECT 1", cwd=root)
    assert done.returncode == 1 and "unknown kind 'sqlitee'" in done.stderr
    assert c360_cli("query", "SELECT 1", cwd=root / "catalog").returncode == 1  # no catalog there at all


def test_no_attack_of_the_security_suite_passes_for_a_constant_statement(tmp_path):
    from tests.security.attacks import ALL, armory

    arms = armory(tmp_path)
    for attack in ALL:
        assert not constant.is_constant(arms.arm(attack)), attack
