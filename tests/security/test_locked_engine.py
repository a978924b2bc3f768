"""The second wall: the engine's DuckDB connections cannot touch the host even if a statement slips past
the policy. These tests go around the policy on purpose, straight to the connections."""

from __future__ import annotations

import importlib

import duckdb
import pytest

import c360
from c360.planner.parse import parse
from tests.security.attacks import armory

fold_constants = importlib.import_module("c360.planner.fold_constants")  # the module, not its function


@pytest.fixture
def arms(tmp_path):
    return armory(tmp_path)


@pytest.fixture
def engine_cursor(arms):
    with c360.connect(arms.catalog) as connection:
        cursor = connection.engine.cursor()
        yield cursor
        cursor.close()


@pytest.mark.parametrize("statement", [
    "SELECT * FROM read_text('{secret}')",
    "SELECT * FROM read_csv('{secret}')",
    "SELECT * FROM '{secret}'",
    "SELECT * FROM glob('{folder}/*')",
    "COPY (SELECT 1) TO '{target}'",
    "ATTACH '{target}' AS evil",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')",
])
def test_the_engine_connection_cannot_open_a_file_or_the_network(engine_cursor, arms, statement):
    with pytest.raises(duckdb.Error) as raised:
        engine_cursor.execute(arms.arm(statement)).fetchall()
    arms.assert_untouched(raised.value)


@pytest.mark.parametrize("setting", ["enable_external_access = true", "autoinstall_known_extensions = true",
                                     "lock_configuration = false", "memory_limit = '64GB'"])
def test_its_configuration_is_locked(engine_cursor, setting):
    with pytest.raises(duckdb.Error, match="locked"):
        engine_cursor.execute(f"SET {setting}")


def test_the_constant_folder_is_locked_too(arms):
    fold_constants.evaluate_constant(parse("SELECT 1").expressions[0])  # opens its connection
    with pytest.raises(duckdb.Error):
        fold_constants._connection.execute(arms.arm("SELECT * FROM read_text('{secret}')")).fetchall()
    with pytest.raises(duckdb.Error, match="locked"):
        fold_constants._connection.execute("SET enable_external_access = true")


def test_the_catalog_takes_memory_limit_and_temp_directory(tmp_path):
    catalog = armory(tmp_path).catalog
    (catalog / "engine.yaml").write_text("engine:\n  memory_limit: 300MB\n  temp_directory: spill\n  threads: 1\n")
    with c360.connect(catalog) as connection:
        cursor = connection.engine.cursor()
        limit, temp, threads = cursor.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory'), current_setting('threads')"
        ).fetchone()
    assert limit.replace(" ", "").upper().startswith("286") or "300" in limit or "MiB" in limit, limit
    assert temp == str(tmp_path / "spill") and (tmp_path / "spill").is_dir()
    assert threads == 1


def test_an_unknown_engine_setting_is_named(tmp_path):
    catalog = armory(tmp_path).catalog
    (catalog / "engine.yaml").write_text("engine:\n  memory_limt: 300MB\n")
    with pytest.raises(c360.ProgrammingError,
                       match="unknown engine setting 'memory_limt'. Did you mean 'memory_limit'"):
        c360.connect(catalog)
