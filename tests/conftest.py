"""Shared pytest fixtures, one section per kind of thing they provide.

Servers are real (see :mod:`tests.servers`): a fixture finds the server running
or starts it, and fails the tests loudly when it cannot; nothing is skipped.
Add new fixtures under a section header of their own.
"""

from __future__ import annotations

import pytest

from tests import servers

#: The session's Azurite (the ``azurite`` fixture), and the compatibility table's marker and outcomes.
pytest_plugins = ["tests.azurite", "tests.compat"]

# --- database servers (MariaDB, PostgreSQL through ODBC) -----------------------------------------


@pytest.fixture(scope="session")
def mariadb():
    """The session's MariaDB database and TCP user (:class:`tests.servers.MariaDB`)."""
    try:
        server = servers.start_mariadb_session()
    except servers.ServerUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    servers.end_mariadb_session(server)


@pytest.fixture(scope="session")
def postgres_odbc():
    """The session's PostgreSQL database and login, with an ODBC connection string
    (:class:`tests.servers.PostgresOdbc`)."""
    try:
        server = servers.start_postgres_session()
    except servers.ServerUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    servers.end_postgres_session(server)


# --- the federated world (every kind of source, plus the DuckDB oracle) --------------------------

@pytest.fixture(scope="session")
def world(tmp_path_factory, mariadb, postgres_odbc, azurite):
    """One dataset in MariaDB, PostgreSQL/ODBC, SQLite, JSON files and Azurite, and in the oracle."""
    from tests.oracle import build_world

    built = build_world(tmp_path_factory.mktemp("world"), mariadb=mariadb, postgres_odbc=postgres_odbc,
                        azurite=azurite)
    yield built
    built.connection.close()
