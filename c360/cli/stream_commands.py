"""``c360 stream generate`` and ``c360 stream aggregate``: live browsing events, and their windows in blob storage."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import typer

from c360 import settings
from c360.cli.app import app
from c360.errors import ProgrammingError

stream_app = typer.Typer(
    help="Live browsing ingestion: emit events, aggregate them into time-partitioned blob files.",
    no_args_is_help=True,
)
app.add_typer(stream_app, name="stream")

DEFAULT_MANIFEST = Path("demo-data/manifest.json")


def _customer_range(spec: str | None) -> tuple[int, int]:
    from c360.stream.events import KnownCustomers

    if spec is None:
        if not DEFAULT_MANIFEST.exists():
            raise ProgrammingError(
                f"No --customers given and no {DEFAULT_MANIFEST}: run `c360 generate` first or pass --customers 1-10000"
            )
        spec = str(DEFAULT_MANIFEST)
    known = KnownCustomers.from_spec(spec)
    if known.ids is not None:
        raise ProgrammingError("stream generate needs a range of ids (1-10000) or a manifest, not an id list")
    return known.low, known.high


@stream_app.command("generate")
def stream_generate(
    rate: float = typer.Option(200.0, "--rate", "-r", min=0.001, help="Events per second of event time."),
    count: int = typer.Option(
        None, "--count", "-n", min=1,
        help="Stop after this many events (default: run until interrupted).",
    ),
    duration: float = typer.Option(None, "--duration", help="Stop after this many seconds of event time."),
    customers: str = typer.Option(
        None, "--customers",
        help="Known customer ids: a range like 1-10000 or a generator manifest.json (default: "
        "demo-data/manifest.json).",
    ),
    spool: Path = typer.Option(
        None, "--spool",
        help="Write into this spool folder (events-<n>.jsonl files, each renamed into view when complete) instead of "
        "stdout.",
    ),
    roll: int = typer.Option(10_000, "--roll", min=1, help="Events per spool file."),
    seed: int = typer.Option(1, "--seed", "-s", help="Random seed."),
    start: str = typer.Option(None, "--start", help="Event time of the first event, ISO-8601 UTC (default: now)."),
    fast: bool = typer.Option(
        False, "--fast",
        help="Do not pace in real time: emit as fast as possible (event times still follow --rate).",
    ),
    malformed: float = typer.Option(
        0.0, "--malformed", min=0.0, max=1.0,
        help="Fraction of events to spoil (bad JSON, missing fields, wrong types, unknown customers, future times).",
    ),
):
    """Emit raw browsing events (JSON lines) as realistic sessions of known customers."""
    from c360.stream import emit

    low, high = _customer_range(customers)
    first = None
    if start is not None:
        try:
            first = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            raise ProgrammingError(f"--start must be an ISO-8601 time, got '{start}'") from None
        if first.tzinfo is not None:
            first = first.astimezone(UTC).replace(tzinfo=None)
    writer = None
    if spool is not None:
        writer = emit.SpoolWriter(spool, roll=roll)
        write = writer.write
    else:
        out = sys.stdout

        def write(line: str) -> None:
            out.write(line + "\n")

    try:
        emitted = emit.run(write, customers=(low, high), rate=rate, count=count, duration=duration, seed=seed,
                           start=first, fast=fast, malformed=malformed)
    except KeyboardInterrupt:
        emitted = None
    except BrokenPipeError:
        emitted = None
    finally:
        if writer is not None:
            writer.close()
        sys.stdout.flush()
    if emitted is not None:
        print(f"emitted {emitted:,} events", file=sys.stderr)


@stream_app.command("aggregate")
def stream_aggregate(
    input: str = typer.Option("-", "--input", "-i", help="'-' for stdin, a spool folder, or a file to tail."),
    out: str = typer.Option(
        settings.BY_NAME["stream_out"].default, "--out", "-o", envvar=settings.BY_NAME["stream_out"].env,
        show_envvar=True,
        help="Where windows go: a local folder standing for the storage account (the embedded demo's is "
        "demo-data/blob), or an Azure/Azurite connection string.",
    ),
    container: str = typer.Option(
        "clicks", "--container",
        help="Blob container (a subfolder of --out for a local folder).",
    ),
    prefix: str = typer.Option(
        "browsing/", "--prefix",
        help="Folder inside the container where the {yyyy}/{MM}/{dd}/{HH}/ folders start.",
    ),
    window: str = typer.Option("1m", "--window", "-w", help="Tumbling window length (30s, 1m, 5m, 1h)."),
    lateness: str = typer.Option(
        "1m", "--lateness",
        help="Allowed lateness: how far behind the newest event time an event may arrive before its window is closed.",
    ),
    max_future: str = typer.Option(
        "1h", "--max-future",
        help="Events later than now plus this are dead-lettered as future_timestamp.",
    ),
    customers: str = typer.Option(
        None, "--customers",
        help="Known customer ids: 1-10000, a manifest.json or an id file (default: demo-data/manifest.json if present,"
        " else any id).",
    ),
    fmt: str = typer.Option("jsonl", "--format", "-f", help="Window file format: jsonl or parquet."),
    checkpoint: Path = typer.Option(
        Path(".c360/stream"), "--checkpoint",
        help="Folder for the checkpoint and (by default) the dead-letter file.",
    ),
    dead_letter: Path = typer.Option(
        None, "--dead-letter",
        help="Dead-letter file (default: <checkpoint>/dead-letter.jsonl).",
    ),
    follow: bool = typer.Option(
        False, "--follow", "-F",
        help="Keep waiting for new events (spool or file) until interrupted; otherwise stop at the end of the input "
        "and close all windows.",
    ),
    checkpoint_every: int = typer.Option(10_000, "--checkpoint-every", min=1, help="Events between checkpoints."),
):
    """Aggregate browsing events into tumbling windows per customer and category, exactly once, into blob storage."""
    from c360.browsing import FORMATS
    from c360.stream.aggregate import Aggregator, parse_duration
    from c360.stream.events import KnownCustomers
    from c360.stream.inputs import open_input
    from connectors.files.store import open_store

    if fmt not in FORMATS:
        raise ProgrammingError(f"--format must be jsonl or parquet, got '{fmt}'")
    if not prefix.endswith("/") and prefix:
        prefix += "/"
    known = None
    if customers is not None:
        known = KnownCustomers.from_spec(customers)
    elif DEFAULT_MANIFEST.exists():
        known = KnownCustomers.from_spec(str(DEFAULT_MANIFEST))
    aggregator = Aggregator(
        open_input(input), open_store(out, container), checkpoint_dir=checkpoint,
        window=parse_duration(window), lateness=parse_duration(lateness), max_future=parse_duration(max_future),
        known=known, fmt=fmt, prefix=prefix, dead_letter=dead_letter, checkpoint_every=checkpoint_every,
    )
    started = time.perf_counter()
    counts = aggregator.run(follow=follow)
    seconds = time.perf_counter() - started
    dead = {k: v for k, v in counts.items() if k not in ("read", "aggregated", "windows_written") and v}
    print(json.dumps({**counts, "dead_letters": sum(dead.values()), "seconds": round(seconds, 3)}), file=sys.stderr)
