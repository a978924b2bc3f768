"""The listening server: accepts PostgreSQL clients, tracks sessions for CancelRequest, owns the thread pool.

:class:`Server` is asyncio-native (``await server.start()``, then
``serve_forever()`` or ``close()``); ``c360 serve`` runs one per process.
Start-up refuses a non-loopback bind without users, because ``trust`` there
would let anyone on the network read every source.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import logging
import ssl
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from c360.errors import InterfaceError
from c360.server import protocol as pq
from c360.server.auth import Users, is_loopback
from c360.server.catalog_emulation import SystemCatalog
from c360.server.session import Session
from c360.server.translations import TranslationCache

log = logging.getLogger("c360.server")


@dataclass
class ServerConfig:
    """Every setting of ``c360 serve``, with its default; the CLI documents each one."""

    host: str = "127.0.0.1"
    port: int = 5433
    users: Users = field(default_factory=Users)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: the largest client message accepted (a longer length prefix closes the connection)
    max_message_bytes: int = 16 * 1024 * 1024
    #: threads running engine calls: the number of statements that can run at once
    threads: int = 64
    #: clients connected and authenticated at once (a client still starting up does not count)
    max_connections: int = 256
    #: connections still in start-up (TLS, authentication) at once; past it the oldest is dropped, so a
    #: flood of silent connections cannot lock real clients out
    max_startups: int = 64
    #: seconds a client has to finish start-up and authentication
    startup_timeout: float = 10.0
    #: seconds the system catalogs are cached before they are rebuilt from the c360 catalog
    catalog_refresh_seconds: float = 60.0
    #: the interpreter's thread switch interval while serving (Python's default is 0.005 s). Planning a new
    #: statement is pure Python; a lookup served meanwhile takes the interpreter lock back after each
    #: DuckDB call, waiting up to this long each time. Measured here with one client planning customer_360
    #: shapes in a loop: another client's accelerated lookup p50 51-61 ms at 0.005 s, 32 ms at 0.0005 s.
    switch_interval: float | None = 0.0005

    def check(self) -> None:
        if not self.users and not is_loopback(self.host):
            raise InterfaceError(
                f"Refusing to serve on {self.host} without users: trust is allowed only on 127.0.0.1. "
                "Give --users FILE or set C360_SERVE_USER and C360_SERVE_PASSWORD"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InterfaceError("TLS needs both --tls-cert and --tls-key")


class Server:
    def __init__(self, backend, config: ServerConfig | None = None, *, worker=None):
        self.backend = backend
        self.config = config or ServerConfig()
        #: with ``c360 serve --workers N``: this process's sockets and peers (:class:`c360.server.workers.Worker`)
        self.worker = worker
        self._cancel_server = None
        self.config.check()
        self.pool = ThreadPoolExecutor(max_workers=self.config.threads, thread_name_prefix="c360-serve")
        self.system_catalog = SystemCatalog(backend.relations, refresh_seconds=self.config.catalog_refresh_seconds)
        #: wire statements translated once per shape, for every session (c360.server.translations)
        self.translations = TranslationCache()
        #: authenticated sessions, by pid (what CancelRequest and max_connections see)
        self.sessions: dict[int, Session] = {}
        #: connections still starting up, oldest first
        self.starting: dict[int, Session] = {}
        self._dropped, self._dropped_logged = 0, 0.0
        self._pids = itertools.count(worker.first_pid if worker is not None else 1000)
        self._server: asyncio.base_events.Server | None = None
        self.ssl_context = self._ssl_context()

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self.config.tls_cert is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(str(self.config.tls_cert), str(self.config.tls_key))
        except (OSError, ssl.SSLError) as error:
            raise InterfaceError(f"Cannot load the TLS certificate '{self.config.tls_cert}': {error}") from None
        return context

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> int:
        """Listen; returns the port (useful with port 0). InterfaceError if the address cannot be bound."""
        if self.config.switch_interval:
            sys.setswitchinterval(self.config.switch_interval)
        try:
            if self.worker is not None:  # sockets bound by the supervisor
                self._server = await asyncio.start_server(self._accept, sock=self.worker.listen, limit=2**16)
                self._cancel_server = await asyncio.start_server(self._accept, sock=self.worker.cancel_listen,
                                                                 limit=2**16)
            else:
                self._server = await asyncio.start_server(self._accept, self.config.host, self.config.port,
                                                          limit=2**16)
        except OSError as error:
            reason = "the port is already in use" if error.errno == errno.EADDRINUSE else (error.strerror or str(error))
            raise InterfaceError(f"Cannot listen on {self.config.host}:{self.config.port}: {reason}") from None
        log.info("c360 serve listening on %s:%s", self.config.host, self.port)
        return self.port

    async def serve_forever(self) -> None:
        async with self._server:
            await self._server.serve_forever()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.sessions) >= self.config.max_connections:
            writer.write(pq.error_response("53300", "sorry, too many clients already", severity="FATAL"))
            try:
                await asyncio.wait_for(writer.drain(), 5)
            except (ConnectionError, asyncio.TimeoutError):
                pass
            writer.close()
            return
        session = Session(self, reader, writer, next(self._pids))
        if len(self.starting) >= self.config.max_startups:
            oldest = next(iter(self.starting.values()))
            self._dropped += 1
            now = time.monotonic()
            if now - self._dropped_logged > 10:  # a flood must not flood the log too
                log.warning("%d connection(s) dropped unauthenticated: more than %d were starting up at once",
                            self._dropped, self.config.max_startups)
                self._dropped, self._dropped_logged = 0, now
            self.starting.pop(oldest.pid, None)
            oldest.writer.close()
        self.starting[session.pid] = session
        try:
            await session.run()
        except asyncio.CancelledError:  # the server is shutting down
            pass
        finally:
            self.starting.pop(session.pid, None)
            self.sessions.pop(session.pid, None)

    def admit(self, session: Session) -> bool:
        """A session finished start-up: count it as connected, unless max_connections is reached."""
        self.starting.pop(session.pid, None)
        if len(self.sessions) >= self.config.max_connections:
            return False
        self.sessions[session.pid] = session
        return True

    def cancel(self, pid: int, secret: int) -> None:
        """A CancelRequest: cancel the session's running statement if the secret matches."""
        session = self.sessions.get(pid)
        if session is not None and session.secret == secret:
            session.request_cancel()
        elif session is None and self.worker is not None:  # another worker's session
            asyncio.get_running_loop().run_in_executor(None, self.worker.forward_cancel, pid, secret)

    async def close(self) -> None:
        """Stop listening, cancel running statements, disconnect every client."""
        if self._cancel_server is not None:
            self._cancel_server.close()
        if self._server is not None:
            self._server.close()
            for session in [*self.starting.values(), *self.sessions.values()]:
                session.request_cancel()
                session.writer.close()
            for _ in range(50):  # up to 5 s for sessions to wind down
                if not self.sessions and not self.starting:
                    break
                await asyncio.sleep(0.1)
        self.pool.shutdown(wait=False, cancel_futures=True)
