"""PostgreSQL v3 wire protocol framing: reading client messages, building server messages.

Reading is bounded: a startup packet may be at most ``MAX_STARTUP_BYTES`` and
any other message at most the server's ``max_message_bytes``; a longer length
prefix raises :class:`ProtocolViolation` before a byte of the body is read, so
a hostile 1 GB prefix costs nothing. Builders return complete messages as
``bytes``; they never write.
"""

from __future__ import annotations

import asyncio
import struct

from c360.errors import InterfaceError

PROTOCOL_V3 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
MAX_STARTUP_BYTES = 10_000

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_HEADER = struct.Struct("!ci")


class ProtocolViolation(InterfaceError):
    """The client broke the protocol; the connection is answered with an error and closed."""

    sqlstate = "08P01"


async def read_startup(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The first packet of a connection: ``(code, payload)``; code is the version or a request."""
    head = await reader.readexactly(4)
    (length,) = _I32.unpack(head)
    if length < 8 or length > MAX_STARTUP_BYTES:
        raise ProtocolViolation(f"Invalid startup packet length {length}")
    body = await reader.readexactly(length - 4)
    return _I32.unpack_from(body)[0], body[4:]


async def read_message(reader: asyncio.StreamReader, max_bytes: int) -> tuple[bytes, bytes]:
    """One typed message: ``(type byte, payload)``; refuses a length above ``max_bytes``."""
    head = await reader.readexactly(5)
    kind, length = _HEADER.unpack(head)
    if length < 4:
        raise ProtocolViolation(f"Invalid message length {length}")
    if length - 4 > max_bytes:
        raise ProtocolViolation(f"Message of {length} bytes exceeds the limit of {max_bytes} bytes")
    return kind, await reader.readexactly(length - 4)


class Payload:
    """A cursor over one message body; every read checks bounds."""

    def __init__(self, data: bytes):
        self.data = data
        self.at = 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise ProtocolViolation("Message is shorter than its contents say")
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk

    def int16(self) -> int:
        return _I16.unpack(self._take(2))[0]

    def int32(self) -> int:
        return _I32.unpack(self._take(4))[0]

    def uint32(self) -> int:
        return struct.unpack("!I", self._take(4))[0]

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.at)
        if end < 0:
            raise ProtocolViolation("Unterminated string in message")
        text = self.data[self.at : end].decode("utf-8", errors="replace")
        self.at = end + 1
        return text

    def raw(self, n: int) -> bytes:
        return self._take(n)

    def rest(self) -> bytes:
        return self._take(len(self.data) - self.at)


def parse_startup_parameters(payload: bytes) -> dict[str, str]:
    """The ``name\\0value\\0...\\0`` pairs of a StartupMessage."""
    parts = payload.split(b"\0")
    params = {}
    for i in range(0, len(parts) - 1, 2):
        if not parts[i]:
            break
        params[parts[i].decode("utf-8", "replace")] = parts[i + 1].decode("utf-8", "replace")
    return params


# --- server messages -----------------------------------------------------------------------------


def message(kind: bytes, body: bytes = b"") -> bytes:
    return kind + _I32.pack(len(body) + 4) + body


def cstr(text: str) -> bytes:
    return text.encode("utf-8") + b"\0"


def authentication_ok() -> bytes:
    return message(b"R", _I32.pack(0))


def authentication_sasl(mechanisms: list[str]) -> bytes:
    return message(b"R", _I32.pack(10) + b"".join(cstr(m) for m in mechanisms) + b"\0")


def authentication_sasl_continue(data: bytes) -> bytes:
    return message(b"R", _I32.pack(11) + data)


def authentication_sasl_final(data: bytes) -> bytes:
    return message(b"R", _I32.pack(12) + data)


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    return message(b"K", _I32.pack(pid) + _I32.pack(secret))


def ready_for_query(status: str) -> bytes:
    return message(b"Z", status.encode())


def command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


def empty_query_response() -> bytes:
    return message(b"I")


def parse_complete() -> bytes:
    return message(b"1")


def bind_complete() -> bytes:
    return message(b"2")


def close_complete() -> bytes:
    return message(b"3")


def no_data() -> bytes:
    return message(b"n")


def portal_suspended() -> bytes:
    return message(b"s")


def parameter_description(oids: list[int]) -> bytes:
    return message(b"t", _I16.pack(len(oids)) + b"".join(struct.pack("!I", o) for o in oids))


def row_description(fields: list[tuple[str, int, int, int, int]]) -> bytes:
    """``fields``: (name, type oid, type size, type modifier, format code) per column."""
    body = [_I16.pack(len(fields))]
    for name, oid, size, modifier, fmt in fields:
        body.append(cstr(name) + struct.pack("!IhIhih", 0, 0, oid, size, modifier, fmt))
    return message(b"T", b"".join(body))


def data_row(values: list[bytes | None]) -> bytes:
    parts = [_I16.pack(len(values))]
    for value in values:
        if value is None:
            parts.append(b"\xff\xff\xff\xff")
        else:
            parts.append(_I32.pack(len(value)))
            parts.append(value)
    body = b"".join(parts)
    return b"D" + _I32.pack(len(body) + 4) + body


def error_response(code: str, text: str, *, severity: str = "ERROR", hint: str | None = None) -> bytes:
    fields = [b"S" + cstr(severity), b"V" + cstr(severity), b"C" + cstr(code), b"M" + cstr(text)]
    if hint:
        fields.append(b"H" + cstr(hint))
    return message(b"E", b"".join(fields) + b"\0")


def notice_response(text: str, code: str = "00000") -> bytes:
    return message(b"N", b"S" + cstr("NOTICE") + b"V" + cstr("NOTICE") + b"C" + cstr(code) + b"M" + cstr(text) + b"\0")


def copy_out_response(columns: int, fmt: int = 0) -> bytes:
    return message(b"H", struct.pack("!bh", fmt, columns) + _I16.pack(fmt) * columns)


def copy_data(data: bytes) -> bytes:
    return message(b"d", data)


def copy_done() -> bytes:
    return message(b"c")
