"""The fixed world of :mod:`tests.views.world`, written once per module, and connections to it."""

from __future__ import annotations

import pytest

import c360
from tests.views.world import write_world


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return write_world(tmp_path_factory.mktemp("world"))


@pytest.fixture
def as_of(catalog):
    """``as_of(date)`` -> a connection whose views are evaluated as of ``date``."""
    opened = []

    def connect(date):
        connection = c360.connect(catalog)
        connection.execute(f"SET VARIABLE as_of = DATE '{date.isoformat()}'")
        opened.append(connection)
        return connection

    yield connect
    for connection in opened:
        connection.close()
