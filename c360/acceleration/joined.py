"""Queries that read only accelerated copies, several of them, run in one DuckDB that attaches their files.

A query of one copy runs inside that copy's DuckDB (:meth:`c360.acceleration.run.RunsOnCopies._start_in_copy`).
A query joining several copies (TPC-H over eight copied tables) would otherwise stream every
copy's rows through Arrow channels into the engine's DuckDB. Instead :class:`Attached` opens an
in-memory DuckDB, attaches each data file read-only (``c360_copy_1`` ...), then turns external
access off and locks its configuration -- after that no statement reads another file, attaches
or copies anything, as on the engine's own connection. The residual query runs there with each
scan replaced by its SELECT on its attached file (so every pushed filter holds), no stream, no
thread, no join reduction: DuckDB joins the copies itself. A query that calls a function
registered on the engine's DuckDB only (``c360_predict``) takes the usual path.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from pathlib import Path

import duckdb

from c360 import policy
from c360.acceleration.connector import CopyScan, local_sql
from connectors.sql import render_select

#: attaching connections kept per engine (each holds its files open)
KEEP = 4


def joined_sql(plan, scans) -> tuple[str, tuple[Path, ...]] | None:
    """``(sql, paths)``: the plan's residual query over the copies attached as ``c360_copy_<n>`` (n counts
    ``paths`` from 1); None unless every scan is a plain SELECT on a copy (two or more)."""
    if len(scans) < 2 or not all(isinstance(scan, CopyScan) for scan in scans):
        return None
    paths: list[Path] = []
    sql = plan.sql
    for scan_plan, scan in zip(plan.scans, scans):
        request = scan.request
        if request is None or request.statement is not None:
            return None
        if scan.path not in paths:
            paths.append(scan.path)
        alias = f"c360_copy_{paths.index(scan.path) + 1}"
        table = dataclasses.replace(request.table, remote_name=(alias, "data"))
        sent = render_select(dataclasses.replace(request, table=table), "duckdb")
        sql = local_sql(sql, scan_plan.name, sent)
        if sql is None:
            return None
    return sql, tuple(paths)


class Attached:
    """In-memory DuckDBs attaching sets of copy files, locked once attached; one per set, a few kept."""

    def __init__(self, config: dict):
        self.config = dict(config)
        self._open: OrderedDict[tuple, duckdb.DuckDBPyConnection] = OrderedDict()
        self._lock = threading.Lock()

    def cursor(self, paths: tuple[Path, ...]) -> duckdb.DuckDBPyConnection:
        """A cursor on a DuckDB where ``paths[i]`` is attached read-only as ``c360_copy_<i + 1>``."""
        with self._lock:
            connection = self._open.get(paths)
            if connection is None:
                connection = self._attach(paths)
                self._open[paths] = connection
                while len(self._open) > KEEP:
                    self._open.popitem(last=False)[1].close()
            self._open.move_to_end(paths)
            return connection.cursor()

    def _attach(self, paths: tuple[Path, ...]) -> duckdb.DuckDBPyConnection:
        config = {**self.config, "enable_external_access": True}
        connection = duckdb.connect(config=config)
        try:
            for number, path in enumerate(paths, 1):
                connection.execute(f"ATTACH {_string(path)} AS c360_copy_{number} (READ_ONLY)")
            connection.execute("SET enable_external_access = false")
            policy.lock(connection)
        except duckdb.Error:
            connection.close()
            raise
        return connection

    def close(self) -> None:
        with self._lock:
            for connection in self._open.values():
                connection.close()
            self._open.clear()


def _string(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
