"""Running the queries: c360 and the peer alternately, the local DuckDB as the lower bound.

For each query, each run times the local DuckDB, then c360 and the peer (c360
first on even runs, the peer first on odd ones), each to the last row in Arrow.
Around every c360 or peer run the proxies' counters are read, so the bytes and
rows each source sent are those of that one query; the JSON files read are
counted as each file's size per scan (c360: its scan reports; the peer: per
reference in the query, since every ``read_json`` parses its whole file).
Every answer is checked (:mod:`benchmarks.tpch.answers`). A query that fails
or passes ``timeout`` seconds (cancelled) is recorded with its error, and the
run goes on.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow as pa

from benchmarks.tpch import answers, queries
from benchmarks.tpch.load import json_file
from benchmarks.tpch.proxy import Counts, Proxies
from benchmarks.tpch.schema import tables_of

#: Sources whose bytes the proxies count (the JSON files are counted by size).
PROXIED = ("shop", "crm", "vendors")


@dataclass
class Side:
    """One engine's runs of one query."""

    seconds: list[float] = field(default_factory=list)
    error: str | None = None
    problem: str | None = None  # None: the answer matched the reference
    rows: int = 0
    moved: dict[str, Counts] = field(default_factory=dict)  # per source, the last run

    @property
    def ok(self) -> bool:
        return self.error is None and self.problem is None

    def time(self, stat: str) -> float | None:
        if self.error is not None or not self.seconds:
            return None
        return min(self.seconds) if stat == "best" else statistics.median(self.seconds)

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.moved.values())


@dataclass
class QueryResult:
    number: int
    local: Side
    c360: Side | None = None
    peer: Side | None = None
    #: c360 reading the accelerated copies of all eight tables (``--accelerated``)
    accel: Side | None = None


def _timed(run: Callable[[], pa.Table], cancel: Callable[[], None], timeout: float | None):
    """(seconds, table, error): ``run()`` to its last row, cancelled after ``timeout`` seconds."""
    timer = threading.Timer(timeout, cancel) if timeout else None
    started = time.perf_counter()
    if timer:
        timer.start()
    try:
        table = run()
        return time.perf_counter() - started, table, None
    except Exception as error:  # noqa: BLE001 - any failure of the engine under test is a result to report
        elapsed = time.perf_counter() - started
        message = " ".join(str(error).split()) or type(error).__name__
        if timeout and elapsed >= timeout:
            message = f"cancelled after {timeout:g} s ({message})"
        return elapsed, None, f"{type(error).__name__}: {message}"
    finally:
        if timer:
            timer.cancel()


def scanned(cursor) -> list:
    """The last query's scan reports (``cursor.scans``), none before the first query."""
    return list(cursor.scans) if cursor is not None else []


class C360Side:
    """c360 through ``c360.connect(catalog)``: one cursor per query."""

    name = "c360"

    def __init__(self, connection, partners_folder: Path, *, name: str = "c360"):
        self.name = name
        self.connection = connection
        self.partners = partners_folder
        self.cursor = None

    def _run(self, sql: str) -> pa.Table:
        self.cursor = self.connection.cursor()
        self.cursor.execute(sql)
        return self.cursor.fetch_arrow()

    def run(self, sql: str, timeout: float | None):
        return _timed(lambda: self._run(sql), lambda: self.cursor and self.cursor.cancel(), timeout)

    def json_read(self, sql: str) -> Counts:
        """Bytes of the JSON files c360 scanned for the last query: each table of each scan report once
        (a pushed fragment reports the tables it reads as ``part + partsupp``)."""
        read = [name for s in scanned(self.cursor) if s.source == "partners" for name in s.table.split(" + ")]
        return Counts(bytes=sum(json_file(self.partners, name).stat().st_size for name in read))


class PeerSide:
    name = "peer"

    def __init__(self, peer, partners_folder: Path):
        self.peer = peer
        self.partners = partners_folder

    def run(self, sql: str, timeout: float | None):
        return _timed(lambda: self.peer.run(sql), self.peer.cancel, timeout)

    def json_read(self, sql: str) -> Counts:
        """Bytes of the JSON files the query names, once per reference."""
        counted = queries.references(sql, "partners")
        return Counts(bytes=sum(json_file(self.partners, t).stat().st_size * n for t, n in counted.items()))


def warm_up(side, timeout: float | None) -> None:
    """One ``LIMIT 1`` read of every table: connections, schema discovery and catalogs are ready before timing."""
    for source in ("crm", "shop", "partners", "vendors"):
        for table in tables_of(source):
            _, _, error = side.run(f"SELECT * FROM {source}.{table.name} LIMIT 1", timeout)
            if error:
                raise RuntimeError(f"{side.name} cannot read {source}.{table.name}: {error}")


def _measure(side, sql: str, proxies: Proxies | None, timeout: float | None, target: Side):
    before = proxies.snapshot() if proxies else None
    seconds, table, error = side.run(sql, timeout)
    after = proxies.snapshot() if proxies else None
    target.seconds.append(seconds)
    if error:
        target.error = error
        return None
    if proxies:
        moved = after - before
        target.moved = {name: moved[name] for name in PROXIED}
    target.moved["partners"] = side.json_read(sql)
    target.rows = table.num_rows
    return table


def run_query(
    number: int,
    *,
    local,
    sides: list,
    reference,
    proxies: Proxies | None,
    runs: int,
    timeout: float | None,
    on_run: Callable[[str], None] = lambda text: None,
) -> QueryResult:
    """Run query ``number`` ``runs`` times on each side; check every answer against ``reference`` (or local's)."""
    sql = queries.query(number)
    ordered = queries.ordered(sql)
    result = QueryResult(number, local=Side())
    results = {side.name: Side() for side in sides}
    for run in range(runs):
        started = time.perf_counter()
        local_table = local.execute(sql).arrow()
        local_table = local_table.read_all() if isinstance(local_table, pa.RecordBatchReader) else local_table
        result.local.seconds.append(time.perf_counter() - started)
        expected = reference if reference is not None else local_table
        result.local.problem = (
            answers.difference(local_table, expected, ordered=ordered) if reference is not None else None
        )
        order = sides if run % 2 == 0 else list(reversed(sides))
        for side in order:
            target = results[side.name]
            if target.error:
                continue
            table = _measure(side, sql, proxies, timeout, target)
            if table is not None:
                problem = answers.difference(table, expected, ordered=ordered)
                if problem is None and reference is not None:
                    problem = answers.difference(table, local_table, ordered=ordered)  # column names too
                target.problem = target.problem or problem
            on_run(side.name)
    result.c360 = results.get("c360")
    result.peer = results.get("peer")
    result.accel = results.get("accel")
    return result
