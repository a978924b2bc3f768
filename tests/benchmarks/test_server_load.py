"""benchmarks/server_load.py with tiny sizes: both doors of one ``c360 serve`` answer every lookup and export."""

from __future__ import annotations

import re

import pytest

from benchmarks import server_load as bench

pytestmark = pytest.mark.filterwarnings("ignore:Cannot disable autocommit")


def test_the_load_benchmark_prints_wire_and_flight_side_by_side_without_errors(tmp_path):
    lines: list[str] = []
    status = bench.run(tmp_path, rows=2000, phase_seconds=0.5, export_rows=1500, export_runs=1, duration=1,
                       max_growth=10.0, log=lines.append)
    out = "\n".join(lines)
    assert status == 0, out
    number = r"\d+(?:\.\d+)?"
    for clients in (1, 8, 32):  # q/s, p50, p99 for the wire, then for Flight SQL, then errors 0
        assert re.search(rf"^ +{clients} \| +{number} +{number} +{number} \| +{number} +{number} +{number} \| +0$",
                         out, re.MULTILINE), out
    assert "export of 1,500 rows" in out
    for door in ("wire", "flight"):
        assert re.search(rf"^ +{door} \| +{number} s +[\d,]+ rows/s .* errors 0$", out, re.MULTILINE), out
    assert re.search(r"^result: OK \(errors 0", out, re.MULTILINE), out
