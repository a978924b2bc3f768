"""The fuzz world: awkward data in every kind of source, and the same rows in a DuckDB oracle.

Separate from :func:`tests.oracle.build_world` (whose rows many tests depend on), built with its
helpers, in databases of its own (``<session>_fuzz`` in MariaDB and PostgreSQL). The data is fixed
(one seed) and deliberately hostile to a federated planner:

* strings that differ only in case, leading or trailing spaces (``'Alice'``, ``'ALICE'``,
  ``'alice '``, ``' alice'``), the empty string, accents, and many NULLs: MariaDB's collation calls
  some of them equal, DuckDB never does;
* skewed keys (a third of the events belong to person 1), keys unknown to the other side, NULL keys;
* DECIMALs with negative values and zero, dates, timestamps, booleans, doubles with ``-0.0``
  (and ``NaN`` in PostgreSQL, the only SQL source that stores it).

:data:`SCHEMA` describes the tables for the query generator: each column's kind and which columns
join (a key *domain*).
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

import c360
from tests.oracle import _MYSQL_TYPES, _PG_TYPES, World, _ddl, _rows

#: strings that MariaDB/SQL Server collations confuse and DuckDB keeps apart
NAMES = ["Alice", "ALICE", "alice", "alice ", " alice", "Bob", "bob", "BOB ", "", "Émile", "émile", "Zoë", "o'hara",
         "50%_off", None, None, None]
CITIES = ["Paris", "paris", "PARIS ", "Lyon", " Lyon", "Nice", "", None, None]
KINDS = ["view", "VIEW", "view ", "buy", "Buy", "refund", "", None]
TIERS = ["gold", "Gold", "GOLD ", "silver", "bronze", None, None]
STATUSES = ["open", "OPEN", "open ", "closed", "pending", None]
TAGS = ["vip", "VIP", "vip ", "churn", "new", "", None]
PAGES = ["/home", "/HOME", "/cart", "/cart ", "/search?q=a%b", None]


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # int, dec, float, str, date, ts, bool
    domain: str | None = None  # join key domain: person, account, name, city
    wide: bool = False  # a sum of integers (HUGEINT in DuckDB), in a CTE or derived table


@dataclass(frozen=True)
class Table:
    source: str
    name: str
    columns: tuple[Column, ...]
    nan: frozenset = frozenset()  # float columns that hold NaN

    @property
    def qualified(self) -> str:
        return f"{self.source}.{self.name}"


def _c(spec: str) -> Column:
    parts = spec.split(":")
    return Column(parts[0], parts[1], parts[2] if len(parts) > 2 else None)


SCHEMA = (
    Table("shop", "people", tuple(map(_c, ["id:int:person", "name:str:name", "city:str:city", "grp:int",
                                           "score:dec", "born:date", "active:bool", "ratio:float"]))),
    Table("shop", "events", tuple(map(_c, ["event_id:int", "person_id:int:person", "kind:str", "amount:dec",
                                           "qty:int", "ts:ts", "flag:bool"]))),
    Table("crm", "accounts", tuple(map(_c, ["account_id:int:account", "person_id:int:person", "name:str:name",
                                            "tier:str", "balance:dec", "opened:date", "vip:bool",
                                            "weight:float"])), nan=frozenset({"weight"})),
    Table("crm", "tickets", tuple(map(_c, ["ticket_id:int", "account_id:int:account", "status:str",
                                           "priority:int", "opened_ts:ts"]))),
    Table("local", "tags", tuple(map(_c, ["person_id:int:person", "tag:str", "city:str:city", "weight:float"]))),
    Table("partners", "profiles", tuple(map(_c, ["person_id:int:person", "nickname:str:name", "segment:str",
                                                 "points:int", "rating:float"]))),
    Table("clicks", "visits", tuple(map(_c, ["visit_ts:ts", "person_id:int:person", "page:str",
                                             "seconds:float"]))),
)

_ARROW = {"int": pa.int64(), "str": pa.string(), "float": pa.float64(), "date": pa.date32(),
          "ts": pa.timestamp("us"), "bool": pa.bool_()}
_DECIMALS = {("people", "score"): (10, 2), ("events", "amount"): (12, 3), ("accounts", "balance"): (12, 2)}


def _skewed(rng: random.Random, top: int, *, nulls: float = 0.1) -> int | None:
    """A key: NULL sometimes, 1 very often, 2 often, then uniform up to ``top`` (past the known ids too)."""
    roll = rng.random()
    if roll < nulls:
        return None
    if roll < nulls + 0.3:
        return 1
    if roll < nulls + 0.45:
        return 2
    return rng.randint(3, top)


def _maybe(rng: random.Random, value, nulls: float = 0.15):
    return None if rng.random() < nulls else value


def _dec(rng: random.Random, low: float, high: float, scale: int) -> decimal.Decimal:
    special = rng.random()
    if special < 0.08:
        return decimal.Decimal(0).scaleb(-scale)
    return decimal.Decimal(f"{rng.uniform(low, high):.{scale}f}")


def _float(rng: random.Random, *, nan: bool = False) -> float | None:
    roll = rng.random()
    if roll < 0.12:
        return None
    if roll < 0.18:
        return -0.0
    if roll < 0.22:
        return 0.0
    if nan and roll < 0.27:
        return float("nan")
    return round(rng.uniform(-50, 150), rng.choice([0, 1, 3]))


def make_rows(seed: int = 2026) -> dict[str, list[dict]]:
    """The fuzz world's rows, one list of dicts per ``source.table`` (same seed, same rows)."""
    rng = random.Random(seed)
    day = dt.date(2026, 1, 1)
    moment = dt.datetime(2026, 1, 1)
    people = [{"id": i, "name": rng.choice(NAMES), "city": rng.choice(CITIES), "grp": _maybe(rng, rng.randint(0, 3)),
               "score": _maybe(rng, _dec(rng, -100, 1000, 2)),
               "born": _maybe(rng, day - dt.timedelta(rng.randint(0, 20000))),
               "active": _maybe(rng, rng.random() < 0.6), "ratio": _float(rng)} for i in range(1, 41)]
    events = [{"event_id": i, "person_id": _skewed(rng, 48), "kind": rng.choice(KINDS),
               "amount": _maybe(rng, _dec(rng, -20, 500, 3)), "qty": _maybe(rng, rng.randint(-2, 9)),
               "ts": _maybe(rng, moment + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 200)), 0.05),
               "flag": _maybe(rng, rng.random() < 0.3)} for i in range(1, 241)]
    accounts = [{"account_id": i, "person_id": _skewed(rng, 45, nulls=0.15), "name": rng.choice(NAMES),
                 "tier": rng.choice(TIERS), "balance": _maybe(rng, _dec(rng, -500, 5000, 2)),
                 "opened": _maybe(rng, day + dt.timedelta(rng.randint(-900, 300))),
                 "vip": _maybe(rng, rng.random() < 0.25), "weight": _float(rng, nan=True)} for i in range(1, 61)]
    tickets = [{"ticket_id": i, "account_id": _skewed(rng, 66), "status": rng.choice(STATUSES),
                "priority": _maybe(rng, rng.randint(0, 4)),
                "opened_ts": _maybe(rng, moment + dt.timedelta(hours=rng.randint(-2000, 4000)))}
               for i in range(1, 121)]
    tags = [{"person_id": _skewed(rng, 45), "tag": rng.choice(TAGS), "city": rng.choice(CITIES),
             "weight": _float(rng)} for _ in range(70)]
    profiles = [{"person_id": i if rng.random() < 0.9 else None, "nickname": rng.choice(NAMES),
                 "segment": rng.choice(["A", "a", "B", "b ", None]), "points": _maybe(rng, rng.randint(-10, 300)),
                 "rating": _float(rng)} for i in range(1, 51) if i % 5]
    visits = []
    start = dt.datetime(2026, 11, 1, 8)
    for hour in range(4):
        for _ in range(20):
            visits.append({"visit_ts": start + dt.timedelta(hours=hour, minutes=rng.randint(0, 59)),
                           "person_id": _skewed(rng, 45), "page": rng.choice(PAGES), "seconds": _float(rng)})
    return {"shop.people": people, "shop.events": events, "crm.accounts": accounts, "crm.tickets": tickets,
            "local.tags": tags, "partners.profiles": profiles, "clicks.visits": visits}


def _arrow(table: Table, rows: list[dict]) -> pa.Table:
    fields = []
    for column in table.columns:
        if column.kind == "dec":
            precision, scale = _DECIMALS[(table.name, column.name)]
            fields.append((column.name, pa.decimal128(precision, scale)))
        else:
            fields.append((column.name, _ARROW[column.kind]))
    return pa.Table.from_pylist(rows, schema=pa.schema(fields))


_KEYS_MYSQL = {"people": "PRIMARY KEY (id)", "events": "PRIMARY KEY (event_id), KEY (person_id)"}
_KEYS_PG = {"accounts": "PRIMARY KEY (account_id)", "tickets": "PRIMARY KEY (ticket_id)"}


def _with_key(ddl: str, key: str | None) -> str:
    return ddl if key is None else ddl[:-1] + f", {key})"


def build_fuzz_world(root: Path, *, mariadb, postgres_odbc, azurite) -> World:
    """Load the fuzz tables into child databases of the session's servers, files, Azurite and the oracle."""
    shop, crm = mariadb.child("fuzz"), postgres_odbc.child("fuzz")
    rows = make_rows()
    tables = {table.qualified: table for table in SCHEMA}
    data = {name: _arrow(tables[name], rows[name]) for name in rows}
    os.environ["C360_FUZZ_MYSQL_PASSWORD"] = shop.password
    os.environ["C360_FUZZ_PG_PASSWORD"] = crm.password
    os.environ["C360_FUZZ_BLOB"] = azurite.connection_string

    for name in ("shop.people", "shop.events"):
        table_name = name.split(".")[1]
        shop.execute(_with_key(_ddl(table_name, data[name], _MYSQL_TYPES), _KEYS_MYSQL.get(table_name)))
        connection = shop.connect()
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table_name} VALUES ({', '.join(['%s'] * data[name].num_columns)})",
                               _rows(data[name]))
        connection.close()

    for name in ("crm.accounts", "crm.tickets"):
        table_name = name.split(".")[1]
        crm.execute(_with_key(_ddl(table_name, data[name], _PG_TYPES), _KEYS_PG.get(table_name)))
        with crm.connect() as connection, connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table_name} VALUES ({', '.join(['%s'] * data[name].num_columns)})",
                               _rows(data[name]))

    sqlite_path = root / "local.sqlite"
    connection = sqlite3.connect(sqlite_path)
    connection.execute("CREATE TABLE tags (person_id BIGINT, tag VARCHAR(20), city VARCHAR(20), weight DOUBLE)")
    connection.executemany("INSERT INTO tags VALUES (?, ?, ?, ?)", _rows(data["local.tags"]))
    connection.commit()
    connection.close()

    partners = root / "partners"
    partners.mkdir()
    profiles = rows["partners.profiles"]
    half = len(profiles) // 2
    (partners / "part-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in profiles[:half]))
    (partners / "part-2.json").write_text(json.dumps(profiles[half:]))

    container = azurite.new_container("fuzz")
    service = azurite.service()
    visits = rows["clicks.visits"]
    for hour in sorted({r["visit_ts"].replace(minute=0) for r in visits}):
        part = [r for r in visits if r["visit_ts"].replace(minute=0) == hour]
        body = "".join(json.dumps({**r, "visit_ts": r["visit_ts"].isoformat(sep=" ")}) + "\n" for r in part)
        service.get_blob_client(container, f"visits/{hour:%Y/%m/%d/%H}/part-0.jsonl").upload_blob(
            io.BytesIO(body.encode()), overwrite=True)

    catalog = root / "catalog"
    catalog.mkdir()
    (catalog / "fuzz.yaml").write_text(textwrap.dedent(f"""
        sources:
          shop:
            kind: mysql
            host: {shop.host}
            port: {shop.port}
            user: {shop.user}
            password: ${{ENV:C360_FUZZ_MYSQL_PASSWORD}}
            database: {shop.database}
          crm:
            kind: odbc
            dialect: postgres
            schema: public
            connection_string: "{crm.connection_string('${ENV:C360_FUZZ_PG_PASSWORD}')}"
          local:
            kind: sqlite
            path: ../local.sqlite
          partners:
            kind: json
            path: ../partners
            tables:
              profiles:
                files: ["*.jsonl", "*.json"]
                columns: {{person_id: BIGINT, nickname: VARCHAR, segment: VARCHAR, points: BIGINT,
                           rating: DOUBLE}}
          clicks:
            kind: blob
            connection_string: ${{ENV:C360_FUZZ_BLOB}}
            container: {container}
            prefix: visits/
            tables:
              visits:
                format: jsonl
                partitioning: {{template: "{{yyyy}}/{{MM}}/{{dd}}/{{HH}}/", column: partition_hour}}
                columns: {{visit_ts: TIMESTAMP, person_id: BIGINT, page: VARCHAR, seconds: DOUBLE}}
    """))

    oracle = duckdb.connect()
    # DuckDB 1.5.5's join filter pushdown carries a join's filter below a LIMIT on the other side (wrong rows, more
    # often with several threads): the oracle runs without it, on one thread (tests/fuzz/known_bugs.py)
    oracle.execute("SET threads = 1")
    oracle.execute("SET disabled_optimizers = 'join_filter_pushdown'")
    oracle.execute("SET memory_limit = '1GB'")  # a generated join that explodes fails here, not the machine
    for name, table in data.items():
        schema, table_name = name.split(".")
        oracle.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        oracle.register("incoming", table)
        extra = ", date_trunc('hour', visit_ts) AS partition_hour" if name == "clicks.visits" else ""
        oracle.execute(f"CREATE TABLE {name} AS SELECT *{extra} FROM incoming")
        oracle.unregister("incoming")
    return World(catalog, oracle, c360.connect(catalog))
