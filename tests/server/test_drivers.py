"""The real drivers BI tools are built on, through ``c360 serve``: the PostgreSQL JDBC driver (DBeaver,
Metabase, Tableau, DataGrip), psqlODBC through pyodbc (Power BI, Excel, Tableau on Windows), psycopg 2 and 3,
asyncpg, pg8000, SQLAlchemy reflection and pandas. Each lists schemas, tables, columns, keys and indexes,
previews rows and binds a parameter."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server.conftest import NUMS_ROWS, SLOW_SOURCE_QUERY
from tests.servers import odbc_drivers

JDBC_JAR = Path("/usr/share/java/postgresql.jar")
CLIENTS = Path(__file__).parent / "clients"


@pytest.fixture(scope="module")
def jdbc(server) -> dict[str, str]:
    """What the JDBC program (tests/server/clients/JdbcMetadata.java) found, run once: ``{what: value}``."""
    assert JDBC_JAR.is_file(), "the PostgreSQL JDBC driver is missing: apt-get install libpostgresql-jdbc-java"
    assert shutil.which("java"), "java is missing: apt-get install openjdk-17-jre-headless"
    done = subprocess.run(
        ["java", "-cp", str(JDBC_JAR), str(CLIENTS / "JdbcMetadata.java"),
         f"jdbc:postgresql://127.0.0.1:{server.port}/c360", "tester", SLOW_SOURCE_QUERY],
        capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr
    return dict(line.split("\t", 1) for line in done.stdout.splitlines())


@pytest.mark.compat(client="pgJDBC", operation="connect")
def test_jdbc_connects_to_what_it_takes_for_postgresql(jdbc):
    assert jdbc["product"] == "PostgreSQL 15.0"


@pytest.mark.compat(client="pgJDBC", operation="schemas")
@pytest.mark.compat(client="pgJDBC", operation="tables")
@pytest.mark.compat(client="pgJDBC", operation="columns")
def test_jdbc_database_metadata_lists_schemas_tables_columns_and_types(jdbc):
    assert jdbc["schemas"] == "[c360, information_schema, pg_catalog, public, shop]"
    assert jdbc["tables"] == "[customers, nums, orders, products, slow_counter]"
    assert jdbc["views"] == "[paid_orders]"
    assert jdbc["columns"] == "[product_id:int8:-5, sku:text:12, name:text:12]"
    assert jdbc["types_include_int8_text_numeric"] == "true"


@pytest.mark.compat(client="pgJDBC", operation="keys")
def test_jdbc_primary_keys_and_indexes(jdbc):
    assert jdbc["primary_key"] == "[product_id:1:products_pkey]"
    assert jdbc["indexes"] == "[products_pkey:1:product_id:false, products_name_sku_idx:1:name:true, " \
                              "products_name_sku_idx:2:sku:true]"


@pytest.mark.compat(client="pgJDBC", operation="preview")
def test_jdbc_previews_a_table(jdbc):
    assert jdbc["preview"] == "3:[1:Apple, 2:Banana]"


@pytest.mark.compat(client="pgJDBC", operation="parameters")
def test_jdbc_prepared_statement_binds_a_long_and_a_date(jdbc):
    assert jdbc["prepared"] == "[Ann]"


@pytest.mark.compat(client="pgJDBC", operation="paging")
def test_jdbc_pages_a_result_set_by_fetch_size(jdbc):
    assert jdbc["paged"] == f"{NUMS_ROWS}:{NUMS_ROWS * (NUMS_ROWS - 1) // 2}"


@pytest.mark.compat(client="pgJDBC", operation="cancel")
def test_jdbc_statement_cancel_stops_the_query_in_its_source(jdbc, server):
    state, seconds = jdbc["cancel"].split(":")
    assert state == "57014" and int(seconds) < 10  # query_canceled, about 1.5 s after the start
    assert jdbc["cancel_then"] == "[2]"
    server.wait_until_idle()  # SQLite would still be counting towards 10^12 had the cancel not reached it


@pytest.mark.compat(client="pgJDBC", operation="timeout")
def test_jdbc_query_timeout_stops_the_query_in_its_source(jdbc, server):
    state, seconds = jdbc["timeout"].split(":")
    assert state == "57014" and int(seconds) < 10
    assert jdbc["timeout_then"] == "[2]"
    server.wait_until_idle()


@pytest.mark.compat(client="psqlODBC", operation="connect")
@pytest.mark.compat(client="psqlODBC", operation="tables")
@pytest.mark.compat(client="psqlODBC", operation="columns")
@pytest.mark.compat(client="psqlODBC", operation="keys")
@pytest.mark.compat(client="psqlODBC", operation="parameters")
def test_psqlodbc_catalog_functions_as_power_bi_calls_them(server):
    import pyodbc

    assert "PostgreSQL Unicode" in odbc_drivers(), "psqlODBC is missing: apt-get install odbc-postgresql"
    connection = pyodbc.connect(
        f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={server.port};Database=c360;Uid=tester;Pwd=;", timeout=30
    )
    try:
        cursor = connection.cursor()
        assert {row.table_name for row in cursor.tables(schema="shop", tableType="TABLE")} >= {"orders", "products"}
        assert [row.table_name for row in cursor.tables(schema="c360", tableType="VIEW")] == ["paid_orders"]
        columns = [(row.column_name, row.type_name) for row in cursor.columns(table="products", schema="shop")]
        assert columns == [("product_id", "int8"), ("sku", "text"), ("name", "text")]
        assert [(row.column_name, row.key_seq, row.pk_name) for row in cursor.primaryKeys("products", schema="shop")] \
            == [("product_id", 1, "products_pkey")]
        statistics = [(row.index_name, row.column_name) for row in cursor.statistics("products", schema="shop")
                      if row.index_name]
        assert ("products_pkey", "product_id") in statistics and ("products_name_sku_idx", "sku") in statistics
        assert cursor.execute("SELECT name FROM shop.customers WHERE customer_id = ?", 43).fetchall()[0][0] == "Bob"
    finally:
        connection.close()


@pytest.mark.compat(client="psycopg2", operation="connect")
@pytest.mark.compat(client="psycopg2", operation="parameters")
@pytest.mark.compat(client="psycopg2", operation="paging")
def test_psycopg2_queries_with_parameters_and_a_named_cursor(server):
    import psycopg2

    connection = psycopg2.connect(server.dsn())
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT order_id FROM shop.orders WHERE status = ANY(%s) ORDER BY 1", (["paid"],))
        assert cursor.fetchall() == [(1,), (4,)]
        named = connection.cursor("pages")  # DECLARE ... CURSOR, FETCH FORWARD itersize
        named.itersize = 5000
        named.execute("SELECT n FROM shop.nums")
        assert sum(1 for _ in named) == NUMS_ROWS
    finally:
        connection.close()


def _asyncpg(server, sql: str, *args):
    import asyncpg

    async def run():
        connection = await asyncpg.connect(host="127.0.0.1", port=server.port, user="tester", database="c360")
        try:
            return [tuple(row) for row in await connection.fetch(sql, *args)]
        finally:
            await connection.close()

    return asyncio.run(run())


@pytest.mark.compat(client="asyncpg", operation="connect")
@pytest.mark.compat(client="asyncpg", operation="parameters")
def test_asyncpg_prepares_and_binds_binary_parameters_typed_from_the_query(server):
    # asyncpg sends 42 as binary int8 because Describe said $1 is customer_id's type (bigint)
    rows = _asyncpg(server, "SELECT order_id, amount FROM shop.orders WHERE customer_id = $1 ORDER BY 1", 42)
    assert [r[0] for r in rows] == [1, 3]
    assert _asyncpg(server, "SELECT count(*) FROM shop.products") == [(2,)]


def test_asyncpg_binds_an_array_parameter(server):
    assert _asyncpg(server, "SELECT order_id FROM shop.orders WHERE order_id = ANY($1::int[]) ORDER BY 1", [1, 3]) \
        == [(1,), (3,)]
    assert _asyncpg(server, "SELECT order_id FROM shop.orders WHERE status = ANY($1::text[]) ORDER BY 1", ["paid"]) \
        == [(1,), (4,)]
    assert _asyncpg(server, "SELECT order_id FROM shop.orders WHERE customer_id = ANY($1) ORDER BY 1", [43, 44]) \
        == [(2,), (4,)]


def test_an_any_over_a_null_array_parameter_is_null_as_in_postgresql(server):
    """asyncpg describes a statement by running it with NULL parameters: ``= ANY($1::int[])`` must describe."""
    import psycopg

    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        for sql in ("SELECT order_id FROM shop.orders WHERE order_id = ANY(%s::int[])",
                    "SELECT order_id FROM shop.orders WHERE order_id = ANY(%s)"):
            cursor = connection.execute(sql, [None])
            assert [d.name for d in cursor.description] == ["order_id"] and cursor.fetchall() == []


def test_emulated_oid_columns_are_sent_as_oid_and_their_aggregates_as_oid_arrays(server):
    """asyncpg's type introspection aggregates pg_attribute.atttypid; an int8[] there made it introspect int8[]
    with the same query, for ever."""
    import psycopg

    sql = ("SELECT a.atttypid, array_agg(a.atttypid ORDER BY a.attnum) AS types FROM pg_catalog.pg_attribute a "
           "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid WHERE c.relname = 'products' AND a.attnum > 0 "
           "GROUP BY 1 ORDER BY 1")
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        for binary in (False, True):
            cursor = connection.cursor(binary=binary)
            rows = cursor.execute(sql).fetchall()
            assert [d.type_code for d in cursor.description] == [26, 1028]
            assert rows == [(20, [20]), (25, [25, 25])]


@pytest.mark.compat(client="pg8000", operation="connect")
@pytest.mark.compat(client="pg8000", operation="parameters")
def test_pg8000_native_and_dbapi(server):
    import pg8000.dbapi
    import pg8000.native

    native = pg8000.native.Connection("tester", host="127.0.0.1", port=server.port, database="c360")
    try:
        assert native.run("SELECT name FROM shop.customers WHERE customer_id = :id", id=44) == [["Cy"]]
    finally:
        native.close()
    connection = pg8000.dbapi.connect("tester", host="127.0.0.1", port=server.port, database="c360")
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT count(*) FROM shop.orders WHERE status = %s", ("paid",))
        assert [tuple(row) for row in cursor.fetchall()] == [(2,)]
        cursor.execute("SELECT count(*), 1 + 1 FROM shop.orders")
        assert [d[0] for d in cursor.description] == ["count", "?column?"]
    finally:
        connection.close()


@pytest.mark.compat(client="SQLAlchemy", operation="connect")
@pytest.mark.compat(client="SQLAlchemy", operation="keys")
@pytest.mark.compat(client="SQLAlchemy", operation="preview")
def test_sqlalchemy_reflects_every_inspector_method_and_pandas_reads_a_table(server):
    import pandas as pd
    import sqlalchemy as sa

    engine = sa.create_engine(f"postgresql+psycopg://tester@127.0.0.1:{server.port}/c360")
    try:
        inspector = sa.inspect(engine)
        assert {"shop", "c360"} <= set(inspector.get_schema_names())
        assert inspector.get_pk_constraint("products", schema="shop")["constrained_columns"] == ["product_id"]
        indexes = inspector.get_indexes("products", schema="shop")
        assert [(i["name"], i["column_names"], i["unique"]) for i in indexes] == [
            ("products_name_sku_idx", ["name", "sku"], False)]
        assert inspector.get_foreign_keys("products", schema="shop") == []
        assert inspector.get_unique_constraints("products", schema="shop") == []
        assert inspector.get_check_constraints("products", schema="shop") == []
        assert inspector.get_table_comment("products", schema="shop") == {"text": None}
        assert inspector.get_view_names(schema="c360") == ["paid_orders"]
        assert "status = 'paid'" in inspector.get_view_definition("paid_orders", schema="c360")
        assert inspector.get_table_comment("paid_orders", schema="c360") == {"text": "Orders that were paid"}
        assert inspector.has_table("orders", schema="shop") and inspector.has_schema("shop")
        assert inspector.get_sequence_names(schema="shop") == [] and inspector.get_enums(schema="shop") == []
        assert inspector.get_materialized_view_names(schema="shop") == []
        assert inspector.get_multi_pk_constraint(schema="shop")[("shop", "products")]["name"] == "products_pkey"
        metadata = sa.MetaData()
        metadata.reflect(engine, schema="shop")
        assert metadata.tables["shop.products"].primary_key.columns.keys() == ["product_id"]
        orders = sa.Table("orders", sa.MetaData(), schema="shop", autoload_with=engine)
        with engine.connect() as connection:
            statement = sa.select(orders.c.status, sa.func.count()).group_by(orders.c.status).order_by(orders.c.status)
            assert connection.execute(statement).fetchall() == [("CANCELLED", 1), ("paid", 2), (None, 1)]
        frame = pd.read_sql_table("orders", engine, schema="shop")
        assert frame.shape == (4, 5) and list(frame.columns)[0] == "order_id"
    finally:
        engine.dispose()


@pytest.mark.compat(client="psycopg3", operation="connect")
@pytest.mark.compat(client="psycopg3", operation="parameters")
@pytest.mark.parametrize("dsn_options", [{}, {"sslmode": "disable"}])
def test_psycopg3_server_side_binding_of_a_list(server, dsn_options):
    import psycopg

    with psycopg.connect(server.dsn(**dsn_options), autocommit=True) as connection:
        rows = connection.execute("SELECT name FROM shop.customers WHERE customer_id = ANY(%s) ORDER BY 1",
                                  ([42, 45],)).fetchall()
        assert rows == [("Ann",), ("Dee",)]


@pytest.mark.compat(client="pgcli", operation="connect")
@pytest.mark.compat(client="pgcli", operation="schemas")
@pytest.mark.compat(client="pgcli", operation="tables")
@pytest.mark.compat(client="pgcli", operation="columns")
@pytest.mark.compat(client="pgcli", operation="keys")
def test_pgcli_backslash_commands_and_completion_refresh(server):
    """pgcli's own code (pgcli.pgexecute and pgspecial): the queries its completer refreshes with, and \\dt, \\d,
    \\dv, \\di, \\dn, \\df as pgspecial sends them."""
    from pgcli.pgexecute import PGExecute
    from pgspecial.main import PGSpecial

    executor = PGExecute("c360", "tester", None, "127.0.0.1", server.port, None)
    try:
        assert {"shop", "c360"} <= set(executor.schemata())
        assert ("shop", "products") in list(executor.tables()) and list(executor.views()) == [("c360", "paid_orders")]
        assert ("shop", "products", "sku", "text", False, None) in list(executor.table_columns())
        assert list(executor.view_columns())[0][:3] == ("c360", "paid_orders", "order_id")
        list(executor.functions()), list(executor.datatypes()), list(executor.foreignkeys())  # noqa: B018 - must not raise
        special = PGSpecial()
        results = {command: list(executor.run(command, pgspecial=special))[0]
                   for command in (r"\dt shop.*", r"\d shop.products", r"\dv c360.*", r"\di shop.*", r"\dn", r"\df")}
        assert [row[1] for row in results[r"\dt shop.*"][1]] == ["customers", "nums", "orders", "products", "slow_counter"]
        assert '"products_pkey" PRIMARY KEY, btree (product_id)' in results[r"\d shop.products"][3]
        assert [row[1] for row in results[r"\dv c360.*"][1]] == ["paid_orders"]
        assert [row[1] for row in results[r"\di shop.*"][1]] == ["products_name_sku_idx", "products_pkey"]
        assert "shop" in [row[0] for row in results[r"\dn"][1]]
    finally:
        executor.conn.close()


@pytest.mark.compat(client="psqlODBC", operation="schemas")
@pytest.mark.compat(client="psqlODBC", operation="preview")
def test_psqlodbc_lists_schemas_and_previews_a_table(server):
    import pyodbc

    connection = pyodbc.connect(
        f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={server.port};Database=c360;Uid=tester;Pwd=;", timeout=30
    )
    try:
        cursor = connection.cursor()
        schemas = {row.table_schem for row in cursor.tables(catalog="", schema="%", table="")}  # SQL_ALL_SCHEMAS
        assert {"shop", "c360"} <= schemas
        rows = cursor.execute("SELECT * FROM shop.products LIMIT 100").fetchall()
        assert [tuple(row) for row in rows] == [(1, "A-1", "Apple"), (2, "B-2", "Banana")]
    finally:
        connection.close()


@pytest.mark.compat(client="psqlODBC", operation="paging")
def test_psqlodbc_declare_fetch_pages_a_result(server):
    """``UseDeclareFetch=1``: psqlODBC reads a result through a cursor, ``Fetch`` rows at a time."""
    import pyodbc

    connection = pyodbc.connect(
        f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={server.port};Database=c360;Uid=tester;Pwd=;"
        "UseDeclareFetch=1;Fetch=1000;", timeout=30
    )
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT n FROM shop.nums ORDER BY n")
        count = total = 0
        while batch := cursor.fetchmany(777):
            count += len(batch)
            total += sum(row[0] for row in batch)
        assert (count, total) == (NUMS_ROWS, NUMS_ROWS * (NUMS_ROWS - 1) // 2)
    finally:
        connection.close()


@pytest.mark.compat(client="SQLAlchemy", operation="paging")
@pytest.mark.compat(client="SQLAlchemy", operation="timeout")
def test_sqlalchemy_streams_results_and_takes_a_statement_timeout(server):
    import psycopg
    import sqlalchemy as sa

    from tests.server.conftest import SLOW_SOURCE_QUERY, STATEMENT_TIMEOUT_MS

    with psycopg.connect(server.dsn(), autocommit=True) as warm:  # the server's system catalog is built
        warm.execute("SELECT pg_catalog.version()")
    engine = sa.create_engine(f"postgresql+psycopg://tester@127.0.0.1:{server.port}/c360",
                              connect_args={"options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"})
    try:
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True).execute(sa.text("SELECT n FROM shop.nums"))
            assert isinstance(result.cursor, psycopg.ServerCursor)  # DECLARE ... CURSOR, FETCH FORWARD n
            assert sum(len(partition) for partition in result.partitions(1000)) == NUMS_ROWS
        with engine.connect() as connection:
            with pytest.raises(sa.exc.OperationalError, match="statement timeout"):
                connection.execute(sa.text(SLOW_SOURCE_QUERY))
        server.wait_until_idle()
    finally:
        engine.dispose()
