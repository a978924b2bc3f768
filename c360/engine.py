"""Execution: start every source scan concurrently, hand DuckDB one Arrow stream per scan,
and run the residual query there.

Each scan runs in its own thread and drains its source at the source's pace into a
:class:`c360.channel.Channel` (memory up to a bound, the rest spilled to a temporary
file), so a stream DuckDB reads late is never dropped by its source; DuckDB reads
each channel in order through a fresh :class:`pyarrow.RecordBatchReader`. A failing, timed-out or cancelled scan
stops everything: the other scans are cancelled at their sources, DuckDB is
interrupted, and the caller gets the named source error, not DuckDB's.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlglot import exp

from c360 import explain, introspect, policy
from c360.acceleration.choose import accelerator, views_digest
from c360.acceleration.declaration import staleness_seconds
from c360.acceleration.direct import (
    Cursors,
    tail_statement,
)
from c360.acceleration.joined import Attached
from c360.acceleration.run import RunsOnCopies
from c360.channel import DEFAULT_MEMORY_BYTES, Channel
from c360.errors import (
    Error,
    InternalError,
    ProgrammingError,
    QueryCancelledError,
    SourceError,
    SourceTimeoutError,
    SqlSyntaxError,
    UnknownColumnError,
    UnknownTableError,
)
from c360.planner import Plan, plan_statement
from c360.planner import cache as plan_cache
from c360.planner import fold_constants as fold_constants_module
from c360.planner.fold_constants import evaluate_constant, fold_constants
from c360.planner.parse import bind, explained, parameter, parse, session_setting, variable_statement
from c360.reductions import Reducer
from c360.secrets import redact
from c360.views import load_views
from connectors.base import Scan, ScanRequest, guard, source_label

#: bytes of batches each scan keeps in memory for DuckDB before it spills the rest to disk
CHANNEL_MEMORY_BYTES = DEFAULT_MEMORY_BYTES
RESULT_BATCH_ROWS = 65_536


@dataclass(frozen=True)
class ScanReport:
    """What one scan sent to its source and what came back (``cursor.scans``)."""

    source: str
    table: str
    sent: str
    rows: int
    bytes: int
    seconds: float
    notes: tuple[str, ...]


class Engine:
    """Plans and runs queries against one catalog (and the project's views)."""

    def __init__(
        self, catalog, *, views=None, threads: int | None = None, owns_catalog: bool = True,
        spill_dir: str | None = None,
        plans: "plan_cache.PlanCache | None" = None,
    ):
        self.catalog = catalog
        #: plans by statement shape; engines of one server share one
        self.plan_cache = plans if plans is not None else plan_cache.PlanCache()
        #: where scans spill what DuckDB has not read yet (None: the system's temporary folder)
        self.spill_dir = spill_dir
        #: whether close() closes the catalog too (False when several engines share one)
        self.owns_catalog = owns_catalog
        if views is None:
            views = load_views(catalog.project_dir / "queries")
        self.views = views
        self._views_key = tuple(sorted((name, view.sql) for name, view in views.items()))
        self._views_digest: str | None = None
        #: ``SET VARIABLE`` values (this engine serves one connection), as sqlglot literals.
        self.variables: dict = {}
        #: ``SET max_staleness``: the oldest accelerated copy this connection reads, in seconds (0: live
        #: sources only; None: each copy's declared bound)
        self.max_staleness: float | None = None
        #: when set, every source scan's timeout in seconds in place of its source's own ``timeout`` (a refresh's:
        #: :attr:`c360.acceleration.declaration.Acceleration.timeout`)
        self.scan_timeout: float | None = None
        settings = getattr(catalog, "engine_settings", None) or {}
        temp_directory = _usable_folder(settings.get("temp_directory"))
        if self.spill_dir is None:
            self.spill_dir = temp_directory
        self._config = policy.locked_config(
            threads=threads or settings.get("threads"),
            memory_limit=settings.get("memory_limit"),
            temp_directory=temp_directory,
        )
        self._lock = threading.Lock()
        #: the engine's own DuckDB, opened by the first query that needs it (:meth:`cursor`): a session whose
        #: statements all run on accelerated copies (:mod:`c360.acceleration.direct`) never opens one
        self._duckdb: duckdb.DuckDBPyConnection | None = None
        self._shut = False
        self._copy_cursors = self._attached = None

    def _open_duckdb(self) -> duckdb.DuckDBPyConnection:
        """The engine's DuckDB: locked, the project's functions registered, and without the optimizer
        rules that give wrong answers in DuckDB 1.5.5: ``window_self_join`` joins a partitioned window's
        input with its own GROUP BY, reading a registered stream twice (the second read is empty), and
        ``join_filter_pushdown`` carries a join's filter below a LIMIT on its probe side, so the LIMIT
        keeps other rows (both found by the fuzzer; tests/fuzz/known_bugs.py)."""
        connection = duckdb.connect(config=self._config)
        connection.execute("SET disabled_optimizers = 'window_self_join,join_filter_pushdown'")
        from c360.functions import register_all

        register_all(connection, self.catalog.project_dir)
        policy.lock(connection)
        return connection

    def restart(self) -> None:
        """A fresh DuckDB after one that failed internally: DuckDB marks its database unusable then, and
        every later query on it would fail (a server session or a notebook must not stay broken)."""
        with self._lock:
            old, self._duckdb = self._duckdb, self._open_duckdb()
        if old is None:
            return
        try:
            old.close()
        except duckdb.Error:
            pass

    def plan(self, sql: str, params=None) -> Plan:
        statement = parse(sql, named=isinstance(params, dict))
        if explained(statement) is not None:
            raise ProgrammingError("EXPLAIN cannot be explained")
        return self._plan(statement, params, sql)

    def _plan(self, statement, params, sql: str | None = None) -> Plan:
        """The plan for ``statement``: from the plan cache when its shape was planned before (``sql`` given)."""
        copies = self._copies()
        try:
            if sql is None:
                return self._plan_fully(statement, params, copies)
            return self._plan_cached(sql, statement, params, copies)
        except RecursionError:
            raise SqlSyntaxError("Syntax error: the query is nested too deeply") from None

    def _copies(self) -> dict:
        """The accelerated copies this statement may read (:mod:`c360.acceleration.choose`)."""
        if not getattr(self.catalog, "accelerations", None) or self.max_staleness == 0:
            return {}
        if self._views_digest is None:
            self._views_digest = views_digest(self._views_key)
        return accelerator(self.catalog).choose(bound=self.max_staleness, as_of=self._as_of(), views=self._views_digest)

    def copies_key(self) -> tuple:
        """The accelerated copies a statement would read now, by their data files: a refresh (a new file), a bound
        that rules a copy out or another ``as_of`` changes it. An answer read only from copies depends on nothing
        else but the statement, its values and the session's variables (a copy's file never changes)."""
        return tuple(sorted(chosen.key for chosen in self._copies().values()))

    def _as_of(self):
        """The session's ``as_of`` variable as a date (None when unset or not a date)."""
        import datetime as dt

        node = self.variables.get("as_of")
        if node is None:
            return None
        value = node.meta.get("c360_parameter") if "c360_parameter" in node.meta else None
        if value is None:
            try:
                value = evaluate_constant(node)
            except Error:
                return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value[:10])
            except ValueError:
                return None
        return None

    def _plan_fully(self, statement, params, copies=None) -> Plan:
        return plan_statement(statement, params, catalog=self.catalog, views=self.views, variables=self.variables,
                              cursor=self.cursor, copies=copies)

    def _cache_key(self, sql: str, params, copies) -> tuple:
        copies_key = tuple(sorted(chosen.key for chosen in copies.values()))
        return plan_cache.shape(sql, params, self.variables, (self._views_key, copies_key))

    def _plan_cached(self, sql: str, statement, params, copies) -> Plan:
        key = self._cache_key(sql, params, copies)
        values = self._slot_values(params)
        entry = self.plan_cache.get(key)
        if entry is not None and not entry.broken:
            try:
                rebound = plan_cache.rebind(entry.plan, values, fold_constants_module.evaluate)
            except (plan_cache.Stale, duckdb.Error):
                rebound = None
            if rebound is not None:
                if entry.trusted(values):
                    rebound.cached = entry
                    return rebound
                full = self._plan_fully(statement.copy(), params, copies)
                entry.verify(values, rebound, full)
                return full
        full = self._plan_fully(statement, params, copies)
        try:
            full.cached = self.plan_cache.put(key, plan_cache.rebind(full, values, fold_constants_module.evaluate),
                                              values)
        except (plan_cache.Stale, duckdb.Error):
            pass  # a plan that cannot be rebound for its own values is not worth keeping
        return full

    def _prepare_direct(self, sql: str, params) -> "Execution | None":
        """A known query shape that runs as one SQL on one copy, for values the plan cache trusts: that SQL
        with these values (:mod:`c360.acceleration.direct`), no parsing or planning; else None."""
        copies = self._copies()
        if not copies:
            return None
        entry = self.plan_cache.get(self._cache_key(sql, params, copies))
        if entry is None or not entry.direct:
            return None
        values = self._slot_values(params)
        bound = entry.direct.values(values)
        if bound is None or not entry.trusted(values):
            return None
        execution = Execution(self, entry.plan)
        execution._direct = (entry.direct, bound)
        return execution

    def _slot_values(self, params) -> dict:
        values = {}
        if isinstance(params, dict):
            values.update({("n", name): value for name, value in params.items()})
        elif params:
            values.update({("p", index): value for index, value in enumerate(params)})
        for name, node in self.variables.items():
            if "c360_parameter" in node.meta:
                values[("var", name)] = node.meta["c360_parameter"]
        return values

    def execute(self, sql: str, params=None) -> "Execution":
        """Start a query; the returned :class:`Execution` streams the result."""
        execution = self.prepare(sql, params)
        execution.start()
        return execution

    def prepare(self, sql: str, params=None) -> "Execution":
        """Plan a query without starting it, so a caller can hold it (to cancel) before it runs."""
        named = isinstance(params, dict)
        if self.plan_cache.known_query(sql, named):
            direct = self._prepare_direct(sql, params)
            if direct is not None:
                return direct
        statement = parse(sql, named=named)
        explain = explained(statement)
        if explain is not None:
            text = self.explain(explain[0], params, analyze=explain[1])
            return Execution.from_table(pa.table({"explain": text.splitlines()}))
        variable = variable_statement(statement)
        if variable is not None:
            self._set_variable(*variable, params)
            return Execution.from_table(None)
        setting = session_setting(statement)
        if setting is not None:
            self._set_setting(*setting, params)
            return Execution.from_table(None)
        if introspect.is_introspection(statement):
            if isinstance(statement, exp.Describe) and not isinstance(statement.this, exp.Table):
                statement.set("this", bind(statement.this, params))
            return Execution.from_table(introspect.answer(statement, self))
        execution = Execution(self, self._plan(statement, params, sql))
        self.plan_cache.add_query(sql, named)
        return execution

    def schema_of(self, query: exp.Expression, params=None) -> pa.Schema:
        """The Arrow schema ``query`` would return, found by running its plan over empty inputs."""
        query_plan = self._plan(query.copy(), params)
        cursor = self.cursor()
        try:
            for scan_plan in query_plan.scans:
                schema = scan_plan.table.arrow_schema(scan_plan.columns)
                cursor.register(scan_plan.name, schema.empty_table())
            reader = cursor.execute(query_plan.sql, query_plan.params).to_arrow_reader(1)
            return reader.schema
        except duckdb.Error as error:
            raise Execution(None, None)._translate(error) from None
        finally:
            cursor.close()

    def _set_variable(self, name: str, value, params) -> None:
        """``SET VARIABLE name = constant`` (kept as a literal) or ``RESET VARIABLE name``."""
        if value is None:
            self.variables.pop(name, None)
            return
        value = fold_constants(bind(exp.Paren(this=value.copy()), params).this)
        if value.find(exp.Column, exp.Select):
            raise ProgrammingError(f"SET VARIABLE {name} needs a constant value")
        evaluated = evaluate_constant(value)  # DataError now, not a wrong answer later
        try:
            self.variables[name] = parameter(evaluated, ("var", name))  # reaches DuckDB as a value, not SQL text
        except ProgrammingError:
            self.variables[name] = value  # a list, an interval: kept as the folded expression

    def _set_setting(self, name: str, value, params) -> None:
        """``SET max_staleness = '10 minutes'`` (or a number of seconds, or an interval); ``RESET max_staleness``."""
        if value is None:
            self.max_staleness = None
            return
        value = fold_constants(bind(exp.Paren(this=value.copy()), params).this)
        evaluated = evaluate_constant(value)
        self.max_staleness = staleness_seconds(evaluated)

    def explain(self, sql: str, params=None, *, analyze: bool = False) -> str:
        """Per source: the exact SQL or file list sent, and what stayed local and why."""
        query_plan = self.plan(sql, params)
        execution = Execution(self, query_plan)
        started = time.perf_counter()
        if analyze:
            execution.start()
            result_rows = sum(batch.num_rows for batch in execution.reader())
        else:
            execution.prepare()
        elapsed = time.perf_counter() - started
        text = explain.render(query_plan, execution, analyze=analyze,
                              result_rows=result_rows if analyze else None, seconds=elapsed)
        execution.close()
        return text

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._duckdb is None:
                if self._shut:
                    raise duckdb.ConnectionException("Connection already closed!")
                self._duckdb = self._open_duckdb()
            return self._duckdb.cursor()

    @property
    def duckdb_opened(self) -> bool:
        """True once a query needed the engine's own DuckDB (a lookup on an accelerated copy does not)."""
        return self._duckdb is not None

    @property
    def attached(self):
        """DuckDBs attaching sets of copy files, for queries of several copies (:mod:`c360.acceleration.joined`)."""
        if self._attached is None:
            self._attached = Attached(self._config)
        return self._attached

    @property
    def copy_cursors(self):
        """Cursors on accelerated copies, reused by this engine's direct runs (:mod:`c360.acceleration.direct`)."""
        if self._copy_cursors is None:
            self._copy_cursors = Cursors()
        return self._copy_cursors

    def close(self) -> None:
        for kept in (self._copy_cursors, self._attached):
            if kept is not None:
                kept.close()
        with self._lock:
            connection, self._duckdb, self._shut = self._duckdb, None, True
        if connection is not None:
            connection.close()
        if self.owns_catalog:
            self.catalog.close()


class Execution(RunsOnCopies):
    """One running query: its scans, their threads, and DuckDB's streaming result (or a run on copies alone:
    :class:`~c360.acceleration.run.RunsOnCopies`)."""

    result_batch_rows = RESULT_BATCH_ROWS

    def __init__(self, engine: Engine | None, query_plan: Plan | None):
        self.engine = engine
        self.plan = query_plan
        self.scans: list[Scan] = []
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._channels: list[Channel] = []
        self._timers: list[threading.Timer] = []
        self._cursor = None
        self._reader: pa.RecordBatchReader | None = None
        self._table: pa.Table | None = None
        self._done = False  # a statement with no result (SET VARIABLE)
        self._closed = False
        #: the stats of the copy scan that ran the whole query (:meth:`_start_in_copy`): the result's rows,
        #: bytes and time are the copy's, counted as the result is read
        self._counted = None
        #: ``(CopyStatement, values)`` when the statement runs as one SQL on one copy (Engine._prepare_direct)
        self._direct = None
        #: returns the cursor to the engine's copy cursors instead of closing it (a direct run)
        self._give_back = None
        #: a direct run's result schema while its rows wait in the cursor, not yet read as Arrow
        #: (:attr:`rows_ready`, :meth:`fetch_rows`)
        self._row_schema = None

    @classmethod
    def from_table(cls, table: pa.Table | None) -> "Execution":
        """A finished result (EXPLAIN text), or no result at all (``None``: SET VARIABLE)."""
        execution = cls(None, None)
        execution._table = table
        execution._done = table is None
        return execution

    # --- lifecycle ------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Ask every connector for its scan (what will be sent); no data moves yet."""
        for scan_plan in self.plan.scans:
            request = ScanRequest(
                table=scan_plan.table,
                columns=scan_plan.columns,
                filters=tuple(scan_plan.filters),
                order_by=scan_plan.order_by,
                limit=scan_plan.limit,
                timeout=self._timeout(scan_plan),
                statement=scan_plan.statement,
            )
            self.scans.append(guard(scan_plan.connector, lambda c=scan_plan.connector, r=request: c.scan(r)))

    def _timeout(self, scan_plan) -> float | None:
        """The source's catalog timeout, or the engine's :attr:`Engine.scan_timeout` in its place (None for an
        accelerated copy, which is a local file)."""
        source = self.engine.catalog.sources.get(scan_plan.source)
        if source is None:
            return None
        return self.engine.scan_timeout or source.timeout

    def start(self) -> None:
        if self._table is not None or self._done:
            return
        if self.error is not None:
            raise self.error
        if self._direct is not None:
            self._start_direct()
            return
        self.prepare()
        if self._start_in_copy() or self._start_in_copies():
            return
        for index, scan_plan in enumerate(self.plan.scans):
            timeout = self._timeout(scan_plan)
            if timeout:
                timer = threading.Timer(timeout, self._timed_out, args=(scan_plan, index, timeout))
                timer.daemon = True
                self._timers.append(timer)
                timer.start()
        for scan_plan in self.plan.scans:
            schema = scan_plan.table.arrow_schema(scan_plan.columns)
            self._channels.append(Channel(schema, memory_bytes=CHANNEL_MEMORY_BYTES, spill_dir=self.engine.spill_dir))
        # Scans no reduction reads or changes start now; the others once their reductions are applied.
        reducer = Reducer(self, guard)
        for index, scan in enumerate(self.scans):
            if self.plan.scans[index].name not in reducer.waiting:
                self._start_scan(index, scan.batches())
        try:
            reducer.run(self._start_scan)
            if self.error is not None:  # a scan that started early failed already
                raise self.error
        except BaseException as error:
            self.close()
            if self.error is not None and self.error is not error:
                raise self.error from None
            raise
        cursor = self.engine.cursor()
        self._cursor = cursor
        try:  # a scan failing from now on interrupts the cursor: its error is the one raised
            for scan_plan, channel in zip(self.plan.scans, self._channels):
                register_stream(cursor, scan_plan.name, pa.RecordBatchReader.from_batches(channel.schema,
                                                                                          self._consume(channel)))
            result = cursor.execute(self.plan.sql, self.plan.params)
            self._reader = result.to_arrow_reader(RESULT_BATCH_ROWS)
            entry = self.plan.cached
            if entry is not None and entry.direct is None:  # a copy and its live tail: run so from now on
                found = tail_statement(entry.plan)
                if found is not None:
                    entry.direct = found
        except duckdb.Error as error:
            self.close()
            if isinstance(error, (duckdb.FatalException, duckdb.InternalException)):
                self.engine.restart()
                raise InternalError(
                    f"DuckDB failed internally ({redact(str(error).splitlines()[0])}); "
                    "the engine was restarted, and the next query runs on a fresh one"
                ) from None
            raise self._translate(error) from None

    # --- producers and consumers ----------------------------------------------------------------

    def _start_scan(self, index: int, batches) -> None:
        """Read scan ``index``'s ``batches`` into its channel on a thread of its own, from now on."""
        scan_plan = self.plan.scans[index]
        thread = threading.Thread(target=self._produce, args=(scan_plan, batches, self._channels[index]),
                                  name=f"c360-{scan_plan.name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _produce(self, scan_plan, batches, channel: Channel) -> None:
        """Move one scan's batches into its channel; the scan's generator is closed here, in its own thread,
        however the scan ends (a connection or DuckDB reader left to the garbage collector at exit aborts
        the process)."""
        try:
            self._produce_all(scan_plan, batches, channel)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - best effort on the way out; the failure was reported
                    pass

    def _produce_all(self, scan_plan, batches, channel: Channel) -> None:
        """Drain the source into ``channel`` at the source's pace, whether DuckDB reads or not."""
        if self._stop.is_set():  # cancelled while starting: a scan created after the cancel never runs
            channel.finish()
            return
        try:
            for batch in batches:
                if self._stop.is_set():
                    return
                channel.put(batch)
            channel.finish()
        except Error as error:
            if self._stop.is_set() and self.error is None:
                return  # the query ended (or stopped) first: the scan's cancellation is no failure
            self._fail(error)
            channel.fail(error)
        except Exception as error:  # noqa: BLE001 - becomes a named source error
            if self._stop.is_set() and self.error is None:
                return
            failure = SourceError(f"{source_label(scan_plan.connector)} failed: {redact(str(error))}")
            self._fail(failure)
            channel.fail(failure)

    def _consume(self, channel: Channel):
        while True:
            try:
                batch = channel.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    raise self.error or QueryCancelledError("The query was cancelled") from None
                continue
            if batch is None:
                if self._stop.is_set() and self.error is not None:
                    raise self.error  # closed by a cancel or a failure, not the end of the rows
                return
            yield batch

    def _fail(self, error: Exception) -> None:
        if self.error is None:
            self.error = error
        self._halt()

    def _timed_out(self, scan_plan, index: int, timeout: float) -> None:
        if self.scans[index].stats.finished is not None:
            return
        self._fail(
            SourceTimeoutError(
                f"{source_label(scan_plan.connector)} timed out after {timeout:g}s; the query was cancelled there"
            )
        )

    def _halt(self) -> None:
        self._stop.set()
        for scan in self.scans:
            try:
                scan.cancel()
            except Exception:  # noqa: BLE001 - best effort: the source may be gone already
                continue
        if self._cursor is not None:
            try:
                self._cursor.interrupt()
            except duckdb.Error:
                pass

    def cancel(self) -> None:
        """Stop the query from any thread, cancelling the work running in the sources."""
        if self.error is None:
            self.error = QueryCancelledError("The query was cancelled")
        self._halt()

    # --- results --------------------------------------------------------------------------------

    @property
    def reports(self) -> list[ScanReport]:
        if self.plan is None:
            return []
        return [
            ScanReport(p.source, p.table_name, s.sent, s.stats.rows, s.stats.bytes, s.stats.seconds,
                       explain.notes_of(p, s))
            for p, s in zip(self.plan.scans, self.scans)
        ]

    @property
    def schema(self) -> pa.Schema | None:
        """The result's schema; None for a statement that returns no rows (SET VARIABLE)."""
        if self._table is not None:
            return self._table.schema
        if self._row_schema is not None:
            return self._row_schema
        if self._reader is None:
            return None
        return self._reader.schema

    def reader(self):
        """Yield the result's record batches; translates failures into c360 errors."""
        if self._table is not None:
            yield from self._table.to_batches()
            return
        if self._row_schema is not None:  # a direct run's result, read as Arrow after all
            self._row_schema = None
            try:
                self._reader = self._cursor.to_arrow_reader(RESULT_BATCH_ROWS)
            except duckdb.Error as error:
                self.close()
                raise self._translate(error) from None
        if self._reader is None:
            return
        counted = self._counted
        try:
            while True:
                try:
                    batch = self._reader.read_next_batch()
                except StopIteration:
                    break
                if counted is not None:
                    counted.rows += batch.num_rows
                    counted.bytes += batch.nbytes
                    counted.batches += 1
                yield batch
            if counted is not None:
                counted.finished = time.perf_counter()
        except (duckdb.Error, pa.ArrowException) as error:
            raise self._translate(error) from None
        finally:
            self.close()
        if self.error is not None and not isinstance(self.error, QueryCancelledError):
            raise self.error

    @property
    def rows_ready(self) -> bool:
        """True when :meth:`fetch_rows` can read the result: a direct run on one copy whose result types read
        the same from DuckDB as from Arrow (:func:`c360.acceleration.direct.plain_schema`), not read yet."""
        return self._row_schema is not None

    def fetch_rows(self, size: int) -> list[tuple]:
        """Up to ``size`` rows of the result as Python tuples, fetched from DuckDB without Arrow; [] at the end
        (the execution is then closed). Only while :attr:`rows_ready`."""
        if self._closed:
            if self.error is not None and not isinstance(self.error, QueryCancelledError):
                raise self.error
            return []
        try:
            rows = self._cursor.fetchmany(size)
        except duckdb.Error as error:
            self.close()
            raise self._translate(error) from None
        counted = self._counted
        if counted is not None:
            counted.rows += len(rows)
        if len(rows) < size:
            if counted is not None:
                counted.finished = time.perf_counter()
            self.close()
            if self.error is not None and not isinstance(self.error, QueryCancelledError):
                raise self.error
        return rows

    def _translate(self, error: Exception) -> Exception:
        if self.error is not None:
            return self.error
        message = redact(str(error))
        first = message.splitlines()[0] if message else type(error).__name__
        if isinstance(error, duckdb.ParserException):
            return SqlSyntaxError(first)
        if isinstance(error, duckdb.CatalogException):
            return UnknownTableError(first)
        if isinstance(error, duckdb.BinderException):
            from c360.model.scorer import stale_view_hint

            hint = stale_view_hint(message)
            if hint:
                return ProgrammingError(hint)
            return UnknownColumnError(first) if "column" in first.lower() else ProgrammingError(first)
        if isinstance(error, duckdb.InterruptException):
            return QueryCancelledError("The query was cancelled")
        if isinstance(error, (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.OutOfRangeException)):
            from c360.errors import DataError

            return DataError(first)
        return ProgrammingError(first)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        for timer in self._timers:
            timer.cancel()
        for scan in self.scans:
            if scan.stats.finished is None:
                try:
                    scan.cancel()
                except Exception:  # noqa: BLE001 - best effort on the way out
                    pass
        for thread in self._threads:
            thread.join(timeout=5)
        for channel in self._channels:
            channel.close()
        if self._give_back is not None and self.error is None:
            self._give_back()
        elif self._cursor is not None:
            try:
                self._cursor.close()
            except duckdb.Error:
                pass


def register_stream(cursor: duckdb.DuckDBPyConnection, name: str, reader: pa.RecordBatchReader) -> None:
    """Register ``reader`` as ``name`` on ``cursor``, so that no filter on a FLOAT/DOUBLE column reaches Arrow.

    DuckDB 1.5.5 hands the filters it pushes into an Arrow scan to Arrow, which evaluates them with its own
    semantics: ``-0.0`` is not ``0.0`` to a DOUBLE ``IN`` list, and NaN fails every comparison (to DuckDB NaN
    equals NaN and is greater than any number). With a float column, the stream is registered as
    ``<name>__arrow`` and ``name`` is a temporary view that multiplies each float column by one: the same
    value, bit for bit (``-0.0``, NaN, infinities, NULL), but an expression, so DuckDB keeps its filters in
    its own plan; filters on the other columns still reach the scan. (The sources got theirs already.)
    """
    floats = {field.name for field in reader.schema if pa.types.is_floating(field.type)}
    if not floats:
        cursor.register(name, reader)
        return
    raw = f"{name}__arrow"
    cursor.register(raw, reader)
    columns = []
    for field in reader.schema:
        quoted = '"' + field.name.replace('"', '""') + '"'
        if field.name in floats:
            one = "FLOAT" if pa.types.is_float32(field.type) or pa.types.is_float16(field.type) else "DOUBLE"
            columns.append(f"{quoted} * CAST(1 AS {one}) AS {quoted}")
        else:
            columns.append(quoted)
    cursor.execute(f'CREATE OR REPLACE TEMPORARY VIEW "{name}" AS SELECT {", ".join(columns)} FROM "{raw}"')


def _usable_folder(path: str | None) -> str | None:
    """``path``, created if missing; None (DuckDB's default) when it cannot be created."""
    if not path:
        return None
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path


def open_engine(catalog_path: str | Path = "catalog", profile: str | None = None) -> Engine:
    from c360.catalog import Catalog

    return Engine(Catalog(catalog_path, profile=profile))
