"""benchmarks/training.py on a tiny generated project: it trains and prints time and rows/s per step."""

from __future__ import annotations

import re

from benchmarks import training as bench


def test_the_training_benchmark_prints_seconds_and_rows_per_second_per_step(tmp_path, capsys):
    bench.run(tmp_path, 400, 200)
    out = capsys.readouterr().out
    assert out.startswith("400 customers (200 days of history; generated in ")
    for step in ("snapshots as of each cutoff", "boosting rounds", "evaluation (baselines, paired bootstrap)",
                 "train, total"):
        assert re.search(rf"  {re.escape(step)} +\d+\.\ds +[\d,]+ rows/s   \(CPU \d+\.\ds", out), (step, out)
    assert (tmp_path / "models" / "propensity.json").is_file()
