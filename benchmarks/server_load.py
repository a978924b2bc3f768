"""Load benchmark for ``c360 serve`` (not a test): PostgreSQL wire against Arrow Flight SQL, in one run.

Starts ``c360 serve --flight-port`` as its own process over a generated
SQLite project (100,000 customers), then through both doors of that one
server — psycopg 3 over the PostgreSQL protocol and the ADBC Flight SQL
driver (``adbc_driver_flightsql.dbapi``) — with clients in threads:

1. point lookups (``WHERE customer_id = <param>``, random ids, the CRM's
   "open this customer") at 1, 8 and 32 concurrent clients for
   ``--phase-seconds`` each: queries/s, p50 and p99 per door;
2. an export of ``--export-rows`` rows (``SELECT … LIMIT n``) to the last
   row in the client (Python tuples from psycopg, an Arrow table from
   Flight SQL), ``--export-runs`` times per door alternating which goes
   first: the median's seconds and rows/s;
3. a 32-client wire load run for ``--duration`` seconds (default 60)
   sampling the server's resident memory every second.

Exits 1 if any query failed or returned a wrong row, or the server's memory
kept growing (the last third of the load run averaging more than
``--max-growth`` above the first third).

    .venv/bin/python benchmarks/server_load.py                 # about 2 minutes
    .venv/bin/python benchmarks/server_load.py --phase-seconds 10 --duration 300
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
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import adbc_driver_flightsql.dbapi as flightsql
import psycopg

ROOT = Path(__file__).resolve().parent.parent
POINT_SQL = "SELECT customer_id, name, city, signup, score FROM shop.customers WHERE customer_id = {}"
EXPORT_SQL = "SELECT customer_id, name, city, signup, score FROM shop.customers LIMIT {}"
LEVELS = (1, 8, 32)

# ADBC's DB-API warns on each connection that autocommit cannot be turned off: c360 is read-only.
warnings.filterwarnings("ignore", "Cannot disable autocommit")


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


@dataclass
class Server:
    process: subprocess.Popen
    port: int  #: PostgreSQL wire
    flight: str  #: Flight SQL location, grpc://host:port


def start_server(catalog: Path, log: Path, threads: int) -> Server:
    handle = open(log, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "c360", "serve", "--catalog", str(catalog), "--port", "0", "--flight-port", "0",
         "--threads", str(threads)],
        stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text()
        wire, flight = re.search(r"postgresql://[^:]+:(\d+)/", text), re.search(r"Flight SQL at (\S+)", text)
        if wire and flight:
            return Server(process, int(wire.group(1)), flight.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    sys.exit(f"c360 serve did not start:\n{log.read_text()}")


def stop_server(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


class Wire:
    """The PostgreSQL door through psycopg 3 (text results, Python tuples)."""

    name = "wire"
    errors = (psycopg.Error,)

    def __init__(self, server: Server) -> None:
        self.dsn = f"host=127.0.0.1 port={server.port} user=bench dbname=c360"

    def connect(self):
        return psycopg.connect(self.dsn, autocommit=True)

    def lookup(self, connection, key: int) -> list[tuple]:
        return connection.execute(POINT_SQL.format("%s"), [key]).fetchall()

    def export(self, connection, rows: int) -> int:
        with connection.cursor() as cursor:
            cursor.execute(EXPORT_SQL.format(rows))
            return len(cursor.fetchall())

    def broken(self, connection) -> bool:
        return connection.broken


class Flight:
    """The Flight SQL door through the ADBC driver (a prepared statement per lookup; Arrow results)."""

    name = "flight"
    errors = (flightsql.Error,)

    def __init__(self, server: Server) -> None:
        self.location = server.flight

    class Connection:
        """An ADBC connection and the one cursor its lookups use (ADBC re-uses the prepared statement)."""

        def __init__(self, location: str) -> None:
            self.connection = flightsql.connect(location, db_kwargs={"username": "bench", "password": "x"})
            self.cursor = self.connection.cursor()

        def close(self) -> None:
            self.cursor.close()
            self.connection.close()

    def connect(self) -> Flight.Connection:
        return Flight.Connection(self.location)

    def lookup(self, connection: Flight.Connection, key: int) -> list[tuple]:
        connection.cursor.execute(POINT_SQL.format("?"), (key,))
        return connection.cursor.fetchall()

    def export(self, connection: Flight.Connection, rows: int) -> int:
        connection.cursor.execute(EXPORT_SQL.format(rows))
        return connection.cursor.fetch_arrow_table().num_rows

    def broken(self, connection) -> bool:
        return False


def run_clients(door, clients: int, seconds: float, rows: int) -> tuple[list[float], int]:
    """``clients`` threads doing point lookups through ``door`` for ``seconds``; latencies (s) and errors."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client() -> None:
        local, failed = [], 0
        rng = random.Random()
        connection = door.connect()
        start.wait()
        while time.monotonic() < stop_at[0]:
            key = rng.randrange(rows)
            began = time.perf_counter()
            try:
                result = door.lookup(connection, key)
                if len(result) != 1 or result[0][0] != key:
                    failed += 1
            except door.errors as error:
                failed += 1
                if failed <= 3:  # a dead server would otherwise print one line per attempt
                    print(f"  {door.name} error: {error}", file=sys.stderr)
                if door.broken(connection):
                    connection = door.connect()
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


def time_exports(doors: list, rows: int, runs: int) -> dict[str, tuple[float, int]]:
    """Median seconds to the last row of an ``rows``-row export per door, and its errors (wrong counts)."""
    times: dict[str, list[float]] = {door.name: [] for door in doors}
    errors = {door.name: 0 for door in doors}
    connections = {door.name: door.connect() for door in doors}
    try:
        for door in doors:  # warm up: the first export plans and discovers
            door.export(connections[door.name], min(rows, 1000))
        for run in range(runs):
            for door in doors if run % 2 == 0 else doors[::-1]:
                began = time.perf_counter()
                got = door.export(connections[door.name], rows)
                times[door.name].append(time.perf_counter() - began)
                if got != rows:
                    errors[door.name] += 1
                    print(f"  {door.name} export returned {got:,} rows, not {rows:,}", file=sys.stderr)
    finally:
        for connection in connections.values():
            connection.close()
    return {name: (statistics.median(values), errors[name]) for name, values in times.items()}


def run(root: Path, rows: int, phase_seconds: float, export_rows: int, export_runs: int, duration: float,
        max_growth: float, log: Callable[[str], None] = print) -> int:
    """The whole benchmark in ``root``; prints its tables and returns the exit status (0 = all right)."""
    catalog = make_project(root, rows)
    server = start_server(catalog, root / "serve.log", threads=48)
    doors = [Wire(server), Flight(server)]
    try:
        for door in doors:
            run_clients(door, 4, min(2, phase_seconds), rows)  # warm up: catalog discovery, schema cache, DuckDB
        log(f"c360 serve over {rows:,} SQLite rows (pid {server.process.pid}; wire port {server.port}, "
            f"Flight SQL {server.flight})")
        log(f"point lookups, {phase_seconds:g} s per level")
        log(f"{'clients':>8} | {'wire q/s':>9} {'p50 ms':>7} {'p99 ms':>7} | {'flight q/s':>10} {'p50 ms':>7} "
            f"{'p99 ms':>7} | {'errors':>6}")
        total_errors = 0
        for clients in LEVELS:
            cells = []
            errors = 0
            for door in doors:
                latencies, failed = run_clients(door, clients, phase_seconds, rows)
                errors += failed
                cells.append(f"{len(latencies) / phase_seconds:>{len(door.name) + 4}.0f} "
                             f"{percentile(latencies, 50) * 1000:>7.1f} {percentile(latencies, 99) * 1000:>7.1f}")
            total_errors += errors
            log(f"{clients:>8} | {cells[0]} | {cells[1]} | {errors:>6}")
            if server.process.poll() is not None:
                log(f"c360 serve exited ({server.process.returncode}):\n{(root / 'serve.log').read_text()}")
                return 1

        export_rows = min(export_rows, rows)
        exports = time_exports(doors, export_rows, export_runs)
        log(f"export of {export_rows:,} rows to the last row in the client, median of {export_runs}")
        for door in doors:
            seconds, failed = exports[door.name]
            total_errors += failed
            what = "psycopg tuples" if door.name == "wire" else "Arrow table"
            log(f"{door.name:>8} | {seconds:>7.2f} s {export_rows / seconds:>11,.0f} rows/s  ({what}) errors {failed}")

        samples: list[float] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                samples.append(rss_mb(server.process.pid))
                done.wait(1)

        sampler = threading.Thread(target=sample)
        sampler.start()
        latencies, errors = run_clients(doors[0], 32, duration, rows)
        done.set()
        sampler.join()
        total_errors += errors
        third = max(1, len(samples) // 3)
        first, last = statistics.mean(samples[:third]), statistics.mean(samples[-third:])
        growth = (last - first) / first
        log(f"load run: wire, 32 clients, {duration:g} s, {len(latencies):,} queries, "
            f"{len(latencies) / duration:.0f} q/s, p50 {percentile(latencies, 50) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 99) * 1000:.1f} ms, errors {errors}")
        log(f"server memory (RSS): first third {first:.0f} MB, last third {last:.0f} MB, "
            f"max {max(samples):.0f} MB, growth {growth * 100:+.1f}%")
        bounded = growth <= max_growth
        log(f"result: {'OK' if total_errors == 0 and bounded else 'FAILED'} "
            f"(errors {total_errors}, memory {'bounded' if bounded else 'growing'})")
        return 0 if total_errors == 0 and bounded else 1
    finally:
        stop_server(server.process)


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of the 32-client load run (default 60)")
    parser.add_argument("--phase-seconds", type=float, default=5,
                        help="seconds per concurrency level and door (default 5)")
    parser.add_argument("--rows", type=int, default=100_000, help="customers in the generated table")
    parser.add_argument("--export-rows", type=int, default=100_000,
                        help="rows of the export through each door (default 100,000; at most --rows)")
    parser.add_argument("--export-runs", type=int, default=3, help="exports per door; the median is reported")
    parser.add_argument("--max-growth", type=float, default=0.25,
                        help="allowed memory growth over the load run (0.25 = 25%%)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="c360-bench-") as tmp:
        return run(Path(tmp), args.rows, args.phase_seconds, args.export_rows, args.export_runs, args.duration,
                   args.max_growth)


if __name__ == "__main__":
    sys.exit(main())
