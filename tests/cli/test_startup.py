"""Start-up: each command imports only what it needs (timings are benchmarks/startup.py's job, not a test's),
a slow query shows its progress on a terminal and nowhere else, and a bad argument is refused before
anything heavy loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.projects import shop_project

PROBE = """
import json, sys
from c360.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""
NEVER_FOR_A_QUERY = {"pandas", "numba", "xgboost", "pydantic", "rich", "prompt_toolkit", "asyncio"}


def loaded(*args, cwd, full: bool = False) -> tuple[int, set[str]]:
    """The exit code of ``c360 *args`` and the packages it imported (with ``full``, every module's name)."""
    env = {k: v for k, v in os.environ.items() if k != "C360_DEBUG"}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=env)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    modules = set(report["modules"])
    return report["code"], modules if full else {m.split(".")[0] for m in modules}


@pytest.fixture
def root(tmp_path):
    shop_project(tmp_path, views={"paid": "SELECT * FROM shop.orders WHERE status = 'paid'\n"})
    return tmp_path


def test_help_loads_no_engine(root):
    code, modules = loaded("--help", cwd=root)
    assert code == 0
    # rich (typer's coloured help) costs a tenth of a second: the help is plain text
    assert not modules & {"duckdb", "pyarrow", "sqlglot", "numpy", "yaml", *NEVER_FOR_A_QUERY}


def test_select_1_loads_no_parser_catalog_or_planner_once_the_catalog_is_known_to_load(root):
    code, modules = loaded("query", "SELECT 1", cwd=root)  # the first run loads the catalog, and remembers it did
    assert code == 0 and {"duckdb", "pyarrow", "sqlglot", "yaml"} <= modules
    code, modules = loaded("query", "SELECT 1", cwd=root, full=True)
    assert code == 0 and "duckdb" in modules
    heavy = {"sqlglot", "yaml", "pyarrow", "numpy", "connectors", "c360.catalog", "c360.planner", "c360.engine",
             "c360.dbapi", "c360.model", "c360.postgres", *NEVER_FOR_A_QUERY}
    assert not modules & heavy


def test_a_query_loads_no_model_no_dataframes_no_validation_library(root):
    code, modules = loaded("query", "SELECT 1 AS one FROM shop.orders LIMIT 1", cwd=root, full=True)
    assert code == 0 and {"duckdb", "pyarrow", "sqlglot"} <= modules
    assert not {m.split(".")[0] for m in modules} & (NEVER_FOR_A_QUERY - {"pandas", "asyncio"})
    # only the dialects the query needs: DuckDB's and the source's (SQLite), not every one sqlglot has
    assert {m for m in modules if m.startswith("sqlglot.dialects.") and m != "sqlglot.dialects.dialect"} == {
        "sqlglot.dialects.duckdb", "sqlglot.dialects.sqlite"}
    assert not modules & {"c360.postgres", "xgboost", "numba"}
    # A real scan: DuckDB itself imports pandas when it is installed (as it is for the tests) to check whether a
    # registered stream is a DataFrame; without the test extras it is not installed, and so not loaded.
    code, modules = loaded("query", "SELECT * FROM shop.orders", cwd=root)
    assert code == 0 and not modules & (NEVER_FOR_A_QUERY - {"pandas", "asyncio"})


def test_a_view_that_does_not_parse_fails_only_the_queries_naming_it(root):
    (root / "queries" / "broken.sql").write_text("SELECT FROM WHERE\n")
    env = {k: v for k, v in os.environ.items() if k != "C360_DEBUG"}

    def c360(sql):
        return subprocess.run([sys.executable, "-m", "c360", "query", sql, "-f", "csv"], cwd=root,
                              capture_output=True, text=True, timeout=120, env=env)

    assert c360("SELECT count(*) AS n FROM paid").stdout.splitlines() == ['"n"', "2"]
    done = c360("SELECT * FROM broken")
    assert done.returncode == 1 and done.stderr.startswith(f"error: {root / 'queries' / 'broken.sql'}:1: the view")


def test_an_unknown_dialect_is_refused_before_the_model_loads(root):
    code, modules = loaded("model", "export-sql", "--dialect", "nosuch", cwd=root)
    assert code == 1 and not modules & {"xgboost", "numba"}


def test_the_demo_categories_spelled_in_the_cli_are_the_generators():
    from c360.cli.data_commands import DEFAULT_CATEGORIES
    from c360.generate.model import DEFAULT_CATEGORIES as GENERATED

    assert DEFAULT_CATEGORIES == GENERATED


def test_no_progress_line_when_stderr_is_not_a_terminal(root):
    env = {k: v for k, v in os.environ.items() if k != "C360_DEBUG"}
    done = subprocess.run([sys.executable, "-m", "c360", "query", "SELECT count(*) AS n FROM range(300000000) t(x)"],
                          cwd=root, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0 and done.stderr == ""


def big_pairs_project(tmp_path) -> dict:
    """A project whose ``big.pairs`` streams 2,250,000 rows from SQLite; the environment to run c360 in."""
    from tests.projects import project, sqlite_file

    sqlite_file(tmp_path / "big.sqlite", """
        CREATE TABLE nums (x INTEGER);
        WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 1500) INSERT INTO nums SELECT x FROM r;
        CREATE VIEW pairs AS SELECT a.x AS a, b.x AS b FROM nums a, nums b;
    """)
    project(tmp_path, "sources:\n  big:\n    kind: sqlite\n    path: ../big.sqlite\n")
    return {k: v for k, v in os.environ.items() if k != "C360_DEBUG"}


def test_a_slow_query_shows_each_sources_rows_on_a_terminal_then_erases_the_line(tmp_path):
    import pexpect

    env = big_pairs_project(tmp_path)
    # hash() has no SQLite spelling, so all 2,250,000 rows stream into DuckDB, counted as they arrive
    child = pexpect.spawn(sys.executable, ["-m", "c360", "query", "SELECT sum(hash(a) % 7) AS s FROM big.pairs"],
                          cwd=str(tmp_path), env=env, encoding="utf-8", dimensions=(24, 100), timeout=120)
    child.expect(r"running \d+\.\ds · big\.pairs ([\d,]+) rows")
    first = int(child.match.group(1).replace(",", ""))
    child.expect(r"running \d+\.\ds · big\.pairs ([\d,]+) rows")
    assert int(child.match.group(1).replace(",", "")) >= first
    child.expect("\r\x1b\\[K┌")  # the line erased before the result is drawn
    child.expect("1 row")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_explain_analyze_shows_progress_while_it_runs_the_query(tmp_path):
    import pexpect

    env = big_pairs_project(tmp_path)
    child = pexpect.spawn(sys.executable, ["-m", "c360", "explain", "--analyze",
                                           "SELECT sum(hash(a) % 7) AS s FROM big.pairs"],
                          cwd=str(tmp_path), env=env, encoding="utf-8", dimensions=(24, 100), timeout=120)
    child.expect(r"running \d+\.\ds")
    child.expect("\r\x1b\\[KDuckDB runs:")  # the line erased before the plan is printed
    child.expect(r"analyze: rows=2,?250,?000")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
