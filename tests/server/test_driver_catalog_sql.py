"""The catalog as a plain driver's user asks it, in SQL through information_schema, and a table's first rows:
psycopg 2 and 3 (text results), asyncpg (binary results: the emulated catalog's types decode) and pg8000."""

from __future__ import annotations

import asyncio

import pytest

SCHEMAS = "SELECT schema_name FROM information_schema.schemata ORDER BY 1"
TABLES = ("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'shop' "
          "ORDER BY table_name")
KEYS = ("SELECT k.column_name, k.ordinal_position, c.constraint_name FROM information_schema.table_constraints c "
        "JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name "
        "AND k.table_schema = c.table_schema AND k.table_name = c.table_name "
        "WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = 'shop' AND c.table_name = 'products'")
COLUMNS = ("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'shop' "
           "AND table_name = 'products' ORDER BY ordinal_position")
PREVIEW = "SELECT * FROM shop.products LIMIT 100"


def _check(answers: dict[str, list[tuple]]) -> None:
    assert {"shop", "c360"} <= {row[0] for row in answers["schemas"]}
    assert ("orders", "BASE TABLE") in answers["tables"] and ("products", "BASE TABLE") in answers["tables"]
    assert answers["columns"] == [("product_id", "bigint"), ("sku", "text"), ("name", "text")]
    assert answers["keys"] == [("product_id", 1, "products_pkey")]
    assert answers["preview"] == [(1, "A-1", "Apple"), (2, "B-2", "Banana")]


QUERIES = {"schemas": SCHEMAS, "tables": TABLES, "columns": COLUMNS, "keys": KEYS, "preview": PREVIEW}


@pytest.mark.compat(client="psycopg2", operation="schemas")
@pytest.mark.compat(client="psycopg2", operation="tables")
@pytest.mark.compat(client="psycopg2", operation="columns")
@pytest.mark.compat(client="psycopg2", operation="keys")
@pytest.mark.compat(client="psycopg2", operation="preview")
def test_psycopg2_reads_the_catalog_and_previews(server):
    import psycopg2

    connection = psycopg2.connect(server.dsn())
    try:
        cursor = connection.cursor()
        answers = {}
        for name, sql in QUERIES.items():
            cursor.execute(sql)
            answers[name] = cursor.fetchall()
        _check(answers)
    finally:
        connection.close()


@pytest.mark.compat(client="psycopg3", operation="schemas")
@pytest.mark.compat(client="psycopg3", operation="tables")
@pytest.mark.compat(client="psycopg3", operation="columns")
@pytest.mark.compat(client="psycopg3", operation="keys")
@pytest.mark.compat(client="psycopg3", operation="preview")
@pytest.mark.parametrize("binary", [False, True])
def test_psycopg3_reads_the_catalog_and_previews(server, binary):
    import psycopg

    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        cursor = connection.cursor(binary=binary)
        _check({name: cursor.execute(sql).fetchall() for name, sql in QUERIES.items()})


@pytest.mark.compat(client="asyncpg", operation="schemas")
@pytest.mark.compat(client="asyncpg", operation="tables")
@pytest.mark.compat(client="asyncpg", operation="columns")
@pytest.mark.compat(client="asyncpg", operation="keys")
@pytest.mark.compat(client="asyncpg", operation="preview")
def test_asyncpg_reads_the_catalog_and_previews(server):
    import asyncpg

    async def run():
        connection = await asyncpg.connect(host="127.0.0.1", port=server.port, user="tester", database="c360")
        try:
            return {name: [tuple(row) for row in await connection.fetch(sql)] for name, sql in QUERIES.items()}
        finally:
            await connection.close()

    _check(asyncio.run(run()))


@pytest.mark.compat(client="pg8000", operation="schemas")
@pytest.mark.compat(client="pg8000", operation="tables")
@pytest.mark.compat(client="pg8000", operation="columns")
@pytest.mark.compat(client="pg8000", operation="keys")
@pytest.mark.compat(client="pg8000", operation="preview")
def test_pg8000_reads_the_catalog_and_previews(server):
    import pg8000.native

    connection = pg8000.native.Connection("tester", host="127.0.0.1", port=server.port, database="c360")
    try:
        _check({name: [tuple(row) for row in connection.run(sql)] for name, sql in QUERIES.items()})
    finally:
        connection.close()
