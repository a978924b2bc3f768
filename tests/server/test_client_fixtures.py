"""Start-up and introspection statements real clients send, written down from their public sources
(``tests/server/fixtures/clients/*.sql``, each saying where it came from) and replayed as the client sends
them: one simple-query message. Every statement must answer without an error, and with what the client
needs from the answer, except one marked ``-- expect error: SQLSTATE`` on the line above it: a statement the
client sends knowing it may fail (Tableau's temp-table check), which c360 refuses with that SQLSTATE."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server import wire

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "clients").glob("*.sql"))


_EXPECT = re.compile(r"--\s*expect error:\s*(\w{5})\s*$")


def _replay(server, path: Path) -> list[tuple[bytes, bytes]]:
    client = wire.Wire(server.port)
    try:
        client.startup()
        return client.query(path.read_text())
    finally:
        client.close()


def _messages(path: Path) -> list[tuple[str, str | None]]:
    """The fixture as the simple-query messages a client sends: the statements between two expected failures
    together (PostgreSQL skips the rest of a message after an error), each expected failure alone with its
    SQLSTATE. A fixture with no expected failure is one message, as written (its comments too)."""
    statements = _statements(path)
    if all(sqlstate is None for _, sqlstate in statements):
        return [(path.read_text(), None)]
    messages, batch = [], []
    for statement, sqlstate in statements:
        if sqlstate is None:
            batch.append(statement)
            continue
        if batch:
            messages.append(("\n\n".join(batch), None))
            batch = []
        messages.append((statement, sqlstate))
    if batch:
        messages.append(("\n\n".join(batch), None))
    return messages


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_a_client_start_up_sequence_answers_without_an_error(server, path):
    client = wire.Wire(server.port)
    try:
        client.startup()
        for text, sqlstate in _messages(path):
            messages = client.query(text)
            errors = [wire.error_fields(body) for kind, body in messages if kind == b"E"]
            if sqlstate is None:
                assert errors == []
                statements = sum(1 for line in text.splitlines() if line.rstrip().endswith(";"))
                assert [kind for kind, _ in messages].count(b"C") == statements
            else:
                assert [error["C"] for error in errors] == [sqlstate], text
    finally:
        client.close()


def test_npgsql_type_loading_gives_each_array_its_element_first(server):
    """Npgsql resolves an array's element by OID from the rows before it; a missing one fails the connection."""
    rows = [r for r in wire.data_rows(_replay(server, FIXTURES[0].parent / "npgsql_load_types.sql")) if len(r) == 6]
    seen, arrays = set(), 0
    for _namespace, oid, name, typtype, _notnull, element in rows:
        if typtype == "a":
            assert element in seen, f"array {name} comes before its element {element}"
            arrays += 1
        seen.add(oid)
    assert {"int8", "text", "numeric", "timestamp"} <= {r[2] for r in rows} and arrays >= 10


def _statements(path: Path) -> list[tuple[str, str | None]]:
    """The fixture's statements, each ending with a line that ends in ``;`` (comment lines left out), with the
    SQLSTATE a ``-- expect error: SQLSTATE`` line above it names (None: it must succeed)."""
    statements, lines, expected = [], [], None
    for line in path.read_text().splitlines():
        marker = _EXPECT.match(line.strip())
        if marker:
            expected = marker.group(1)
            continue
        if lines or not line.startswith("--"):
            lines.append(line)
        if line.rstrip().endswith(";"):
            statement = "\n".join(lines).strip()
            if statement:
                statements.append((statement, expected))
            lines, expected = [], None
    return statements


def _replay_each(server, path: Path) -> tuple[list[list[tuple] | None], list[str]]:
    """Every statement of a fixture through psycopg, one at a time: the rows of each and the errors (a marked
    statement that fails with its SQLSTATE is not an error; one that succeeds or fails otherwise is)."""
    import psycopg

    results, errors = [], []
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        for statement, sqlstate in _statements(path):
            try:
                cursor = connection.execute(statement)
                results.append(cursor.fetchall() if cursor.description else None)
                if sqlstate is not None:
                    errors.append(f"expected SQLSTATE {sqlstate}, it succeeded: {statement[:120]}")
            except psycopg.Error as error:
                results.append(None)
                if error.sqlstate != sqlstate:
                    errors.append(f"{error.sqlstate} {error.diag.message_primary} in: {statement[:120]}")
    return results, errors


CLIENT_SEQUENCES = [p for p in FIXTURES if p.stem != "npgsql_load_types"]


@pytest.mark.parametrize("path", CLIENT_SEQUENCES, ids=[p.stem for p in CLIENT_SEQUENCES])
def test_each_statement_of_a_client_sequence_answers_through_psycopg(server, path):
    _results, errors = _replay_each(server, path)
    assert errors == []


def test_metabase_sync_finds_tables_with_descriptions_row_estimates_columns_keys_and_indexes(server):
    _tz, _enums, tables, fields, fks, indexes = _replay_each(server, FIXTURES[0].parent / "metabase_sync.sql")[0]
    by_name = {(schema, name): (kind, description, rows) for schema, name, kind, description, rows in tables}
    assert by_name[("c360", "paid_orders")][:2] == ("VIEW", "Orders that were paid")
    kind, _description, estimate = by_name[("shop", "orders")]
    assert kind == "TABLE" and isinstance(estimate, int)  # SQLite keeps no row estimate: 0, as an unanalysed table
    assert ("shop", "products") in by_name and all(schema in ("c360", "shop") for schema, _ in by_name)
    products = [(f[0], f[1], f[2], f[5]) for f in fields if f[3:5] == ("shop", "products")]
    assert products == [("product_id", "int8", 0, True), ("sku", "text", 1, False), ("name", "text", 2, False)]
    assert fks == []
    assert sorted(indexes) == [("shop", "products", "name"), ("shop", "products", "product_id")]


def test_grafana_pickers_list_schemas_tables_and_columns(server):
    results = _replay_each(server, FIXTURES[0].parent / "grafana_postgres_datasource.sql")[0]
    version, _timescale, schemas, tables, shop_tables, orders_columns, _unqualified = results
    assert version[0][0] >= 1000
    assert {"c360", "shop"} <= {row[0] for row in schemas}
    assert "shop.orders" in {row[0] for row in tables} and "c360.paid_orders" in {row[0] for row in tables}
    assert [row[0] for row in shop_tables] == ["customers", "nums", "orders", "products", "slow_counter"]
    assert [row[0] for row in orders_columns] == ["order_id", "customer_id", "amount", "order_ts", "status"]


def test_superset_lists_tables_and_views_and_runs_a_time_filtered_chart_query(server):
    results = _replay_each(server, FIXTURES[0].parent / "superset_postgres.sql")[0]
    assert results[4] == [("c360",)]
    assert {"c360", "shop"} <= {row[0] for row in results[5]}
    assert sorted(row[0] for row in results[6]) == ["customers", "nums", "orders", "products", "slow_counter"]
    assert results[7] == [] and results[8] == [("paid_orders",)]
    assert sorted((row[0].month, row[1]) for row in results[10]) == [(1, 1), (2, 1)]
    assert results[11] == [(43, "Bob"), (45, "Dee")]


def test_dbeaver_navigator_shows_schemas_types_tables_indexes_and_the_primary_key(server):
    results = _replay_each(server, FIXTURES[0].parent / "dbeaver_navigator.sql")[0]
    assert {"c360", "shop", "pg_catalog"} <= {row[2] for row in results[4]}
    assert len(results[14]) > 20  # data types
    assert {"orders", "products"} <= {row[2] for row in results[15]}
    index_names = {row[-10] for row in results[17]}
    assert index_names == {"products_pkey", "products_name_sku_idx"}
    assert [row[2] for row in results[18]] == ["products_pkey"]


def test_tableau_queries_answer_as_postgresql_does(server, postgres_shop):
    """Each statement Tableau sends that c360 answers (the metadata reads and the views' queries) gives the
    column names and rows a real PostgreSQL holding the same tables gives, in any order (Tableau sends most
    without ORDER BY)."""
    import psycopg

    from tests.server.test_postgres_sql import _normal

    def run(dsn: str, sql: str):
        with psycopg.connect(dsn, autocommit=True) as connection:
            cursor = connection.execute(sql)
            rows = [tuple(_normal(value) for value in row) for row in cursor.fetchall()]
            return [d.name for d in cursor.description], sorted(rows, key=repr)

    oracle = postgres_shop + " options='-c search_path=shop -c TimeZone=UTC'"
    queries = [sql for sql, sqlstate in _statements(FIXTURES[0].parent / "tableau_postgres.sql") if sqlstate is None]
    assert len(queries) >= 10
    for sql in queries:
        assert run(server.dsn(), sql) == run(oracle, sql), sql


def test_tableau_statements_through_the_jdbc_driver_answer_as_postgresql_does(server, postgres_shop):
    """Tableau's postgres_jdbc connector sends its statements through the PostgreSQL JDBC driver: replayed
    through it (tests/server/clients/JdbcReplay.java), each gives PostgreSQL's column labels and rows as the
    driver reads them, and each marked statement fails with its SQLSTATE."""
    from tests.server.test_drivers import CLIENTS, JDBC_JAR

    assert JDBC_JAR.is_file(), "the PostgreSQL JDBC driver is missing: apt-get install libpostgresql-jdbc-java"
    assert shutil.which("java"), "java is missing: apt-get install openjdk-17-jre-headless"
    statements = _statements(FIXTURES[0].parent / "tableau_postgres.sql")
    stdin = "\n--@@\n".join(sql.rstrip(";") for sql, _ in statements)

    def replay(url: str, user: str) -> list[list[str]]:
        done = subprocess.run(
            ["java", "-cp", str(JDBC_JAR), str(CLIENTS / "JdbcReplay.java"), url, user],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=240,
            env={**os.environ, "TZ": "UTC"},
        )
        assert done.returncode == 0, done.stderr
        return [line.split("\t") for line in done.stdout.splitlines()]

    database = re.search(r"dbname=(\S+)", postgres_shop).group(1)
    found = replay(f"jdbc:postgresql://127.0.0.1:{server.port}/c360", "tester")
    expected = replay(f"jdbc:postgresql://127.0.0.1:5432/{database}?currentSchema=shop", "postgres")
    assert len(found) == len(expected) == len(statements)
    for (sql, sqlstate), ours, theirs in zip(statements, found, expected):
        if sqlstate is None:
            assert ours == theirs, sql
        else:
            assert ours == ["error", sqlstate], sql
