"""The statement policy alone (:mod:`c360.policy`): every attack is refused before DuckDB sees it."""

from __future__ import annotations

import pytest

from c360.errors import NotSupportedError, ProgrammingError, ReadOnlyError
from c360.planner.parse import explained, parse
from tests.security.attacks import ALL


def _parse_all(sql: str) -> None:
    statement = parse(sql)
    inner = explained(statement)
    if inner is not None:
        parse(inner[0])


@pytest.mark.parametrize("attack", ALL)
def test_every_attack_is_refused_by_the_policy_itself(attack):
    armed = attack.format(secret="/etc/passwd", folder="/etc", target="/tmp/never-written")
    with pytest.raises((NotSupportedError, ReadOnlyError, ProgrammingError)):
        _parse_all(armed)


@pytest.mark.parametrize("sql", [
    "SELECT 1",
    "select * from shop.orders o join crm.customers c using (customer_id) where o.status not like 'P%'",
    "WITH a AS (SELECT 1 AS x) SELECT * FROM a UNION SELECT 2",
    "VALUES (1), (2)",
    "SELECT * FROM range(10) r, generate_series(1, 3) g",
    "SELECT unnest([1, 2, 3])",
    "SET VARIABLE as_of = DATE '2026-06-30'",
    "RESET VARIABLE as_of",
    "SHOW TABLES",
    "SHOW SCHEMAS",
    "DESCRIBE shop.orders",
    "EXPLAIN ANALYZE SELECT 1",
])
def test_read_statements_pass(sql):
    _parse_all(sql)


@pytest.mark.parametrize("sql, words", [
    ("CoPy (SELECT 1) To '/tmp/x'", "COPY"),
    ("attach '/tmp/x' as y", "ATTACH"),
    ("PRAGMA database_list", "PRAGMA"),
    ("LOAD httpfs", "LOAD"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv()"),
    ("SELECT * FROM shop.orders, read_parquet('x.parquet')", "read_parquet()"),
    ("SET memory_limit = '1GB'", "SET memory_limit"),
    ("UPDATE shop.orders SET status = 'x'", "Source 'shop' is read-only: UPDATE"),
])
def test_the_refusal_names_the_statement_kind(sql, words):
    with pytest.raises((NotSupportedError, ReadOnlyError)) as raised:
        parse(sql)
    assert words in str(raised.value)
