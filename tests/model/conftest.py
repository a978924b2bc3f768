"""A small generated project (the demo's catalog and views over generated embedded data) with a
model trained on it by ``c360 train``, shared by the model tests of one session."""

from __future__ import annotations

import contextlib
import io
import shutil
from datetime import date
from pathlib import Path

import pytest

import c360
from c360.cli import main
from c360.generate import Config, generate, write_manifest
from c360.generate.targets import EmbeddedTarget

REPO = Path(__file__).resolve().parents[2]
END = date(2026, 10, 1)


@pytest.fixture(scope="session")
def project(tmp_path_factory) -> Path:
    """A project folder with catalog/, queries/ (the repository's) and generated demo-data/."""
    root = tmp_path_factory.mktemp("model-project")
    shutil.copytree(REPO / "catalog", root / "catalog")
    shutil.copytree(REPO / "queries", root / "queries")
    config = Config(customers=1500, days=200, seed=11, end=END)
    counts = generate(config, EmbeddedTarget(root / "demo-data"))
    write_manifest(root / "demo-data", config, counts)
    return root


@pytest.fixture(scope="session")
def trained(project) -> Path:
    """``project`` after ``c360 train`` (4 cutoffs, 40 rounds): models/ and the updated view."""
    code = main(["train", "--catalog", str(project / "catalog"), "--cutoffs", "4", "--rounds", "40", "-q"])
    assert code == 0
    return project


@pytest.fixture(scope="session")
def lean(tmp_path_factory) -> Path:
    """A retailer's project with only a CRM and a shop (no partner files, no browsing, one category),
    trained with ``c360 train --horizon 45d``: the demo's catalog, where ``partners`` and ``clicks``
    are optional."""
    root = tmp_path_factory.mktemp("lean-project")
    shutil.copytree(REPO / "catalog", root / "catalog")
    shutil.copytree(REPO / "queries", root / "queries")
    config = Config(customers=600, days=240, seed=5, end=END, categories=("Home",))
    generate(config, EmbeddedTarget(root / "demo-data"))
    shutil.rmtree(root / "demo-data" / "partners")
    shutil.rmtree(root / "demo-data" / "blob")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["train", "--catalog", str(root / "catalog"), "--horizon", "45d", "--rounds", "30", "-q"])
    assert code == 0
    (root / "train.out").write_text(printed.getvalue())  # what c360 train printed
    return root


@pytest.fixture
def connect(trained):
    """``connect(as_of)`` -> a connection to the trained project, views as of ``as_of``."""
    opened = []

    def open_(as_of: date = END):
        connection = c360.connect(str(trained / "catalog"))
        connection.execute(f"SET VARIABLE as_of = DATE '{as_of.isoformat()}'")
        opened.append(connection)
        return connection

    yield open_
    for connection in opened:
        connection.close()
