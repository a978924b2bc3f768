"""Golden T-SQL: what the ODBC connector sends a SQL Server, checked without a SQL Server.

Each ``tests/fixtures/tsql/*.sql`` holds a scan request in ``-- key: value``
header lines (DuckDB syntax, the planner's language) and, below them, the
exact T-SQL :func:`connectors.sql.render_select` must produce with
:class:`connectors.dialects.C360TSQL`. Header keys: ``table`` (``schema.table``),
``columns`` (a select list), ``filter`` (repeatable), ``order_by``
(repeatable), ``limit``; other ``--`` lines are comments.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
import sqlglot

from connectors.base import Column, ScanRequest, TableSchema
from connectors.dialects import C360TSQL
from connectors.sql import render_select

FIXTURES = Path(__file__).parent.parent / "fixtures" / "tsql"
KEYS = ("table", "columns", "filter", "order_by", "limit")


def load(path: Path) -> tuple[ScanRequest, str]:
    """The request a fixture describes, and the T-SQL it expects."""
    header: dict[str, list[str]] = {key: [] for key in KEYS}
    expected = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("--"):
            key, _, value = line[2:].strip().partition(":")
            if key.strip() in KEYS and value:
                header[key.strip()].append(value.strip())
        elif line.strip():
            expected.append(line.strip())
    assert header["table"] and header["columns"], f"{path.name}: needs '-- table:' and '-- columns:' lines"
    table = sqlglot.exp.to_table(header["table"][0], dialect="duckdb")
    remote = tuple(part.name for part in table.parts)
    names = tuple(e.name for e in sqlglot.parse_one(f"SELECT {header['columns'][0]}", dialect="duckdb").expressions)
    filters = tuple(sqlglot.parse_one(text, dialect="duckdb") for text in header["filter"])
    referenced = {c.name for f in filters for c in f.find_all(sqlglot.exp.Column)}
    order_by = tuple(
        sqlglot.parse_one(f"SELECT 1 ORDER BY {text}", dialect="duckdb").args["order"].expressions[0]
        for text in header["order_by"]
    )
    referenced |= {c.name for o in order_by for c in o.find_all(sqlglot.exp.Column)}
    columns = tuple(Column(name, pa.string()) for name in dict.fromkeys((*names, *sorted(referenced))))
    request = ScanRequest(
        table=TableSchema(remote[-1], columns, remote),
        columns=names,
        filters=filters,
        order_by=order_by,
        limit=int(header["limit"][0]) if header["limit"] else None,
    )
    return request, " ".join(expected)


CASES = sorted(FIXTURES.glob("*.sql"))


def test_there_are_golden_cases():
    assert len(CASES) >= 15


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_tsql_rendering_matches_golden_file(path):
    request, expected = load(path)
    assert expected, f"{path.name} has no expected T-SQL below its header"
    assert render_select(request, C360TSQL) == expected


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_tsql_is_valid_tsql_without_limit_or_true(path):
    """Every expectation parses as T-SQL and uses none of the syntax T-SQL lacks."""
    _, expected = load(path)
    sqlglot.parse_one(expected, read="tsql")
    tokens = {token.text.upper() for token in sqlglot.tokenize(expected, read="tsql")
              if token.token_type.name != "STRING"}
    assert not tokens & {"LIMIT", "TRUE", "FALSE", "||", '"', "`"}
