"""Trino catalog properties files for the catalog's sources, with secrets as ``${ENV:NAME}`` references.

One ``etc/catalog/<source>.properties`` per source:

- ``mysql`` → the ``mysql`` connector (``jdbc:mysql://host:port``; the database is the schema);
- ``odbc`` → ``sqlserver`` (dialect tsql) or ``postgresql`` (dialect postgres), from the
  connection string's Server/Port/Database; ``Uid``/``Pwd`` become ``connection-user``/``-password``;
- ``json`` and ``blob`` → the ``hive`` connector over Azure Storage (``fs.native-azure.enabled``,
  ``azure.auth-type=ACCESS_KEY``, ``azure.access-key``) and a Hive metastore;
- plus ``c360.properties``, a ``hive`` catalog holding the schema of the exported views.

Trino replaces ``${ENV:NAME}`` in catalog files with the variable when it loads them, the same
syntax as c360's. A secret written as a literal in the catalog is refused, never copied: the files
hold references only. A source Trino has no connector for (``sqlite``) is refused, naming it.
"""

from __future__ import annotations

import re

from c360.errors import CatalogError
from c360.secrets import REFERENCE
from connectors.odbc import parse_connection_string

#: The Hive metastore every hive catalog shares (a reference: the cluster sets it).
METASTORE = "${ENV:C360_HIVE_METASTORE_URI}"
#: The catalog and schema holding the exported views.
VIEWS_CATALOG, VIEWS_SCHEMA = "c360", "views"
#: The schema of the file and blob tables in their source's hive catalog.
FILES_SCHEMA = "files"
ODBC_CONNECTORS = {"tsql": "sqlserver", "postgres": "postgresql"}
ODBC_PORTS = {"tsql": 1433, "postgres": 5432}


def properties(settings: dict[str, str]) -> str:
    """The text of a properties file, one ``key=value`` per line, in the given order."""
    for key, value in settings.items():
        if "\n" in str(value) or "\n" in key:
            raise CatalogError(f"catalog property '{key}' would span lines")
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def _reference_or_plain(value, *, source: str, what: str, secret: bool) -> str:
    """``value`` itself if it is one ``${ENV:NAME}`` reference or (not ``secret``) holds none; else refused."""
    text = str(value)
    if REFERENCE.fullmatch(text):
        return text
    if secret:
        raise CatalogError(f"Source '{source}': its {what} must be a ${{ENV:NAME}} reference to export it to Trino "
                           "(a catalog file never holds a secret's value)")
    if "${" in text:
        raise CatalogError(f"Source '{source}': its {what} mixes a reference with text; Trino needs it whole")
    return text


def source_catalog(source) -> tuple[str, str, dict[str, str]]:
    """(Trino connector, schema of the source's tables, the catalog's properties) for a c360 source."""
    kind, options = source.kind, source.options
    if kind == "mysql":
        host, port = options.get("host") or "127.0.0.1", options.get("port") or 3306
        settings = {"connector.name": "mysql", "connection-url": f"jdbc:mysql://{host}:{port}",
                    "connection-user": _reference_or_plain(options["user"], source=source.name, what="user",
                                                           secret=False)}
        if options.get("password") is not None:
            settings["connection-password"] = _reference_or_plain(options["password"], source=source.name,
                                                                  what="password", secret=True)
        return "mysql", str(options["database"]), settings
    if kind == "odbc":
        return _odbc(source)
    if kind in ("json", "blob"):
        return "hive", FILES_SCHEMA, hive_settings(_access_key(source))
    raise CatalogError(f"Source '{source.name}' is {kind}: Trino has no connector for it; export a profile whose "
                       "sources are servers and storage (e.g. --profile servers)")


def hive_settings(access_key: str | None) -> dict[str, str]:
    """A hive catalog over Azure Storage (native file system) and the shared metastore."""
    settings = {"connector.name": "hive", "hive.metastore.uri": METASTORE,
                "hive.recursive-directories": "true", "hive.non-managed-table-creates-enabled": "true",
                "fs.native-azure.enabled": "true"}
    if access_key is not None:
        settings.update({"azure.auth-type": "ACCESS_KEY", "azure.access-key": access_key})
    return settings


def _access_key(source) -> str:
    """The storage account key as a reference: the blob source's ``credential`` if it is one, else
    ``${ENV:C360_<SOURCE>_AZURE_ACCESS_KEY}`` (a connection string is not a key Trino takes)."""
    credential = source.options.get("credential")
    if credential is not None:
        return _reference_or_plain(credential, source=source.name, what="credential", secret=True)
    return "${ENV:C360_" + re.sub(r"[^A-Z0-9]+", "_", source.name.upper()) + "_AZURE_ACCESS_KEY}"


def _odbc(source) -> tuple[str, str, dict[str, str]]:
    options = source.options
    dialect = str(options.get("dialect") or "tsql").lower()
    connector = ODBC_CONNECTORS.get(dialect)
    if connector is None:
        raise CatalogError(f"Source '{source.name}' (odbc, dialect {dialect}): Trino export knows tsql and postgres")
    text = str(options["connection_string"])
    if REFERENCE.fullmatch(text.strip()):
        raise CatalogError(f"Source '{source.name}': its connection string is one secret reference; declare "
                           "Server/Database in it (with Pwd=${ENV:NAME}) to export it to Trino")
    parts = parse_connection_string(text)
    server = parts.get("server") or parts.get("host") or ""
    server = server.removeprefix("tcp:")
    host, _, port = server.partition(",")
    port = port or parts.get("port") or str(ODBC_PORTS[dialect])
    database = parts.get("database") or ""
    if not host or not database:
        raise CatalogError(f"Source '{source.name}': its connection string needs Server and Database for Trino")
    if dialect == "tsql":
        encrypt = "true" if parts.get("encrypt", "yes").lower() in ("yes", "true", "mandatory", "strict") else "false"
        url = f"jdbc:sqlserver://{host}:{port};databaseName={database};encrypt={encrypt}"
    else:
        url = f"jdbc:postgresql://{host}:{port}/{database}"
    settings = {"connector.name": connector, "connection-url": url}
    user = parts.get("uid") or parts.get("user") or parts.get("username")
    if user:
        settings["connection-user"] = _reference_or_plain(user, source=source.name, what="Uid", secret=False)
    password = parts.get("pwd") or parts.get("password")
    if password:
        settings["connection-password"] = _reference_or_plain(password, source=source.name, what="Pwd", secret=True)
    schema = str(options.get("schema") or ("dbo" if dialect == "tsql" else "public"))
    return connector, schema, settings
