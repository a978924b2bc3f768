"""Scalar functions the residual DuckDB query can call (the model scorer, for instance).

Each entry of :data:`REGISTRARS` is ``register(connection, project_dir)``: it
adds functions to the engine's DuckDB connection (``create_function``; cursors
see them too). The engine calls every registrar once, when it is created. A
registrar should be cheap: load heavy things (a model) lazily, on first call.
"""

from __future__ import annotations

from pathlib import Path

REGISTRARS: list = []


def register_all(connection, project_dir: Path) -> None:
    for register in REGISTRARS:
        register(connection, project_dir)


from c360.model import scorer as _scorer  # noqa: E402,F401 - registers c360_predict (the model's UDF)
