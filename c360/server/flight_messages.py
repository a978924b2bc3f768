"""The few Flight SQL protobuf messages ``c360 serve --flight-port`` reads and writes, without generated code.

Flight SQL commands travel as a ``google.protobuf.Any`` (field 1 the type URL,
field 2 the message's bytes) inside a FlightDescriptor, a Ticket or an
action's body. Every message the server handles has only strings, bytes,
booleans and integers at fixed field numbers (FlightSql.proto, Apache Arrow),
so a 60-line reader and writer of the protobuf wire format stands in for a
protobuf dependency and a compiled .proto: :func:`unpack` gives the message's
name and its fields as ``{number: [values]}``; :func:`pack` builds one.
Unknown fields are ignored, as protobuf does.
"""

from __future__ import annotations

PREFIX = "type.googleapis.com/arrow.flight.protocol.sql."

# field numbers, by message (FlightSql.proto)
QUERY = 1  # CommandStatementQuery, CommandStatementUpdate, ActionCreatePreparedStatementRequest
HANDLE = 1  # TicketStatementQuery, CommandPreparedStatementQuery, ActionClosePreparedStatementRequest, ...
CATALOG, SCHEMA_PATTERN, TABLE_PATTERN, TABLE_TYPES, INCLUDE_SCHEMA = 1, 2, 3, 4, 5  # CommandGetTables
SCHEMA, TABLE = 2, 3  # CommandGetPrimaryKeys (catalog is 1)
DATA_TYPE = 1  # CommandGetXdbcTypeInfo (optional int32)
INFO = 1  # CommandGetSqlInfo (repeated uint32), ActionCancelQueryRequest (bytes: a FlightInfo)
RESULT_HANDLE, DATASET_SCHEMA, PARAMETER_SCHEMA = 1, 2, 3  # ActionCreatePreparedStatementResult


class MessageError(ValueError):
    """Bytes that are not a protobuf message of the expected shape."""


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise MessageError("truncated varint")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if byte < 0x80:
            return value, at


def decode(data: bytes) -> dict[int, list]:
    """A message's fields: varints as ints, length-delimited as bytes (packed repeated ints stay bytes)."""
    fields: dict[int, list] = {}
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, kind = key >> 3, key & 7
        if kind == 0:
            value, at = _varint(data, at)
        elif kind == 2:
            size, at = _varint(data, at)
            if at + size > len(data):
                raise MessageError("truncated field")
            value, at = bytes(data[at:at + size]), at + size
        elif kind in (1, 5):
            width = 8 if kind == 1 else 4
            value, at = int.from_bytes(data[at:at + width], "little"), at + width
        else:
            raise MessageError(f"unsupported wire type {kind}")
        fields.setdefault(number, []).append(value)
    return fields


def _write_varint(value: int) -> bytes:  # a negative value as its 64-bit two's complement, as protobuf
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def encode(fields: dict[int, object]) -> bytes:
    """A message from ``{number: value}``: ints and bools as varints, str and bytes length-delimited;
    ``None`` values are left out."""
    out = bytearray()
    for number, value in fields.items():
        if value is None:
            continue
        if isinstance(value, (bool, int)):
            out += _write_varint(number << 3) + _write_varint(int(value))
        else:
            raw = value.encode() if isinstance(value, str) else bytes(value)
            out += _write_varint(number << 3 | 2) + _write_varint(len(raw)) + raw
    return bytes(out)


def unpack(data: bytes) -> tuple[str, dict[int, list]]:
    """An ``Any``: the Flight SQL message's name (``CommandStatementQuery``) and its fields."""
    envelope = decode(data)
    url = envelope.get(1, [b""])[0].decode("utf-8", "replace")
    if not url.startswith(PREFIX):
        raise MessageError(f"not a Flight SQL command ({url or 'no type URL'})")
    return url[len(PREFIX):], decode(envelope.get(2, [b""])[0])


def pack(name: str, fields: dict[int, object]) -> bytes:
    """An ``Any`` holding the Flight SQL message ``name`` with ``fields``."""
    return encode({1: PREFIX + name, 2: encode(fields)})


def text(fields: dict[int, list], number: int) -> str | None:
    values = fields.get(number)
    return values[-1].decode("utf-8") if values else None


def raw(fields: dict[int, list], number: int) -> bytes | None:
    values = fields.get(number)
    return values[-1] if values else None


def strings(fields: dict[int, list], number: int) -> list[str]:
    return [value.decode("utf-8") for value in fields.get(number, [])]


def uints(fields: dict[int, list], number: int) -> list[int]:
    """A repeated integer field, packed (one bytes value) or not."""
    values = []
    for value in fields.get(number, []):
        if isinstance(value, bytes):
            at = 0
            while at < len(value):
                item, at = _varint(value, at)
                values.append(item)
        else:
            values.append(value)
    return values


def ints(fields: dict[int, list], number: int) -> list[int]:
    """A (repeated) int32/int64 field: protobuf sends a negative one as its 64-bit two's complement."""
    return [value - (1 << 64) if value >= 1 << 63 else value for value in uints(fields, number)]
