"""One module per source kind, each one class behind the protocol in :mod:`connectors.base`.

``KINDS`` maps a catalog ``kind:`` to ``module:Class``; modules import lazily so a
project that uses only SQLite never imports pyodbc.
"""

from __future__ import annotations

import importlib

KINDS = {
    "mysql": "connectors.mysql:MySQLConnector",
    "odbc": "connectors.odbc:OdbcConnector",
    "sqlite": "connectors.sqlite:SqliteConnector",
    "json": "connectors.json_files:JsonConnector",
    "blob": "connectors.blob:BlobConnector",
}


def connector_class(kind: str):
    """The connector class for ``kind``; KeyError if there is none."""
    module_name, class_name = KINDS[kind].split(":")
    return getattr(importlib.import_module(module_name), class_name)
