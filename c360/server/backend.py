"""What the server runs queries on: the c360 engine through its DB-API, one engine per server.

:class:`EngineBackend` opens the catalog and engine once; every client session
gets its own :class:`c360.dbapi.Connection` over that engine and one DB-API
cursor per statement. :class:`RowSource` is the one shape the session reads
results from, whoever produced them: an Arrow schema, ``next_batch()``
(blocking; called from the thread pool), ``cancel()`` (from any thread) and
``close()``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pyarrow as pa

from c360.errors import Error
from c360.server.catalog_emulation import Relation

log = logging.getLogger("c360.server")


class RowSource:
    """Rows of one statement, as Arrow batches. A ``None`` schema means a command without rows."""

    schema: pa.Schema | None = None

    def next_batch(self) -> pa.RecordBatch | None:
        return None

    def cancel(self) -> None:
        pass

    def close(self) -> None:
        pass


class TableSource(RowSource):
    """A result already in memory (system catalog answers, SHOW)."""

    def __init__(self, table: pa.Table | None, *, chunk_rows: int = 4096):
        self.schema = table.schema if table is not None else None
        self._batches = iter(table.to_batches(max_chunksize=chunk_rows)) if table is not None else iter(())

    def next_batch(self):
        return next(self._batches, None)


class CursorSource(RowSource):
    """A DB-API cursor that has executed a query; batches stream from the engine."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.schema = cursor.arrow_schema
        self._batches = cursor.fetch_batches()

    def next_batch(self):
        return next(self._batches, None)

    def cancel(self) -> None:
        self.cursor.cancel()

    def close(self) -> None:
        self._batches.close()
        self.cursor.close()


class EngineBackend:
    """The c360 engine for one catalog, shared by every session of a server."""

    def __init__(self, catalog: str | Path = "catalog", profile: str | None = None, *, engine=None):
        if engine is None:
            import os

            from c360.catalog import Catalog
            from c360.engine import Engine

            engine = Engine(Catalog(catalog, profile=profile or os.environ.get("C360_PROFILE")))
        self.engine = engine

    def session(self) -> "EngineSession":
        return EngineSession(self.engine)

    def relations(self) -> list[Relation]:
        """Every table of every reachable source, and the views (schema ``c360``), for the system catalogs."""
        catalog = self.engine.catalog
        relations = []
        for source in sorted(catalog.sources):
            try:
                for table in catalog.tables(source):
                    relations.append(Relation(source, table, catalog.table(source, table).arrow_schema()))
            except Error as error:  # one down source must not hide the others
                log.warning("system catalog: %s", error)
        for name, view in sorted(getattr(self.engine, "views", {}).items()):
            try:
                execution = self.engine.execute(f'SELECT * FROM "{view.name}" LIMIT 0')
                try:
                    relations.append(Relation("c360", view.name, execution.schema, kind="v"))
                finally:
                    execution.close()
            except Error as error:
                log.warning("system catalog: view %s: %s", name, error)
        return relations

    def close(self) -> None:
        self.engine.close()


class ExecutionSource(RowSource):
    """A started :class:`c360.engine.Execution`; batches stream from DuckDB as they are read."""

    def __init__(self, execution):
        self.execution = execution
        self.schema = execution.schema
        self._batches = execution.reader()

    def next_batch(self):
        return next(self._batches, None)

    def cancel(self) -> None:
        self.execution.cancel()

    def close(self) -> None:
        self._batches.close()
        self.execution.close()


class EngineSession:
    """One client's DB-API connection over the server's engine.

    ``execute`` runs a statement and returns a streaming source. A query is
    planned and started as an engine ``Execution`` whose cancel switch is
    handed to ``register`` *before* it starts: ``Cursor.cancel()`` reaches a
    query only once ``Cursor.execute()`` has returned, and DuckDB may spend the
    whole query inside that call (an aggregate over a big scan), which a
    CancelRequest must still stop. ``EXPLAIN`` goes through the DB-API cursor.
    """

    def __init__(self, engine):
        from c360.dbapi import Connection

        self.engine = engine
        self.connection = Connection(engine)

    def execute(self, sql: str, params: dict, register=None) -> RowSource:
        """Run ``sql``; ``register(cancel)`` receives the cancel switch before any work starts."""
        from c360.dbapi import Cursor
        from c360.engine import Execution

        if _EXPLAIN.match(sql):
            # a bare Cursor (not connection.cursor()) so a long session does not accumulate cursors
            cursor = Cursor(self.connection)
            try:
                cursor.execute(sql, params or None)
            except BaseException:
                cursor.close()
                raise
            return CursorSource(cursor)
        execution = Execution(self.engine, self.engine.plan(sql, params or None))
        if register is not None:
            register(execution.cancel)
        try:
            execution.start()
        except BaseException:
            execution.close()
            raise
        return ExecutionSource(execution)

    def close(self) -> None:
        """Nothing to release: sources are closed per statement and the engine belongs to the server."""


_EXPLAIN = re.compile(r"^\s*EXPLAIN\b", re.IGNORECASE)
