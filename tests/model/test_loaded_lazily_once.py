"""The model and its compiled kernels load once per process, and only for a query that names a prediction."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, shutil, sys
from pathlib import Path
from tests.views.world import write_world
root = Path(sys.argv[1])
catalog = write_world(root)
shutil.copytree(Path(sys.argv[2]) / "models", root / "models")
import c360
from c360.model import scorer
seen = {}
first = c360.connect(catalog)
first.execute("SELECT first_name, segment, monetary FROM customer_360 WHERE customer_id = 1").fetchall()
seen["plain"] = [m in sys.modules for m in ("xgboost", "numba", "c360.model.trees")]
first.execute("SELECT p_purchase_30d FROM customer_360 WHERE customer_id = 1").fetchall()
seen["predicted"] = [m in sys.modules for m in ("xgboost", "numba", "c360.model.trees")]
loaded = list(scorer._LOADED.values())
second = c360.connect(catalog)
second.execute("SELECT predicted_category FROM customer_360 WHERE customer_id = 2").fetchall()
seen["scorers"] = len(scorer._LOADED)
seen["same"] = list(scorer._LOADED.values()) == loaded
print(json.dumps(seen))
"""


def test_a_query_without_predictions_imports_no_model_and_the_model_loads_once(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), str(REPO)], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["plain"] == [False, False, False]  # no xgboost, no numba kernels
    assert seen["predicted"][0] and seen["predicted"][2]
    assert seen["scorers"] == 1 and seen["same"]  # a second connection reuses the process's scorer
