"""The app's one way to the data: its own parameterised statements through :func:`c360.connect`.

A :class:`Database` keeps a few DB-API connections (one per query running at a time; an engine runs
one statement at a time) and hands each panel's query to one of them. The connections share one catalog and one
plan cache, as ``c360 serve``'s sessions do: a statement shape planned (and its values verified) on one connection
is known to all of them, so a page's panels do not each plan their statement again on whichever connection they
get (with a cache per connection, the first ~20 pages after a start planned most panels in full).
:meth:`Database.run` blocks: the server calls it in a worker thread, never on the event loop. Every answer is
a :class:`Answer` carrying what a panel shows besides its rows: the SQL and parameters sent, and per source what was
sent, the rows that came back and the seconds it took (the scans of EXPLAIN ANALYZE). A c360 error
(a source down, a timeout) becomes the answer's ``error``, so one panel fails and the others render.
A :class:`Ticket` passed to :meth:`Database.run` lets another thread cancel the statement (the server
does when the browser that asked for it goes away).

An answer read only from accelerated copies is kept (:data:`KEPT_ANSWERS` of them, none over
:data:`KEPT_ROWS` rows) under its statement, values, date and the copies the engine would read now
(:meth:`c360.engine.Engine.copies_key`: their data files). A copy's file never changes (a refresh writes a new
one, and a bound that rules a copy out changes the key), so a kept answer is the answer the statement would
give: the same customer's page opened again, or the segments page reloaded, is answered without running it.
An answer that read anything live (a source, a live tail) is never kept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import c360
from c360.acceleration.connector import SOURCE as COPIES
from c360.errors import Error


@dataclass
class Answer:
    """One query's rows (as dicts), the SQL behind them and per-source timings, or its error."""

    sql: str
    params: object
    columns: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    #: the answer as Arrow (for the reasons, which need its types); not part of the JSON
    table: object = field(default=None, repr=False)
    #: kept from an earlier run on the same copies (its sources are that run's)
    cached: bool = False

    def to_json(self) -> dict:
        return {"sql": self.sql, "params": self.params, "columns": self.columns, "rows": self.rows,
                "sources": self.sources, "seconds": round(self.seconds, 4), "error": self.error,
                "cached": self.cached}


class Ticket:
    """A handle on one :meth:`Database.run`: :meth:`cancel` (from any thread) stops its statement, at once
    if it is running, before it starts otherwise."""

    def __init__(self):
        self.cancelled = False
        self._cursor = None
        self._lock = threading.Lock()

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            cursor = self._cursor
        if cursor is not None:
            cursor.cancel()

    def _attach(self, cursor) -> bool:
        """Remember the cursor about to run; False when the run was cancelled already."""
        with self._lock:
            self._cursor = cursor
            return not self.cancelled


#: Connections a :class:`Database` opens at most: the customer page asks for 7 panels at once.
CONNECTIONS = 8
#: Answers read only from copies that a :class:`Database` keeps (the least recently used go first), and the most
#: rows one may have to be kept.
KEPT_ANSWERS = 512
KEPT_ROWS = 1_000


class Database:
    """Up to ``size`` connections to the project at ``catalog`` (opened on first need, reused)."""

    def __init__(self, catalog: Path, profile: str | None = None, *, size: int = CONNECTIONS):
        self.catalog = Path(catalog)
        self.profile = profile
        self.size = size
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._opened: list = []
        self._lock = threading.Lock()
        #: each connection's ``as_of`` as last set (a connection is used by one run at a time)
        self._dates: dict[int, dt.date] = {}
        #: ``SET VARIABLE as_of`` statements sent: one per connection and date, not one per panel
        self.dates_set = 0
        #: (statement, values, date, copies) -> an answer read only from those copies
        self._kept: OrderedDict = OrderedDict()
        #: the catalog and plan cache every connection shares (opened with the first connection)
        self._catalog = None
        self._views = None
        self.plans = None

    def _take(self):
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if len(self._opened) < self.size:
                connection = c360.connect(engine=self._engine())
                self._opened.append(connection)
                return connection
        return self._idle.get()

    def _engine(self):
        """A new engine on the shared catalog and plan cache (called with the lock held)."""
        import os

        from c360.catalog import Catalog
        from c360.engine import Engine
        from c360.planner.cache import PlanCache

        if self._catalog is None:
            self._catalog = Catalog(self.catalog, profile=self.profile or os.environ.get("C360_PROFILE"))
            self.plans = PlanCache()
            first = Engine(self._catalog, owns_catalog=False, plans=self.plans)
            self._views = first.views
            return first
        return Engine(self._catalog, views=self._views, owns_catalog=False, plans=self.plans)

    def run(self, sql: str, params=None, *, as_of: dt.date | None = None, ticket: Ticket | None = None) -> Answer:
        """Run one statement as of ``as_of`` (the views' date; None: today) and fetch all of it; ``ticket``
        can cancel it from another thread (the answer's error then says so)."""
        answer = Answer(sql=sql, params=_plain(params))
        started = time.perf_counter()
        connection = self._take()
        try:
            cursor = connection.cursor()
            try:
                date = as_of or dt.date.today()
                if self._dates.get(id(connection)) != date:  # a statement less per panel (planned, run: ~5 ms)
                    self._dates.pop(id(connection), None)
                    cursor.execute("SET VARIABLE as_of = ?", [date])
                    self._dates[id(connection)] = date
                    with self._lock:
                        self.dates_set += 1
                if ticket is not None and not ticket._attach(cursor):
                    raise Cancelled("before it started")
                key = _key(sql, params, date, connection)
                kept = self._kept_answer(key)
                if kept is not None:
                    kept.seconds = time.perf_counter() - started
                    return kept
                cursor.execute(sql, params)
                table = answer.table = cursor.fetch_arrow()
                if ticket is not None and ticket.cancelled:
                    raise Cancelled("while it ran")
                answer.columns = table.column_names
                answer.rows = [{k: _plain(v) for k, v in row.items()} for row in table.to_pylist()]
                answer.sources = [{"source": s.source, "table": s.table, "sent": s.sent, "rows": s.rows,
                                   "bytes": s.bytes, "seconds": round(s.seconds, 4), "notes": list(s.notes)}
                                  for s in cursor.scans]
                if key is not None and answer.sources and len(answer.rows) <= KEPT_ROWS and all(
                        s["source"] == COPIES for s in answer.sources):
                    self._keep(key, answer)
            finally:
                cursor.close()
        except Error as error:
            answer.error = f"cancelled: {error}" if ticket is not None and ticket.cancelled else str(error)
        finally:
            self._idle.put(connection)
        answer.seconds = time.perf_counter() - started
        return answer

    def _kept_answer(self, key) -> Answer | None:
        """A copy of the answer kept under ``key`` (None: none, or no key)."""
        if key is None:
            return None
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None
            self._kept.move_to_end(key)
        return dataclasses.replace(kept, rows=[dict(row) for row in kept.rows], sources=list(kept.sources),
                                   cached=True)

    def _keep(self, key, answer: Answer) -> None:
        with self._lock:
            self._kept[key] = dataclasses.replace(answer, rows=[dict(row) for row in answer.rows])
            while len(self._kept) > KEPT_ANSWERS:
                self._kept.popitem(last=False)

    def close(self) -> None:
        with self._lock:
            for connection in self._opened:
                connection.close()
            self._opened.clear()
            if self._catalog is not None:
                self._catalog.close()
                self._catalog = None


def _key(sql: str, params, date: dt.date, connection) -> tuple | None:
    """What an answer read only from copies depends on; None when the engine reads no copy now, or a value is
    not hashable."""
    engine = getattr(connection, "engine", None)
    copies = engine.copies_key() if engine is not None else ()
    if not copies:
        return None
    values = sorted(params.items()) if isinstance(params, dict) else list(enumerate(params or ()))
    key = (sql, tuple((name, type(value).__name__, value) for name, value in values), date, copies)
    try:
        hash(key)
    except TypeError:
        return None
    return key


class Cancelled(Error):
    """A run its :class:`Ticket` cancelled."""


def _plain(value):
    """A value JSON can carry: decimals as floats, dates and times as ISO text, lists and dicts inside."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value
