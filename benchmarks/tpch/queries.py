"""The 22 TPC-H queries, with every table named by its source (``lineitem`` → ``shop.lineitem``).

The text comes from the ``tpch`` extension (``tpch_queries()``). The rewrite
walks the sqlglot tree and gives each TPC-H table reference its source as
qualifier, leaving CTE names (Q15's ``revenue``) alone; the same text then runs
in c360 (DuckDB dialect), in the peer (attached catalogs and views under the
same names) and in the local DuckDB (schemas under the same names).
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import duckdb
import sqlglot
from sqlglot import exp

from benchmarks.tpch import extensions
from benchmarks.tpch.schema import TABLES

ALL = tuple(range(1, 23))


@lru_cache(maxsize=1)
def standard() -> dict[int, str]:
    """Query number → the standard TPC-H text, as the ``tpch`` extension has it."""
    with duckdb.connect() as connection:
        extensions.load(connection, "tpch")
        return dict(connection.execute("SELECT query_nr, query FROM tpch_queries() ORDER BY query_nr").fetchall())


def qualify(sql: str) -> str:
    """``sql`` with every TPC-H table qualified by its source, in DuckDB's dialect."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if not table.args.get("db") and table.name in TABLES and table.name not in ctes:
            table.set("db", exp.to_identifier(TABLES[table.name].source))
    return tree.sql(dialect="duckdb", pretty=True)


def query(number: int) -> str:
    """TPC-H query ``number``, qualified."""
    return qualify(standard()[number])


def ordered(sql: str) -> bool:
    """Whether the query's result order is defined (its outermost SELECT has ORDER BY)."""
    return sqlglot.parse_one(sql, read="duckdb").args.get("order") is not None


def references(sql: str, source: str) -> Counter:
    """How many times the query names each table of ``source``."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    return Counter(t.name for t in tree.find_all(exp.Table) if t.db == source)
