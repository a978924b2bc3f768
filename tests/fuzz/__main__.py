"""``python -m tests.fuzz --queries N --seed S``: a long fuzz run on servers it starts or finds.

Runs the queries of seeds S, S+1, …, S+N-1 (each query is fixed by its own seed), prints each
failure in full (seed, SQL, parameters, both answers, the statements each source received, a test
to paste) and a summary; exits 1 if any query failed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests import servers
from tests.azurite import start_azurite
from tests.fuzz.check import run
from tests.fuzz.generate import KNOWN_BUGS
from tests.fuzz.world import build_fuzz_world


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1000, help="how many queries (default 1000)")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 1_000_000,
                        help="the first query's seed (default: from the clock, printed)")
    parser.add_argument("--include-known", action="store_true",
                        help=f"also generate the shapes of open bugs ({', '.join(sorted(KNOWN_BUGS))})")
    parser.add_argument("--max-failures", type=int, default=20, help="stop after this many failures")
    parser.add_argument("--verbose", action="store_true", help="print every query and its outcome")
    args = parser.parse_args(argv)
    avoid = frozenset() if args.include_known else KNOWN_BUGS

    try:
        mariadb, postgres = servers.start_mariadb_session(), servers.start_postgres_session()
        azurite = start_azurite()
    except (servers.ServerUnavailable, RuntimeError) as error:
        print(f"fuzz: {error}", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="c360-fuzz-"))
    counts = {"ok": 0, "invalid": 0, "fail": 0}
    started = time.perf_counter()
    try:
        world = build_fuzz_world(root, mariadb=mariadb, postgres_odbc=postgres, azurite=azurite)
        print(f"fuzz: seeds {args.seed}..{args.seed + args.queries - 1}", flush=True)
        for seed in range(args.seed, args.seed + args.queries):
            outcome = run(world, seed, avoid)
            counts[outcome.status] += 1
            if args.verbose:
                print(f"[{seed}] {outcome.status} {outcome.seconds:.2f}s {outcome.query.sql} {outcome.query.params}",
                      flush=True)
            if outcome.status == "fail":
                print(outcome.report, flush=True)
                if counts["fail"] >= args.max_failures:
                    break
            elif outcome.status == "invalid" and args.verbose:
                print(f"  {outcome.report}", flush=True)
        world.connection.close()
    finally:
        azurite.stop()
        shutil.rmtree(azurite.workspace, ignore_errors=True)
        servers.end_mariadb_session(mariadb)
        servers.end_postgres_session(postgres)
        shutil.rmtree(root, ignore_errors=True)
    ran = sum(counts.values())
    print(f"fuzz: {ran} queries in {time.perf_counter() - started:.0f} s from seed {args.seed}: "
          f"{counts['ok']} agree, {counts['fail']} differ, {counts['invalid']} rejected by the oracle")
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
