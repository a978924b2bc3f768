"""Putting the tables into their sources, once: MariaDB, PostgreSQL, JSON files, Azurite.

Each loader first asks whether its source already holds the generated data
(:func:`missing`: every table there with exactly the generated row count; the
files and blob with the sizes recorded when they were written), and loads only
what is missing, so a rerun of the benchmark does not reload. Loading drops and
recreates a table, bulk loads it (``LOAD DATA LOCAL INFILE`` into MariaDB,
``COPY ... FROM STDIN`` into PostgreSQL), then adds the secondary indexes and
refreshes the statistics (``ANALYZE``). The callers pass connections that may
create tables: the benchmark's admin logins, or a test session's own user.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from sqlglot import exp

from benchmarks.tpch import data
from benchmarks.tpch.schema import Table, tables_of

LOAD_DATA = (
    "LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 "
    "FIELDS TERMINATED BY '|' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n'"
)


def _count(table: str, dialect: str) -> str:
    return exp.select("count(*)").from_(table).sql(dialect)


# --- MariaDB -------------------------------------------------------------------------------------


def mysql_missing(connect: Callable, counts: dict[str, int]) -> list[Table]:
    """Tables of ``shop`` that the database behind ``connect()`` lacks or holds with other row counts."""
    connection = connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
            present = {row[0].lower() for row in cursor.fetchall()}
            missing = []
            for table in tables_of("shop"):
                if table.name in present:
                    cursor.execute(_count(table.name, "mysql"))
                    if cursor.fetchone()[0] == counts[table.name]:
                        continue
                missing.append(table)
            return missing
    finally:
        connection.close()


def load_mysql(connect: Callable, database: Path, tables: list[Table], staging: Path) -> None:
    """(Re)create and bulk load ``tables``; ``connect()`` must allow ``LOAD DATA LOCAL`` (``local_infile=True``)."""
    connection = connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION unique_checks = 0, SESSION foreign_key_checks = 0")
            for table in tables:
                csv = data.write_csv(database, table.name, staging / f"{table.name}.csv")
                cursor.execute(table.drop("mysql"))
                cursor.execute(table.create("mysql"))
                cursor.execute(LOAD_DATA.format(table=table.name), (str(csv),))
                csv.unlink()
                for statement in table.create_indexes("mysql"):
                    cursor.execute(statement)
                cursor.execute(f"ANALYZE TABLE {table.name}")
                cursor.fetchall()
    finally:
        connection.close()


# --- PostgreSQL ----------------------------------------------------------------------------------


def postgres_missing(connect: Callable, counts: dict[str, int]) -> list[Table]:
    """Tables of ``crm`` that the database behind ``connect()`` lacks or holds with other row counts."""
    with connect() as connection:
        present = {
            row[0]
            for row in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        }
        return [
            table
            for table in tables_of("crm")
            if table.name not in present
            or connection.execute(_count(table.name, "postgres")).fetchone()[0] != counts[table.name]
        ]


def load_postgres(
    connect: Callable, database: Path, tables: list[Table], staging: Path, *, reader: str | None = None
) -> None:
    """(Re)create and ``COPY`` in ``tables``; grant SELECT on them to ``reader`` if given."""
    from psycopg import sql

    with connect() as connection:
        for table in tables:
            csv = data.write_csv(database, table.name, staging / f"{table.name}.csv")
            with connection.transaction():
                connection.execute(table.drop("postgres"))
                connection.execute(table.create("postgres"))
                copy = sql.SQL("COPY {} FROM STDIN (FORMAT csv, DELIMITER '|')").format(sql.Identifier(table.name))
                with connection.cursor() as cursor, cursor.copy(copy) as stream, open(csv, "rb") as handle:
                    while block := handle.read(1 << 20):
                        stream.write(block)
                for statement in table.create_indexes("postgres"):
                    connection.execute(statement)
                if reader:
                    connection.execute(
                        sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(table.name), sql.Identifier(reader))
                    )
            connection.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table.name)))
            csv.unlink()


# --- JSON files ----------------------------------------------------------------------------------

MANIFEST = "manifest.json"


def _manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def json_file(folder: Path, table: str) -> Path:
    """Where the JSON file of ``partners`` table ``table`` is."""
    return folder / f"{table}.json"


def json_missing(folder: Path, counts: dict[str, int]) -> list[Table]:
    """``partners`` tables whose file is absent, or differs from what the manifest recorded when writing it."""
    manifest = _manifest(folder)
    missing = []
    for table in tables_of("partners"):
        path, recorded = json_file(folder, table.name), manifest.get(table.name, {})
        if not path.exists() or recorded != {"bytes": path.stat().st_size, "rows": counts[table.name]}:
            missing.append(table)
    return missing


def load_json(database: Path, folder: Path, tables: list[Table], counts: dict[str, int]) -> None:
    """Write each table as ``<folder>/<table>.json``; record its size and rows in the folder's manifest."""
    manifest = _manifest(folder)
    for table in tables:
        written = data.write_json(database, table.name, json_file(folder, table.name))
        manifest[table.name] = {"bytes": written.stat().st_size, "rows": counts[table.name]}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))


# --- Azurite (blob) ------------------------------------------------------------------------------


def blob_name(table: str) -> str:
    return f"{table}/{table}.parquet"


def blob_missing(service, container: str, counts: dict[str, int]) -> list[Table]:
    """``vendors`` tables whose parquet blob is absent, or was uploaded for another row count."""
    from azure.core.exceptions import ResourceNotFoundError

    missing = []
    for table in tables_of("vendors"):
        try:
            properties = service.get_blob_client(container, blob_name(table.name)).get_blob_properties()
        except ResourceNotFoundError:
            missing.append(table)
            continue
        if properties.metadata.get("rows") != str(counts[table.name]):
            missing.append(table)
    return missing


def load_blob(
    database: Path, service, container: str, tables: list[Table], staging: Path, counts: dict[str, int]
) -> None:
    """Upload each table as ``<table>/<table>.parquet``, its row count as metadata (container created if needed)."""
    from azure.core.exceptions import ResourceExistsError

    try:
        service.create_container(container)
    except ResourceExistsError:
        pass
    for table in tables:
        parquet = data.write_parquet(database, table.name, staging / f"{table.name}.parquet")
        with open(parquet, "rb") as handle:
            service.get_blob_client(container, blob_name(table.name)).upload_blob(
                handle, overwrite=True, metadata={"rows": str(counts[table.name])}
            )
        parquet.unlink()


# --- all four ------------------------------------------------------------------------------------


def ensure(
    deployment,
    database: Path,
    staging: Path,
    *,
    mysql_connect: Callable,
    postgres_connect: Callable,
    reader: str | None = None,
    say: Callable[[str], None] = lambda text: None,
) -> dict[str, float]:
    """Load whatever of the generated ``database`` the deployment's sources lack; returns seconds per source loaded."""
    import time

    counts = data.row_counts(database)
    seconds: dict[str, float] = {}
    steps = [
        (
            "shop",
            lambda: mysql_missing(mysql_connect, counts),
            lambda tables: load_mysql(mysql_connect, database, tables, staging),
        ),
        (
            "crm",
            lambda: postgres_missing(postgres_connect, counts),
            lambda tables: load_postgres(postgres_connect, database, tables, staging, reader=reader),
        ),
        (
            "partners",
            lambda: json_missing(deployment.partners, counts),
            lambda tables: load_json(database, deployment.partners, tables, counts),
        ),
        (
            "vendors",
            lambda: blob_missing(deployment.vendors.service(), deployment.vendors.container, counts),
            lambda tables: load_blob(
                database, deployment.vendors.service(), deployment.vendors.container, tables, staging, counts
            ),
        ),
    ]
    for source, missing, load in steps:
        tables = missing()
        if not tables:
            continue
        say(f"loading {source}: {', '.join(t.name for t in tables)} ({sum(counts[t.name] for t in tables):,} rows)")
        started = time.perf_counter()
        load(tables)
        seconds[source] = time.perf_counter() - started
        say(f"loaded {source} in {seconds[source]:.1f} s")
    return seconds
