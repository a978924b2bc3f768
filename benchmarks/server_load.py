"""Load benchmark for ``c360 serve`` (not a test): point lookups over the PostgreSQL protocol.

Starts ``c360 serve`` as its own process over a generated SQLite project
(100,000 customers), then with psycopg 3 clients in threads:

1. point lookups (``WHERE customer_id = %s``, random ids) at 1, 8 and 32
   concurrent clients for ``--phase-seconds`` each: queries/s, p50 and p99;
2. a 32-client load run for ``--duration`` seconds (default 60) sampling the
   server's resident memory every second.

Exits 1 if any query failed or the server's memory kept growing (the last
third of the run averaging more than ``--max-growth`` above the first third).

    .venv/bin/python benchmarks/server_load.py --duration 60
"""

from __future__ import annotations

import argparse
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
POINT_QUERY = "SELECT customer_id, name, city, signup, score FROM shop.customers WHERE customer_id = %s"


def make_project(root: Path, rows: int) -> Path:
    database = root / "shop.sqlite"
    connection = sqlite3.connect(database)
    connection.execute(
        "CREATE TABLE customers (customer_id BIGINT PRIMARY KEY, name TEXT, city TEXT, signup DATE, score DECIMAL(6,2))"
    )
    cities = ["Oslo", "Lyon", "Porto", "Graz", "Turku"]
    connection.executemany(
        "INSERT INTO customers VALUES (?, ?, ?, ?, ?)",
        ((i, f"customer {i}", cities[i % 5], f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}", (i % 10000) / 100)
         for i in range(rows)),
    )
    connection.commit()
    connection.close()
    catalog = root / "catalog"
    catalog.mkdir()
    (catalog / "sources.yaml").write_text("sources:\n  shop:\n    kind: sqlite\n    path: ../shop.sqlite\n")
    return catalog


def start_server(catalog: Path, log: Path, threads: int) -> tuple[subprocess.Popen, int]:
    handle = open(log, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "c360", "serve", "--catalog", str(catalog), "--port", "0", "--threads", str(threads)],
        stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"postgresql://[^:]+:(\d+)/", log.read_text())
        if match:
            return process, int(match.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    sys.exit(f"c360 serve did not start:\n{log.read_text()}")


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def run_clients(port: int, clients: int, seconds: float, rows: int) -> tuple[list[float], int]:
    """``clients`` threads doing point lookups for ``seconds``; returns latencies (s) and the error count."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client() -> None:
        local, failed = [], 0
        rng = random.Random()
        connection = psycopg.connect(f"host=127.0.0.1 port={port} user=bench dbname=c360", autocommit=True)
        start.wait()
        while time.monotonic() < stop_at[0]:
            key = rng.randrange(rows)
            began = time.perf_counter()
            try:
                result = connection.execute(POINT_QUERY, [key]).fetchall()
                if len(result) != 1 or result[0][0] != key:
                    failed += 1
            except psycopg.Error as error:
                failed += 1
                print(f"  error: {error}", file=sys.stderr)
                if connection.broken:
                    connection = psycopg.connect(f"host=127.0.0.1 port={port} user=bench dbname=c360", autocommit=True)
            local.append(time.perf_counter() - began)
        connection.close()
        with lock:
            latencies.extend(local)
            errors[0] += failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + seconds  # reset below once every client is connected
    start.wait()
    stop_at[0] = time.monotonic() + seconds
    for thread in threads:
        thread.join()
    return latencies, errors[0]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of the 32-client load run (default 60)")
    parser.add_argument("--phase-seconds", type=float, default=10, help="seconds per concurrency level (default 10)")
    parser.add_argument("--rows", type=int, default=100_000, help="customers in the generated table")
    parser.add_argument("--max-growth", type=float, default=0.25,
                        help="allowed memory growth over the load run (0.25 = 25%%)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="c360-bench-") as tmp:
        root = Path(tmp)
        catalog = make_project(root, args.rows)
        process, port = start_server(catalog, root / "serve.log", threads=48)
        try:
            run_clients(port, 4, 2, args.rows)  # warm up: catalog discovery, schema cache, DuckDB
            print(f"c360 serve point lookups over {args.rows:,} SQLite rows (pid {process.pid}, port {port})")
            print(f"{'clients':>8} {'queries':>8} {'q/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
            total_errors = 0
            for clients in (1, 8, 32):
                latencies, errors = run_clients(port, clients, args.phase_seconds, args.rows)
                total_errors += errors
                print(f"{clients:>8} {len(latencies):>8} {len(latencies) / args.phase_seconds:>8.0f} "
                      f"{percentile(latencies, 50) * 1000:>8.1f} {percentile(latencies, 99) * 1000:>8.1f} {errors:>7}")

            samples: list[float] = []
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    samples.append(rss_mb(process.pid))
                    done.wait(1)

            sampler = threading.Thread(target=sample)
            sampler.start()
            latencies, errors = run_clients(port, 32, args.duration, args.rows)
            done.set()
            sampler.join()
            total_errors += errors
            third = max(1, len(samples) // 3)
            first, last = statistics.mean(samples[:third]), statistics.mean(samples[-third:])
            growth = (last - first) / first
            print(f"load run: 32 clients, {args.duration:.0f} s, {len(latencies):,} queries, "
                  f"{len(latencies) / args.duration:.0f} q/s, p50 {percentile(latencies, 50) * 1000:.1f} ms, "
                  f"p99 {percentile(latencies, 99) * 1000:.1f} ms, errors {errors}")
            print(f"server memory (RSS): first third {first:.0f} MB, last third {last:.0f} MB, "
                  f"max {max(samples):.0f} MB, growth {growth * 100:+.1f}%")
            bounded = growth <= args.max_growth
            print(f"result: {'OK' if total_errors == 0 and bounded else 'FAILED'} "
                  f"(errors {total_errors}, memory {'bounded' if bounded else 'growing'})")
            return 0 if total_errors == 0 and bounded else 1
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
