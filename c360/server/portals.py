"""What a session holds between messages: prepared statements, and portals (unnamed, named, and cursors).

A :class:`Portal` is a statement bound to its parameters; it holds the running
statement's :class:`~c360.server.backend.RowSource` and at most one pending
Arrow batch, so a suspended portal (Execute with a row limit, FETCH from a
cursor) resumes where it stopped. DECLAREd cursors are portals too, closed
at the end of their transaction unless declared WITH HOLD.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from c360.server import protocol as pq
from c360.server.backend import Rows, RowSource
from c360.server.commands import Command
from c360.server.pg_types import encode_rows


@dataclass
class Prepared:
    command: Command
    param_oids: list[int]


@dataclass
class Portal:
    name: str
    command: Command
    params: list = field(default_factory=list)
    formats: list[int] = field(default_factory=list)  # result format codes as sent in Bind
    cursor: bool = False  # a DECLAREd cursor (lives until CLOSE or the transaction ends)
    hold: bool = False
    describe_only: bool = False  # opened only to learn its columns (Describe of a statement): no rows
    opened: bool = False
    source: RowSource | None = None
    pending: pa.RecordBatch | Rows | None = None
    exhausted: bool = False
    tag: str = ""

    def close(self) -> None:
        if self.source is not None:
            source, self.source = self.source, None
            source.close()
        self.pending = None


def result_formats(codes: list[int], columns: int) -> list[int]:
    if not codes:
        return [0] * columns
    if len(codes) == 1:
        return codes * columns
    if len(codes) != columns:
        raise pq.ProtocolViolation(f"Bind has {len(codes)} result formats for {columns} columns")
    return codes


def encode_chunk(chunk: pa.RecordBatch | Rows, encoders: list) -> bytes:
    """DataRow messages of every row of ``chunk`` (Arrow, or :class:`Rows` read without it)."""
    if isinstance(chunk, Rows):
        return b"".join(pq.data_row([None if v is None else encode(v) for v, encode in zip(row, encoders)])
                        for row in chunk.rows)
    return b"".join(pq.data_row(row) for row in encode_rows(chunk, encoders))
