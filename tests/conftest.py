"""Shared pytest fixtures, one section per kind of thing they provide.

Servers are real (see :mod:`tests.servers`): a fixture finds the server running
or starts it, and fails the tests loudly when it cannot; nothing is skipped.
Add new fixtures under a section header of their own.
"""

from __future__ import annotations

import pytest

from tests import servers

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
