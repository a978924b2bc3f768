"""The peer: one plain DuckDB that reads the same four sources with its own scanner extensions.

MariaDB is ATTACHed with the ``mysql_scanner`` extension as ``shop`` and
PostgreSQL with ``postgres_scanner`` as ``crm`` (libpq directly: DuckDB has no
ODBC reader to match c360's path), both read-only; the JSON files are views
over ``read_json`` with the same declared columns as c360's catalog; the
supplier parquet is a view over ``read_parquet('az://…')`` with the ``azure``
extension and a secret holding the connection string. Every extension is
loaded from its offline wheel; settings are DuckDB's defaults, as a user who
just attached the sources would have them.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
from sqlglot import exp

from benchmarks.tpch import extensions
from benchmarks.tpch.deployment import Deployment
from benchmarks.tpch.load import blob_name, json_file
from benchmarks.tpch.schema import tables_of


def _literal(text: str) -> str:
    return exp.Literal.string(text).sql("duckdb")


def _libpq(**settings) -> str:
    """``key=value`` pairs, quoted where a value holds spaces or quotes, as libpq and the mysql extension read them."""

    def value(text) -> str:
        text = str(text)
        if text and not any(c in text for c in " '\\"):
            return text
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{key}={value(v)}" for key, v in settings.items())


class Peer:
    """A DuckDB connection with ``shop``, ``crm``, ``partners`` and ``vendors`` in place."""

    def __init__(self, deployment: Deployment):
        self.connection = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        connection = self.connection
        connection.execute("SET enable_progress_bar = false")
        extensions.load(connection, "mysql_scanner", "postgres_scanner", "azure")
        shop, crm = deployment.shop, deployment.crm
        mysql = _libpq(host=shop.host, port=shop.port, user=shop.user, password=shop.password, database=shop.database)
        connection.execute(f"ATTACH {_literal(mysql)} AS shop (TYPE mysql, READ_ONLY)")
        postgres = _libpq(
            host=crm.host, port=crm.port, user=crm.user, password=crm.password, dbname=crm.database, sslmode="disable"
        )
        connection.execute(f"ATTACH {_literal(postgres)} AS crm (TYPE postgres, READ_ONLY)")
        connection.execute(
            f"CREATE SECRET vendors (TYPE azure, CONNECTION_STRING {_literal(deployment.vendors.connection_string)})"
        )
        for schema in ("partners", "vendors"):
            connection.execute(f"CREATE SCHEMA {schema}")
        for table in tables_of("partners"):
            columns = exp.Struct(
                expressions=[
                    exp.PropertyEQ(this=exp.Literal.string(name), expression=exp.Literal.string(kind))
                    for name, kind in table.duckdb_columns().items()
                ]
            ).sql("duckdb")
            path = _literal(str(json_file(deployment.partners, table.name)))
            connection.execute(
                f"CREATE VIEW partners.{table.name} AS SELECT * FROM read_json({path}, "
                f"columns = {columns}, format = 'newline_delimited')"
            )
        for table in tables_of("vendors"):
            url = _literal(f"az://{deployment.vendors.container}/{blob_name(table.name)}")
            connection.execute(f"CREATE VIEW vendors.{table.name} AS SELECT * FROM read_parquet({url})")

    def run(self, sql: str) -> pa.Table:
        """The whole answer of ``sql`` as Arrow."""
        result = self.connection.execute(sql).arrow()
        return result.read_all() if isinstance(result, pa.RecordBatchReader) else result

    def cancel(self) -> None:
        self.connection.interrupt()

    def close(self) -> None:
        self.connection.close()
