"""What drivers read from the emulated catalogs (c360/server/catalog_tables.py): keys and indexes as the source
declares them, view definitions, descriptions, array and struct types, row estimates, keywords, and the
session commands pools and drivers send (DISCARD ALL, cursors WITH HOLD, statement_timeout). Where PostgreSQL
answers the same catalog query for the same tables, its answer is the oracle."""

from __future__ import annotations

import subprocess
import time

import psycopg
import pytest

from tests.server.conftest import SLOW_SOURCE_QUERY

#: pgjdbc's PgDatabaseMetaData.getPrimaryKeys (org/postgresql/jdbc/PgDatabaseMetaData.java, REL42.x): a
#: set-returning function in the select list, filtered on a field of its record one level up
JDBC_PRIMARY_KEYS = (
    "SELECT result.TABLE_CAT, result.TABLE_SCHEM, result.TABLE_NAME, result.COLUMN_NAME, result.KEY_SEQ, "
    "result.PK_NAME FROM (SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, ct.relname AS TABLE_NAME, "
    "a.attname AS COLUMN_NAME, (information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ, ci.relname AS PK_NAME, "
    "information_schema._pg_expandarray(i.indkey) AS KEYS, a.attnum AS A_ATTNUM FROM pg_catalog.pg_class ct "
    "JOIN pg_catalog.pg_attribute a ON (ct.oid = a.attrelid) JOIN pg_catalog.pg_namespace n ON "
    "(ct.relnamespace = n.oid) JOIN pg_catalog.pg_index i ON ( a.attrelid = i.indrelid) "
    "JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid) WHERE true  AND n.nspname = E'shop' "
    "AND ct.relname = E'products' AND i.indisprimary  ) result where  result.A_ATTNUM = (result.KEYS).x  "
    "ORDER BY result.table_name, result.pk_name, result.key_seq"
)

ORACLE_CATALOG_QUERIES = {
    "jdbc_primary_keys": JDBC_PRIMARY_KEYS,
    "array_type_names": "SELECT format_type(1009, -1), format_type(1007, NULL), format_type(1016, -1), "
    "format_type(114, -1)",
    "keywords": "SELECT count(*), count(*) FILTER (WHERE catcode = 'R'), count(*) FILTER (WHERE NOT barelabel), "
    "min(word), max(word) FROM pg_get_keywords()",
    "indexes_view": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'shop' ORDER BY 1",
    "index_definitions": "SELECT c.relname, pg_get_indexdef(i.indexrelid), pg_get_indexdef(i.indexrelid, 2, false), "
    "i.indisprimary, i.indisunique, i.indkey::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = 'products' ORDER BY 1",
    "primary_key_constraint": "SELECT conname, contype, pg_get_constraintdef(c.oid) FROM pg_constraint c "
    "JOIN pg_class t ON t.oid = c.conrelid WHERE t.relname = 'products'",
    "information_schema_keys": "SELECT tc.constraint_name, tc.constraint_type, k.column_name, k.ordinal_position "
    "FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage k "
    "USING (constraint_name, table_name) WHERE tc.table_name = 'products'",
    "zero_oids": "SELECT format_type(0, NULL), 'pg_catalog.pg_class'::regclass::oid",
    "pg_range_columns": "SELECT rngtypid, rngsubtype, rngmultitypid FROM pg_range WHERE rngtypid = 0",
    "privileges": "SELECT has_table_privilege('shop.products', 'SELECT'), has_schema_privilege('shop', 'USAGE'), "
    "has_function_privilege('now()', 'EXECUTE'), has_any_column_privilege('shop.products', 'SELECT')",
}


def _rows(dsn: str, sql: str):
    with psycopg.connect(dsn, autocommit=True) as connection:
        cursor = connection.execute(sql)
        return [d.name for d in cursor.description], cursor.fetchall()


@pytest.mark.parametrize("sql", ORACLE_CATALOG_QUERIES.values(), ids=ORACLE_CATALOG_QUERIES.keys())
def test_catalog_queries_answer_as_postgresql_does_for_the_same_tables(server, postgres_shop, sql):
    assert _rows(server.dsn(), sql) == _rows(postgres_shop, sql)


def test_psql_describe_shows_the_primary_key_and_indexes_the_source_declares(server):
    done = subprocess.run(
        ["psql", "-X", "-h", "127.0.0.1", "-p", str(server.port), "-U", "tester", "c360", "-c", r"\d shop.products",
         "-c", r"\di shop.*"], capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert '"products_pkey" PRIMARY KEY, btree (product_id)' in done.stdout
    assert '"products_name_sku_idx" btree (name, sku)' in done.stdout
    assert "products_pkey" in done.stdout.split("List of relations")[1]


def test_view_definitions_and_descriptions_come_from_the_project(server):
    rows = _rows(
        server.dsn(),
        "SELECT pg_get_viewdef('c360.paid_orders'::regclass), pg_get_viewdef('c360.paid_orders'::regclass, true), "
        "obj_description('c360.paid_orders'::regclass, 'pg_class'), obj_description('shop'::regnamespace), "
        "(SELECT definition FROM pg_views WHERE viewname = 'paid_orders'), "
        "(SELECT view_definition FROM information_schema.views WHERE table_name = 'paid_orders')",
    )[1][0]
    definition = "-- Orders that were paid\nSELECT order_id, amount FROM shop.orders WHERE status = 'paid'"
    assert rows == (definition, definition, "Orders that were paid", "The web shop's orders", definition, definition)


def test_pg_stat_user_tables_lists_every_table_as_metabase_reads_it(server):
    names, rows = _rows(server.dsn(), "SELECT schemaname, relname, n_live_tup FROM pg_stat_user_tables ORDER BY 1, 2")
    assert ("shop", "products", 0) in rows and ("shop", "orders", 0) in rows
    assert all(schema != "c360" for schema, _, _ in rows)  # views are not tables


def test_struct_and_array_columns_carry_their_postgresql_types(server):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        cursor = connection.execute("SELECT [1, 2] AS ints, ['a'] AS texts, {'k': 1} AS record")
        assert [d.type_code for d in cursor.description] == [1007, 1009, 114]  # integer[], text[], json
        assert cursor.fetchall() == [([1, 2], ["a"], {"k": 1})]


def test_discard_all_forgets_cursors_prepared_statements_settings_and_variables(server):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        connection.execute("SET statement_timeout = '10s'")
        connection.execute("SET VARIABLE as_of = DATE '2026-01-01'")
        connection.execute("DECLARE kept CURSOR WITH HOLD FOR SELECT order_id FROM shop.orders ORDER BY 1")
        assert connection.execute("FETCH 2 FROM kept").fetchall() == [(1,), (2,)]
        connection.execute("DISCARD ALL")
        assert connection.execute("SHOW statement_timeout").fetchall() == [("0",)]
        with pytest.raises(psycopg.errors.InvalidCursorName):
            connection.execute("FETCH 1 FROM kept")
        assert connection.execute("SELECT getvariable('as_of')").fetchall() == [(None,)]


def test_discard_all_is_refused_inside_a_transaction(server):
    with psycopg.connect(server.dsn()) as connection:
        with pytest.raises(psycopg.errors.ProgrammingError, match="transaction block"):
            connection.execute("DISCARD ALL")


def test_a_cursor_with_hold_pages_outside_any_transaction(server):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        connection.execute("DECLARE pages CURSOR WITH HOLD FOR SELECT n FROM shop.nums ORDER BY n")
        pages = [connection.execute("FETCH 1000 FROM pages").fetchall() for _ in range(3)]
        assert [page[0][0] for page in pages] == [0, 1000, 2000] and all(len(page) == 1000 for page in pages)
        connection.execute("CLOSE pages")


@pytest.mark.compat(client="psycopg3", operation="timeout")
def test_statement_timeout_cancels_the_query_at_its_source(server):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        connection.execute("SELECT 1")  # the session's engine exists before the timed statement
        connection.execute("SET statement_timeout = '700ms'")
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            connection.execute(SLOW_SOURCE_QUERY)
        assert time.monotonic() - started < 10
        server.wait_until_idle()  # SQLite stopped counting: the cancel reached the source
        connection.execute("SET statement_timeout = 0")
        assert connection.execute("SELECT count(*) FROM shop.orders").fetchall() == [(4,)]


def test_statement_timeout_in_the_extended_protocol_and_a_value_postgresql_would_refuse(server):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        connection.execute("SELECT 1")
        connection.execute("SET statement_timeout TO 700")  # milliseconds
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            connection.execute(SLOW_SOURCE_QUERY + " WHERE 1 = %s", (1,))
        server.wait_until_idle()
        with pytest.raises(psycopg.errors.ProgrammingError, match="invalid value"):
            connection.execute("SET statement_timeout = 'soon'")
