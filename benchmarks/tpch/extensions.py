"""DuckDB extensions from the offline wheels (the ``bench`` extra), loaded by path.

DuckDB's own ``INSTALL`` downloads from the internet, which fails here. The
PyPI packages ``duckdb-extension-<name>==1.5.5`` each hold one signed binary at
``duckdb_extension_<name>/extensions/v1.5.5/<name>.duckdb_extension``; the
companion package ``duckdb-extensions`` would ``INSTALL`` it into
``~/.duckdb``, but ``LOAD '<path>'`` runs it in place and writes nothing.

The binary's file name must be the extension's own name, since DuckDB derives
the entry point from it: the MySQL and PostgreSQL scanners are
``mysql_scanner`` and ``postgres_scanner`` (the ``duckdb-extension-mysql`` and
``-postgres`` wheels ship them as ``mysql``/``postgres`` and do not load).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import duckdb

#: The extensions the benchmark uses: tpch (data, queries, answers) and the peer's three scanners.
NAMES = ("tpch", "mysql_scanner", "postgres_scanner", "azure")


class MissingExtension(RuntimeError):
    """An extension's wheel is not installed (or is for another DuckDB version)."""


def path(name: str) -> Path:
    """The extension binary of ``duckdb-extension-<name>`` for the running DuckDB."""
    package = f"duckdb_extension_{name}"
    wheel = f"duckdb-extension-{name.replace('_', '-')}=={duckdb.__version__}"
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise MissingExtension(
            f"DuckDB extension '{name}' is not installed: pip install '{wheel}' "
            "(the bench extra: pip install -e '.[bench]')"
        ) from None
    binary = Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not binary.is_file():
        raise MissingExtension(
            f"{binary} is missing: the installed {package} is not for DuckDB {duckdb.__version__} ({wheel})"
        )
    return binary


def load(connection: duckdb.DuckDBPyConnection, *names: str) -> None:
    """``LOAD`` each extension into ``connection`` from its wheel's file."""
    for name in names:
        literal = str(path(name)).replace("'", "''")
        connection.execute(f"LOAD '{literal}'")
