"""``customer_360_latency.py --accelerated``: the same lookups through accelerated copies, next to live ones.

Declares ``customer_360`` (full) and ``shop.orders`` (append on ``order_ts``) as accelerated copies in the
benchmark's project, measures what refreshing costs (full refreshes, then an append refresh after adding 1%
new orders), then point lookups on ``customer_360``: through the DB-API, live (``SET max_staleness = 0``) and
accelerated, and through ``c360 serve`` with ``--clients`` concurrent psycopg clients, live and accelerated, with
the server's CPU time per lookup. ``--baseline REPO`` serves the same copies from another checkout too (main,
say), alternately with this one for ``--rounds`` rounds, so the two are compared on the same machine at once.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

ACCELERATION = """
acceleration:
  customer_360: {key: [customer_id], max_staleness: 1d}
  shop.orders: {refresh: append, column: order_ts, key: [order_id], overlap: 10m, max_staleness: 1d}
"""

#: ``--uncompressed``: ``customer_360``'s copy written without DuckDB's compression (a baseline checkout that does not
#: know the setting is served the declaration without it, reading the same file)
UNCOMPRESSED = ACCELERATION.replace("customer_360: {key: [customer_id], ",
                                    "customer_360: {key: [customer_id], compress: false, ")

QUERY = "SELECT * FROM customer_360 WHERE customer_id = ?"
WIRE_QUERY = "SELECT * FROM customer_360 WHERE customer_id = %s"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def figures(label: str, values: list[float]) -> str:
    p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
    return f"  {label:<44} p50 {p50:9.1f} ms   p99 {p99:9.1f} ms   ({len(values)} lookups)"


def refresh_costs(catalog_dir: Path, profile: str):
    """Full refreshes of both copies, then 1% new orders and an append refresh; yields one line each, as it is
    measured (a later failure does not lose the earlier ones)."""
    from c360.acceleration.refresh import refresh
    from c360.catalog import Catalog

    catalog = Catalog(catalog_dir, profile=profile)
    try:
        for name in ("customer_360", "shop.orders"):
            result = refresh(catalog, catalog.accelerations[name], full=True)
            yield (f"  full refresh of {name:<14} {result.seconds:8.2f} s   {result.rows_read:>12,} rows read "
                   f"  {result.bytes / 1e6:8.1f} MB   load {os.getloadavg()[0]:.1f}")
        added = add_orders(catalog, profile)
        result = refresh(catalog, catalog.accelerations["shop.orders"])
        yield (f"  {result.mode} refresh of shop.orders    {result.seconds:8.2f} s   "
               f"{result.rows_read:>12,} rows read   after {added:,} new orders (1%)   load {os.getloadavg()[0]:.1f}")
    finally:
        catalog.close()


def add_orders(catalog, profile: str) -> int:
    """Insert 1% new orders (new ids, order_ts just past the newest) into the shop; returns how many."""
    source = catalog.source("shop")
    if profile == "servers":  # the catalog's login reads only: the servers demo's admin login writes
        from c360.generate.servers import mysql_admin

        options = source.options
        connection = mysql_admin(options["host"], int(options.get("port", 3306)))
        connection.select_db(options["database"])
        placeholder = "%s"
    else:
        connection = sqlite3.connect((catalog.path / source.options["path"]).resolve())
        placeholder = "?"
    cursor = connection.cursor()
    cursor.execute("SELECT count(*), max(order_id), max(order_ts) FROM orders")
    count, top, newest = cursor.fetchone()
    newest = newest if isinstance(newest, dt.datetime) else dt.datetime.fromisoformat(str(newest))
    cursor.execute("SELECT max(customer_id) FROM orders")
    customers = cursor.fetchone()[0]
    added = max(1, count // 100)
    rng = random.Random(11)
    rows = [(top + i + 1, rng.randint(1, customers), (newest + dt.timedelta(seconds=1 + i % 600)).isoformat(sep=" "),
             "web", "completed") for i in range(added)]
    marks = ", ".join([placeholder] * 5)
    cursor.executemany(f"INSERT INTO orders (order_id, customer_id, order_ts, channel, status) VALUES ({marks})", rows)
    connection.commit()
    connection.close()
    return added


def dbapi_lookups(catalog_dir: Path, profile: str, customers: int, runs: int, *, live: bool, seed: int) -> list[float]:
    import c360

    rng = random.Random(seed)
    connection = c360.connect(catalog_dir, profile=profile)
    if live:
        connection.execute("SET max_staleness = 0")
    cursor = connection.cursor()
    cursor.execute(QUERY, [1]).fetchall()  # warm-up: connections, schema discovery, the plan
    totals = []
    for _ in range(runs):
        started = time.perf_counter()
        rows = cursor.execute(QUERY, [rng.randint(1, customers)]).fetchall()
        totals.append(time.perf_counter() - started)
        assert len(rows) <= 1
    connection.close()
    return totals


def start_server(catalog_dir: Path, profile: str, log: Path, workers: int = 1,
                 repo: Path | None = None) -> tuple[subprocess.Popen, int]:
    """``c360 serve`` on the benchmark's project, from this checkout or from ``repo`` (another one: the baseline)."""
    handle = open(log, "w")
    env = {**os.environ, "PYTHONPATH": str(repo)} if repo is not None else None
    process = subprocess.Popen(
        [sys.executable, "-m", "c360", "serve", "--catalog", str(catalog_dir), "--profile", profile, "--port", "0",
         *(["--workers", str(workers)] if workers > 1 else [])],
        stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=catalog_dir.parent, env=env,
    )
    handle.close()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        match = re.search(r"postgresql://[^:]+:(\d+)/", log.read_text())
        if match:
            return process, int(match.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"c360 serve did not start:\n{log.read_text()}")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` and its children (a server's workers), from ``/proc``."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def wire_lookups(port: int, customers: int, clients: int, per_client: int, *, live: bool, seed: int) -> list[float]:
    """``clients`` psycopg connections at once, ``per_client`` lookups each; every latency in seconds."""
    import psycopg

    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)

    def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        local = []
        try:
            connection = psycopg.connect(f"host=127.0.0.1 port={port} user=bench dbname=c360", autocommit=True)
            if live:
                connection.execute("SET max_staleness = 0")
            connection.execute(WIRE_QUERY, [1]).fetchall()  # its engine, made once per session
        except psycopg.Error as error:
            failures.append(str(error))
            ready.wait()
            return
        ready.wait()
        with connection:
            for _ in range(per_client):
                started = time.perf_counter()
                try:
                    connection.execute(WIRE_QUERY, [rng.randint(1, customers)]).fetchall()
                except psycopg.Error as error:
                    failures.append(str(error))
                    continue
                local.append(time.perf_counter() - started)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if latencies:
        print(f"  ({len(latencies) / elapsed:.0f} lookups/s over {elapsed:.1f} s)")
    if failures:
        print(f"  {len(failures)} lookups failed, e.g. {failures[0].splitlines()[0]}")
    return latencies


def run(catalog_dir: Path, profile: str, customers: int, *, runs: int, live_runs: int, clients: int,
        per_client: int, live_per_client: int, seed: int, refresh: bool = True, serve_workers: int = 1,
        baseline: Path | None = None, rounds: int = 1, uncompressed: bool = False) -> int:
    if profile == "servers":
        from c360.settings import apply_demo_values

        apply_demo_values()
    declared = UNCOMPRESSED if uncompressed else ACCELERATION
    (catalog_dir / "acceleration.yaml").write_text(declared)
    if refresh:
        print(f"refresh costs [{profile}, {customers:,} customers]")
        for line in refresh_costs(catalog_dir, profile):
            print(line, flush=True)
    print(f"{QUERY}  [{profile}, {customers:,} customers]")
    accelerated = dbapi_lookups(catalog_dir, profile, customers, runs, live=False, seed=seed)
    print(figures("DB-API, accelerated", accelerated), flush=True)
    if live_runs:
        live = dbapi_lookups(catalog_dir, profile, customers, live_runs, live=True, seed=seed)
        print(figures("DB-API, live (max_staleness = 0)", live), flush=True)
    label = f"c360 serve{f' --workers {serve_workers}' if serve_workers > 1 else ''}, {clients} clients"
    servers = [(baseline, "baseline")] * bool(baseline) + [(None, "this checkout")]
    for round_ in range(rounds):
        for repo, name in servers:  # alternately, so both see the same machine
            tag = f" [{name}]" if baseline else ""
            (catalog_dir / "acceleration.yaml").write_text(ACCELERATION if repo is not None else declared)
            wire_round(catalog_dir, profile, customers, clients, per_client, live_per_client if round_ == 0 else 0,
                       seed, serve_workers, f"{label}{tag}", repo)
    (catalog_dir / "acceleration.yaml").write_text(declared)
    return 0


def wire_round(catalog_dir: Path, profile: str, customers: int, clients: int, per_client: int, live_per_client: int,
               seed: int, serve_workers: int, label: str, repo: Path | None) -> None:
    """One server: a warm-up, the accelerated lookups (with the server's CPU per lookup), the live ones."""
    process, port = start_server(catalog_dir, profile, catalog_dir.parent / "serve.log", serve_workers, repo)
    try:
        wire_lookups(port, customers, clients, 2, live=False, seed=seed + 1)  # every worker plans and trusts the shape
        load, cpu = os.getloadavg()[0], cpu_seconds(process.pid)
        wire = wire_lookups(port, customers, clients, per_client, live=False, seed=seed)
        per_lookup = (cpu_seconds(process.pid) - cpu) / max(1, len(wire)) * 1000
        print(figures(f"{label}, accelerated", wire) + f"   server CPU {per_lookup:.1f} ms/lookup"
              f"   load {load:.1f} -> {os.getloadavg()[0]:.1f}", flush=True)
        if live_per_client:
            wire_live = wire_lookups(port, customers, clients, live_per_client, live=True, seed=seed)
            print(figures(f"{label}, live", wire_live), flush=True)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
