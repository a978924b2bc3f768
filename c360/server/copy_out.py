"""``COPY ... TO STDOUT`` rows in PostgreSQL's text and CSV formats.

Text format: fields separated by the delimiter (tab), NULL as ``\\N``,
backslash, tab, newline and carriage return escaped. CSV: NULL as an empty
field, a field quoted when it holds the delimiter, a quote or a line break,
or is the empty string (so it differs from NULL).
"""

from __future__ import annotations

import functools

import pyarrow as pa

from c360.server import protocol as pq
from c360.server.pg_types import encode_rows, encoder


def text_line(values: list, *, delimiter: str, null: str) -> bytes:
    out = []
    for value in values:
        if value is None:
            out.append(null.encode())
        else:
            out.append(value.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r"))
    return delimiter.encode().join(out) + b"\n"


def csv_line(values: list, *, delimiter: str, null: str) -> bytes:
    out = []
    special = (delimiter.encode(), b'"', b"\n", b"\r")
    for value in values:
        if value is None:
            out.append(null.encode())
        elif value == b"" or value == null.encode() or any(s in value for s in special):
            out.append(b'"' + value.replace(b'"', b'""') + b'"')
        else:
            out.append(value)
    return delimiter.encode().join(out) + b"\n"


class CopyLines:
    """Turns Arrow batches into CopyData messages for one COPY's options (csv, header, delimiter, null)."""

    def __init__(self, schema: pa.Schema, options: dict):
        line = csv_line if options["csv"] else text_line
        self._line = functools.partial(line, delimiter=options["delimiter"], null=options["null"])
        self._encoders = [encoder(f.type, 0) for f in schema]
        self.header = self._line([name.encode() for name in schema.names]) if options["header"] else None

    def encode(self, chunk: pa.RecordBatch) -> bytes:
        return b"".join(pq.copy_data(self._line(row)) for row in encode_rows(chunk, self._encoders))
