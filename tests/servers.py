"""The real database servers the suite talks to: found running, or started, never mocked.

Each test session gets its own database and its own login on each server,
named ``c360_t<pid>_<random>``, so engineers and CI jobs sharing one machine
never see each other's tables; both are dropped when the session ends.

* MariaDB at 127.0.0.1:3306. Root is used only to create the session's user
  and database: first over TCP with an empty password, then over the unix
  socket (a freshly apt-installed MariaDB lets root in only that way). Tests
  then connect as the session's user, over TCP, with a password.
* PostgreSQL at 127.0.0.1:5432 (trust auth for ``postgres``), reached by tests
  through ODBC with the ``PostgreSQL Unicode`` driver (psqlODBC's ANSI driver
  breaks on string parameters).

If a server is not answering it is started the way ``scripts/setup`` does; if
it still cannot be reached, :class:`ServerUnavailable` says what was tried.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

MARIADB_HOST = "127.0.0.1"
MARIADB_PORT = 3306
MARIADB_SOCKET = "/run/mysqld/mysqld.sock"
POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
ODBC_DRIVER = "PostgreSQL Unicode"
START_SECONDS = 30


class ServerUnavailable(RuntimeError):
    """A server the tests need could not be found or started."""


def unique_name(prefix: str = "c360_t") -> str:
    """A name no other session on this machine uses: ``c360_t<pid>_<8 hex>``."""
    return f"{prefix}{os.getpid()}_{secrets.token_hex(4)}"


def _abandoned(name: str) -> bool:
    """Whether ``name`` (``c360_t<pid>_...``) belongs to a test session whose process is gone."""
    digits = name.removeprefix("c360_t").split("_", 1)[0]
    if not digits.isdigit():
        return False
    try:
        os.kill(int(digits), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _wait(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False


def _run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    return (done.stdout + done.stderr).strip()


# --- MariaDB -------------------------------------------------------------------------------------


def _mariadb_root():
    """A root connection to MariaDB (TCP, then unix socket), or None if neither answers."""
    import pymysql

    attempts = [
        dict(host=MARIADB_HOST, port=MARIADB_PORT),
        dict(unix_socket=MARIADB_SOCKET),
    ]
    for where in attempts:
        try:
            return pymysql.connect(user="root", password="", connect_timeout=3, autocommit=True, **where)
        except pymysql.err.Error:
            continue
    return None


def _start_mariadb() -> str:
    if not Path("/usr/sbin/mariadbd").exists():
        return "/usr/sbin/mariadbd is not installed (apt-get install -y mariadb-server)"
    Path("/run/mysqld").mkdir(parents=True, exist_ok=True)
    shutil.chown("/run/mysqld", "mysql", "mysql")
    return _run(
        [
            "start-stop-daemon", "--start", "--oknodo", "--background",
            "--exec", "/usr/sbin/mariadbd", "--", "--user=mysql",
        ]
    )


@dataclass
class MariaDB:
    """The session's MariaDB database and TCP login; ``execute`` runs setup SQL in it."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str = ""
    _root: object = field(repr=False, default=None)
    _children: list = field(repr=False, default_factory=list)

    def child(self, suffix: str) -> MariaDB:
        """Another database of this session for the same user (``<database>_<suffix>``).

        For a test module that wants tables no other module sees; dropped with the session.
        """
        name = f"{self.database}_{suffix}"
        with self._root.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
            self._children.append(name)
            for host in ("127.0.0.1", "localhost", "%"):
                cursor.execute(f"GRANT ALL PRIVILEGES ON `{name}`.* TO %s@%s", (self.user, host))
        return MariaDB(self.host, self.port, self.user, self.password, name, _root=self._root, _children=self._children)

    def connect(self, **options):
        """A new pymysql connection as the session's user, over TCP, in its database."""
        import pymysql

        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=self.database,
            autocommit=True,
            charset="utf8mb4",
            connect_timeout=5,
            **options,
        )

    def execute(self, *statements: str, params=None) -> None:
        """Run each statement in the session's database (setup SQL: CREATE, INSERT, ...)."""
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement, params)
        finally:
            connection.close()

    def query(self, sql: str, params=None) -> list[tuple]:
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        finally:
            connection.close()

    def admin_query(self, sql: str, params=None) -> list[tuple]:
        """Run ``sql`` as root (for the processlist of every connection)."""
        with self._root.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def options(self, password_reference: str) -> dict:
        """Catalog options for a ``mysql`` source on this database (password as a reference)."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": password_reference,
            "database": self.database,
        }


def start_mariadb_session() -> MariaDB:
    """Create the session's user and database; ServerUnavailable if MariaDB cannot be reached."""
    root = _mariadb_root()
    started = ""
    if root is None:
        started = _start_mariadb()
        if _wait(lambda: (_mariadb_root() or None) is not None, START_SECONDS):
            root = _mariadb_root()
    if root is None:
        raise ServerUnavailable(
            f"MariaDB is not answering as root on {MARIADB_HOST}:{MARIADB_PORT} nor on {MARIADB_SOCKET}, "
            f"and starting /usr/sbin/mariadbd did not help ({started or 'no output'}). Run scripts/setup."
        )
    _drop_abandoned_mariadb(root)
    name = unique_name()
    password = secrets.token_urlsafe(12)
    server = MariaDB(MARIADB_HOST, MARIADB_PORT, name, password, name, _root=root)
    try:
        with root.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
            for host in ("127.0.0.1", "localhost", "%"):
                cursor.execute("CREATE USER %s@%s IDENTIFIED BY %s", (name, host, password))
                cursor.execute(f"GRANT ALL PRIVILEGES ON `{name}`.* TO %s@%s", (name, host))
    except Exception:
        end_mariadb_session(server)
        raise
    return server


def _drop_abandoned_mariadb(root) -> None:
    """Drop databases and users left by killed test sessions (their process no longer exists)."""
    with root.cursor() as cursor:
        cursor.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'c360\\_t%%'")
        databases = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT User, Host FROM mysql.user WHERE User LIKE 'c360\\_t%%'")
        users = list(cursor.fetchall())
        for database in databases:
            if _abandoned(database):
                cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        for user, host in users:
            if _abandoned(user):
                cursor.execute("DROP USER IF EXISTS %s@%s", (user, host))


def end_mariadb_session(server: MariaDB) -> None:
    root = server._root
    with root.cursor() as cursor:
        cursor.execute(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s", (server.user,)
        )
        for (thread_id,) in cursor.fetchall():
            try:
                cursor.execute(f"KILL {int(thread_id)}")
            except Exception:  # noqa: BLE001 - the thread may have ended on its own meanwhile
                pass
        for database in (*server._children, server.database):
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        for host in ("127.0.0.1", "localhost", "%"):
            cursor.execute("DROP USER IF EXISTS %s@%s", (server.user, host))
    root.close()


# --- PostgreSQL (through ODBC) -------------------------------------------------------------------


def _postgres_admin():
    """An autocommit psycopg connection as ``postgres`` (TCP, then unix socket), or None."""
    import psycopg

    for host in (POSTGRES_HOST, "/var/run/postgresql"):
        try:
            return psycopg.connect(
                host=host, port=POSTGRES_PORT, user="postgres", dbname="postgres", autocommit=True, connect_timeout=3
            )
        except psycopg.Error:
            continue
    return None


def _start_postgres() -> str:
    if not Path("/etc/postgresql").is_dir() or shutil.which("pg_ctlcluster") is None:
        return "PostgreSQL is not installed (apt-get install -y postgresql)"
    version = max(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".") if p.isdigit()])
    return _run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"])


def odbc_drivers() -> list[str]:
    """Driver names unixODBC knows (``odbcinst -q -d``)."""
    if shutil.which("odbcinst") is None:
        return []
    return [line.strip().strip("[]") for line in _run(["odbcinst", "-q", "-d"]).splitlines() if line.startswith("[")]


@dataclass
class PostgresOdbc:
    """The session's PostgreSQL database and login, and an ODBC connection string for them."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str = ""
    driver: str = ODBC_DRIVER
    _admin: object = field(repr=False, default=None)
    _children: list = field(repr=False, default_factory=list)

    def child(self, suffix: str) -> PostgresOdbc:
        """Another database of this session owned by the same role (``<database>_<suffix>``).

        For a test module that wants tables no other module sees; dropped with the session.
        """
        from psycopg import sql

        name = f"{self.database}_{suffix}"
        self._admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                sql.Identifier(name), sql.Identifier(self.user)
            )
        )
        self._children.append(name)
        return PostgresOdbc(
            self.host, self.port, self.user, self.password, name, self.driver,
            _admin=self._admin, _children=self._children,
        )

    def connection_string(self, password: str | None = None) -> str:
        """``Driver={PostgreSQL Unicode};Server=…;Pwd=…`` (pass ``${ENV:NAME}`` to keep it a reference)."""
        return (
            f"Driver={{{self.driver}}};Server={self.host};Port={self.port};Database={self.database};"
            f"Uid={self.user};Pwd={self.password if password is None else password};BoolsAsChar=0;"
        )

    @property
    def odbc(self) -> str:
        return self.connection_string()

    def connect(self):
        """A psycopg connection as the session's user (for setup SQL and checks)."""
        import psycopg

        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=self.database,
            autocommit=True, connect_timeout=5,
        )

    def execute(self, *statements: str, params=None) -> None:
        with self.connect() as connection:
            for statement in statements:
                connection.execute(statement, params)

    def query(self, sql: str, params=None) -> list[tuple]:
        with self.connect() as connection:
            return list(connection.execute(sql, params).fetchall())

    def admin_query(self, sql: str, params=None) -> list[tuple]:
        """Run ``sql`` as ``postgres`` (pg_stat_activity sees every backend)."""
        return list(self._admin.execute(sql, params).fetchall())

    @contextmanager
    def statement_log(self):
        """What this login sent to this database while the block runs, from the server's log.

        Yields a callable returning the statements (simple and extended protocol, a JDBC driver's
        ``execute <unnamed>: …`` included) in the order they were logged. ``log_statement = 'all'`` is set
        for this login's *new* sessions only (``ALTER ROLE … SET``, reset afterwards), so other logins are
        untouched. The log is read with ``pg_read_file`` as ``postgres``: the collector's current file, else
        Debian's ``/var/log/postgresql/postgresql-<cluster>.log``; a log that cannot be found is an error.
        """
        from psycopg import sql

        path = self.admin_query("SELECT pg_current_logfile()")[0][0]
        if path is None:
            cluster = self.admin_query("SELECT current_setting('cluster_name')")[0][0]
            path = f"/var/log/postgresql/postgresql-{cluster.replace('/', '-')}.log"
        start = self.admin_query("SELECT (pg_stat_file(%s)).size", (path,))[0][0]
        role = sql.Identifier(self.user)
        self._admin.execute(sql.SQL("ALTER ROLE {} SET log_statement = 'all'").format(role))
        prefix = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", re.MULTILINE)
        said = re.compile(rf" {re.escape(self.user)}@{re.escape(self.database)} LOG:  "
                          r"(?:statement|execute [^:]*): (.*)", re.DOTALL)

        def received() -> list[str]:
            text = self.admin_query("SELECT pg_read_file(%s, %s, (pg_stat_file(%s)).size - %s)",
                                    (path, start, path, start))[0][0]
            starts = [m.start() for m in prefix.finditer(text)] + [len(text)]
            records = (text[a:b] for a, b in zip(starts, starts[1:]))
            return [found.group(1).strip() for found in map(said.search, records) if found]

        try:
            yield received
        finally:
            self._admin.execute(sql.SQL("ALTER ROLE {} RESET log_statement").format(role))


def start_postgres_session() -> PostgresOdbc:
    """Create the session's role and database; ServerUnavailable if PostgreSQL or the driver is missing."""
    drivers = odbc_drivers()
    if ODBC_DRIVER not in drivers:
        raise ServerUnavailable(
            f"The ODBC driver '{ODBC_DRIVER}' is not registered (odbcinst -q -d lists: "
            f"{', '.join(drivers) or 'nothing'}). Install odbc-postgresql (scripts/setup)."
        )
    admin = _postgres_admin()
    started = ""
    if admin is None:
        started = _start_postgres()
        if _wait(lambda: _postgres_admin() is not None, START_SECONDS):
            admin = _postgres_admin()
    if admin is None:
        raise ServerUnavailable(
            f"PostgreSQL is not answering as postgres on {POSTGRES_HOST}:{POSTGRES_PORT}, and "
            f"pg_ctlcluster did not start it ({started or 'no output'}). Run scripts/setup."
        )
    from psycopg import sql

    _drop_abandoned_postgres(admin)
    name = unique_name()
    password = secrets.token_urlsafe(12)
    server = PostgresOdbc(POSTGRES_HOST, POSTGRES_PORT, name, password, name, _admin=admin)
    try:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                sql.Identifier(name), sql.Identifier(name)
            )
        )
    except Exception:
        end_postgres_session(server)
        raise
    return server


def _drop_abandoned_postgres(admin) -> None:
    """Drop databases and roles left by killed test sessions (their process no longer exists)."""
    from psycopg import sql

    databases = [r[0] for r in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'c360\\_t%'")]
    roles = [r[0] for r in admin.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'c360\\_t%'")]
    for database in databases:
        if _abandoned(database):
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    for role in roles:
        if _abandoned(role):
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def end_postgres_session(server: PostgresOdbc) -> None:
    from psycopg import sql

    admin = server._admin
    for database in (*server._children, server.database):
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(server.user)))
    admin.close()
