"""Running a query on accelerated copies without streams or threads: the :class:`RunsOnCopies` part of an
execution (:class:`c360.engine.Execution`).

A statement that reads one copy runs whole in that copy's DuckDB; one that reads several copies, in one
DuckDB attaching their files (:mod:`c360.acceleration.joined`); a shape already seen runs as its
:class:`~c360.acceleration.direct.CopyStatement` with new values, or as a copy and its live tail
(:class:`~c360.acceleration.direct.TailStatement`). Example::

    SELECT * FROM customer_360 WHERE customer_id = 42     (customer_360 accelerated)
    -> the copy's DuckDB runs: SELECT ... FROM data WHERE customer_id = 42; no scan thread, no channel
"""

from __future__ import annotations

import threading
import time

import duckdb
import pyarrow as pa

from c360.acceleration.connector import CopyScan, local_sql
from c360.acceleration.direct import DirectScan, TailStatement, copy_statement, plain_schema, scalar_values
from c360.acceleration.joined import joined_sql
from c360.errors import Error
from connectors.base import ScanRequest, guard


class RunsOnCopies:
    """The ways an execution starts on copies alone; each sets the execution's result (``_reader`` and
    ``_cursor``, or ``_row_schema``) as :meth:`c360.engine.Execution.start` would, and says what ran in
    its scans' ``sent``."""

    def _start_in_copy(self) -> bool:
        """Run a statement that reads nothing but one accelerated copy inside that copy's own DuckDB: the
        residual query with the copy's scan replaced by the SELECT the scan would send (so every pushed
        filter holds), no stream, no thread. A query the copy's DuckDB cannot run (it calls a function
        registered on the engine's, such as ``c360_predict``) takes the usual path. True when started."""
        if len(self.scans) != 1 or not isinstance(self.scans[0], CopyScan):
            return False
        scan, scan_plan = self.scans[0], self.plan.scans[0]
        sql = local_sql(self.plan.sql, scan_plan.name, scan.sent)
        if sql is None:
            return False
        try:
            cursor = scan.open_cursor()
        except Error:
            return False
        scan.stats.started = time.perf_counter()
        if not self._start_whole(cursor, sql):
            return False
        self._counted = scan.stats  # the result's rows are what the copy returned: reader() counts them
        scan.sent = f"{scan.sent} (the whole query ran in the copy's DuckDB)"
        self._keep_direct()
        return True

    def _start_whole(self, cursor, sql: str) -> bool:
        """Start ``sql``, the whole query, on ``cursor`` (a copy's DuckDB); False, the cursor closed, when that
        DuckDB cannot bind it (the usual path runs the query instead)."""
        try:
            self._reader = cursor.execute(sql, self.plan.params).to_arrow_reader(self.result_batch_rows)
        except (duckdb.CatalogException, duckdb.BinderException):
            cursor.close()
            return False
        except duckdb.Error as error:
            cursor.close()
            raise self._translate(error) from None
        self._cursor = cursor
        return True

    def _keep_direct(self) -> None:
        """After a query of copies only ran whole: its cached plan's :class:`~c360.acceleration.direct.
        CopyStatement`, for the next executions of the shape."""
        entry = self.plan.cached
        if entry is not None and entry.direct is None:
            entry.direct = copy_statement(entry.plan) or False

    def _start_in_copies(self) -> bool:
        """Run a statement that reads only copies, several, in one DuckDB attaching their files
        (:mod:`c360.acceleration.joined`); True when started."""
        found = joined_sql(self.plan, self.scans)
        if found is None:
            return False
        sql, paths = found
        try:
            cursor = self.engine.attached.cursor(paths)
        except duckdb.Error:
            return False
        started = time.perf_counter()
        if not self._start_whole(cursor, sql):
            return False
        for scan in self.scans:
            scan.stats.started, scan.stats.finished = started, time.perf_counter()
            scan.sent = f"{scan.sent} (the whole query ran in one DuckDB attaching the copies)"
        self._keep_direct()
        return True

    def _start_direct(self) -> None:
        """Run the :class:`~c360.acceleration.direct.CopyStatement` with its values on the copy's DuckDB (or a
        :class:`~c360.acceleration.direct.TailStatement`: :meth:`_start_tail`)."""
        statement, values = self._direct
        if isinstance(statement, TailStatement):
            self._start_tail(statement, values)
            return
        single = len(statement.sent) == 1
        where = "the whole query ran in the copy's DuckDB" if single else \
            "the whole query ran in one DuckDB attaching the copies"
        self.scans = [DirectScan(sent, where) for sent in statement.sent]
        cursors = self.engine.copy_cursors
        lookup = single and statement.lookup is not None
        cursor = cursors.take(statement.paths[0], lookup) if single else self.engine.attached.cursor(statement.paths)
        started = time.perf_counter()
        try:
            cursor.execute(statement.lookup if lookup else statement.sql, values)
            if statement.row_schema is not None and single and scalar_values(values):
                self._row_schema = statement.row_schema  # the result waits in the cursor: rows, or Arrow if asked
            else:
                self._reader = cursor.to_arrow_reader(self.result_batch_rows)
                if single and statement.row_schema is None and plain_schema(self._reader.schema):
                    statement.row_schema = self._reader.schema
        except duckdb.Error as error:
            cursor.close()
            raise self._translate(error) from None
        self._cursor = cursor
        for scan in self.scans:
            scan.stats.started = started
        if single:
            self._counted = self.scans[0].stats
            self._give_back = lambda: cursors.give(statement.paths[0], cursor, lookup)
        else:
            for scan in self.scans:
                scan.stats.finished = time.perf_counter()

    def _start_tail(self, statement: TailStatement, values: dict) -> None:
        """A copy and its live tail without planning: the copy's SELECT on its DuckDB, the live part's scan with
        these values, both read whole (a lookup's few rows) and registered as Arrow where the plan's residual
        query runs."""
        copy_plan, tail_plan = self.plan.scans[statement.copy_index], self.plan.scans[statement.tail_index]
        copy_scan = DirectScan(statement.copy_sql, "on the copy's DuckDB, its shape known")
        request = ScanRequest(table=tail_plan.table, columns=tail_plan.columns,
                              filters=statement.tail_filters(values), order_by=tail_plan.order_by,
                              limit=tail_plan.limit, timeout=self._timeout(tail_plan))
        tail_scan = guard(tail_plan.connector, lambda: tail_plan.connector.scan(request))
        self.scans = [None, None]
        self.scans[statement.copy_index], self.scans[statement.tail_index] = copy_scan, tail_scan
        cursors = self.engine.copy_cursors
        cursor = cursors.take(statement.path)
        copy_scan.stats.started = time.perf_counter()
        try:
            older = cursor.execute(statement.copy_sql, statement.copy_values(values)).to_arrow_table()
        except duckdb.Error as error:
            cursor.close()
            raise self._translate(error) from None
        cursors.give(statement.path, cursor)
        copy_scan.stats.finished = time.perf_counter()
        copy_scan.stats.rows, copy_scan.stats.bytes = older.num_rows, older.nbytes
        schema = tail_plan.table.arrow_schema(tail_plan.columns)
        if request.timeout:
            timer = threading.Timer(request.timeout, self._timed_out,
                                    args=(tail_plan, statement.tail_index, request.timeout))
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
        try:  # a stray driver exception becomes a named source error, as on a scan's own thread
            newer = guard(tail_plan.connector, lambda: pa.Table.from_batches(list(tail_scan.batches()), schema=schema))
        except Error as error:
            self.close()
            raise self.error or error from None
        if self.error is not None:  # timed out or cancelled while it read: what it read is not the answer
            self.close()
            raise self.error
        cursor = self.engine.cursor()
        self._cursor = cursor
        wanted = copy_plan.table.arrow_schema(copy_plan.columns)
        try:
            cursor.register(copy_plan.name, older if older.schema == wanted else older.cast(wanted))
            cursor.register(tail_plan.name, newer)
            params = [values[slot] for slot in self.plan.slots]  # the cached plan's own are its first values
            self._reader = cursor.execute(self.plan.sql, params).to_arrow_reader(self.result_batch_rows)
        except (duckdb.Error, pa.ArrowException) as error:
            self.close()
            raise self._translate(error) from None
