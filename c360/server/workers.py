"""``c360 serve --workers N``: N server processes sharing one port, so clients are not served by one interpreter.

One process runs Python one thread at a time: under many clients, a lookup waits for the
interpreter lock more than for DuckDB. With ``--workers N`` the command becomes a
supervisor: it binds N listening sockets to the same address with ``SO_REUSEPORT`` (the
kernel spreads new connections over them), starts N copies of itself, each given one
socket, and stops them together. Each worker is a whole ``c360 serve``: its own engines,
plan cache and system catalogs; only worker 0 refreshes accelerated copies on schedule.

A CancelRequest arrives on a new connection, which the kernel may give to any worker. So
each worker's backend process ids are its own range (``1000 + index * 1,000,000`` on), and
each worker also listens on a private loopback port: a worker that receives a
CancelRequest for another's session passes the 16 bytes on to that worker's port.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass

#: the environment variable that makes ``c360 serve`` a worker: JSON with its index, sockets and peers' ports
WORKER_ENV = "C360_SERVE_WORKER"
#: backend process ids of worker ``i`` start at ``FIRST_PID + i * PIDS_PER_WORKER``
FIRST_PID = 1000
PIDS_PER_WORKER = 1_000_000
CANCEL_REQUEST_CODE = 80877102


@dataclass
class Worker:
    """What a worker process was given: its index, its listening sockets and every worker's cancel port."""

    index: int
    listen: socket.socket
    cancel_listen: socket.socket
    cancel_ports: list[int]
    ready_fd: int

    @classmethod
    def from_environment(cls) -> "Worker | None":
        text = os.environ.get(WORKER_ENV)
        if not text:
            return None
        given = json.loads(text)
        return cls(given["index"], socket.socket(fileno=given["fd"]), socket.socket(fileno=given["cancel_fd"]),
                   list(given["cancel_ports"]), given["ready_fd"])

    @property
    def first_pid(self) -> int:
        return FIRST_PID + self.index * PIDS_PER_WORKER

    def owner(self, pid: int) -> int | None:
        """The index of the worker whose session has backend ``pid`` (None: no worker's)."""
        index = (pid - FIRST_PID) // PIDS_PER_WORKER
        return index if 0 <= index < len(self.cancel_ports) and pid >= FIRST_PID else None

    def forward_cancel(self, pid: int, secret: int) -> None:
        """Pass a CancelRequest on to the worker that owns ``pid`` (best effort, as PostgreSQL's is)."""
        owner = self.owner(pid)
        if owner is None or owner == self.index:
            return
        try:
            with socket.create_connection(("127.0.0.1", self.cancel_ports[owner]), timeout=5) as connection:
                connection.sendall(struct.pack("!iiii", 16, CANCEL_REQUEST_CODE, pid, secret))
        except OSError:
            pass

    def ready(self) -> None:
        """Tell the supervisor this worker listens."""
        os.write(self.ready_fd, b"1")
        os.close(self.ready_fd)


def _listening(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def supervise(argv: list[str], host: str, port: int, workers: int, say) -> int:
    """Bind ``workers`` sockets to ``host:port``, run ``c360 <argv>`` once per socket as a worker, print the
    address once all listen (``say``), and stop them all on SIGINT/SIGTERM or when one dies. Exit code."""
    from c360.errors import InterfaceError

    try:
        first = _listening(host, port)
        sockets = [first] + [_listening(host, first.getsockname()[1]) for _ in range(workers - 1)]
    except OSError as error:
        raise InterfaceError(f"Cannot listen on {host}:{port}: {error.strerror or error}") from None
    bound = first.getsockname()[1]
    private = [_listening("127.0.0.1", 0) for _ in range(workers)]
    ports = [s.getsockname()[1] for s in private]
    read_end, write_end = os.pipe()
    os.set_inheritable(write_end, True)
    children = []
    for index in range(workers):
        given = {"index": index, "fd": sockets[index].fileno(), "cancel_fd": private[index].fileno(),
                 "cancel_ports": ports, "ready_fd": write_end}
        children.append(subprocess.Popen(
            [sys.executable, "-m", "c360", *argv], env={**os.environ, WORKER_ENV: json.dumps(given)},
            pass_fds=(sockets[index].fileno(), private[index].fileno(), write_end), stdin=subprocess.DEVNULL,
        ))
    os.close(write_end)
    for sock in sockets + private:
        sock.close()  # a socket left open here would take connections no worker accepts
    stopping = []
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        started = 0
        while started < workers and not stopping:
            if any(child.poll() is not None for child in children):
                return 1
            readable, _, _ = select.select([read_end], [], [], 0.2)
            if readable:
                data = os.read(read_end, workers)
                if not data:
                    return 1
                started += len(data)
        if not stopping:
            say(bound)
        while not stopping:
            if any(child.poll() is not None for child in children):
                return 1
            time.sleep(0.2)
        return 0
    finally:
        os.close(read_end)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()


def without_workers(argv: list[str]) -> list[str]:
    """``argv`` less its ``--workers N`` (what each worker runs)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            out.append(arg)
    return out
