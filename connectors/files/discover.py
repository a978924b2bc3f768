"""A file table's columns when the catalog declares none: found by reading the head of a few files.

A few files spread over the listing (first and last included) are read
together with ``LIMIT 0`` on a private DuckDB connection, which unites their
columns by name; newline-delimited blobs are sampled from their first
:data:`SAMPLE_BYTES` only. Partition columns, from the paths, come last.
"""

from __future__ import annotations

import contextlib
import threading

import duckdb

from c360.errors import FileFormatError
from connectors.base import Column
from connectors.files.errors import format_error
from connectors.files.layout import FileEntry, Layout
from connectors.files.query import columns_query

SAMPLE_FILES = 5
#: Bytes of a newline-delimited file downloaded to sample its columns (whole lines only).
SAMPLE_BYTES = 1 << 20


def sample(entries: list[FileEntry], count: int = SAMPLE_FILES) -> list[FileEntry]:
    """Up to ``count`` entries spread over the listing (first and last included)."""
    if len(entries) <= count:
        return list(entries)
    step = (len(entries) - 1) / (count - 1)
    return [entries[round(i * step)] for i in range(count)]


def discover(store, layout: Layout, entries: list[FileEntry], *, source: str) -> list[Column]:
    """Data columns found by sampling a few files, followed by the partition columns.

    A file DuckDB cannot read is reported by name (:func:`format_error`); files
    that read alone but not together are a FileFormatError for the table.
    """
    chosen = sample(entries)
    cancelled = threading.Event()
    by_lines = layout.format in ("jsonl", "csv")
    with contextlib.ExitStack() as stack:
        paths = [
            stack.enter_context(
                store.fetch(e.key, cancelled, SAMPLE_BYTES if by_lines and e.size > SAMPLE_BYTES else None)
            )
            for e in chosen
        ]
        connection = duckdb.connect()
        try:
            schema = connection.execute(columns_query(layout.format, paths)).to_arrow_table().schema
        except duckdb.Error as error:
            for entry, path in zip(chosen, paths):
                try:
                    connection.execute(columns_query(layout.format, path)).fetchall()
                except duckdb.Error as one:
                    raise format_error(layout.format, entry.key, path, one, source) from None
            first = str(error).splitlines()[0]
            raise FileFormatError(f"{source}: files of table could not be read together: {first}") from None
        finally:
            connection.close()
    partition_columns = layout.partitioning.columns(entries) if layout.partitioning else []
    taken = {c.name.lower() for c in partition_columns}
    data = [Column(f.name, f.type) for f in schema if f.name.lower() not in taken]
    return data + partition_columns
