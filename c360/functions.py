"""Scalar functions the residual DuckDB query can call (the model scorer, for instance).

:data:`REGISTRARS` names each registrar as ``module:function``; a registrar is
``register(connection, project_dir)`` and adds functions to the engine's DuckDB
connection (``create_function``; cursors see them too). The engine calls
:func:`register_all` once, when it is created, and only then is each
registrar's module imported, so importing the engine imports no model. A
registrar should be cheap: load heavy things (a model) lazily, on first call.
"""

from __future__ import annotations

import importlib
from pathlib import Path

REGISTRARS = (
    "c360.model.scorer:register",  # c360_predict, the model's UDF
    "c360.planner.average:register",  # c360_avg, a pushed avg's value from its sum and count
)


def register_all(connection, project_dir: Path) -> None:
    """Run every registrar of :data:`REGISTRARS` on ``connection``, in order."""
    for entry in REGISTRARS:
        module, function = entry.split(":")
        getattr(importlib.import_module(module), function)(connection, project_dir)
