"""Federated TPC-H: the 22 queries through c360 and through a plain DuckDB with scanner extensions (the peer).

The tables are spread over four real sources, as issue 13 describes them::

    crm       region, nation, customer   PostgreSQL; c360 reads it through ODBC (psqlODBC), as it would SQL Server
    shop      orders, lineitem           MariaDB
    partners  part, partsupp             newline-delimited JSON files
    vendors   supplier                   parquet in Azure Blob Storage (Azurite)

Data is generated with the ``tpch`` extension (offline wheel, the ``bench``
extra) and kept between runs in ``--keep-data`` (per scale factor; the servers'
databases and logins are ``tpch_sf<sf>``), so a rerun loads nothing. Each run
starts its own Azurite (data in the same folder) and a byte-counting proxy in
front of MariaDB, PostgreSQL and Azurite, through which both c360 and the peer
connect: bytes and rows are counted on the sources' side of the wire, the same
way for both, and nobody else's traffic is in them. Every answer is checked
against the extension's reference answers (SF 0.01, 0.1, 1) or, for other
scale factors, against the same query on local DuckDB tables. The local DuckDB
time is printed as the lower bound::

    .venv/bin/python benchmarks/tpch_federated.py --sf 0.1
    .venv/bin/python benchmarks/tpch_federated.py --sf 1 --queries 1,4,19 --runs 3 --json /tmp/tpch-sf1.json
    .venv/bin/python benchmarks/tpch_federated.py --sf 0.1 --only peer
    .venv/bin/python benchmarks/tpch_federated.py --sf 0.01 --accelerated

``--accelerated`` adds a column: c360 with all eight tables declared as accelerated copies (refreshed
in full first; the refresh is timed), so every query runs on local DuckDB files -- next to the
local DuckDB tables it should come within 2x of. The ``c360`` column then runs with
``SET max_staleness = 0`` (live sources, as without the flag).

See docs/benchmarks.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import c360  # noqa: E402 - after the sys.path line, so the script runs from anywhere
from benchmarks.tpch import answers, catalog, data, deployment, load, queries, report, run  # noqa: E402
from benchmarks.tpch.peer import Peer  # noqa: E402
from benchmarks.tpch.proxy import Proxies  # noqa: E402

DEFAULT_DATA = REPO / ".tpch-data"


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def _query_numbers(text: str) -> list[int]:
    numbers = sorted({int(part) for part in text.split(",") if part.strip()})
    if not numbers or any(n not in queries.ALL for n in numbers):
        raise argparse.ArgumentTypeError(f"queries are numbers 1..22, comma-separated: {text!r}")
    return numbers


def _endpoint(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Data, databases and logins are kept for the next run; "
        "drop them by hand (DROP DATABASE tpch_sf0_1 ...) and delete the folder.",
    )
    parser.add_argument("--sf", type=float, default=0.1, help="TPC-H scale factor (default 0.1)")
    parser.add_argument(
        "--queries", type=_query_numbers, default=list(queries.ALL), help="e.g. 1,4,19 (default: all 22)"
    )
    parser.add_argument("--runs", type=int, default=1, help="timed runs per query and side (default 1)")
    parser.add_argument("--stat", choices=("median", "best"), default="median", help="which run's time to report")
    parser.add_argument(
        "--keep-data",
        type=Path,
        default=DEFAULT_DATA,
        metavar="DIR",
        help=f"folder kept between runs: generated data, JSON files, Azurite (default {DEFAULT_DATA})",
    )
    parser.add_argument("--only", choices=("c360", "peer"), default=None, help="run one side only (local always runs)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a query is cancelled (default 900)")
    parser.add_argument(
        "--direct",
        action="store_true",
        help="connect to the servers directly, without the counting proxy (times only: its overhead)",
    )
    parser.add_argument(
        "--accelerated",
        action="store_true",
        help="also run c360 over accelerated copies of all eight tables (refreshed first), as a third column",
    )
    parser.add_argument(
        "--compress",
        action="store_true",
        help="c360 asks MariaDB for the compressed protocol too (the peer's scanner always does): bytes on an "
        "equal footing, at some CPU",
    )
    parser.add_argument("--mariadb", type=_endpoint, default=("127.0.0.1", 3306), metavar="HOST:PORT")
    parser.add_argument("--postgres", type=_endpoint, default=("127.0.0.1", 5432), metavar="HOST:PORT")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    folder = (args.keep_data / data.folder_name(args.sf)).resolve()
    started = time.perf_counter()
    _say(f"TPC-H SF {args.sf:g}: data in {folder}")
    database = data.generate(folder, args.sf)
    _say(f"generated ({time.perf_counter() - started:.1f} s so far)")

    name, container = deployment.names(args.sf)
    secret = deployment.password(args.keep_data.resolve())
    shop, mysql_admin = deployment.bench_mariadb(*args.mariadb, name, secret)
    crm, postgres_admin = deployment.bench_postgres(*args.postgres, name, secret)
    azurite = deployment.Azurite(args.keep_data.resolve() / "azurite")
    try:
        place = deployment.Deployment(
            shop=shop,
            crm=crm,
            partners=folder / "json",
            vendors=deployment.Container("127.0.0.1", azurite.port, container),
        )
        loaded = load.ensure(
            place,
            database,
            folder / "staging",
            mysql_connect=mysql_admin,
            postgres_connect=postgres_admin,
            reader=name,
            say=_say,
        )
        _say("sources hold the data" + (f" (loaded: {loaded})" if loaded else " (nothing to load)"))
        return measure(args, place, database)
    finally:
        azurite.stop()


def refresh_copies(folder: Path) -> None:
    """Full refreshes of every declared copy (all eight tables), timed."""
    from c360.acceleration.refresh import refresh
    from c360.catalog import Catalog

    project = Catalog(folder)
    try:
        started = time.perf_counter()
        rows = 0
        for acceleration in project.accelerations.values():
            result = refresh(project, acceleration, full=True)
            rows += result.rows_read
        _say(f"accelerated copies refreshed: {len(project.accelerations)} tables, {rows:,} rows, "
             f"{time.perf_counter() - started:.1f} s")
    finally:
        project.close()


def measure(args, place: deployment.Deployment, database: Path) -> int:
    reference = answers.reference(args.sf)
    _say("reference answers: " + ("the tpch extension's" if reference else "none for this SF: local DuckDB's"))
    local = data.local_tables(database)
    upstreams = {
        "shop": (place.shop.host, place.shop.port, "mysql"),
        "crm": (place.crm.host, place.crm.port, "postgres"),
        "vendors": (place.vendors.host, place.vendors.port, "http"),
    }
    with contextlib.nullcontext() if args.direct else Proxies(upstreams) as proxies:
        proxied = place if proxies is None else place.via({name: proxies.port(name) for name in upstreams})
        folder, environment = catalog.write(
            args.keep_data.resolve() / data.folder_name(args.sf) / "project" / "catalog", proxied,
            accelerated=args.accelerated, compress=args.compress,
        )
        os.environ.update(environment)
        sides, closers = [], []
        if args.only in (None, "c360"):
            connection = c360.connect(folder)
            if args.accelerated:
                connection.execute("SET max_staleness = 0")  # the c360 column stays live
            sides.append(run.C360Side(connection, place.partners))
            closers.append(connection.close)
        if args.accelerated and args.only in (None, "c360"):
            refresh_copies(folder)
            accelerated = c360.connect(folder)
            sides.append(run.C360Side(accelerated, place.partners, name="accel"))
            closers.append(accelerated.close)
        if args.only in (None, "peer"):
            peer = Peer(proxied)
            sides.append(run.PeerSide(peer, place.partners))
            closers.append(peer.close)
        try:
            for side in sides:
                started = time.perf_counter()
                run.warm_up(side, args.timeout)
                _say(f"{side.name} warmed up ({time.perf_counter() - started:.1f} s)")
            results = []
            for number in args.queries:
                result = run.run_query(
                    number,
                    local=local,
                    sides=sides,
                    reference=reference.get(number),
                    proxies=proxies,
                    runs=args.runs,
                    timeout=args.timeout,
                )
                results.append(result)
                times = "  ".join(
                    f"{name} {s.time(args.stat):.3f} s" if s.time(args.stat) is not None else f"{name} {s.error}"
                    for name, s in (("c360", result.c360), ("peer", result.peer), ("accel", result.accel),
                                    ("local", result.local))
                    if s
                )
                _say(f"Q{number}: {times}")
        finally:
            for close in closers:
                close()
    header = (
        f"TPC-H SF {args.sf:g}, {len(args.queries)} queries, {args.stat} of {args.runs} run(s), "
        f"sources: crm=PostgreSQL/ODBC shop=MariaDB partners=JSON vendors=parquet/Azurite"
    )
    figures = report.print_report(results, stat=args.stat, header=header)
    if args.json:
        settings = {"sf": args.sf, "runs": args.runs, "stat": args.stat, "queries": args.queries, "only": args.only,
                    "accelerated": args.accelerated}
        report.write_json(args.json, results, settings=settings, figures=figures)
        _say(f"figures written to {args.json}")
    wrong = [r.number for r in results for s in (r.c360, r.peer, r.accel) if s is not None and not s.ok]
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
