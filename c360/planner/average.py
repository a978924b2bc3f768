"""``c360_avg(total, count)``: an average from the partial sum and count a source computed, bit for bit DuckDB's.

A pushed ``avg(x)`` of integers or decimals comes back as ``sum(x)`` and ``count(x)``. Dividing them in SQL
(``CAST(total AS DOUBLE) / count``) rounds twice for decimals — the sum 12.34 is not a double — and 35 of 300
averages of DECIMAL(18,2) groups came out one ulp away from DuckDB's own ``avg``. DuckDB divides the unscaled
integer sum, as a ``long double``, by ``count * 10^scale`` as a double, then rounds to a double; this function does
the same with numpy's ``longdouble`` (the x86-64 80-bit type DuckDB's C++ uses). The sum travels as text, so its
exact digits and scale arrive whatever DECIMAL width it has::

    avg(o.total) pushed -> SELECT SUM(total) AS a1, COUNT(total) AS a2 ... ; DuckDB: c360_avg(CAST(a1 AS VARCHAR), a2)
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa

NAME = "c360_avg"


def average(total: str | None, count: int | None) -> float | None:
    """DuckDB's ``avg`` from its exact sum (as text) and count; None for no rows."""
    if total is None or not count:
        return None
    sign, digits, exponent = Decimal(total).as_tuple()
    unscaled = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    if exponent > 0:
        unscaled *= 10**exponent
    scale = max(0, -exponent)
    divident = float(count) * float(10**scale)  # a double, as DuckDB's GetAverageDivident
    import numpy as np  # on first use: registering the function must not cost a query's start-up

    return float(np.longdouble(str(unscaled)) / np.longdouble(divident))


def _averages(totals: pa.Array, counts: pa.Array) -> pa.Array:
    return pa.array([average(t, c) for t, c in zip(totals.to_pylist(), counts.to_pylist())], pa.float64())


def register(connection, project_dir: Path) -> None:
    """Add ``c360_avg(VARCHAR, BIGINT) -> DOUBLE`` to the engine's DuckDB."""
    connection.create_function(NAME, _averages, ["VARCHAR", "BIGINT"], "DOUBLE", type="arrow",
                               side_effects=False)
