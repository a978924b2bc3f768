"""Latency of one customer's profile: ``SELECT * FROM customer_360 WHERE customer_id = ?``.

A script, not a test. It builds a throwaway project (the repository's ``catalog/``
and ``queries/`` copied into ``--workdir``), generates ``--customers`` customers
into it with ``c360 generate`` (``--target embedded``: SQLite, JSON, local blob
folder; ``--target servers``: MariaDB, PostgreSQL through ODBC and Azurite, as the
catalog's ``servers`` profile declares them), then runs the query ``--runs`` times
for random customer ids and prints p50/p95 latency, the planning share, and the
rows each source sent back for the last run::

    python benchmarks/customer_360_latency.py --customers 100000 --profile servers --runs 20 --browsing-days 35
    python benchmarks/customer_360_latency.py --customers 1000000 --profile servers --runs 5 --browsing-days 35
    python benchmarks/customer_360_latency.py --customers 2000 --runs 10      # embedded, a minute
    python benchmarks/customer_360_latency.py --customers 100000 --runs 200 --accelerated   # copies vs live
    python benchmarks/customer_360_latency.py --customers 100000 --skip-generate --accelerated --skip-refresh \
        --live-runs 0 --live-per-client 0 --serve-workers 2 --baseline /work/main --rounds 2   # vs main
    python benchmarks/customer_360_latency.py --customers 100000 --skip-generate --accelerated --uncompressed \
        --live-runs 0 --live-per-client 0 --serve-workers 2 --baseline /work/main --rounds 3   # copy compress: false

Figures measured with these commands are in ``docs/views.md`` (Latency).
``--skip-generate`` reuses what an earlier run generated in the same ``--workdir``
(for ``servers``, whatever the servers hold). On ``servers`` the copied catalog
points at databases ``c360_shop_bench`` / ``c360_crm_bench`` and the container
``clicks-bench`` (created by the generator), so the demo's own data is left alone.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import c360  # noqa: E402 - after the sys.path line, so the script runs from anywhere

QUERY = "SELECT * FROM customer_360 WHERE customer_id = ?"


def server_names(suffix: str) -> dict:
    """On servers, the benchmark's own databases and container instead of the demo's."""
    return {
        "database: c360_shop": f"database: c360_shop_{suffix}",
        "Database=c360_crm;": f"Database=c360_crm_{suffix};",
        "container: clicks": f"container: clicks-{suffix}",
    }


def prepare_project(workdir: Path, suffix: str | None = "bench") -> Path:
    """Copy the repository's catalog, views and model into ``workdir`` (on servers, naming the benchmark's own
    databases and container by ``suffix``; None keeps the demo's names); return the catalog folder."""
    workdir.mkdir(parents=True, exist_ok=True)
    for folder in ("catalog", "queries", "models"):
        shutil.rmtree(workdir / folder, ignore_errors=True)
        shutil.copytree(REPO / folder, workdir / folder)
    for path in (workdir / "catalog").glob("*.yaml"):
        text = path.read_text()
        for old, new in (server_names(suffix) if suffix else {}).items():
            text = text.replace(old, new)
        path.write_text(text)
    return workdir / "catalog"


def generate(catalog: Path, customers: int, days: int, target: str, workers: int, browsing_days: int | None) -> float:
    """Run ``c360 generate`` into the project; returns the seconds it took."""
    command = [sys.executable, "-m", "c360", "generate", "--customers", str(customers), "--days", str(days),
               "--target", target, "--workers", str(workers), "--out", str(catalog.parent / "demo-data"),
               "--catalog", str(catalog), "--quiet"]
    if browsing_days:
        command += ["--browsing-days", str(browsing_days)]
    print("$", " ".join(command[1:]), flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=catalog.parent, env={**os.environ, "PYTHONPATH": str(REPO)})
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation between the closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def measure(catalog: Path, profile: str, customers: int, runs: int, seed: int, as_of: str | None) -> dict:
    if profile == "servers":
        from c360.settings import apply_demo_values

        apply_demo_values()
    rng = random.Random(seed)
    connection = c360.connect(catalog, profile=profile)
    if as_of:
        connection.execute(f"SET VARIABLE as_of = DATE '{as_of}'")
    cursor = connection.cursor()
    cursor.execute(QUERY, [1]).fetchall()  # warm-up: connections, schema discovery, file listings
    totals, plans, found = [], [], 0
    engine = connection.engine
    for _ in range(runs):
        customer_id = rng.randint(1, customers)
        if engine is not None:
            started = time.perf_counter()
            engine.plan(QUERY, [customer_id])
            plans.append(time.perf_counter() - started)
        started = time.perf_counter()
        rows = cursor.execute(QUERY, [customer_id]).fetchall()
        totals.append(time.perf_counter() - started)
        found += len(rows)
    scans = [(f"{s.source}.{s.table}", s.rows, s.seconds) for s in cursor.scans]
    connection.close()
    return {"totals": totals, "plans": plans, "found": found, "scans": scans}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", "-n", type=int, default=2000, help="customers to generate (and to pick from)")
    parser.add_argument("--days", type=int, default=365, help="days of history to generate")
    parser.add_argument("--profile", "-p", choices=("embedded", "servers"), default="embedded")
    parser.add_argument("--runs", type=int, default=20, help="timed queries (after one warm-up)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/c360-benchmark"), help="the throwaway project")
    parser.add_argument("--browsing-days", type=int, default=None,
                        help="keep only the last N days of browsing (c360 generate --browsing-days)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="generator processes")
    parser.add_argument("--skip-generate", action="store_true", help="reuse the data already generated")
    parser.add_argument("--as-of", default=None, help="SET VARIABLE as_of = DATE '…' (default: today)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the customer ids queried")
    parser.add_argument("--names", default="bench",
                        help="servers: suffix of the benchmark's databases and container (c360_shop_NAMES, ...)")
    parser.add_argument("--accelerated", action="store_true",
                        help="also accelerate customer_360 and shop.orders: refresh costs, and lookups through the "
                             "copies next to live ones, through the DB-API and c360 serve")
    parser.add_argument("--clients", type=int, default=32, help="--accelerated: concurrent c360 serve clients")
    parser.add_argument("--per-client", type=int, default=20, help="--accelerated: lookups per client, accelerated")
    parser.add_argument("--live-per-client", type=int, default=1, help="--accelerated: lookups per client, live")
    parser.add_argument("--live-runs", type=int, default=5, help="--accelerated: live DB-API lookups")
    parser.add_argument("--serve-workers", type=int, default=1,
                        help="--accelerated: c360 serve --workers N (server processes sharing the port)")
    parser.add_argument("--skip-refresh", action="store_true",
                        help="--accelerated: use the copies an earlier run made (no refresh figures)")
    parser.add_argument("--baseline", type=Path, default=None, metavar="REPO",
                        help="--accelerated: also serve the copies from this other checkout (e.g. /work/main), "
                             "alternately with this one")
    parser.add_argument("--uncompressed", action="store_true",
                        help="--accelerated: declare customer_360's copy with compress: false (written without "
                             "DuckDB's compression; refresh it, or it keeps the file it has)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="--accelerated: c360 serve measurements per server (alternating with --baseline)")
    args = parser.parse_args(argv)

    catalog = prepare_project(args.workdir, args.names if args.profile == "servers" else None)
    if not args.skip_generate:
        seconds = generate(catalog, args.customers, args.days, args.profile, args.workers, args.browsing_days)
        print(f"generated {args.customers:,} customers x {args.days} days ({args.profile}) in {seconds:.1f} s")
    if args.accelerated:
        from benchmarks.accelerated_latency import run

        return run(catalog, args.profile, args.customers, runs=args.runs, live_runs=args.live_runs,
                   clients=args.clients, per_client=args.per_client, live_per_client=args.live_per_client,
                   seed=args.seed, refresh=not args.skip_refresh, serve_workers=args.serve_workers,
                   baseline=args.baseline, rounds=args.rounds, uncompressed=args.uncompressed)
    result = measure(catalog, args.profile, args.customers, args.runs, args.seed, args.as_of)
    totals, plans = result["totals"], result["plans"]
    print(f"{QUERY}  [{args.profile}, {args.customers:,} customers, {args.runs} runs, "
          f"{result['found']} rows found]")
    print(f"  latency  p50 {percentile(totals, 0.5) * 1000:8.1f} ms   p95 {percentile(totals, 0.95) * 1000:8.1f} ms"
          f"   mean {statistics.mean(totals) * 1000:8.1f} ms   max {max(totals) * 1000:8.1f} ms")
    if plans:
        print(f"  planning p50 {percentile(plans, 0.5) * 1000:8.1f} ms   p95 {percentile(plans, 0.95) * 1000:8.1f} ms"
              "   (included in the latency)")
    print("  last run, per source scan: rows returned, seconds")
    for name, rows, seconds in result["scans"]:
        print(f"    {name:<22} {rows:>10,} rows {seconds:8.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
