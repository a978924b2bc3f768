"""The ``fuzz_world`` fixture: the fuzz tables in every kind of source, and in the oracle."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def fuzz_world(tmp_path_factory, mariadb, postgres_odbc, azurite):
    from tests.fuzz.world import build_fuzz_world

    built = build_fuzz_world(tmp_path_factory.mktemp("fuzz"), mariadb=mariadb, postgres_odbc=postgres_odbc,
                             azurite=azurite)
    yield built
    built.connection.close()
