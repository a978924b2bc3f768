"""Start-up benchmark (not a test): how long `c360 --help` and `c360 query "SELECT 1"` take, cold and warm.

    .venv/bin/python benchmarks/startup.py [--runs N]

Each command runs as a fresh process from the repository root (the demo project: `catalog/`, embedded
profile; `SELECT 1` contacts no source), the way a person types it. Two conditions:

- **cold**: every run gets an empty `PYTHONPYCACHEPREFIX`, so Python compiles every module it imports
  (c360's and its dependencies') from source, as on the first run after a checkout or an editable
  install. The operating system's file cache is left warm (dropping it needs root and says more about
  the disk than about c360).
- **warm**: bytecode cached, the command run N times in a row.

For each it prints the best and the median wall time, and the CPU time (user + system) of the best run:
on this shared machine wall time swings with the other sessions' load, CPU time much less. The target
(issue #16) is 0.5 s for both commands, warm. `python -X importtime -m c360 query "SELECT 1"` shows
where the rest goes.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = {
    "c360 --help": ["--help"],
    'c360 query "SELECT 1"': ["query", "SELECT 1"],
}


def _c360() -> list[str]:
    script = Path(sys.executable).with_name("c360")
    return [str(script)] if script.exists() else [sys.executable, "-m", "c360"]


def once(args: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run; exits if the command fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([*_c360(), *args], cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(args: list[str], runs: int, *, cold: bool) -> list[tuple[float, float]]:
    results = []
    for _ in range(runs):
        env = {k: v for k, v in os.environ.items() if k not in ("C360_DEBUG", "PYTHONDONTWRITEBYTECODE")}
        if cold:
            with tempfile.TemporaryDirectory(prefix="c360-pycache-") as prefix:
                env["PYTHONPYCACHEPREFIX"] = prefix
                results.append(once(args, env))
        else:
            results.append(once(args, env))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command and condition (default 5)")
    options = parser.parse_args()
    print(f"{'command':<24} {'':<5} {'best':>7} {'median':>7} {'cpu':>7}   ({options.runs} runs each)")
    for name, args in COMMANDS.items():
        measure(args, 1, cold=False)  # the bytecode the warm runs use
        for label, cold in (("cold", True), ("warm", False)):
            results = measure(args, options.runs, cold=cold)
            best = min(results)
            median = statistics.median(wall for wall, _ in results)
            print(f"{name:<24} {label:<5} {best[0]:>6.2f}s {median:>6.2f}s {best[1]:>6.2f}s")
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores while measuring")


if __name__ == "__main__":
    main()
