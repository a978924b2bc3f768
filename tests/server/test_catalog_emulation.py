"""What clients and BI tools ask the system catalogs, answered by real clients: psql, SQLAlchemy, pandas."""

from __future__ import annotations

import os
import shutil
import subprocess

import pandas as pd
import psycopg
import pyarrow as pa
import pytest
import sqlalchemy as sa

from c360.server.catalog_emulation import SessionValues, SystemCatalog, is_catalog_query
from c360.server.catalog_tables import Relation

PSQL = shutil.which("psql")


def psql(server, *commands: str) -> str:
    assert PSQL, "the psql binary (PostgreSQL client) is required: apt-get install postgresql-client"
    args = [PSQL, "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(server.port), "-U", "tester", "c360"]
    for command in commands:
        args += ["-c", command]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, env={**os.environ, "PGCONNECT_TIMEOUT": "10"})
    assert done.returncode == 0, done.stderr
    assert "ERROR" not in done.stderr, done.stderr
    return done.stdout


@pytest.mark.compat(client="psql", operation="connect")
@pytest.mark.compat(client="psql", operation="preview")
def test_psql_runs_a_query(server):
    out = psql(server, "SELECT customer_id, name FROM shop.customers ORDER BY customer_id")
    assert "42 | Ann" in out and "(4 rows)" in out


@pytest.mark.compat(client="psql", operation="tables")
def test_psql_dt_lists_every_source_table_under_its_source_schema(server):
    out = psql(server, r"\dt")
    lines = [line for line in out.splitlines() if "| table |" in line]
    assert sorted(line.split("|")[1].strip() for line in lines) == ["customers", "nums", "orders", "products", "slow_counter"]
    assert all(line.split("|")[0].strip() == "shop" for line in lines)


@pytest.mark.compat(client="psql", operation="keys")
def test_psql_d_table_shows_its_primary_key_and_indexes(server):
    out = psql(server, r"\d shop.products")
    assert '"products_pkey" PRIMARY KEY, btree (product_id)' in out
    assert '"products_name_sku_idx" btree (name, sku)' in out


@pytest.mark.compat(client="psql", operation="paging")
def test_psql_fetch_count_reads_through_a_cursor(server):
    """With ``FETCH_COUNT`` psql reads a query through DECLARE ... CURSOR and FETCH FORWARD n."""
    out = psql(server, r"\set FETCH_COUNT 1000", "SELECT n FROM shop.nums ORDER BY n")
    values = [int(line) for line in out.splitlines() if line.strip().isdigit()]
    assert values == list(range(20_000))


@pytest.mark.compat(client="psql", operation="schemas")
def test_psql_dn_lists_sources_and_the_c360_views_schema(server):
    out = psql(server, r"\dn")
    names = {line.split("|")[0].strip() for line in out.splitlines() if "|" in line}
    assert {"shop", "c360", "public"} <= names


@pytest.mark.compat(client="psql", operation="columns")
def test_psql_d_table_shows_columns_with_postgres_types(server):
    out = psql(server, r"\d shop.orders")
    assert 'Table "shop.orders"' in out
    rows = {line.split("|")[0].strip(): line.split("|")[1].strip() for line in out.splitlines() if line.count("|") >= 4}
    assert rows["order_id"] == "bigint"
    assert rows["amount"] == "numeric(12,2)"
    assert rows["order_ts"] == "timestamp without time zone"
    assert rows["status"] == "text"


def test_psql_dv_lists_the_views(server):
    out = psql(server, r"\dv c360.*")
    assert "paid_orders" in out and "view" in out


def test_version_and_current_schema_answer_like_postgres(server):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        version, schema, database, user = connection.execute(
            "SELECT version(), current_schema(), current_database(), current_user"
        ).fetchone()
    assert version.startswith("PostgreSQL 15.0 (c360")
    assert (schema, database, user) == ("public", "c360", "tester")


@pytest.mark.compat(client="psycopg3", operation="columns")
def test_information_schema_columns_lists_source_columns(server):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            ["shop", "customers"],
        ).fetchall()
    assert rows == [("customer_id", "bigint"), ("name", "text"), ("signup", "date")]


@pytest.fixture
def engine(server):
    engine = sa.create_engine(f"postgresql+psycopg://tester@127.0.0.1:{server.port}/c360")
    yield engine
    engine.dispose()


@pytest.mark.compat(client="SQLAlchemy", operation="schemas")
@pytest.mark.compat(client="SQLAlchemy", operation="tables")
@pytest.mark.compat(client="SQLAlchemy", operation="columns")
def test_sqlalchemy_inspector_sees_schemas_tables_and_columns(engine):
    inspector = sa.inspect(engine)
    assert {"shop", "c360"} <= set(inspector.get_schema_names())
    assert sorted(inspector.get_table_names(schema="shop")) == ["customers", "nums", "orders", "products", "slow_counter"]
    columns = {c["name"]: c["type"] for c in inspector.get_columns("orders", schema="shop")}
    assert isinstance(columns["order_id"], sa.BIGINT)
    assert isinstance(columns["amount"], sa.NUMERIC) and (columns["amount"].precision, columns["amount"].scale) == (12, 2)
    assert isinstance(columns["order_ts"], sa.TIMESTAMP)
    assert inspector.get_view_names(schema="c360") == ["paid_orders"]
    assert inspector.has_table("customers", schema="shop")


@pytest.mark.compat(client="SQLAlchemy", operation="parameters")
def test_pandas_read_sql_through_sqlalchemy_returns_the_rows(engine):
    frame = pd.read_sql(sa.text("SELECT order_id, amount FROM shop.orders WHERE status = :s ORDER BY order_id"), engine, params={"s": "paid"})
    assert frame["order_id"].tolist() == [1, 4]
    assert [float(a) for a in frame["amount"]] == [12.99, 100.0]


def test_catalog_queries_are_told_apart_from_source_queries():
    assert is_catalog_query("SELECT nspname FROM pg_catalog.pg_namespace")
    assert is_catalog_query("select version()")
    assert not is_catalog_query("SELECT * FROM shop.orders WHERE status LIKE 'pg_%'")
    assert not is_catalog_query("SELECT * FROM shop.orders")


def test_rewritten_regclass_and_format_type_resolve_against_the_emulation():
    catalog = SystemCatalog(lambda: [Relation("shop", "orders", pa.schema([("amount", pa.decimal128(10, 2))]))])
    sql = catalog.rewrite(
        "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a "
        "WHERE a.attrelid = 'shop.orders'::regclass",
        SessionValues(),
    )
    assert catalog.connection().execute(sql).fetchall() == [("numeric(10,2)",)]


def test_unaliased_function_columns_are_named_after_the_function_as_in_postgres():
    catalog = SystemCatalog(lambda: [])
    result = catalog.connection().execute(
        catalog.rewrite("SELECT pg_catalog.version(), current_schema(), pg_catalog.format_type(20, -1) AS t", SessionValues())
    )
    assert [d[0] for d in result.description] == ["version", "current_schema", "t"]
    assert result.fetchall()[0][1:] == ("public", "bigint")


# What .NET (Npgsql, used by Power BI) and JDBC (Tableau, DBeaver) drivers ask at connect time, in
# their shape: arrays told apart by typreceive = array_recv, regproc casts, current_schemas() indexing.
DRIVER_TYPE_QUERY = """
SELECT ns.nspname, t.typname, t.oid,
       CASE WHEN p.proname = 'array_recv' THEN 'a' ELSE t.typtype END AS kind,
       CASE WHEN p.proname = 'array_recv' THEN t.typelem ELSE 0 END AS element
FROM pg_type AS t
JOIN pg_namespace AS ns ON ns.oid = t.typnamespace
JOIN pg_proc AS p ON p.oid = t.typreceive
LEFT OUTER JOIN pg_class AS c ON c.oid = t.typrelid
LEFT OUTER JOIN pg_type AS e ON e.oid = t.typelem
LEFT OUTER JOIN pg_range ON pg_range.rngtypid = t.oid
WHERE t.typtype IN ('b', 'r', 'e', 'd') OR (t.typtype = 'c' AND c.relkind = 'c')
ORDER BY t.oid
"""


def test_driver_type_loading_sees_base_and_array_types(server):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        cursor = psycopg.ClientCursor(connection)
        cursor.execute(f"SELECT version();\n{DRIVER_TYPE_QUERY};\nSELECT pg_type.oid, enumlabel FROM pg_enum JOIN pg_type ON pg_type.oid = enumtypid")
        assert cursor.fetchone()[0].startswith("PostgreSQL 15")
        assert cursor.nextset()
        types = {name: (oid, kind, element) for _, name, oid, kind, element in cursor.fetchall()}
        assert cursor.nextset() and cursor.fetchall() == []
    assert types["int8"] == (20, "b", 0)
    assert types["_int8"] == (1016, "a", 20)
    assert types["numeric"][0] == 1700 and types["timestamptz"][0] == 1184


def test_jdbc_style_array_check_and_search_path_lookup(server):
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT typinput = 'pg_catalog.array_in'::regproc AS is_array, typtype, typname, pg_type.oid "
            "FROM pg_catalog.pg_type LEFT JOIN (SELECT ns.oid AS nspoid, ns.nspname, r.r FROM pg_namespace AS ns "
            "JOIN (SELECT s.r, (current_schemas(false))[s.r] AS nspname FROM generate_series(1, array_upper(current_schemas(false), 1)) AS s(r)) AS r "
            "USING (nspname)) AS sp ON sp.nspoid = typnamespace WHERE pg_type.oid = %s ORDER BY sp.r, pg_type.oid DESC",
            [1007],
        ).fetchall()
    assert rows == [(True, "b", "_int4", 1007)]


def test_navigator_style_information_schema_queries_in_upper_case(server):
    # BI navigators list tables, then columns and keys, spelling information_schema in capitals
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        tables = connection.execute(
            "select TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE from INFORMATION_SCHEMA.tables "
            "where TABLE_SCHEMA not in ('information_schema', 'pg_catalog') order by TABLE_SCHEMA, TABLE_NAME"
        ).fetchall()
        keys = connection.execute(
            "select kcu.COLUMN_NAME from INFORMATION_SCHEMA.TABLE_CONSTRAINTS tc "
            "join INFORMATION_SCHEMA.KEY_COLUMN_USAGE kcu on tc.CONSTRAINT_NAME = kcu.CONSTRAINT_NAME "
            "where tc.TABLE_SCHEMA = %s and tc.TABLE_NAME = %s and tc.CONSTRAINT_TYPE = 'PRIMARY KEY'",
            ["shop", "orders"],
        ).fetchall()
    assert ("shop", "orders", "BASE TABLE") in tables and ("c360", "paid_orders", "VIEW") in tables
    assert keys == []


def test_psql_du_lists_the_role(server):
    out = psql(server, r"\du")
    assert "c360" in out and "{}" in out


@pytest.fixture(scope="module")
def server_with_a_down_source(tmp_path_factory):
    from tests.projects import SHOP_DDL, project, sqlite_file
    from tests.server.conftest import start_server, stop_server

    root = tmp_path_factory.mktemp("down_source")
    sqlite_file(root / "shop.sqlite", SHOP_DDL)
    catalog = project(root, """
        sources:
          shop:
            kind: sqlite
            path: ../shop.sqlite
          crm:
            kind: mysql
            host: 127.0.0.1
            port: 1
            user: nobody
            database: nothing
    """)
    running = start_server(catalog, root / "serve.log")
    yield running
    stop_server(running.process)


def test_a_source_that_is_down_does_not_hide_the_others_from_clients(server_with_a_down_source):
    lines = [line for line in psql(server_with_a_down_source, r"\dt").splitlines() if "| table |" in line]
    assert sorted(line.split("|")[1].strip() for line in lines) == ["customers", "orders"]
    log = server_with_a_down_source.log.read_text()
    assert "system catalog: Source 'crm' (mysql at 127.0.0.1:1)" in log


def test_quote_ident_and_parse_ident_answer_as_postgresql_does(server, postgres_shop):
    """Grafana compares ``quote_ident(table_schema)`` with a bare name: quoting every name hid every table."""
    sql = ("SELECT quote_ident(table_name), quote_ident('Orders'), quote_ident('select'), quote_ident('a\"b'), "
           "quote_ident('name'), parse_ident('Shop.Orders') FROM information_schema.tables "
           "WHERE table_schema = 'shop' AND table_name = 'orders'")
    with psycopg.connect(server.dsn(), autocommit=True) as wire, psycopg.connect(postgres_shop, autocommit=True) as oracle:
        assert wire.execute(sql).fetchall() == oracle.execute(sql).fetchall()
        with pytest.raises(psycopg.Error, match="parse_ident of a quoted name"):
            wire.execute("SELECT parse_ident('\"Shop\".orders') FROM information_schema.tables")
