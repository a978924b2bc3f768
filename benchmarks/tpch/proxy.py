"""A byte-counting TCP proxy in front of each server, in a process of its own.

Why a proxy: the benchmark needs the bytes (and rows) each source sends, measured
the same way for c360 and for the peer. MariaDB's ``SHOW GLOBAL STATUS``
counters are server-wide, and other engineers' tests use the same MariaDB and
PostgreSQL at the same time; PostgreSQL and Azurite have no per-client byte
counter at all. Both c360 and the peer connect to the proxy's port instead of
the server's, so every byte the server sends them is counted on its way, and
nothing else is.

Why a process: a proxy thread in the benchmark's own process would compete for
the GIL with c360's Python readers (and not with the peer's C++ scanners),
slowing one side only. The child (``python -m benchmarks.tpch.proxy``) forwards
with blocking sockets, two threads per connection, and keeps its counters in a
shared memory map (an anonymous file both processes map) that the parent reads
without a round trip. It prints its ports, then runs until its standard input
closes, which happens when the parent closes it or dies.

Counted bytes are those that crossed the proxy before :meth:`Proxies.snapshot`: a chunk is counted
before it is forwarded, so a client that has read an answer sees it counted.

Usage::

    with Proxies({"shop": ("127.0.0.1", 3306, "mysql"), "blob": ("127.0.0.1", 10000, "http")}) as proxies:
        port = proxies.port("shop")
        before = proxies.snapshot()
        ...
        moved = proxies.snapshot() - before   # {"shop": Counts(bytes=..., rows=..., ...)}
"""

from __future__ import annotations

import json
import mmap
import os
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from benchmarks.tpch.wire import PROTOCOLS

BUFFER = 256 * 1024
#: Counter slots per upstream: bytes server→client, bytes client→server, rows, connections, opaque connections.
FIELDS = 5
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Counts:
    """What one upstream sent through the proxy (a difference of two snapshots)."""

    bytes: int = 0
    sent: int = 0  # bytes the clients sent the server
    rows: int = 0
    connections: int = 0
    opaque: int = 0  # connections whose rows could not be counted (TLS)

    def __sub__(self, other: Counts) -> Counts:
        return Counts(*(a - b for a, b in zip(self.astuple(), other.astuple())))

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(self.astuple(), other.astuple())))

    def astuple(self) -> tuple[int, ...]:
        return (self.bytes, self.sent, self.rows, self.connections, self.opaque)


class Snapshot(dict):
    """Counts by upstream name; subtracting two gives what moved in between."""

    def __sub__(self, other: Snapshot) -> Snapshot:
        return Snapshot({name: counts - other.get(name, Counts()) for name, counts in self.items()})


class Proxies:
    """One listening port per upstream, served by a child process (see the module docstring)."""

    def __init__(self, upstreams: dict[str, tuple[str, int, str]]):
        for name, (_host, _port, protocol) in upstreams.items():
            if protocol not in PROTOCOLS:
                raise ValueError(f"upstream '{name}': unknown protocol '{protocol}' (one of {', '.join(PROTOCOLS)})")
        self.names = list(upstreams)
        size = 8 * FIELDS * len(self.names)
        self._file = tempfile.TemporaryFile()
        self._file.truncate(size)
        self._map = mmap.mmap(self._file.fileno(), size)
        self._counters = memoryview(self._map).cast("q")
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.tpch.proxy",
                str(self._file.fileno()),
                json.dumps([upstreams[n] for n in self.names]),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=[self._file.fileno()],
            env=environment,
        )
        line = self._process.stdout.readline()
        if not line:
            self.close()
            raise RuntimeError("the byte-counting proxy did not start (python -m benchmarks.tpch.proxy)")
        self._ports = dict(zip(self.names, json.loads(line)))

    def port(self, name: str) -> int:
        """The local port that forwards to upstream ``name``."""
        return self._ports[name]

    def snapshot(self) -> Snapshot:
        values = self._counters.tolist()
        return Snapshot({name: Counts(*values[i * FIELDS : (i + 1) * FIELDS]) for i, name in enumerate(self.names)})

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process.stdout.close()
        self._counters.release()
        self._map.close()
        self._file.close()

    def __enter__(self) -> Proxies:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- the child process ---------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    """``python -m benchmarks.tpch.proxy FD UPSTREAMS_JSON``: serve until standard input closes."""
    fd, upstreams = int(argv[0]), [tuple(u) for u in json.loads(argv[1])]
    shared = mmap.mmap(fd, 8 * FIELDS * len(upstreams))
    counters = memoryview(shared).cast("q")
    locks = [threading.Lock() for _ in upstreams]
    ports = []
    for index, upstream in enumerate(upstreams):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        ports.append(listener.getsockname()[1])
        threading.Thread(target=_accept, args=(listener, upstream, counters, index, locks[index]), daemon=True).start()
    print(json.dumps(ports), flush=True)
    sys.stdin.buffer.read()  # returns when the parent closes our standard input, or dies


def _accept(listener, upstream, counters, index, lock) -> None:
    host, port, protocol = upstream
    while True:
        client, _ = listener.accept()
        try:
            server = socket.create_connection((host, port), timeout=10)
        except OSError:
            client.close()
            continue
        server.settimeout(None)
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        parser = PROTOCOLS[protocol]()
        with lock:
            counters[index * FIELDS + 3] += 1
        state = {"open": 2, "opaque_counted": False}
        threading.Thread(
            target=_pump, args=(client, server, parser, False, counters, index, lock, state), daemon=True
        ).start()
        threading.Thread(
            target=_pump, args=(server, client, parser, True, counters, index, lock, state), daemon=True
        ).start()


def _pump(source, target, parser, downstream: bool, counters, index, lock, state) -> None:
    """Copy ``source`` to ``target``, counting (server→client when ``downstream``)."""
    buffer = bytearray(BUFFER)
    view = memoryview(buffer)
    feed = parser.from_server if downstream else parser.from_client
    base = index * FIELDS
    parsed = not parser.opaque  # the protocol counts rows (until the connection turns opaque)
    try:
        while True:
            n = source.recv_into(buffer)
            if n == 0:
                break
            rows_before = parser.rows
            feed(buffer, n)
            with lock:  # counted before forwarding: a client that has the bytes sees them counted
                if downstream:
                    counters[base] += n
                    counters[base + 2] += parser.rows - rows_before
                else:
                    counters[base + 1] += n
                if parsed and parser.opaque and not state["opaque_counted"]:
                    state["opaque_counted"] = True
                    counters[base + 4] += 1
            target.sendall(view[:n])
    except OSError:
        pass
    finally:
        for sock, how in ((target, socket.SHUT_WR), (source, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass
        with lock:
            state["open"] -= 1
            last = state["open"] == 0
        if last:
            source.close()
            target.close()


if __name__ == "__main__":
    main(sys.argv[1:])
