"""Registrars are data: the engine imports and runs each one when it is created, and only then."""

from __future__ import annotations

import subprocess
import sys

import c360
from c360 import functions
from tests.projects import shop_project


def register_probe(connection, project_dir) -> None:
    """A registrar for the test below: ``probe()`` answers the project folder's name."""
    connection.create_function("probe", lambda: project_dir.name, [], "VARCHAR")


def test_the_engine_runs_every_registrar_named_in_registrars(tmp_path, monkeypatch):
    monkeypatch.setattr(functions, "REGISTRARS", (*functions.REGISTRARS, f"{__name__}:register_probe"))
    with c360.connect(catalog=str(shop_project(tmp_path))) as connection:
        assert connection.execute("SELECT probe()").fetchone() == (tmp_path.name,)
        assert connection.execute("SELECT c360_predict(struct_pack(x := 1)) IS NULL").fetchone() == (True,)


def test_importing_the_engine_imports_no_model():
    code = "import sys, c360, c360.engine; print(sorted(m for m in sys.modules if m.startswith('c360.model')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
