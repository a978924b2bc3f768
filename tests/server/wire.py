"""A minimal PostgreSQL frontend over a raw socket, written independently of the server's code.

For what stock drivers cannot do on purpose: send garbage, truncated or huge
messages, or an Execute with a row limit, and read every backend message back.
"""

from __future__ import annotations

import fcntl
import socket
import struct
import termios


class Wire:
    def __init__(self, port: int, timeout: float = 10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def pending(self) -> int:
        """Bytes the server sent that this client has not read yet (the socket's receive queue)."""
        return struct.unpack("i", fcntl.ioctl(self.sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def message(self, kind: bytes, body: bytes = b"") -> None:
        self.send(kind + struct.pack("!i", len(body) + 4) + body)

    def startup(self, user: str = "wire", database: str = "c360") -> list[tuple[bytes, bytes]]:
        body = struct.pack("!i", 196608) + b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0\0"
        self.send(struct.pack("!i", len(body) + 4) + body)
        return self.until_ready()

    def _recv(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def read(self) -> tuple[bytes, bytes]:
        kind = self._recv(1)
        (length,) = struct.unpack("!i", self._recv(4))
        return kind, self._recv(length - 4)

    def until_ready(self) -> list[tuple[bytes, bytes]]:
        messages = []
        while True:
            kind, body = self.read()
            messages.append((kind, body))
            if kind == b"Z":
                return messages

    def query(self, sql: str) -> list[tuple[bytes, bytes]]:
        self.message(b"Q", sql.encode() + b"\0")
        return self.until_ready()

    def closed_by_server(self) -> bool:
        """True when the server closes the socket (after any error messages it sends)."""
        try:
            while True:
                self.read()
        except (ConnectionError, OSError):
            return True


def error_fields(body: bytes) -> dict[str, str]:
    fields = {}
    for part in body.split(b"\0"):
        if part:
            fields[part[:1].decode()] = part[1:].decode()
    return fields


def data_rows(messages) -> list[list[str | None]]:
    rows = []
    for kind, body in messages:
        if kind != b"D":
            continue
        (count,) = struct.unpack_from("!h", body)
        at, row = 2, []
        for _ in range(count):
            (length,) = struct.unpack_from("!i", body, at)
            at += 4
            if length < 0:
                row.append(None)
            else:
                row.append(body[at : at + length].decode())
                at += length
        rows.append(row)
    return rows


def parse(name: str, sql: str) -> bytes:
    return name.encode() + b"\0" + sql.encode() + b"\0" + struct.pack("!h", 0)


def bind(portal: str, statement: str, params: list[str | None] = ()) -> bytes:
    body = portal.encode() + b"\0" + statement.encode() + b"\0" + struct.pack("!h", 0) + struct.pack("!h", len(params))
    for value in params:
        body += struct.pack("!i", -1) if value is None else struct.pack("!i", len(value.encode())) + value.encode()
    return body + struct.pack("!h", 0)


def execute(portal: str, max_rows: int = 0) -> bytes:
    return portal.encode() + b"\0" + struct.pack("!i", max_rows)
