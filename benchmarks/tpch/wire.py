"""Counting result rows in a server's byte stream: the MySQL and PostgreSQL wire protocols.

A :class:`Protocol` is fed the bytes of one TCP connection in both directions,
as they pass through :mod:`benchmarks.tpch.proxy`, and counts the rows the
server sent, whatever the client is (pymysql, psqlODBC, DuckDB's scanners):

* MySQL / MariaDB: after the handshake every command starts with a client packet
  of sequence id 0. A ``COM_QUERY`` or ``COM_STMT_EXECUTE`` answer is a result
  set: a column count, that many column definitions, an EOF unless
  ``CLIENT_DEPRECATE_EOF`` was agreed, then one packet per row up to an EOF/OK
  (``0xFE``, shorter than 16 MiB) or an ERR (``0xFF``); MariaDB may leave the
  definitions out of a prepared statement's result (``MARIADB_CLIENT_CACHE_METADATA``:
  a 0 byte after the column count). Prepared statements' definitions are
  skipped. With the compressed protocol (DuckDB's MySQL scanner asks for it
  unless told otherwise) the packets are inflated first. A connection that
  switches to TLS becomes opaque: its bytes are still counted, its rows not.
* PostgreSQL: one ``DataRow`` ('D') message per row; ``COPY ... TO STDOUT``
  sends one ``CopyData`` ('d') message per row, and in binary format one more
  for the trailer (the header rides with the first row). An ``SSLRequest``
  answered with 'S' makes the connection opaque.

Parsing walks packet headers only (a few bytecodes per row); it never buffers
more than one packet head across reads.
"""

from __future__ import annotations

import zlib
from collections import deque

# MySQL capability flags and status flags used here.
CLIENT_COMPRESS = 0x20
CLIENT_SSL = 0x800
CLIENT_DEPRECATE_EOF = 0x1000000
SERVER_MORE_RESULTS_EXISTS = 0x0008
MAX_PACKET = 0xFFFFFF

COM_QUIT, COM_QUERY, COM_FIELD_LIST = 0x01, 0x03, 0x04
COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_SEND_LONG_DATA, COM_STMT_CLOSE, COM_STMT_FETCH = (
    0x16,
    0x17,
    0x18,
    0x19,
    0x1C,
)

#: Bytes of a packet's payload a handler may look at: the server greeting's capability flags
#: follow its version string; an OK packet's status flags sit within its first 21 bytes.
HEAD = 128


class Protocol:
    """Counts nothing but bytes: for HTTP (Azurite) and anything not parsed."""

    opaque = True

    def __init__(self):
        self.rows = 0

    def from_client(self, data, n: int) -> None:
        """Bytes ``data[:n]`` the client sent (seen before they are forwarded)."""

    def from_server(self, data, n: int) -> None:
        """Bytes ``data[:n]`` the server sent (seen before they are forwarded)."""


def _lenenc(data, at: int) -> tuple[int, int]:
    """A MySQL length-encoded integer at ``data[at]``: (value, offset after it)."""
    first = data[at]
    if first < 0xFB:
        return first, at + 1
    size = {0xFC: 2, 0xFD: 3, 0xFE: 8}.get(first, 0)
    return int.from_bytes(data[at + 1 : at + 1 + size], "little"), at + 1 + size


class _Framer:
    """Splits one direction of a MySQL stream into packets: ``handle(seq, length, data, at)``.

    ``data[at:at + min(length, HEAD)]`` is always available to the handler; the
    rest of the payload may lie in later reads and is skipped.
    """

    def __init__(self, handle):
        self.handle = handle
        self.skip = 0
        self.carry = b""

    def feed(self, data, n: int) -> None:
        pos = 0
        if self.skip:
            if self.skip >= n:
                self.skip -= n
                return
            pos, self.skip = self.skip, 0
        if self.carry:
            data = self.carry + bytes(data[pos:n])
            pos, n, self.carry = 0, len(data), b""
        handle = self.handle
        while pos < n:
            if n - pos < 4:
                self.carry = bytes(data[pos:n])
                return
            length = data[pos] | data[pos + 1] << 8 | data[pos + 2] << 16
            if n - pos - 4 < min(length, HEAD):
                self.carry = bytes(data[pos:n])
                return
            handle(data[pos + 3], length, data, pos + 4)
            end = pos + 4 + length
            if end > n:
                self.skip = end - n
                return
            pos = end


class _Inflater:
    """Undoes MySQL's compressed protocol for one direction, handing the packets inside to ``inner``.

    Each compressed packet is a 7-byte header (compressed length, sequence id,
    uncompressed length; 0 when the payload was sent as is) and a zlib stream.
    """

    def __init__(self, inner: _Framer):
        self.inner = inner
        self.pending = bytearray()

    def feed(self, data, n: int) -> None:
        pending = self.pending
        pending += data[:n]
        pos = 0
        while len(pending) - pos >= 7:
            length = pending[pos] | pending[pos + 1] << 8 | pending[pos + 2] << 16
            if len(pending) - pos - 7 < length:
                break
            raw = pending[pos + 4] | pending[pos + 5] << 8 | pending[pos + 6] << 16
            payload = bytes(pending[pos + 7 : pos + 7 + length])
            if raw:
                payload = zlib.decompress(payload)
            self.inner.feed(payload, len(payload))
            pos += 7 + length
        del pending[:pos]


class MySQL(Protocol):
    """Rows of result sets in one MySQL/MariaDB connection (see the module docstring)."""

    opaque = False

    def __init__(self):
        super().__init__()
        self.server_flags = 0
        self.client_flags = 0
        self.handshake = True
        self.greeted = False
        self.expect: deque[str] = deque()  # responses owed to the client's commands, oldest first
        self.state = "idle"
        self.remaining = 0  # column definitions (or prepare definitions) still to skip
        self.continued = False  # the previous packet was a full 16 MiB one: this one continues it
        self.up = _Framer(self._client_packet)
        self.down = _Framer(self._server_packet)
        self.compressed = False

    @property
    def deprecate_eof(self) -> bool:
        return bool(self.client_flags & self.server_flags & CLIENT_DEPRECATE_EOF)

    def from_client(self, data, n: int) -> None:
        if not self.opaque:
            self.up.feed(data, n)

    def from_server(self, data, n: int) -> None:
        if not self.opaque:
            self.down.feed(data, n)

    def _client_packet(self, seq: int, length: int, data, at: int) -> None:
        if self.handshake:
            if seq == 1 and length >= 4:  # the handshake response (or the SSL request)
                self.client_flags = int.from_bytes(data[at : at + 4], "little")
                if self.client_flags & CLIENT_SSL:
                    self.opaque = True
            return
        if seq != 0 or length == 0:
            return
        command = data[at]
        if command == COM_QUIT or command in (COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA):
            return
        if command in (COM_QUERY, COM_STMT_EXECUTE):
            self.expect.append("result")
        elif command == COM_STMT_PREPARE:
            self.expect.append("prepare")
        elif command == COM_FIELD_LIST:
            self.expect.append("fieldlist")
        elif command == COM_STMT_FETCH:
            self.expect.append("rows")
        else:
            self.expect.append("other")

    def _done(self) -> None:
        self.state = "idle"
        if self.expect:
            self.expect.popleft()

    def _server_packet(self, seq: int, length: int, data, at: int) -> None:
        first = data[at] if length else 0
        if self.handshake:
            if not self.greeted:  # protocol 10 greeting: version\0, id(4), scramble(8), 0, caps low(2) ...
                self.greeted = True
                head = bytes(data[at : at + min(length, HEAD)])
                version_end = head.find(b"\0", 1)
                low = version_end + 1 + 4 + 8 + 1  # capability flags, low half
                high = low + 2 + 1 + 2  # after the character set and the status flags
                if version_end > 0 and high + 2 <= len(head):
                    self.server_flags = int.from_bytes(head[low : low + 2] + head[high : high + 2], "little")
            elif first in (0x00, 0xFF):
                self.handshake = False
                if first == 0x00 and self.client_flags & self.server_flags & CLIENT_COMPRESS:
                    self.compressed = True  # from the next packet on, in both directions
                    self.up, self.down = _Inflater(self.up), _Inflater(self.down)
            return
        if self.continued:
            self.continued = length == MAX_PACKET
            return
        self.continued = length == MAX_PACKET
        state = self.state
        if state == "rows":
            if first == 0xFE and length < MAX_PACKET:
                self._end_of_rows(length, data, at)
            elif first == 0xFF:
                self._done()
            else:
                self.rows += 1
            return
        if state == "idle":
            state = self.state = self.expect[0] if self.expect else "other"
        if state == "result":
            if first == 0x00:
                if not self._more(self._ok_status(data, at)):
                    self._done()
            elif first == 0xFF:
                self._done()
            elif first == 0xFB:
                pass  # LOCAL INFILE request: the client sends the file, then an OK follows
            else:
                self.remaining, after = _lenenc(data, at)
                self.state = "columns"
                if after < at + length and data[after] == 0:  # MariaDB's cached metadata: no definitions follow
                    self.remaining = 0
                    self.state = "rows" if self.deprecate_eof else "column_eof"
        elif state == "columns":
            self.remaining -= 1
            if self.remaining <= 0:
                self.state = "rows" if self.deprecate_eof else "column_eof"
        elif state == "column_eof":
            self.state = "rows"
        elif state == "prepare":
            if first == 0xFF:
                self._done()
                return
            columns = int.from_bytes(data[at + 5 : at + 7], "little")
            params = int.from_bytes(data[at + 7 : at + 9], "little")
            eofs = 0 if self.deprecate_eof else (params > 0) + (columns > 0)
            self.remaining = columns + params + eofs
            if self.remaining == 0:
                self._done()
            else:
                self.state = "definitions"
        elif state == "definitions":
            self.remaining -= 1
            if self.remaining <= 0:
                self._done()
        elif state == "fieldlist":
            if first in (0xFE, 0xFF) and length < MAX_PACKET:
                self._done()
        else:
            self._done()

    def _ok_status(self, data, at: int) -> int:
        _, pos = _lenenc(data, at + 1)  # affected rows
        _, pos = _lenenc(data, pos)  # last insert id
        return int.from_bytes(data[pos : pos + 2], "little")

    def _more(self, status: int) -> bool:
        if status & SERVER_MORE_RESULTS_EXISTS:
            self.state = "result"
            return True
        return False

    def _end_of_rows(self, length: int, data, at: int) -> None:
        if self.deprecate_eof:
            status = self._ok_status(data, at)
        else:
            status = int.from_bytes(data[at + 3 : at + 5], "little") if length >= 5 else 0
        if not self._more(status):
            self._done()


SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


class Postgres(Protocol):
    """DataRow and CopyData rows in one PostgreSQL connection (see the module docstring)."""

    opaque = False

    def __init__(self):
        super().__init__()
        self.startup = True  # the client's untyped startup messages
        self.answers = 0  # one-byte answers owed to SSL/GSS requests
        self.up_carry = b""
        self.skip = 0
        self.carry = b""
        self.copy_binary = False
        self.copy_messages = 0

    def from_client(self, data, n: int) -> None:
        if self.opaque or not self.startup:
            return
        data = self.up_carry + bytes(data[:n])
        while len(data) >= 8:
            length = int.from_bytes(data[0:4], "big")
            code = int.from_bytes(data[4:8], "big")
            if code in (SSL_REQUEST, GSSENC_REQUEST):
                self.answers += 1
            else:
                self.startup = False
                data = b""
                break
            data = data[length:]
        self.up_carry = data

    def from_server(self, data, n: int) -> None:
        if self.opaque:
            return
        pos = 0
        while self.answers and pos < n:  # 'S'/'G' (encryption follows) or 'N'
            self.answers -= 1
            if data[pos] in (ord("S"), ord("G")):
                self.opaque = True
                return
            pos += 1
        if self.skip:
            if self.skip >= n - pos:
                self.skip -= n - pos
                return
            pos, self.skip = pos + self.skip, 0
        if self.carry:
            data = self.carry + bytes(data[pos:n])
            pos, n, self.carry = 0, len(data), b""
        while pos < n:
            if n - pos < 6:  # type, length and the first payload byte (CopyOutResponse's format)
                self.carry = bytes(data[pos:n])
                return
            kind = data[pos]
            length = int.from_bytes(data[pos + 1 : pos + 5], "big")
            if kind == 0x44:  # 'D' DataRow
                self.rows += 1
            elif kind == 0x64:  # 'd' CopyData
                self.copy_messages += 1
            elif kind == 0x48:  # 'H' CopyOutResponse
                self.copy_binary = data[pos + 5] == 1
                self.copy_messages = 0
            elif kind == 0x63:  # 'c' CopyDone
                self.rows += max(0, self.copy_messages - (1 if self.copy_binary else 0))
                self.copy_messages = 0
            end = pos + 1 + length
            if end > n:
                self.skip = end - n
                return
            pos = end


PROTOCOLS = {"mysql": MySQL, "postgres": Postgres, "http": Protocol}
