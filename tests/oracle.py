"""The oracle: the same SQL on the same data in a local DuckDB, compared with c360's answer.

:func:`build_world` loads one small, deliberately awkward dataset into every kind
of source (MariaDB, PostgreSQL through ODBC, SQLite, JSON files, Azurite), plus a
``timid`` source (:class:`TimidConnector`: the SQLite file behind a connector that
claims no capability), and into an in-process DuckDB with the same
``source.table`` names. :func:`check`
runs a query through both and compares the rows (order-insensitive unless the
query orders them). Strings that differ only in case or trailing spaces are in
the data on purpose: MariaDB would call them equal, DuckDB (and so c360) must not.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import os
import random
import sqlite3
import textwrap
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import sqlglot

import c360
from connectors import KINDS
from connectors.base import Capabilities
from connectors.sqlite import SqliteConnector

CITIES = ["Seattle", "seattle", "Portland", "Portland  ", "Austin", None]
CHANNELS = ["web", "WEB", "store", "store  ", "app", None]
STATUSES = ["paid", "cancelled", "returned", "PAID"]
CATEGORIES = ["Technology", "Apparel", "Cosmetics"]


def _customers() -> pa.Table:
    rng = random.Random(7)
    rows = []
    for i in range(1, 41):
        rows.append({
            "customer_id": i,
            "first_name": rng.choice(["Ann", "ann", "Bob", "Cy", "Dee", "Émile"]),
            "email": None if i % 9 == 0 else f"{'User' if i % 2 else 'user'}{i}@Example.com",
            "city": CITIES[i % len(CITIES)],
            "birth_date": dt.date(1960 + i % 40, 1 + i % 12, 1 + i % 28),
            "income": None if i % 11 == 0 else decimal.Decimal(f"{20000 + i * 1234.5:.2f}"),
            "opt_in": i % 3 == 0,
        })
    schema = pa.schema([("customer_id", pa.int64()), ("first_name", pa.string()), ("email", pa.string()),
                        ("city", pa.string()), ("birth_date", pa.date32()), ("income", pa.decimal128(12, 2)),
                        ("opt_in", pa.bool_())])
    return pa.Table.from_pylist(rows, schema=schema)


def _orders() -> pa.Table:
    rng = random.Random(11)
    rows = []
    for i in range(1, 151):
        rows.append({
            "order_id": i,
            "customer_id": rng.randint(1, 45),  # some customers unknown to the CRM, some without orders
            "order_ts": dt.datetime(2026, 1, 1) + dt.timedelta(hours=rng.randint(0, 24 * 300)),
            "channel": rng.choice(CHANNELS),
            "status": rng.choice(STATUSES),
            "total": None if i % 17 == 0 else decimal.Decimal(f"{rng.uniform(1, 500):.2f}"),
        })
    schema = pa.schema([("order_id", pa.int64()), ("customer_id", pa.int64()), ("order_ts", pa.timestamp("us")),
                        ("channel", pa.string()), ("status", pa.string()), ("total", pa.decimal128(10, 2))])
    return pa.Table.from_pylist(rows, schema=schema)


def _products() -> pa.Table:
    rows = [{"product_id": i, "name": f"Product {i}", "category": CATEGORIES[i % 3],
             "list_price": decimal.Decimal(f"{5 + i * 3.25:.2f}")} for i in range(1, 13)]
    schema = pa.schema([("product_id", pa.int64()), ("name", pa.string()), ("category", pa.string()),
                        ("list_price", pa.decimal128(10, 2))])
    return pa.Table.from_pylist(rows, schema=schema)


def _order_items() -> pa.Table:
    rng = random.Random(13)
    rows = []
    for order_id in range(1, 151):
        for line in range(1, rng.randint(1, 3) + 1):
            rows.append({"order_id": order_id, "line_no": line, "product_id": rng.randint(1, 12),
                         "quantity": rng.randint(1, 4), "unit_price": decimal.Decimal(f"{rng.uniform(2, 90):.2f}")})
    schema = pa.schema([("order_id", pa.int64()), ("line_no", pa.int64()), ("product_id", pa.int64()),
                        ("quantity", pa.int64()), ("unit_price", pa.decimal128(10, 2))])
    return pa.Table.from_pylist(rows, schema=schema)


def _regions() -> pa.Table:
    return pa.table({"city": ["Seattle", "Portland", "Austin", "seattle", "Boston"],
                     "region": ["West", "West", "South", "west-lower", None],
                     "population": pa.array([737, 652, 961, None, 675], pa.int64()),
                     "founded": pa.array([dt.date(1851, 11, 13), dt.date(1845, 1, 1), dt.date(1839, 12, 27),
                                          None, dt.date(1630, 9, 17)], pa.date32())})


def _enrichment() -> pa.Table:
    rng = random.Random(17)
    rows = []
    for i in range(1, 41):
        if i % 4 == 0:
            continue  # absent from the partner files
        rows.append({
            "customer_id": i,
            "interests": rng.sample(["running", "tech", "beauty", "fashion"], k=rng.randint(0, 3)),
            "social": {"followers": rng.randint(0, 5000), "sentiment": round(rng.uniform(-1, 1), 3)},
            "nps": None if i % 3 else rng.randint(0, 10),
        })
    schema = pa.schema([("customer_id", pa.int64()), ("interests", pa.list_(pa.string())),
                        ("social", pa.struct([("followers", pa.int64()), ("sentiment", pa.float64())])),
                        ("nps", pa.int64())])
    return pa.Table.from_pylist(rows, schema=schema)


def _browsing() -> pa.Table:
    rng = random.Random(19)
    rows = []
    start = dt.datetime(2026, 11, 1, 8)
    for hour in range(6):
        for _ in range(12):
            window = start + dt.timedelta(hours=hour, minutes=rng.randint(0, 59))
            rows.append({"window_start": window, "customer_id": rng.randint(1, 40),
                         "category": rng.choice(CATEGORIES), "page_views": rng.randint(1, 20),
                         "seconds": float(rng.randint(5, 900))})
    schema = pa.schema([("window_start", pa.timestamp("us")), ("customer_id", pa.int64()),
                        ("category", pa.string()), ("page_views", pa.int64()), ("seconds", pa.float64())])
    return pa.Table.from_pylist(rows, schema=schema)


TABLES = {
    "crm.customers": _customers,
    "shop.orders": _orders,
    "shop.products": _products,
    "shop.order_items": _order_items,
    "local.regions": _regions,
    "partners.enrichment": _enrichment,
    "clicks.browsing": _browsing,
}

_MYSQL_TYPES = {"int64": "BIGINT", "string": "VARCHAR(100)", "timestamp[us]": "DATETIME", "date32[day]": "DATE",
                "bool": "BOOLEAN", "double": "DOUBLE"}
_PG_TYPES = {"int64": "BIGINT", "string": "VARCHAR(100)", "timestamp[us]": "TIMESTAMP", "date32[day]": "DATE",
             "bool": "BOOLEAN", "double": "DOUBLE PRECISION"}


#: keys of the world's tables, as a shop database would declare them (the planner joins in MariaDB only
#: along an index)
KEYS = {"orders": "PRIMARY KEY (order_id), KEY (customer_id)", "order_items": "PRIMARY KEY (order_id, line_no), "
        "KEY (product_id)", "products": "PRIMARY KEY (product_id)", "customers": "PRIMARY KEY (customer_id)"}


def _ddl(name: str, table: pa.Table, types: dict) -> str:
    columns = []
    for field in table.schema:
        if pa.types.is_decimal(field.type):
            sql_type = f"DECIMAL({field.type.precision},{field.type.scale})"
        else:
            sql_type = types[str(field.type)]
        columns.append(f"{field.name} {sql_type}")
    if name in KEYS:
        columns.append(KEYS[name] if types is _MYSQL_TYPES else KEYS[name].split(", KEY")[0].replace(", KEY", ""))
    return f"CREATE TABLE {name} ({', '.join(columns)})"


def _rows(table: pa.Table) -> list[tuple]:
    return [tuple(row.values()) for row in table.to_pylist()]


class TimidConnector(SqliteConnector):
    """SQLite behind a connector that claims nothing: the planner may ask it for columns and nothing else."""

    kind = "timid"
    capabilities = Capabilities()


@dataclass
class World:
    catalog: Path
    oracle: duckdb.DuckDBPyConnection
    connection: object

    def c360(self, sql: str, params=None):
        cursor = self.connection.cursor()
        cursor.execute(sql, params)
        table = cursor.fetch_arrow()
        return table, cursor.scans

    def expected(self, sql: str, params=None) -> pa.Table:
        result = self.oracle.execute(sql, params or []).arrow()
        return result.read_all() if isinstance(result, pa.RecordBatchReader) else result


def build_world(root: Path, *, mariadb, postgres_odbc, azurite) -> World:
    data = {name: make() for name, make in TABLES.items()}
    os.environ["C360_ORACLE_MYSQL_PASSWORD"] = mariadb.password
    os.environ["C360_ORACLE_PG_PASSWORD"] = postgres_odbc.password
    os.environ["C360_ORACLE_BLOB"] = azurite.connection_string

    for name in ("shop.orders", "shop.products", "shop.order_items"):
        table_name = name.split(".")[1]
        mariadb.execute(f"DROP TABLE IF EXISTS {table_name}", _ddl(table_name, data[name], _MYSQL_TYPES))
        connection = mariadb.connect()
        with connection.cursor() as cursor:
            columns = ", ".join(["%s"] * data[name].num_columns)
            cursor.executemany(f"INSERT INTO {table_name} VALUES ({columns})", _rows(data[name]))
        connection.close()

    postgres_odbc.execute("DROP TABLE IF EXISTS customers", _ddl("customers", data["crm.customers"], _PG_TYPES))
    with postgres_odbc.connect() as connection:
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO customers VALUES (%s, %s, %s, %s, %s, %s, %s)",
                               _rows(data["crm.customers"]))

    sqlite_path = root / "local.sqlite"
    connection = sqlite3.connect(sqlite_path)
    connection.execute("CREATE TABLE regions (city VARCHAR(50), region VARCHAR(50), population BIGINT, founded DATE)")
    connection.executemany("INSERT INTO regions VALUES (?, ?, ?, ?)",
                           [(c, r, p, f.isoformat() if f else None) for c, r, p, f in _rows(data["local.regions"])])
    connection.commit()
    connection.close()

    partners = root / "partners"
    partners.mkdir()
    rows = data["partners.enrichment"].to_pylist()
    half = len(rows) // 2
    (partners / "part-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:half]))
    (partners / "part-2.json").write_text(json.dumps(rows[half:]))  # an array file

    container = azurite.new_container("oracle")
    service = azurite.service()
    browsing = data["clicks.browsing"]
    for hour in sorted({ts.replace(minute=0) for ts in browsing.column("window_start").to_pylist()}):
        part = [r for r in browsing.to_pylist() if r["window_start"].replace(minute=0) == hour]
        body = "".join(json.dumps({**r, "window_start": r["window_start"].isoformat(sep=" ")}) + "\n" for r in part)
        blob = f"aggregates/{hour:%Y/%m/%d/%H}/part-0.jsonl"
        service.get_blob_client(container, blob).upload_blob(io.BytesIO(body.encode()), overwrite=True)

    catalog = root / "catalog"
    catalog.mkdir()
    (catalog / "world.yaml").write_text(textwrap.dedent(f"""
        sources:
          shop:
            kind: mysql
            host: {mariadb.host}
            port: {mariadb.port}
            user: {mariadb.user}
            password: ${{ENV:C360_ORACLE_MYSQL_PASSWORD}}
            database: {mariadb.database}
          crm:
            kind: odbc
            dialect: postgres
            schema: public
            connection_string: "{postgres_odbc.connection_string('${ENV:C360_ORACLE_PG_PASSWORD}')}"
          local:
            kind: sqlite
            path: ../local.sqlite
          timid:
            kind: timid
            path: ../local.sqlite
          partners:
            kind: json
            path: ../partners
            tables:
              enrichment:
                files: ["*.jsonl", "*.json"]
                columns:
                  customer_id: BIGINT
                  interests: "VARCHAR[]"
                  social: "STRUCT(followers BIGINT, sentiment DOUBLE)"
                  nps: BIGINT
          clicks:
            kind: blob
            connection_string: ${{ENV:C360_ORACLE_BLOB}}
            container: {container}
            prefix: aggregates/
            tables:
              browsing:
                format: jsonl
                partitioning: {{template: "{{yyyy}}/{{MM}}/{{dd}}/{{HH}}/", column: partition_hour}}
                columns:
                  window_start: TIMESTAMP
                  customer_id: BIGINT
                  category: VARCHAR
                  page_views: BIGINT
                  seconds: DOUBLE
    """))

    oracle = duckdb.connect()
    data["timid.regions"] = data["local.regions"]
    for name, table in data.items():
        schema, table_name = name.split(".")
        oracle.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        oracle.register("incoming", table)
        if name == "clicks.browsing":
            oracle.execute(f"CREATE TABLE {name} AS SELECT *, date_trunc('hour', window_start) AS partition_hour "
                           "FROM incoming")
        else:
            oracle.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
        oracle.unregister("incoming")
    with pytest.MonkeyPatch.context() as patch:  # the kind exists only while this catalog loads
        patch.setitem(KINDS, TimidConnector.kind, f"{__name__}:{TimidConnector.__name__}")
        connection = c360.connect(catalog)
    return World(catalog, oracle, connection)


def _normal(value):
    if isinstance(value, (decimal.Decimal, float)):
        return round(float(value), 6)
    if isinstance(value, list):
        return tuple(_normal(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _normal(v)) for k, v in value.items()))
    return value


def rows(table: pa.Table) -> list[tuple]:
    return [tuple(_normal(v) for v in row.values()) for row in table.to_pylist()]


def check(world: World, sql: str, params=None, *, ordered: bool | None = None):
    """Run ``sql`` through c360 and the oracle; assert equal rows. Returns c360's scans."""
    got, scans = world.c360(sql, params)
    expected = world.expected(sql, params)
    if ordered is None:
        ordered = sqlglot.parse_one(sql, read="duckdb").args.get("order") is not None
    got_rows, expected_rows = rows(got), rows(expected)
    if not ordered:
        got_rows, expected_rows = sorted(got_rows, key=repr), sorted(expected_rows, key=repr)
    assert got.column_names == expected.column_names
    assert got_rows == expected_rows
    return scans
