"""Which predicates a source may evaluate, and whether exactly or only as a superset."""

import pyarrow as pa
import pytest
import sqlglot

from c360.planner.classify import EXACT, SUPERSET, Classifier
from connectors.base import Capabilities, Column, TableSchema
from connectors.sql import RELATIONAL_FILTERS

TABLE = TableSchema(
    "t",
    (
        Column("ci", pa.string(), collation="utf8mb4_general_ci", exact_strings=False),
        Column("bin", pa.string(), collation="utf8mb4_bin", exact_strings=True),
        Column("n", pa.int64()),
        Column("d", pa.date32()),
        Column("ts", pa.timestamp("us")),
        Column("hour", pa.timestamp("us"), partition=True),
    ),
)
ALL = Capabilities(filters=RELATIONAL_FILTERS, like_exact=False)


def verdict(sql: str, caps: Capabilities = ALL):
    return Classifier(TABLE, caps).classify(sqlglot.parse_one(sql, read="duckdb"))


@pytest.mark.parametrize(
    "predicate, expected",
    [
        ("ci = 'ABC'", SUPERSET),
        ("ci IN ('a', 'b')", SUPERSET),
        ("ci LIKE 'ab%'", SUPERSET),
        ("ci <> 'ABC'", None),
        ("ci < 'b'", None),
        ("ci BETWEEN 'a' AND 'b'", None),
        ("NOT ci = 'ABC'", None),
        ("NOT ci IN ('a')", None),
        ("ci = 'a' OR n = 1", SUPERSET),
        ("ci = 'a' AND n = 1", SUPERSET),
        ("bin = 'ABC'", EXACT),
        ("bin < 'b'", EXACT),
        ("bin <> 'b'", EXACT),
        ("bin LIKE 'ab%'", SUPERSET),  # the source's LIKE ignores case (like_exact=False)
        ("bin LIKE '%ab'", None),
        ("n = 1", EXACT),
        ("n BETWEEN 1 AND 3", EXACT),
        ("n IS NULL", EXACT),
        ("NOT n IS NULL", EXACT),
        ("n = '1'", None),  # a string literal against a number: implicit casts differ
        ("d >= DATE '2026-01-01'", EXACT),
        ("ts >= TIMESTAMP '2026-01-01 10:00:00'", EXACT),
        ("n = n", None),
        ("lower(ci) = 'a'", None),
        ("hour >= TIMESTAMP '2026-01-01 10:00:00' AND hour < TIMESTAMP '2026-01-01 12:00:00'", None),
    ],
)
def test_relational_verdicts(predicate, expected):
    assert verdict(predicate) == expected


def test_unclaimed_operations_are_not_pushed():
    assert verdict("n = 1", Capabilities(filters=frozenset({"in"}))) is None
    assert verdict("n IN (1, 2)", Capabilities(filters=frozenset({"in"}))) == EXACT
    assert verdict("n = 1 OR n = 2", Capabilities(filters=frozenset({"compare"}))) is None


def test_partition_predicates_are_exact_when_the_source_prunes():
    caps = Capabilities(partitions=True)
    assert verdict("hour >= TIMESTAMP '2026-01-01 10:00:00'", caps) == EXACT
    assert verdict("date_trunc('day', hour) = DATE '2026-01-01'", caps) == EXACT
    assert verdict("n = 1", caps) is None
    assert verdict("hour > ts", caps) is None
