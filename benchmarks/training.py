"""Training benchmark (not a test): ``c360 train`` end to end on generated data, per customer count.

    .venv/bin/python benchmarks/training.py [--customers 10000 100000] [--days 365] [--keep DIR]

For each customer count, generates the demo's embedded project (SQLite CRM and shop, partner JSON,
browsing blob folders; ``c360 generate``, seed 42, ending 2026-11-01) into a temporary folder (or
``DIR/<n>``, reused when already there), then trains as ``c360 train`` does with its defaults
(30-day horizon, up to 6 cutoffs, 60 rounds) and prints, per step, the seconds taken and the rows
per second: the snapshots (``customer_360`` as of each cutoff, the features, plus the label query),
the boosting (training rows), the evaluation (baselines and the paired bootstrap, evaluation rows; the
card and model are written after it) and the whole. Generation is timed
apart and not counted. CPU seconds (this process, every thread; the sources' own work, SQLite and
DuckDB included, runs in it) are printed next to the wall-clock ones: on a shared machine the wall
clock measures the neighbours too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import c360  # noqa: E402
from c360.generate import Config, generate, write_manifest  # noqa: E402
from c360.generate.targets import EmbeddedTarget  # noqa: E402
from c360.model import training  # noqa: E402

END = dt.date(2026, 11, 1)


def project(root: Path, customers: int, days: int) -> float:
    """The demo project with ``customers`` generated customers under ``root``; seconds spent generating."""
    if (root / "demo-data" / "manifest.json").is_file():
        return 0.0
    shutil.copytree(REPO / "catalog", root / "catalog", dirs_exist_ok=True)
    shutil.copytree(REPO / "queries", root / "queries", dirs_exist_ok=True)
    started = time.perf_counter()
    config = Config(customers=customers, days=days, seed=42, end=END)
    counts = generate(config, EmbeddedTarget(root / "demo-data"))
    write_manifest(root / "demo-data", config, counts)
    return time.perf_counter() - started


def run(root: Path, customers: int, days: int) -> None:
    generated = project(root, customers, days)
    steps: list[list] = []  # [name, started, finished, cpu started, cpu finished]

    def note(text, total):
        now, cpu = time.perf_counter(), time.process_time()
        if steps:
            steps[-1][2], steps[-1][4] = now, cpu
        steps.append([text, now, None, cpu, None])
        return len(steps) - 1

    started, cpu_started = time.perf_counter(), time.process_time()
    connection = c360.connect(str(root / "catalog"))
    try:
        card = training.train(connection, root / "models", note=note, advance=lambda *a: None)
    finally:
        connection.close()
    finished, cpu_finished = time.perf_counter(), time.process_time()
    steps[-1][2], steps[-1][4] = finished, cpu_finished
    rows = card.rows["training"] + card.rows["evaluation"]
    total = finished - started
    print(f"{customers:,} customers ({days} days of history; generated in {generated:.1f}s"
          f"{'' if generated else ', reused'}):")
    for name, begin, end, cpu_begin, cpu_end in steps:
        seconds = end - begin
        counted = rows if name.startswith("snapshots") else (
            card.rows["training"] if name.startswith("boosting") else card.rows["evaluation"])
        print(f"  {name:<42} {seconds:8.1f}s {counted / seconds:>12,.0f} rows/s   (CPU {cpu_end - cpu_begin:.1f}s)")
    print(f"  {'train, total':<42} {total:8.1f}s {rows / total:>12,.0f} rows/s   "
          f"(CPU {cpu_finished - cpu_started:.1f}s; "
          f"{card.rows['training']:,} training + {card.rows['evaluation']:,} evaluation rows, "
          f"{len(card.training_cutoffs)} cutoffs, {card.params.get('rounds')} rounds)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--keep", type=Path, help="generate into DIR/<customers> and keep it (reused next time)")
    args = parser.parse_args()
    for customers in args.customers:
        if args.keep:
            root = args.keep / str(customers)
            root.mkdir(parents=True, exist_ok=True)
            run(root, customers, args.days)
        else:
            with tempfile.TemporaryDirectory(prefix="c360-train-bench-") as folder:
                run(Path(folder), customers, args.days)


if __name__ == "__main__":
    main()
