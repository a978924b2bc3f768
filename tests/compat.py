"""The client compatibility table (docs/compatibility.md), filled from the tests that prove each cell.

A test proves a cell by carrying the marker, as a decorator on the test function::

    @pytest.mark.compat(client="pgJDBC", operation="keys")

on a module-level test function (several markers for a test that proves several cells; a parametrized
test proves its cells only if every case passes). Three things keep the
table honest, in the one pytest process CI runs:

- :func:`declared_cells` reads the markers from the test files' source (so a
  run of any subset of tests still knows every claim), and the committed table
  must be exactly :func:`render` of them: a cell no marked test backs cannot
  show as supported, and a marked test whose cell is missing fails too.
- This plugin records the outcome of every marked test that runs, and runs the
  table's own check (marked ``compat_check``) after every other test of the
  session: a cell whose test failed in this run makes the check fail, naming
  the test.
- ``python -m tests.compat`` runs the marked tests and writes the table from
  their outcomes: a cell whose test failed is written as not proven.

Unknown client or operation names are an error at collection, so the rows and
columns stay the ones listed here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
TABLE = ROOT / "docs" / "compatibility.md"

#: the rows: client name, what it is, the door of ``c360 serve`` it uses
CLIENTS = (
    ("psql", "PostgreSQL's own shell (libpq)", "wire"),
    ("pgJDBC", "PostgreSQL JDBC driver: DBeaver, Metabase, Tableau, DataGrip", "wire"),
    ("psqlODBC", "psqlODBC through pyodbc: Power BI, Excel, Tableau on Windows", "wire"),
    ("psycopg2", "psycopg 2 (libpq)", "wire"),
    ("psycopg3", "psycopg 3 (libpq)", "wire"),
    ("asyncpg", "asyncpg (its own protocol code, binary)", "wire"),
    ("pg8000", "pg8000 (pure Python)", "wire"),
    ("SQLAlchemy", "SQLAlchemy 2 over psycopg 3, with pandas: Superset and notebooks", "wire"),
    ("pgcli", "pgcli's executor and pgspecial's backslash commands", "wire"),
    ("ADBC Flight SQL", "adbc-driver-flightsql's DB-API", "Flight SQL"),
    ("pyarrow.flight", "pyarrow.flight speaking Flight SQL commands", "Flight SQL"),
)
#: the columns, each with what a test must show for it
OPERATIONS = (
    ("connect", "log in and run a first statement"),
    ("schemas", "list the schemas (a source each, and c360 for the views)"),
    ("tables", "list the tables and views"),
    ("columns", "list a table's columns with their types"),
    ("keys", "a table's primary key (and indexes where the client asks)"),
    ("preview", "read the first rows of a table"),
    ("parameters", "run a parameterised query"),
    ("paging", "read a result in pages (a cursor, a portal or batches)"),
    ("cancel", "cancel a running query; the source stops and the connection goes on"),
    ("timeout", "a query timeout ends a slow query with an error"),
)
CLIENT_NAMES = [name for name, _, _ in CLIENTS]
OPERATION_NAMES = [name for name, _ in OPERATIONS]
YES, NO = "yes", "–"

_outcomes = pytest.StashKey[dict]()
_collected = pytest.StashKey[dict]()


# --- what the tests claim ------------------------------------------------------------------------


def _marker_cells(decorator: ast.expr) -> tuple[str, str] | None:
    """``(client, operation)`` of a ``pytest.mark.compat(client=..., operation=...)`` decorator, else None."""
    if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr == "compat"):
        return None
    words = {k.arg: k.value.value for k in decorator.keywords if isinstance(k.value, ast.Constant)}
    return words.get("client"), words.get("operation")


def declared_cells(root: Path = TESTS) -> dict[tuple[str, str], list[str]]:
    """Every cell a test claims, with the claiming tests (``path::function``), read from the test files."""
    cells: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(root.rglob("test_*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in node.decorator_list:
                    cell = _marker_cells(decorator)
                    if cell is not None:
                        cells[cell].append(f"{path.relative_to(ROOT)}::{node.name}")
    return dict(cells)


def render(proven: dict[tuple[str, str], list[str]]) -> str:
    """docs/compatibility.md for the ``proven`` cells (each with the tests that prove it)."""
    lines = [
        "# Client compatibility",
        "",
        "Which clients of `c360 serve` do what, through the real client or driver against a real",
        "`c360 serve`. This file is generated from the tests (`python -m tests.compat` runs the tests",
        "marked `@pytest.mark.compat` and writes it); a test fails when it differs from what the",
        "tests prove, so every \"yes\" below names a test that passes in CI. \"–\" means no test proves",
        "it (not tested, or the client has no such call), not that it is known to fail.",
        "",
        "| client | door | " + " | ".join(OPERATION_NAMES) + " |",
        "| --- | --- | " + " | ".join("---" for _ in OPERATION_NAMES) + " |",
    ]
    for client, _, door in CLIENTS:
        marks = [YES if (client, operation) in proven else NO for operation in OPERATION_NAMES]
        lines.append(f"| {client} | {door} | " + " | ".join(marks) + " |")
    lines += ["", "Clients:", ""]
    lines += [f"- **{client}**: {what}." for client, what, _ in CLIENTS]
    lines += ["", "Operations:", ""]
    lines += [f"- **{operation}**: {what}." for operation, what in OPERATIONS]
    lines += ["", "## The tests behind each cell", ""]
    for client in CLIENT_NAMES:
        for operation in OPERATION_NAMES:
            for test in sorted(proven.get((client, operation), ())):
                lines.append(f"- {client} × {operation}: `{test}`")
    return "\n".join(lines) + "\n"


# --- the plugin: marker, outcomes, order ---------------------------------------------------------


def pytest_addoption(parser):
    parser.addoption("--compat-write", default=None, metavar="PATH",
                     help="write the compatibility table from this run's compat-marked tests to PATH")


def pytest_configure(config):
    config.addinivalue_line("markers", "compat(client, operation): the test proves a cell of docs/compatibility.md")
    config.addinivalue_line("markers", "compat_check: runs after every other test (it reads their outcomes)")
    config.stash[_outcomes] = defaultdict(dict)
    config.stash[_collected] = defaultdict(list)


def _cells(item) -> list[tuple[str, str]]:
    return [(mark.kwargs.get("client"), mark.kwargs.get("operation")) for mark in item.iter_markers("compat")]


@pytest.hookimpl(trylast=True)  # after any other reordering: the check must stay last
def pytest_collection_modifyitems(config, items):
    for item in items:
        for client, operation in _cells(item):
            if client not in CLIENT_NAMES or operation not in OPERATION_NAMES:
                raise pytest.UsageError(
                    f"{item.nodeid}: compat(client={client!r}, operation={operation!r}) is not a cell of the table; "
                    f"clients: {', '.join(CLIENT_NAMES)}; operations: {', '.join(OPERATION_NAMES)} (tests/compat.py)"
                )
            config.stash[_collected][(client, operation)].append(item.nodeid)
    items.sort(key=lambda item: item.get_closest_marker("compat_check") is not None)  # stable: checks last


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    for cell in _cells(item):
        tests = item.config.stash[_outcomes][cell]
        if report.failed or report.skipped:
            tests[item.nodeid] = False
        elif report.when == "call":
            tests.setdefault(item.nodeid, True)


def outcomes(config) -> dict[tuple[str, str], dict[str, bool]]:
    """``{cell: {nodeid: passed}}`` for the marked tests run so far in this session."""
    return config.stash[_outcomes]


def collected(config) -> dict[tuple[str, str], list[str]]:
    """``{cell: [nodeid]}`` of the marked tests this session collected."""
    return config.stash[_collected]


def pytest_sessionfinish(session, exitstatus):
    target = session.config.getoption("--compat-write")
    if not target:
        return
    proven = {}
    for cell, tests in outcomes(session.config).items():
        if tests and all(tests.values()):
            proven[cell] = [nodeid.split("[")[0] for nodeid in tests]
    Path(target).write_text(render({cell: sorted(set(tests)) for cell, tests in proven.items()}))


def main() -> int:
    """Run the compat-marked tests and write docs/compatibility.md from their outcomes."""
    return subprocess.call([sys.executable, "-m", "pytest", "-m", "compat", "-q", "-p", "no:cacheprovider",
                            "--compat-write", str(TABLE), str(TESTS)], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
