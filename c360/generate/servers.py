"""Loading generated data into the servers profile: MariaDB, PostgreSQL (the Azure SQL stand-in), Azurite.

Where to load comes from the catalog's ``servers`` profile (host, port, database,
user, the password reference), so the catalog stays the one place that says
where data lives. Rows are staged as tab-separated files while the generator
runs (memory stays bounded), then bulk loaded: ``LOAD DATA LOCAL INFILE`` into
MariaDB, ``COPY ... FROM STDIN`` into PostgreSQL, concurrent batched uploads
into blob storage. Each load drops and recreates its tables (and empties the
blob prefix) first, so a rerun replaces, never duplicates.

Administration (creating the database and the login the catalog uses) needs an
admin login: the ``mysql_admin_*`` and ``pg_admin_*`` settings of :mod:`c360.settings`.
"""

from __future__ import annotations

import fcntl
import re
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlparse

from c360 import settings
from c360.errors import CatalogError, SourceUnreachableError
from c360.generate.tables import ddl
from c360.generate.targets import BrowsingBuffer, PartnerFiles
from c360.secrets import redact, resolve


def _tsv(value, dialect: str) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return ("t" if value else "f") if dialect == "postgres" else ("1" if value else "0")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return text


class Staging:
    """Tab-separated files, one per table, appended chunk by chunk."""

    def __init__(self, folder: Path, dialect: str, tables):
        self.folder, self.dialect = folder, dialect
        folder.mkdir(parents=True, exist_ok=True)
        self.handles = {t: open(folder / f"{t}.tsv", "w", encoding="utf-8", newline="\n") for t in tables}
        self.rows = {t: 0 for t in tables}

    def write(self, table: str, rows) -> None:
        handle = self.handles[table]
        dialect = self.dialect
        for row in rows:
            handle.write("\t".join(_tsv(v, dialect) for v in row) + "\n")
        self.rows[table] += len(rows)

    def close(self) -> dict[str, Path]:
        for handle in self.handles.values():
            handle.close()
        return {t: self.folder / f"{t}.tsv" for t in self.handles}


# --- MariaDB -------------------------------------------------------------------------------------


def mysql_admin(host: str, port: int):
    """An admin connection (TCP first, then the unix socket), with LOCAL INFILE enabled."""
    import pymysql

    user, password = settings.get("mysql_admin_user"), settings.get("mysql_admin_password")
    attempts = [dict(host=host, port=port), dict(unix_socket=settings.get("mysql_socket"))]
    last = None
    for where in attempts:
        try:
            return pymysql.connect(user=user, password=password, local_infile=True, autocommit=True,
                                   charset="utf8mb4", connect_timeout=5, **where)
        except pymysql.err.Error as error:
            last = error
    raise SourceUnreachableError(
        f"MariaDB at {host}:{port} refused the admin login '{user}' over TCP and the unix socket: "
        f"{redact(str(last))} (set C360_MYSQL_ADMIN_USER / C360_MYSQL_ADMIN_PASSWORD)"
    )


def load_mysql(files: dict[str, Path], *, host: str, port: int, database: str, user: str, password: str) -> dict:
    """(Re)create ``database``'s tables and the login ``user``, then LOAD DATA each staged file."""
    connection = mysql_admin(host, port)
    counts = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4")
            for where in ("%%", "localhost"):  # %% is '%' once pymysql has bound the password
                cursor.execute(f"CREATE USER IF NOT EXISTS '{user}'@'{where}' IDENTIFIED BY %s", (password,))
                cursor.execute(f"ALTER USER '{user}'@'{where}' IDENTIFIED BY %s", (password,))
                where = where.replace("%%", "%")
                cursor.execute(f"GRANT SELECT ON `{database}`.* TO '{user}'@'{where}'")
            cursor.execute(f"USE `{database}`")
            for table, path in files.items():
                cursor.execute(f"DROP TABLE IF EXISTS `{table}`")
                for statement in ddl(table, "mysql"):
                    cursor.execute(statement)
                cursor.execute(
                    f"LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` CHARACTER SET utf8mb4 "
                    "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'",
                    (str(path),),
                )
                cursor.execute(f"SELECT COUNT(*) FROM `{table}`")
                counts[table] = cursor.fetchone()[0]
    finally:
        connection.close()
    return counts


# --- PostgreSQL ----------------------------------------------------------------------------------


def odbc_settings(connection_string: str) -> dict[str, str]:
    """``Key=Value;`` pairs of an ODBC connection string, keys lower-cased."""
    pairs = {}
    for part in re.findall(r"([^=;]+)=(\{[^}]*\}|[^;]*)", connection_string):
        pairs[part[0].strip().lower()] = part[1].strip("{}")
    return pairs


def pg_admin(host: str, port: int, database: str = "postgres"):
    import psycopg

    user, password = settings.get("pg_admin_user"), settings.get("pg_admin_password")
    try:
        return psycopg.connect(host=host, port=port, user=user, password=password or None, dbname=database,
                               autocommit=True, connect_timeout=5)
    except psycopg.Error as error:
        raise SourceUnreachableError(
            f"PostgreSQL at {host}:{port} refused the admin login '{user}': {redact(str(error).strip())} "
            "(set C360_PG_ADMIN_USER / C360_PG_ADMIN_PASSWORD)"
        ) from None


def load_postgres(files: dict[str, Path], *, host: str, port: int, database: str, user: str, password: str) -> dict:
    """(Re)create ``database``'s tables and the login ``user``, then COPY each staged file in."""
    from psycopg import sql

    admin = pg_admin(host, port)
    try:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        role = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        verb = "ALTER" if role else "CREATE"
        admin.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user), sql.Literal(password)))
        admin.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), sql.Identifier(user))
        )
    finally:
        admin.close()
    connection = pg_admin(host, port, database)
    counts = {}
    try:
        for table, path in files.items():
            with connection.transaction():
                connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
                for statement in ddl(table, "postgres"):
                    connection.execute(statement)
                with connection.cursor() as cursor:
                    with cursor.copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))) as copy:
                        with open(path, "rb") as handle:
                            while block := handle.read(1 << 20):
                                copy.write(block)
                grant = sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(table), sql.Identifier(user))
                connection.execute(grant)
            count = sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(table))
            counts[table] = connection.execute(count).fetchone()[0]
    finally:
        connection.close()
    return counts


# --- Azurite -------------------------------------------------------------------------------------


def blob_endpoint(connection_string: str) -> tuple[str, int] | None:
    """Host and port of a connection string's BlobEndpoint (None if it names none)."""
    endpoint = odbc_settings(connection_string).get("blobendpoint")
    if not endpoint:
        return None
    parsed = urlparse(endpoint)
    return parsed.hostname or "127.0.0.1", parsed.port or (443 if parsed.scheme == "https" else 80)


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def ensure_azurite(connection_string: str, project: Path) -> int | None:
    """Start Azurite (``node_modules/.bin/azurite-blob``, ``--disableTelemetry``) if nothing answers at the
    connection string's local endpoint; returns the new process id, or None if one was already running.

    Runs that start at the same moment (two ``c360 generate`` in two terminals, or a test and a demo) take
    turns on a lock file named after the port, held from the check until the new Azurite answers: the second
    finds the first's Azurite answering and uses it. An Azurite started by something that takes no lock may
    still win the port; then ours exits, and the one that answers is used (None is returned)."""
    endpoint = blob_endpoint(connection_string)
    if endpoint is None or endpoint[0] not in ("127.0.0.1", "localhost"):
        return None
    host, port = endpoint
    if answers(host, port):
        return None
    with _port_lock(port):
        if answers(host, port):  # another run started it while this one waited for the lock
            return None
        return _start_azurite(host, port, project)


@contextmanager
def _port_lock(port: int):
    """An exclusive ``flock`` on ``<tmp>/c360-azurite-<port>.lock``; the kernel releases it if the holder dies."""
    path = Path(tempfile.gettempdir()) / f"c360-azurite-{port}.lock"
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _start_azurite(host: str, port: int, project: Path) -> int | None:
    checkout = Path(__file__).resolve().parents[2]  # scripts/setup installs Azurite beside c360's own sources
    candidates = [folder / "node_modules" / ".bin" / "azurite-blob" for folder in (project, Path.cwd(), checkout)]
    binary = next((c for c in candidates if c.exists()), None) or shutil.which("azurite-blob")
    if binary is None:
        raise SourceUnreachableError(
            f"Nothing answers at {host}:{port} and Azurite is not installed: run `npm install azurite@3.35.0` "
            "in the project folder (or scripts/setup)"
        )
    workspace = project / ".c360" / "azurite"
    workspace.mkdir(parents=True, exist_ok=True)
    with open(workspace / "azurite.log", "ab") as log:
        process = subprocess.Popen(
            [str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(workspace),
             "--silent", "--disableTelemetry", "--skipApiVersionCheck"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        exited = process.poll() is not None
        if answers(host, port):
            return None if exited else process.pid  # exited: another Azurite took the port first
        if exited:
            break
        time.sleep(0.2)
    raise SourceUnreachableError(f"Azurite did not start on {host}:{port}; see {workspace / 'azurite.log'}")


# --- the target ----------------------------------------------------------------------------------


class ServersTarget:
    """Stages CRM and shop rows as TSV, writes partner files locally and browsing files to blob storage (or,
    with ``local_blob``, a local folder), then bulk loads MariaDB and PostgreSQL at :meth:`finish`."""

    def __init__(self, *, out: Path, mysql: dict, postgres: dict, blob: dict, partners_dir: Path, progress=None,
                 local_blob: Path | None = None):
        self.out, self.mysql, self.postgres, self.blob = Path(out), mysql, postgres, blob
        self.partners_dir = partners_dir
        #: browsing files into this data folder's local blob folder (:mod:`c360.generate.files`) instead of
        #: the ``blob`` container: for a project whose databases are servers and whose files are on this machine
        self.local_blob = local_blob
        self.progress = progress
        self.loaded: dict[str, int] = {}

    @classmethod
    def from_catalog(cls, catalog_path: Path, out: Path, *, progress=None) -> ServersTarget:
        """Read where to load from the catalog's ``servers`` profile (sources crm, shop, partners, clicks)."""
        from c360.catalog import Catalog

        catalog = Catalog(catalog_path, profile="servers")
        base = catalog.path if catalog.path.is_dir() else catalog.path.parent
        needed = {"crm": "odbc", "shop": "mysql", "partners": "json", "clicks": "blob"}
        for name, kind in needed.items():
            source = catalog.source(name)
            if source.kind != kind:
                raise CatalogError(
                    f"{source.where}: the servers profile of '{name}' must be kind {kind}, not {source.kind}"
                )
        shop = catalog.source("shop").options
        crm = odbc_settings(catalog.source("crm").options["connection_string"])
        clicks = catalog.source("clicks").options
        mysql = dict(host=str(shop.get("host") or "127.0.0.1"), port=int(shop.get("port") or 3306),
                     database=shop["database"], user=shop["user"],
                     password=resolve(str(shop.get("password") or ""), source="shop"))
        postgres = dict(host=crm.get("server", "127.0.0.1"), port=int(crm.get("port", 5432)),
                        database=crm["database"], user=crm.get("uid") or crm.get("username"),
                        password=resolve(catalog.source("crm").options["connection_string"], source="crm"))
        postgres["password"] = odbc_settings(postgres["password"]).get("pwd", "")
        blob = dict(connection_string=resolve(clicks["connection_string"], source="clicks"),
                    container=clicks["container"], prefix=str(clicks.get("prefix") or ""))
        partners_dir = (base / catalog.source("partners").options["path"]).resolve()
        return cls(out=out, mysql=mysql, postgres=postgres, blob=blob, partners_dir=partners_dir, progress=progress)

    def begin(self, config, products) -> None:
        from connectors.files.store import WRITE_RETRIES, AzureContainer

        staging = self.out / ".staging"
        self.crm = Staging(staging, "postgres", ["customers"])
        self.shop = Staging(staging, "mysql", ["products", "orders", "order_items"])
        self.shop.write("products", products)
        self.partners = PartnerFiles(self.partners_dir / "enrichment")
        self.partners.begin()
        if self.local_blob is not None:
            from c360.generate.files import browsing_buffer

            self.browsing = browsing_buffer(self.local_blob, config.categories, config.browsing_format)
            return
        store = AzureContainer.connect(connection_string=self.blob["connection_string"],
                                       container=self.blob["container"], source="Source 'clicks'",
                                       retries=WRITE_RETRIES)
        store.delete_prefix(self.blob["prefix"])
        self.browsing = BrowsingBuffer(store, self.blob["prefix"], config.browsing_format, config.categories)

    def write(self, chunk) -> None:
        self.crm.write("customers", chunk.customers)
        self.shop.write("orders", chunk.orders)
        self.shop.write("order_items", chunk.order_items)
        self.partners.write(chunk.index, chunk.partners)
        self.browsing.add(chunk.browsing)

    def finish(self) -> None:
        task = None
        if self.progress is not None:
            progress, note = self.progress
            task = note("loading MariaDB, PostgreSQL, Azurite", total=3)
        self.browsing.flush()
        self.browsing.compact()
        if task is not None:
            progress.advance(task)
        self.loaded.update(load_mysql(self.shop.close(), **self.mysql))
        if task is not None:
            progress.advance(task)
        self.loaded.update(load_postgres(self.crm.close(), **self.postgres))
        if task is not None:
            progress.advance(task)
        shutil.rmtree(self.out / ".staging", ignore_errors=True)


def prepare_servers(catalog: Path, *, console=None) -> None:
    """Before a servers run: default the demo's environment variables and start Azurite if needed."""
    applied = settings.apply_demo_values()
    if console is not None and applied:
        console.print(f"using demo defaults for {', '.join(applied)}", highlight=False)
    project = Path(catalog).resolve().parent
    pid = ensure_azurite(settings.get("blob_connection_string"), project)
    if console is not None and pid is not None:
        console.print(f"started Azurite (pid {pid}); it keeps running for later queries: stop it with `kill {pid}`",
                      highlight=False)
