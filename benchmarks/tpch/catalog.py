"""The c360 catalog of a deployment: four sources, one YAML file, secrets as ``${ENV:...}`` references.

``crm`` is PostgreSQL through ODBC (``kind: odbc``, ``dialect: postgres``, the
``PostgreSQL Unicode`` driver: the SQL Server stand-in), ``shop`` is MariaDB
(``kind: mysql``), ``partners`` the JSON files (``kind: json``) and ``vendors``
the parquet blob (``kind: blob``). File and blob tables declare their columns,
so no sampling read happens at planning time. TLS is off on both database
connections, as it is for the peer, so both put the same kind of bytes on the wire.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from benchmarks.tpch.deployment import Deployment
from benchmarks.tpch.schema import tables_of

#: The environment variables the catalog refers to (set by :func:`write`'s caller from its return value).
SHOP_PASSWORD, CRM_PASSWORD, BLOB = "TPCH_SHOP_PASSWORD", "TPCH_CRM_PASSWORD", "TPCH_BLOB_CONNECTION_STRING"


def odbc_connection_string(deployment: Deployment, password: str) -> str:
    crm = deployment.crm
    return (
        f"Driver={{PostgreSQL Unicode}};Server={crm.host};Port={crm.port};Database={crm.database};"
        f"Uid={crm.user};Pwd={password};SSLmode=disable;BoolsAsChar=0;"
    )


#: Each table's key: ``--accelerated`` declares every table an accelerated copy sorted by it.
KEYS = {
    "crm.region": ["r_regionkey"], "crm.nation": ["n_nationkey"], "crm.customer": ["c_custkey"],
    "shop.orders": ["o_orderkey"], "shop.lineitem": ["l_orderkey", "l_linenumber"],
    "partners.part": ["p_partkey"], "partners.partsupp": ["ps_partkey", "ps_suppkey"],
    "vendors.supplier": ["s_suppkey"],
}


def write(folder: Path, deployment: Deployment, *, accelerated: bool = False,
          compress: bool = False) -> tuple[Path, dict[str, str]]:
    """Write ``<folder>/tpch.yaml``; returns the catalog folder and the environment it needs. ``accelerated``
    adds an ``acceleration:`` block copying all eight tables (full refresh, a day's bound); ``compress``
    has c360 ask MariaDB for the compressed protocol, as the peer's scanner does."""
    sources = {
        "crm": {
            "description": "region, nation, customer: PostgreSQL through ODBC (the SQL Server stand-in)",
            "kind": "odbc",
            "dialect": "postgres",
            "schema": "public",
            "connection_string": odbc_connection_string(deployment, f"${{ENV:{CRM_PASSWORD}}}"),
        },
        "shop": {
            "description": "orders, lineitem: MariaDB",
            "kind": "mysql",
            "host": deployment.shop.host,
            "port": deployment.shop.port,
            "user": deployment.shop.user,
            "password": f"${{ENV:{SHOP_PASSWORD}}}",
            "database": deployment.shop.database,
            **({"compress": True} if compress else {}),
        },
        "partners": {
            "description": "part, partsupp: newline-delimited JSON files",
            "kind": "json",
            "path": str(deployment.partners.resolve()),
            "tables": {
                t.name: {"files": f"{t.name}.json", "columns": t.duckdb_columns()} for t in tables_of("partners")
            },
        },
        "vendors": {
            "description": "supplier: parquet in Azure Blob Storage (Azurite)",
            "kind": "blob",
            "connection_string": f"${{ENV:{BLOB}}}",
            "container": deployment.vendors.container,
            "tables": {
                t.name: {"format": "parquet", "prefix": f"{t.name}/", "columns": t.duckdb_columns()}
                for t in tables_of("vendors")
            },
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    document = {"sources": sources}
    if accelerated:
        document["acceleration"] = {name: {"key": key, "max_staleness": "1d"} for name, key in KEYS.items()}
    (folder / "tpch.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    environment = {
        SHOP_PASSWORD: deployment.shop.password,
        CRM_PASSWORD: deployment.crm.password,
        BLOB: deployment.vendors.connection_string,
    }
    return folder, environment
