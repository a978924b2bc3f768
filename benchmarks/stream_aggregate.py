"""Benchmark: events per second ``c360 stream aggregate`` sustains on one core (target >= 50,000/s).

Not a test: it prints numbers. It generates a realistic event file once (sessions
of known customers, 1% malformed), then times the aggregator over it, end to
end: reading, parsing, validating, windowing, dead-lettering, writing window
files to a local folder and checkpointing every 10,000 events.

    .venv/bin/python benchmarks/stream_aggregate.py [--events 200000] [--customers 2000] [--rate 1000]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import datetime
from pathlib import Path

from c360.stream.aggregate import Aggregator
from c360.stream.emit import events
from c360.stream.events import KnownCustomers
from c360.stream.inputs import FileInput
from connectors.files.store import LocalFolder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=1_000.0, help="event-time rate of the generated stream")
    parser.add_argument("--format", default="jsonl", choices=("jsonl", "parquet"))
    args = parser.parse_args()
    # The input is made once per size and kept in the temp folder: emitting is slower than aggregating.
    source = Path(tempfile.gettempdir()) / f"c360-bench-events-{args.events}-{args.customers}-{args.rate:g}.jsonl"
    if not source.exists():
        started = time.perf_counter()
        partial = source.with_suffix(".part")
        with open(partial, "w") as handle:
            stream = events(customers=(1, args.customers), rate=args.rate, seed=1,
                            start=datetime(2026, 11, 20, 8, 0, 0), malformed=0.01)
            handle.writelines(line + "\n" for _, (_, line) in zip(range(args.events), stream))
        os.replace(partial, source)
        print(f"generated {args.events:,} events in {time.perf_counter() - started:.1f}s")
    print(f"input: {source} ({source.stat().st_size / 1e6:.0f} MB)")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    with tempfile.TemporaryDirectory(prefix="c360-bench-") as folder:
        root = Path(folder)
        aggregator = Aggregator(FileInput(source), LocalFolder(root / "out"), checkpoint_dir=root / "checkpoint",
                                window=60, lateness=60, known=KnownCustomers(1, args.customers), fmt=args.format)
        cpu, wall = time.process_time(), time.perf_counter()
        counts = aggregator.run()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        dead = sum(v for k, v in counts.items() if k not in ("read", "aggregated", "windows_written"))
        print(f"aggregated {counts['aggregated']:,} events into {counts['windows_written']:,} window files "
              f"({dead:,} dead letters) in {wall:.2f}s wall, {cpu:.2f}s CPU")
        print(f"throughput: {counts['read'] / wall:,.0f} events/s wall, {counts['read'] / cpu:,.0f} events/s CPU "
              f"(target >= 50,000/s); peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
