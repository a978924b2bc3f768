"""What the server runs queries on: the c360 engine, one per client connection, over one shared catalog.

:class:`EngineBackend` opens the catalog (and its connectors) once per server;
every client session gets an :class:`EngineSession` -- its own engine, as a
DB-API connection has -- so per-connection state such as ``SET VARIABLE
as_of`` never leaks between clients. :class:`RowSource` is the one shape the
session reads results from, whoever produced them: an Arrow schema,
``next_batch()`` (blocking; called from the thread pool), ``cancel()`` (from
any thread) and ``close()``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa

from c360.errors import Error
from c360.server.catalog_tables import Relation

log = logging.getLogger("c360.server")

#: the description of the schema ``c360`` (the project's views), as the system catalogs show it
VIEWS_DESCRIPTION = "the project's views (queries/*.sql)"


class RowSource:
    """Rows of one statement, as Arrow batches. A ``None`` schema means a command without rows."""

    schema: pa.Schema | None = None
    #: True when the rest of the result is a few rows in memory: reading and encoding them needs no trip to the
    #: thread pool (a lookup's one row, fetched when it started)
    in_hand: bool = False

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


class EngineBackend:
    """The c360 catalog and views, shared by every session of a server; each session gets its own engine."""

    def __init__(self, catalog: str | Path = "catalog", profile: str | None = None, *, refresh: bool = True):
        import os

        from c360.acceleration.schedule import Refresher
        from c360.catalog import Catalog
        from c360.engine import Engine

        profile = profile or os.environ.get("C360_PROFILE")
        self.catalog = Catalog(catalog, profile=profile)
        #: plans the system catalogs' view schemas; sessions never run on it
        self.engine = Engine(self.catalog)
        self.views = self.engine.views
        #: refreshes the accelerated copies declared with ``every`` (in child processes)
        self.refresher = Refresher(self.catalog, catalog_path=catalog, profile=profile)
        if refresh:
            self.refresher.start()

    def session(self) -> "EngineSession":
        return EngineSession(self.catalog, self.views, plans=self.engine.plan_cache)

    def relations(self) -> list[Relation]:
        """Every table of every reachable source, and the views (schema ``c360``), for the system catalogs."""
        relations = []
        tables, failures = self.catalog.every_table(sorted(self.catalog.sources))
        for error in failures:  # one down source must not hide the others
            log.warning("system catalog: %s", error)
        for source, table in tables:
            try:
                schema = self.catalog.table(source, table)
                relations.append(Relation(
                    source, table, schema.arrow_schema(), primary_key=tuple(schema.primary_key),
                    indexes=tuple(schema.indexes or ()), row_count=schema.row_count,
                    schema_description=self.catalog.source(source).description or "",
                ))
            except Error as error:
                log.warning("system catalog: %s", error)
        for name, view in sorted(self.views.items()):
            try:
                execution = self.engine.execute(f'SELECT * FROM "{view.name}" LIMIT 0')
                try:
                    relations.append(Relation("c360", view.name, execution.schema, kind="v", description=view.description,
                                              definition=view.sql.strip(), schema_description=VIEWS_DESCRIPTION))
                finally:
                    execution.close()
            except Error as error:
                log.warning("system catalog: view %s: %s", name, error)
        return relations

    def close(self) -> None:
        self.refresher.stop()
        self.engine.close()  # closes the shared catalog's connectors too


class Rows:
    """Rows as Python tuples, read from DuckDB without Arrow (:meth:`c360.engine.Execution.fetch_rows`); as much
    of a ``RecordBatch`` as a portal uses (``num_rows``, ``slice``). Their values are what
    :func:`c360.server.pg_types.python_column` gives, so the same encoders apply."""

    __slots__ = ("rows",)

    def __init__(self, rows: list):
        self.rows = rows

    @property
    def num_rows(self) -> int:
        return len(self.rows)

    def slice(self, offset: int = 0, length: int | None = None) -> "Rows":
        return Rows(self.rows[offset:] if length is None else self.rows[offset : offset + length])


class ExecutionSource(RowSource):
    """A started :class:`c360.engine.Execution`; batches stream from DuckDB as they are read. With ``rows``, a
    result the execution can give as Python rows (a lookup on an accelerated copy) comes as :class:`Rows`."""

    ROW_BATCH = 2048
    #: at most this many rows, fetched with the start, count as :attr:`in_hand`
    IN_HAND_ROWS = 64

    def __init__(self, execution, *, rows: bool = False):
        self.execution = execution
        self.schema = execution.schema
        self._rows = rows and execution.rows_ready
        self._batches = execution.reader() if not self._rows else None
        self._first = None
        if self._rows:  # read in the same trip as the start: a lookup's row is then in hand
            self._first = execution.fetch_rows(self.ROW_BATCH)
            self.in_hand = len(self._first) <= self.IN_HAND_ROWS and len(self._first) < self.ROW_BATCH

    def next_batch(self):
        if self._rows:
            if self._first is not None:
                rows, self._first = self._first, None
            else:
                rows = self.execution.fetch_rows(self.ROW_BATCH)
            return Rows(rows) if rows else None
        return next(self._batches, None)

    def cancel(self) -> None:
        self.execution.cancel()

    def close(self) -> None:
        try:
            if self._batches is not None:
                self._batches.close()
        except ValueError:  # a worker thread is still reading it (server shutdown): stop the query instead
            self.execution.cancel()
        self.execution.close()


class EngineSession:
    """One client connection's engine: what a DB-API connection is, so ``SET VARIABLE`` stays per client.

    The engine is created on the session's first query (psql's catalog
    queries never need it) over the server's shared catalog and views.
    ``execute`` runs statements the way ``Cursor.execute`` does --
    ``engine.prepare()`` then ``start()`` -- but hands the execution's cancel
    switch to ``register`` in between, so a CancelRequest reaches a query even
    while DuckDB spends the whole query inside ``start()``.
    """

    def __init__(self, catalog, views, plans=None):
        self.catalog = catalog
        self.views = views
        #: the server's plan cache: a statement shape planned for one client is reused for every client
        self.plans = plans
        self.engine = None

    def execute(self, sql: str, params: dict, register=None, *, rows: bool = False) -> RowSource:
        """Run ``sql``; ``register(cancel)`` receives the cancel switch before any work starts; ``rows``: the
        caller reads :class:`Rows` as well as Arrow batches."""
        from c360.engine import Engine

        if self.engine is None:
            self.engine = Engine(self.catalog, views=self.views, owns_catalog=False, plans=self.plans)
        execution = self.engine.prepare(sql, params or None)
        if register is not None:
            register(execution.cancel)
        try:
            execution.start()
        except BaseException:
            execution.close()
            raise
        return ExecutionSource(execution, rows=rows)

    def close(self) -> None:
        """Close this session's engine (its DuckDB); the shared catalog stays open."""
        if self.engine is not None:
            self.engine.close()
        self.engine = None
