"""TPC-H at SF 0.01 in the session's own MariaDB and PostgreSQL databases, JSON files and Azurite container.

Loaded with the benchmark's own loaders (:mod:`benchmarks.tpch.load`), so the
tests prove the harness as well as c360. Generating and loading take ~3 s.
"""

from __future__ import annotations

import os

import pytest

from benchmarks.tpch import answers, catalog, data, load
from benchmarks.tpch.deployment import Container, Database, Deployment

SF = 0.01


@pytest.fixture(scope="session")
def tpch(tmp_path_factory, mariadb, postgres_odbc, azurite):
    """(Deployment, catalog folder, generated DuckDB file); the catalog's variables are set in os.environ."""
    root = tmp_path_factory.mktemp("tpch")
    database = data.generate(root, SF)
    shop = mariadb.child("tpch")
    crm = postgres_odbc.child("tpch")
    place = Deployment(
        shop=Database(shop.host, shop.port, shop.user, shop.password, shop.database),
        crm=Database(crm.host, crm.port, crm.user, crm.password, crm.database),
        partners=root / "json",
        vendors=Container(azurite.host, azurite.port, azurite.new_container("tpch")),
    )
    load.ensure(
        place,
        database,
        root / "staging",
        mysql_connect=lambda: shop.connect(local_infile=True),
        postgres_connect=crm.connect,
    )
    folder, environment = catalog.write(root / "project" / "catalog", place)
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    yield place, folder, database
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def tpch_local(tpch):
    """The same tables in an in-memory DuckDB (``shop.lineitem``, ...): the oracle."""
    connection = data.local_tables(tpch[2])
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def tpch_reference():
    """The tpch extension's reference answers at this scale factor: query number → rows as text."""
    return answers.reference(SF)
