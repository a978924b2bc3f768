"""DuckDB extensions from their offline wheels (benchmarks/tpch/extensions.py)."""

import duckdb
import pytest

from benchmarks.tpch import extensions


def test_a_missing_extension_wheel_is_named_with_the_pip_command():
    with pytest.raises(extensions.MissingExtension, match=r"pip install 'duckdb-extension-no-such==1\.5\.5'"):
        extensions.path("no_such")


def test_the_peers_scanners_load_from_their_wheels_and_run_in_place():
    connection = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    extensions.load(connection, *extensions.NAMES)
    loaded = dict(
        connection.execute("SELECT extension_name, install_path FROM duckdb_extensions() WHERE loaded").fetchall()
    )
    assert set(extensions.NAMES) <= set(loaded)
    assert all(loaded[name] == "" for name in extensions.NAMES)  # loaded by path: nothing INSTALLed
