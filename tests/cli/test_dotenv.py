"""The project's ``.env`` (:mod:`c360.cli.dotenv`): written readable by its owner only, read without overriding
the environment, and read by the CLI so a catalog's ``${ENV:…}`` references resolve from it."""

from __future__ import annotations

import os
import subprocess
import sys

from c360.cli import dotenv
from tests.projects import project


def test_remember_writes_owner_only_and_updates_in_place(tmp_path, monkeypatch):
    monkeypatch.setenv("C360_T_ONE", "first")
    monkeypatch.setenv("C360_T_TWO", "a;b=c/d")
    path = dotenv.remember(tmp_path, ["C360_T_ONE", "C360_T_TWO"])
    assert path.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("C360_T_ONE", "second")
    dotenv.remember(tmp_path, ["C360_T_ONE"])
    assert dotenv.read(path) == {"C360_T_ONE": "second", "C360_T_TWO": "a;b=c/d"}
    assert path.read_text().count("C360_T_ONE") == 1 and path.read_text().startswith("# ")
    assert dotenv.remember(tmp_path, []) is None


def test_load_fills_only_what_the_environment_lacks(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text('# comment\nexport C360_T_A="quoted"\nC360_T_B = plain\nnot a line\nC360_T_C=x\n')
    monkeypatch.delenv("C360_T_A", raising=False)
    monkeypatch.delenv("C360_T_B", raising=False)
    monkeypatch.setenv("C360_T_C", "mine")
    assert dotenv.load(tmp_path) == ["C360_T_A", "C360_T_B"]
    assert (os.environ["C360_T_A"], os.environ["C360_T_B"], os.environ["C360_T_C"]) == ("quoted", "plain", "mine")
    assert dotenv.load(tmp_path / "nowhere") == []


def test_the_cli_resolves_a_catalog_secret_from_the_projects_env_file(tmp_path, mariadb):
    server = mariadb.child("dotenv")
    server.execute("CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1), (2), (3)")
    options = server.options("${ENV:C360_DOTENV_TEST_PASSWORD}")
    project(tmp_path, "sources:\n  shop:\n    kind: mysql\n" + "".join(f"    {k}: {v}\n" for k, v in options.items()))
    env = {k: v for k, v in os.environ.items() if k not in ("C360_DEBUG", "C360_DOTENV_TEST_PASSWORD")}

    def count():
        return subprocess.run([sys.executable, "-m", "c360", "query", "SELECT count(*) AS n FROM shop.t", "-f", "csv"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)

    missing = count()
    assert missing.returncode == 1 and "C360_DOTENV_TEST_PASSWORD" in missing.stderr
    (tmp_path / ".env").write_text(f"C360_DOTENV_TEST_PASSWORD='{server.password}'\n")
    found = count()
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines() == ['"n"', "3"] and server.password not in found.stdout + found.stderr
