"""Negated and compound predicates, per source kind: the answer is the oracle's, and a case-insensitive
or trailing-space-blind source receives a negation only under an exact (binary) collation, never the
negation of a superset.

The world's string columns hold values equal only under such collations ('web'/'WEB', 'store'/'store  ',
'Seattle'/'seattle', 'Portland'/'Portland  '). Sending ``NOT LIKE`` or ``NOT IN`` to MariaDB, whose
``utf8mb4_general_ci`` calls them equal, would drop rows DuckDB keeps; sending ``LIKE`` as a superset and
re-checking is safe, its negation is a subset and is not.
"""

from __future__ import annotations

import pytest

from tests.oracle import check

# source -> (table, string column, integer column)
STRINGS = {
    "shop": ("shop.orders", "channel", "order_id"),  # MariaDB: case-insensitive, PAD SPACE
    "crm": ("crm.customers", "city", "customer_id"),  # PostgreSQL through ODBC: exact
    "local": ("local.regions", "city", "population"),  # SQLite: exact =, case-insensitive LIKE
    "clicks": ("clicks.browsing", "category", "page_views"),  # blob files read by DuckDB: exact
}

PREDICATES = {
    "not_like": "{s} NOT LIKE 'S%'",
    "not_of_like": "NOT ({s} LIKE 'w%')",
    "not_or": "NOT ({s} = 'web' OR {s} = 'Seattle' OR {s} = 'Apparel')",
    "not_in": "{s} NOT IN ('web', 'Portland', 'Technology')",
    "not_equal": "{s} <> 'store'",
    "not_equal_under_or": "({s} <> 'WEB' OR {i} > 100)",
    "not_between": "{s} NOT BETWEEN 'a' AND 'q'",
    "like_underscore": "{s} LIKE 'w_b'",
    "like_upper": "{s} LIKE 'W%'",
    "like_escape": "{s} LIKE 'P!%%' ESCAPE '!'",
    "not_like_and": "NOT ({s} LIKE 'P%' AND {i} > 3)",
    "equal_trailing_space": "{s} = 'store'",
    "in_mixed_case": "{s} IN ('WEB', 'seattle', 'technology')",
}

NEGATIONS = {"not_like", "not_of_like", "not_or", "not_in", "not_equal", "not_equal_under_or", "not_between",
             "not_like_and"}


def cases():
    for source, (table, string, integer) in STRINGS.items():
        for name, template in PREDICATES.items():
            yield pytest.param(source, table, string, name, template.format(s=string, i=integer),
                               id=f"{source}-{name}")


def _where(sent: str) -> str:
    return sent.split(" WHERE ", 1)[1] if " WHERE " in sent else ""


@pytest.mark.parametrize("source, table, string, name, predicate", list(cases()))
def test_negated_predicates_give_the_oracles_answer(world, source, table, string, name, predicate):
    [scan] = check(world, f"SELECT * FROM {table} WHERE {predicate}")
    column = world.connection.catalog.table(source, table.split(".")[1]).column(string)
    connector = world.connection.catalog.connector(source)
    exact_like = column.exact_strings and connector.capabilities.like_exact
    where = _where(scan.sent)
    if name in NEGATIONS and not column.exact_strings and string in where:
        # a case-insensitive source takes a negation only under a binary collation (or not at all)
        assert "COLLATE utf8mb4_nopad_bin" in where or "COLLATE utf8mb4_bin" in where, scan.sent
    if name in ("not_like", "not_of_like", "not_like_and") and not exact_like and source != "shop":
        assert "LIKE" not in where, scan.sent  # SQLite gets GLOB, which tells case apart
    if name == "like_escape":
        assert "LIKE" not in where, scan.sent  # escapes are kept local everywhere
    if name in NEGATIONS and name not in ("not_like", "not_of_like", "not_like_and"):
        assert string in where, f"the negation should be sent, exactly: {scan.sent}"


def test_mariadb_is_the_case_insensitive_one(world):
    """The cases above prove both directions only if the world has both kinds of column."""
    shop = world.connection.catalog.table("shop", "orders").column("channel")
    crm = world.connection.catalog.table("crm", "customers").column("city")
    assert not shop.exact_strings and crm.exact_strings


def test_an_invalid_date_literal_is_never_sent_to_mariadb(world):
    """MariaDB turns CAST('yesterday-ish' AS DATETIME) into NULL and answers 'no rows'; DuckDB refuses it."""
    import c360

    cursor = world.connection.cursor()
    with pytest.raises(c360.DataError, match="yesterday-ish"):
        cursor.execute("SELECT * FROM shop.orders WHERE order_ts < CAST('yesterday-ish' AS DATE)").fetchall()
    [scan] = cursor.scans
    assert "yesterday" not in scan.sent


def test_a_non_canonical_date_literal_is_sent_canonical(world):
    [scan] = check(world, "SELECT * FROM shop.orders WHERE order_ts < CAST('2026-3-5' AS DATE)")
    assert "'2026-03-05 00:00:00'" in scan.sent, scan.sent

