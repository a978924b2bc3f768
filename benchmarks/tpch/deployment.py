"""Where the tables live: the four sources, and the benchmark's own logins, databases and Azurite.

A :class:`Deployment` names the MariaDB and PostgreSQL databases (and the logins
that read them), the JSON folder and the blob container. The benchmark makes
its own per scale factor (:func:`bench_mariadb`, :func:`bench_postgres`: database
and login ``tpch_sf0_1``, password kept in the data folder) and starts its own
Azurite with its data in the data folder (:class:`Azurite`); the test suite
builds one from its session databases instead. :meth:`Deployment.via` gives the
same deployment reached through the byte-counting proxies.
"""

from __future__ import annotations

import dataclasses
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AZURITE_BLOB = REPO / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
#: Azurite's published development key (in Microsoft's documentation: not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Database:
    """A MariaDB or PostgreSQL database and the login that reads it."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str = ""


@dataclass(frozen=True)
class Container:
    """A blob container in Azurite (the well-known development account)."""

    host: str
    port: int
    container: str

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://{self.host}:{self.port}/{ACCOUNT};"
        )

    def service(self):
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)


@dataclass(frozen=True)
class Deployment:
    shop: Database  # MariaDB: orders, lineitem
    crm: Database  # PostgreSQL (through ODBC for c360): region, nation, customer
    partners: Path  # JSON files: part, partsupp
    vendors: Container  # Azurite: supplier

    def via(self, ports: dict[str, int]) -> Deployment:
        """The same sources reached at 127.0.0.1 on ``ports`` (``shop``, ``crm``, ``vendors``): the proxies."""
        return Deployment(
            shop=dataclasses.replace(self.shop, host="127.0.0.1", port=ports["shop"]),
            crm=dataclasses.replace(self.crm, host="127.0.0.1", port=ports["crm"]),
            partners=self.partners,
            vendors=dataclasses.replace(self.vendors, host="127.0.0.1", port=ports["vendors"]),
        )


def names(sf: float) -> tuple[str, str]:
    """The database/login name and the container name of scale factor ``sf``: ``tpch_sf0_1``, ``tpch-sf0-1``."""
    stem = f"tpch_sf{sf:g}".replace(".", "_")
    return stem, stem.replace("_", "-")


def password(folder: Path) -> str:
    """The benchmark logins' password, made once and kept (mode 600) in the data folder."""
    path = folder / "password"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(16))
    return path.read_text().strip()


# --- the benchmark's own databases and logins ----------------------------------------------------


def bench_mariadb(host: str, port: int, name: str, secret: str):
    """Create (if needed) database and login ``name`` with SELECT on it; returns (Database, admin connect)."""
    from c360.generate.servers import mysql_admin

    admin = mysql_admin(host, port)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
            for where in ("127.0.0.1", "localhost", "%"):
                cursor.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (name, where, secret))
                cursor.execute("ALTER USER %s@%s IDENTIFIED BY %s", (name, where, secret))
                cursor.execute(f"GRANT SELECT ON `{name}`.* TO %s@%s", (name, where))
    finally:
        admin.close()

    def connect():
        connection = mysql_admin(host, port)
        connection.select_db(name)
        return connection

    return Database(host, port, name, secret, name), connect


def bench_postgres(host: str, port: int, name: str, secret: str):
    """Create (if needed) database and login ``name``; returns (Database, admin connect)."""
    from psycopg import sql

    from c360.generate.servers import pg_admin

    admin = pg_admin(host, port)
    try:
        role = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        verb = "ALTER" if role else "CREATE"
        admin.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(secret)))
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(sql.Identifier(name)))
        admin.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(name), sql.Identifier(name)))
    finally:
        admin.close()
    return Database(host, port, name, secret, name), lambda: pg_admin(host, port, name)


# --- Azurite -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Azurite:
    """``azurite-blob`` on a free port with its data in ``location`` (kept between runs); stop() ends it."""

    def __init__(self, location: Path):
        if not AZURITE_BLOB.exists():
            raise RuntimeError(f"Azurite is not installed at {AZURITE_BLOB}: run scripts/setup")
        location.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self._log = open(location / "azurite.log", "ab")
        self.process = subprocess.Popen(
            [
                str(AZURITE_BLOB),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.port),
                "--location",
                str(location),
                "--silent",
                "--disableTelemetry",
                "--skipApiVersionCheck",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=location,
        )
        deadline = time.monotonic() + 30
        while not _answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Azurite did not start on port {self.port}; see {location / 'azurite.log'}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
