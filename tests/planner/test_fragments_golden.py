"""Golden fragments: the whole statement each SQL dialect receives, checked without a server.

``tests/fixtures/fragments/catalog.yaml`` declares a SQL Server source (``sales``) and a PostgreSQL
one (``crm``) with their columns, so planning needs no connection. Each ``<dialect>/*.sql`` fixture
holds the user's query in a ``-- query:`` line and, below it, the exact statement the source's one
fragment must be. T-SQL has no server here: these files, and sqlglot parsing them back as T-SQL, are
its proof (``COUNT_BIG`` and ``SUM(CAST(… AS BIGINT))`` where T-SQL's INT would overflow before
DuckDB's, explicit NULL order, in window functions too, strings kept local since SQL Server pads before
comparing).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from c360.catalog import Catalog
from c360.planner import plan

FIXTURES = Path(__file__).parent.parent / "fixtures" / "fragments"
SOURCE = {"tsql": "sales", "postgres": "crm"}
CASES = sorted(FIXTURES.glob("*/*.sql"))


@pytest.fixture(scope="module")
def catalog():
    return Catalog(FIXTURES / "catalog.yaml")


def load(path: Path) -> tuple[str, str]:
    query, expected = "", []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- query:"):
            query = line.split(":", 1)[1].strip()
        elif line.strip() and not line.startswith("--"):
            expected.append(line.strip())
    return query, " ".join(expected)


def test_there_are_golden_cases_for_both_dialects():
    assert len([p for p in CASES if p.parent.name == "tsql"]) >= 8
    assert len([p for p in CASES if p.parent.name == "postgres"]) >= 5


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}-{p.stem}" for p in CASES])
def test_the_fragment_sent_matches_the_golden_file(catalog, path):
    query, expected = load(path)
    dialect = path.parent.name
    result = plan(query, catalog=catalog)
    statements = [s.statement.sql(dialect=s.connector.dialect) for s in result.scans
                  if s.source == SOURCE[dialect] and s.statement is not None]
    assert statements == [expected]
    sqlglot.parse_one(expected, read=dialect)  # and it reads back in that dialect
