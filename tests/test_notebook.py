"""``docs/notebook.ipynb`` executed top to bottom by a real kernel (nbclient), on a copy of the demo
project with freshly generated data, so the notebook never rots."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.slow
def test_the_notebook_runs_on_the_demo_project(tmp_path):
    for folder in ("catalog", "queries", "models"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "docs").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("C360_DEBUG", "C360_PROFILE")}
    done = subprocess.run([sys.executable, "-m", "c360", "generate", "-n", "300", "-d", "120", "--end", "2026-12-01",
                           "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr

    notebook = nbformat.read(ROOT / "docs" / "notebook.ipynb", as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        "commit the notebook without outputs"
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path / "docs")}}).execute(env=env)

    outputs = [_text(cell) for cell in notebook.cells if cell.cell_type == "code"]
    everything = "\n".join(outputs)
    assert "Traceback" not in everything
    assert "crm.customers" in everything and "shop.orders" in everything  # SHOW TABLES, EXPLAIN
    assert "DuckDB runs:" in everything  # EXPLAIN
    assert "predicted_category" in everything and "Champions" in everything
    views = "'c360': ['browsing_features', 'customer_360', 'order_history', 'purchase_features', 'rfm']"
    assert views in " ".join(everything.split())  # pprint wraps the list over lines
