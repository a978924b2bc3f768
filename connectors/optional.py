"""An optional source (``optional: true`` in the catalog): absent data reads as empty tables.

A retailer's project may lack some of the sources the views join (no partner files, no
browsing): rather than editing the views, the catalog declares such a source ``optional``
with its tables' columns, and :class:`OptionalConnector` wraps the source's own connector:

* a scan that the source refuses with :class:`~c360.errors.NotFoundError` (its folder does not
  exist, a table has no files, a file source's store is missing) becomes an empty scan of the
  declared columns, so every view still runs and the columns that depend on the source are NULL
  (or what the view makes of no rows: ``coalesce(sum(...), 0)`` is 0);
* ``tables()`` falls back to the declared tables, and a declared schema is the declared columns;
* anything else (a server that refuses connections, a malformed file) is still an error: an
  optional source that exists must be right.

EXPLAIN shows the empty scan's reason in place of the SQL or file list.
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa

from c360.errors import NotFoundError
from connectors.base import Scan, ScanRequest, TableSchema


class EmptyScan(Scan):
    """No rows, of the request's columns; ``sent`` says why."""

    def _batches(self) -> Iterator[pa.RecordBatch]:
        return iter(())


class OptionalConnector:
    """The source's connector, with a missing table or folder read as an empty table."""

    def __init__(self, inner, declared: dict):
        self.inner = inner
        self.declared = dict(declared)

    def __getattr__(self, name):  # kind, dialect, capabilities, location, name, close, ...
        return getattr(self.inner, name)

    def tables(self) -> list[str]:
        """The source's tables, or the declared ones when it has none to list."""
        declared = list(self.declared)
        try:
            found = list(self.inner.tables())
        except NotFoundError:
            return declared
        return declared + [t for t in found if t not in declared]

    def schema(self, name: str) -> TableSchema:
        return self.inner.schema(name)

    def declared_schema(self, table: str, declared) -> TableSchema:
        """The declared columns (plus partition columns when they can be listed)."""
        from connectors.declared import declared_columns, where_of

        if hasattr(self.inner, "declared_schema"):
            try:
                return self.inner.declared_schema(table, declared)
            except NotFoundError:
                pass
        columns = declared_columns(declared["columns"], where=where_of(declared, "columns"))
        return TableSchema(table, tuple(columns), tuple(declared.get("remote_name", ()) or ()))

    def scan(self, request: ScanRequest) -> Scan:
        """The source's scan, or an empty one when the source says the data is not there."""
        try:
            return self.inner.scan(request)
        except NotFoundError as error:
            reason = str(error).split(": ", 1)[-1]
            return EmptyScan(request, f"(optional source, read as empty: {reason})")
