"""One client connection: start-up, authentication, then the simple and extended query protocols.

A :class:`Session` is created per accepted socket and runs until the client
terminates or breaks the protocol. Everything that can block -- the engine, the
system-catalog DuckDB, encoding a chunk of rows -- runs in the server's thread
pool, so one slow query never stalls other clients. Results stream: a portal
holds at most one Arrow batch, rows are encoded in chunks of ``CHUNK_ROWS`` and
the socket is drained whenever its buffer passes ``WRITE_BUFFER_BYTES``, so a
connection's memory stays bounded whatever the result size.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import struct

import duckdb
import pyarrow as pa

from c360 import postgres
from c360.errors import Error, InterfaceError, ProgrammingError, QueryCancelledError
from c360.secrets import redact
from c360.server import protocol as pq
from c360.server import statements
from c360.server.auth import AuthenticationFailed, ScramExchange
from c360.server.backend import RowSource, TableSource
from c360.server.catalog_emulation import PG_OID, vector_types
from c360.server.catalog_tables import PG_VERSION
from c360.server.commands import Command, classify
from c360.server.copy_out import CopyLines
from c360.server.pg_types import decode_parameter, encoder, oid_of, oid_of_name, pg_type
from c360.server.portals import Portal, Prepared, encode_chunk, result_formats
from c360.server.session_settings import SessionValues, startup_settings

log = logging.getLogger("c360.server")

CHUNK_ROWS = 2000
WRITE_BUFFER_BYTES = 256 * 1024

class TooManyClients(InterfaceError):
    sqlstate = "53300"


class InvalidStartupSetting(InterfaceError):
    """A setting given at start-up (``options='-c statement_timeout=soon'``) that c360 cannot read."""

    sqlstate = "22023"


class InFailedTransaction(ProgrammingError):
    sqlstate = "25P02"


class UnknownCursor(ProgrammingError):
    sqlstate = "34000"


class UnknownStatement(ProgrammingError):
    sqlstate = "26000"


class Session:
    """The protocol state machine for one client socket."""

    def __init__(self, server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pid: int):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.pid = pid
        self.secret = secrets.randbits(31)
        self.values = SessionValues(pid=pid)
        self.transaction = "I"
        self.prepared: dict[str, Prepared] = {}
        self.portals: dict[str, Portal] = {}
        self.skipping = False  # after an error in the extended protocol, until Sync
        self.busy = False
        self.cancel_requested = False
        self.timed_out = False  # the cancel came from statement_timeout
        self._cancel = None
        self._engine_session = None
        self.closing = False
        self._out: list[bytes] = []  # messages sent but not yet written (send, flush)
        self._last_description = None  # (schema, formats, [fields, encoders]) of the last answer
        self._out_bytes = 0

    # --- plumbing -----------------------------------------------------------------------------------

    async def _call(self, fn, *args):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.server.pool, functools.partial(fn, *args))

    def send(self, data: bytes) -> None:
        """Queue a message; :meth:`flush` hands the queue to the socket in one write (one system call for a
        lookup's ParseComplete ... ReadyForQuery, not six)."""
        self._out.append(data)
        self._out_bytes += len(data)

    def _write_out(self) -> None:
        if self._out:
            self.writer.write(b"".join(self._out))
            self._out.clear()
            self._out_bytes = 0

    async def _drain(self) -> None:
        self._write_out()
        await self.writer.drain()

    async def flush(self, force: bool = False) -> None:
        if force or self._out_bytes > WRITE_BUFFER_BYTES:
            self._write_out()
        if force or self.writer.transport.get_write_buffer_size() > WRITE_BUFFER_BYTES:
            await self.writer.drain()

    def request_cancel(self) -> None:
        """A CancelRequest named this session: stop the running statement, sources included."""
        if not self.busy:
            return
        self.cancel_requested = True
        if self._cancel is not None:
            # the default executor, not the statement pool: a full pool must not delay a cancel
            asyncio.get_running_loop().run_in_executor(None, self._cancel)

    def _register_cancel(self, cancel) -> None:
        self._cancel = cancel
        if self.cancel_requested:
            cancel()

    # --- lifecycle ----------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            try:
                started = await asyncio.wait_for(self._startup(), self.server.config.startup_timeout)
            except asyncio.TimeoutError:
                return
            if not started:
                return
            while not self.closing:
                kind, body = await pq.read_message(self.reader, self.server.config.max_message_bytes)
                await self._dispatch(kind, body)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except (pq.ProtocolViolation, AuthenticationFailed, TooManyClients, InvalidStartupSetting) as error:
            log.warning("connection from %s refused: %s", self.writer.get_extra_info("peername"), error)
            await self._fatal(error)
        except Exception as error:  # noqa: BLE001 - the connection's boundary: log, tell the client, close
            log.exception("session %s failed", self.pid)
            await self._fatal(error)
        finally:
            for portal in self.portals.values():
                portal.close()
            self.portals.clear()
            if self._engine_session is not None:
                self._engine_session.close()
            try:
                self._write_out()
            except (ConnectionError, RuntimeError):
                pass
            self.writer.close()

    async def _fatal(self, error: Exception) -> None:
        code, text = self._error_fields(error)
        try:
            self.send(pq.error_response(code, text, severity="FATAL"))
            await asyncio.wait_for(self._drain(), 5)
        except (ConnectionError, asyncio.TimeoutError, RuntimeError):
            pass

    async def _startup(self) -> bool:
        while True:
            code, payload = await pq.read_startup(self.reader)
            if code == pq.SSL_REQUEST:
                context = self.server.ssl_context
                if context is not None and self.writer.get_extra_info("sslcontext") is None:
                    self.send(b"S")
                    await self._drain()
                    await self.writer.start_tls(context)
                else:
                    self.send(b"N")
                    await self._drain()
                continue
            if code == pq.GSSENC_REQUEST:
                self.send(b"N")
                await self._drain()
                continue
            if code == pq.CANCEL_REQUEST:
                if len(payload) >= 8:
                    pid, secret = struct.unpack("!ii", payload[:8])
                    self.server.cancel(pid, secret)
                return False
            if code >> 16 != 3:
                raise pq.ProtocolViolation(f"Unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: c360 speaks 3.0")
            break
        params = pq.parse_startup_parameters(payload)
        unknown = [name for name in params if name.startswith("_pq_.")]
        if code & 0xFFFF or unknown:
            body = struct.pack("!ii", pq.PROTOCOL_V3, len(unknown)) + b"".join(pq.cstr(n) for n in unknown)
            self.send(pq.message(b"v", body))
        user = params.get("user")
        if not user:
            raise AuthenticationFailed("no PostgreSQL user name specified in startup packet")
        self.values.user = user
        self.values.database = params.get("database") or user
        if self.server.config.users:
            await self._authenticate(user)
        if not self.server.admit(self):
            raise TooManyClients("sorry, too many clients already")
        self.send(pq.authentication_ok())
        self.values.settings["application_name"] = params.get("application_name", "")
        for name, value in startup_settings(params):
            try:
                self.values.set(name, value)
            except ProgrammingError as error:
                raise InvalidStartupSetting(str(error)) from None
        statuses = {
            "server_version": PG_VERSION, "server_encoding": "UTF8", "client_encoding": "UTF8",
            "DateStyle": "ISO, MDY", "TimeZone": "UTC", "integer_datetimes": "on", "IntervalStyle": "postgres",
            "is_superuser": "off", "session_authorization": user, "standard_conforming_strings": "on",
            "application_name": params.get("application_name", ""), "default_transaction_read_only": "on",
            "in_hot_standby": "off",
        }
        for name, value in statuses.items():
            self.send(pq.parameter_status(name, value))
        self.send(pq.backend_key_data(self.pid, self.secret))
        self.send(pq.ready_for_query("I"))
        await self._drain()
        return True

    async def _authenticate(self, user: str) -> None:
        self.send(pq.authentication_sasl([ScramExchange.MECHANISM]))
        await self._drain()
        kind, body = await pq.read_message(self.reader, pq.MAX_STARTUP_BYTES)
        if kind != b"p":
            raise pq.ProtocolViolation("Expected a SASLInitialResponse message")
        payload = pq.Payload(body)
        mechanism = payload.cstring()
        length = payload.int32()
        data = payload.raw(length) if length > 0 else b""
        if mechanism != ScramExchange.MECHANISM:
            raise AuthenticationFailed(f"Unsupported SASL mechanism {mechanism}; c360 uses SCRAM-SHA-256")
        exchange = ScramExchange(self.server.config.users.get(user))
        self.send(pq.authentication_sasl_continue(exchange.first(data)))
        await self._drain()
        kind, body = await pq.read_message(self.reader, pq.MAX_STARTUP_BYTES)
        if kind != b"p":
            raise pq.ProtocolViolation("Expected a SASLResponse message")
        try:
            final = exchange.final(body)
        except AuthenticationFailed:
            raise AuthenticationFailed(f'password authentication failed for user "{user}"') from None
        self.send(pq.authentication_sasl_final(final))

    # --- dispatch -----------------------------------------------------------------------------------

    async def _dispatch(self, kind: bytes, body: bytes) -> None:
        if kind == b"Q":
            await self._simple_query(pq.Payload(body).cstring())
            return
        if kind == b"X":
            self.closing = True
            return
        if kind in (b"d", b"c", b"f"):  # copy-in data we never asked for
            return
        handlers = {b"P": self._parse, b"B": self._bind, b"D": self._describe, b"E": self._execute_message,
                    b"C": self._close, b"H": self._flush, b"S": self._sync}
        handler = handlers.get(kind)
        if handler is None:
            raise pq.ProtocolViolation(f"Unknown message type {kind!r}")
        if kind == b"S":
            await self._sync(body)
            return
        if self.skipping:
            return
        self.busy = True
        try:
            await self._timed(handler(body))  # a Describe may start the statement: it is timed too
        except Exception as error:  # noqa: BLE001 - becomes an ErrorResponse; the session goes on
            if isinstance(error, pq.ProtocolViolation) or self._client_gone(error):
                raise
            await self._error(error)
            self.skipping = True

    # --- errors -------------------------------------------------------------------------------------

    def _client_gone(self, error: BaseException) -> bool:
        """True for the socket's own failure (the client reset the connection while its answer was written): the
        session ends quietly, it is not the statement's error."""
        return isinstance(error, ConnectionError) and self.writer.transport.is_closing()

    def _error_fields(self, error: BaseException) -> tuple[str, str]:
        if isinstance(error, (AuthenticationFailed, pq.ProtocolViolation, TooManyClients, InvalidStartupSetting)):
            return error.sqlstate, str(error)
        if self.cancel_requested:
            return "57014", f"canceling statement due to {'statement timeout' if self.timed_out else 'user request'}"
        if isinstance(error, Error):
            return getattr(error, "sqlstate", "XX000"), redact(str(error))
        if isinstance(error, duckdb.Error):
            return _duckdb_sqlstate(error), redact(str(error).split("\n")[0])
        log.exception("internal error in session %s", self.pid, exc_info=error)
        return "XX000", f"internal error: {type(error).__name__}: {redact(str(error))}"

    async def _error(self, error: BaseException) -> None:
        code, text = self._error_fields(error)
        self.send(pq.error_response(code, text))
        if self.transaction == "T":
            self.transaction = "E"

    # --- simple query -------------------------------------------------------------------------------

    async def _simple_query(self, sql: str) -> None:
        self.busy, self.cancel_requested = True, False
        try:
            texts = [s for s in statements.split(sql) if s]
            if not texts:
                self.send(pq.empty_query_response())
            for text in texts:
                portal = Portal("", classify(text))
                try:
                    await self._timed(self._run_portal(portal, describe=True))
                finally:
                    portal.close()
                self.cancel_requested = self.timed_out = False
        except Exception as error:  # noqa: BLE001 - becomes an ErrorResponse; later statements are skipped
            if isinstance(error, pq.ProtocolViolation) or self._client_gone(error):
                raise
            await self._error(error)
        finally:
            self.busy, self._cancel = False, None
            self._end_of_statement()
        self.send(pq.ready_for_query(self.transaction))
        await self.flush(force=True)

    def _end_of_statement(self) -> None:
        if self.transaction == "I":
            for name in [n for n, p in self.portals.items() if p.cursor and not p.hold]:
                self.portals.pop(name).close()

    # --- extended query -----------------------------------------------------------------------------

    async def _parse(self, body: bytes) -> None:
        payload = pq.Payload(body)
        name, sql = payload.cstring(), payload.cstring()
        oids = [payload.uint32() for _ in range(payload.int16())]
        texts = [s for s in statements.split(sql) if s]
        if len(texts) > 1:
            raise ProgrammingError("cannot insert multiple commands into a prepared statement")
        self.prepared[name] = Prepared(classify(texts[0] if texts else ""), oids)
        self.send(pq.parse_complete())

    async def _bind(self, body: bytes) -> None:
        payload = pq.Payload(body)
        portal_name, statement_name = payload.cstring(), payload.cstring()
        codes = [payload.int16() for _ in range(payload.int16())]
        raw = []
        for _ in range(payload.int16()):
            length = payload.int32()
            raw.append(None if length < 0 else payload.raw(length))
        result_codes = [payload.int16() for _ in range(payload.int16())]
        prepared = self.prepared.get(statement_name)
        if prepared is None:
            raise UnknownStatement(f'prepared statement "{statement_name}" does not exist')
        param_codes = result_formats(codes, len(raw))
        oids = prepared.param_oids + [0] * (len(raw) - len(prepared.param_oids))
        params = [decode_parameter(oid, fmt, data) for oid, fmt, data in zip(oids, param_codes, raw)]
        if portal_name in self.portals:
            if portal_name:
                raise ProgrammingError(f'portal "{portal_name}" already exists')
            self.portals.pop(portal_name).close()
        self.portals[portal_name] = Portal(portal_name, prepared.command, params, result_codes)
        self.send(pq.bind_complete())

    async def _describe(self, body: bytes) -> None:
        payload = pq.Payload(body)
        what, name = payload.raw(1), payload.cstring()
        if what == b"S":
            prepared = self.prepared.get(name)
            if prepared is None:
                raise UnknownStatement(f'prepared statement "{name}" does not exist')
            count = max(statements.count_placeholders(prepared.command.sql), len(prepared.param_oids))
            oids = [(prepared.param_oids[i] if i < len(prepared.param_oids) else 0) for i in range(count)]
            if 0 in oids and prepared.command.kind in ("query", "catalog"):
                inferred = await self._call(self._parameter_types, prepared.command.sql, prepared.command.kind)
                oids = [oid or inferred.get(i + 1, 0) for i, oid in enumerate(oids)]
                prepared.param_oids = list(oids)  # Bind decodes by the types the client was told
            oids = [oid or 25 for oid in oids]
            self.send(pq.parameter_description(oids))
            schema = await self._statement_schema(prepared.command, count)
            self.send(self._row_description(schema, [0]) if schema is not None else pq.no_data())
            return
        portal = self._portal(name)
        schema = await self._portal_schema(portal)
        if schema is None:
            self.send(pq.no_data())
        else:
            self.send(self._row_description(schema, portal.formats))

    async def _execute_message(self, body: bytes) -> None:
        payload = pq.Payload(body)
        name, max_rows = payload.cstring(), payload.int32()
        self.cancel_requested = self.timed_out = False
        await self._run_portal(self._portal(name), describe=False, max_rows=max(0, max_rows))

    async def _timed(self, statement):
        """Run ``statement`` (a coroutine) under the session's ``statement_timeout``: past it, the statement is
        cancelled as a CancelRequest would (its sources too) and fails with 57014."""
        seconds = self.values.statement_timeout()
        if not seconds:
            return await statement
        handle = asyncio.get_running_loop().call_later(seconds, self._time_out)
        try:
            return await statement
        finally:
            handle.cancel()

    def _time_out(self) -> None:
        self.timed_out = True
        self.cancel_requested = True
        if self._cancel is not None:
            asyncio.get_running_loop().run_in_executor(None, self._cancel)

    async def _close(self, body: bytes) -> None:
        payload = pq.Payload(body)
        what, name = payload.raw(1), payload.cstring()
        if what == b"S":
            self.prepared.pop(name, None)
        else:
            portal = self.portals.pop(name, None)
            if portal is not None:
                portal.close()
        self.send(pq.close_complete())

    async def _flush(self, body: bytes) -> None:
        await self.flush(force=True)

    async def _sync(self, body: bytes) -> None:
        self.skipping = False
        self.cancel_requested = self.timed_out = False
        self.busy, self._cancel = False, None
        if self.transaction == "I":
            for name in [n for n, p in self.portals.items() if not (p.cursor and p.hold)]:
                self.portals.pop(name).close()
        self.send(pq.ready_for_query(self.transaction))
        await self.flush(force=True)

    def _portal(self, name: str) -> Portal:
        portal = self.portals.get(name)
        if portal is None:
            raise UnknownCursor(f'portal "{name}" does not exist')
        return portal

    # --- running statements -------------------------------------------------------------------------

    def _fields(self, schema: pa.Schema, codes: list[int]):
        """RowDescription fields of ``schema`` in formats ``codes`` (the last answer's kept: a lookup repeats it)."""
        return self._described(schema, codes, 0, self._describe_fields)

    def _row_description(self, schema: pa.Schema, codes: list[int]) -> bytes:
        """The RowDescription message of ``schema`` in formats ``codes`` (kept, as :meth:`_fields`)."""
        return self._described(schema, codes, 2, lambda s, c: pq.row_description(self._fields(s, c)))

    def _encoders(self, schema: pa.Schema, codes: list[int]) -> list:
        """Each column's encoder (the last answer's kept, as :meth:`_fields`)."""
        return self._described(schema, codes, 1, _encoders)

    def _described(self, schema: pa.Schema, codes: list[int], which: int, make):
        key = tuple(codes)
        kept = self._last_description
        if kept is None or kept[1] != key or not (kept[0] is schema or kept[0].equals(schema, check_metadata=True)):
            kept = self._last_description = (schema, key, [None, None, None])
        if kept[2][which] is None:
            kept[2][which] = make(schema, codes)
        return kept[2][which]

    def _describe_fields(self, schema: pa.Schema, codes: list[int]):
        formats = result_formats(codes, len(schema))
        fields = []
        for arrow_field, fmt in zip(schema, formats):
            t = pg_type(arrow_field.type)
            oid = int((arrow_field.metadata or {}).get(PG_OID, t.oid))  # int2vector/oidvector from the catalogs
            fields.append((arrow_field.name, oid, t.size, t.modifier, fmt))
        return fields

    async def _statement_schema(self, command: Command, count: int) -> pa.Schema | None:
        """The columns a prepared statement will return, found by running it with NULLs and no rows."""
        if command.kind not in ("query", "catalog", "show", "fetch"):
            return None
        if command.kind == "fetch":
            target = self.portals.get(command.name)
            return await self._portal_schema(target) if target is not None else None
        portal = Portal("", command, [None] * count, describe_only=True)
        try:
            return await self._portal_schema(portal)
        except Error:
            return None
        finally:
            portal.close()

    async def _portal_schema(self, portal: Portal) -> pa.Schema | None:
        if portal.command.kind == "fetch":
            target = self.portals.get(portal.command.name)
            if target is None:
                raise UnknownCursor(f'cursor "{portal.command.name}" does not exist')
            if portal.command.tag == "MOVE":
                return None
            return await self._portal_schema(target)
        if not portal.opened:
            await self._open(portal)
        return portal.source.schema if portal.source is not None else None

    def _check_transaction(self, command: Command) -> None:
        if self.transaction == "E" and not (command.kind == "transaction" and command.name in ("COMMIT", "END", "ROLLBACK", "ABORT")):
            raise InFailedTransaction("current transaction is aborted, commands ignored until end of transaction block")

    async def _open(self, portal: Portal) -> None:
        """Start the portal's statement: set its row source (or none) and completion tag."""
        command = portal.command
        self._check_transaction(command)
        portal.opened = True
        portal.tag = command.tag
        kind = command.kind
        if kind == "transaction":
            self._transaction(command, portal)
        elif kind == "set":
            self._set(command)
        elif kind == "noop" and command.tag == "DISCARD ALL":
            self._discard_all(portal)
        elif kind == "show":
            portal.source = TableSource(self.values.show(command.name))
        elif kind == "declare":
            inner = classify(command.sql)
            if inner.kind not in ("query", "catalog"):
                raise ProgrammingError("DECLARE CURSOR needs a SELECT query")
            if command.name in self.portals:
                raise ProgrammingError(f'cursor "{command.name}" already exists')
            if command.value != "WITH" and self.transaction == "I":
                raise ProgrammingError("DECLARE CURSOR can only be used in transaction blocks")
            self.portals[command.name] = Portal(
                command.name, inner, portal.params, [1] if command.binary else [0], cursor=True, hold=command.value == "WITH"
            )
        elif kind == "close":
            names = [n for n, p in self.portals.items() if p.cursor] if command.value == "ALL" else [command.name]
            for name in names:
                target = self.portals.pop(name, None)
                if target is None or not target.cursor:
                    raise UnknownCursor(f'cursor "{name}" does not exist')
                target.close()
        elif kind in ("query", "catalog", "copy"):
            portal.source = await self._start(command, portal.params, portal.describe_only)

    async def _start(self, command: Command, params: list, describe: bool = False) -> RowSource:
        inner = classify(command.sql) if command.kind == "copy" else command
        if inner.kind == "catalog":
            return await self._call(self._run_catalog, inner.sql, params)
        if inner.kind != "query":
            raise ProgrammingError("COPY needs a SELECT query or a table")
        if self._engine_session is None:
            self._engine_session = await self._call(self.server.backend.session)
        return await self._call(self._begin, inner.sql, params, describe, command.kind == "query")

    def _begin(self, sql: str, params: list, describe: bool, rows: bool = False) -> RowSource:
        """Translate and start a query: one trip to the thread pool (a lookup's latency is mostly trips).
        ``rows``: its answer is sent as DataRows, so it may come as Python rows (not for COPY's lines)."""
        translation = self._translate(sql, params, describe)
        return self._engine_session.execute(translation.sql, translation.params, self._register_cancel, rows=rows)

    def _translate(self, sql: str, params: list, describe: bool) -> postgres.Translation:
        """The client's PostgreSQL as the engine's SQL (c360.postgres); ``describe`` wraps a query so it
        returns its columns and no row."""
        system = self.server.system_catalog
        translation = self.server.translations.translate(sql, params, schema=system.type_schema,
                                                         version=system.types_version)
        if describe and statements.first_words(translation.sql, 1)[:1] in (["SELECT"], ["WITH"], ["VALUES"]):
            translation.sql = f"SELECT * FROM ({translation.sql}) AS c360_describe LIMIT 0"
        return translation

    def _parameter_types(self, sql: str, kind: str) -> dict[int, int]:
        """``{n: OID}`` for the ``$n`` of a statement whose type follows from it: a cast (``$1::oid[]``), or in
        a query the column it meets."""
        types = {n: oid for n, (name, array) in statements.cast_placeholders(sql).items()
                 if (oid := oid_of_name(name, array))}
        if kind == "query":
            found = postgres.parameter_types(sql, schema=self.server.system_catalog.type_schema)
            types.update({n: oid for n, t in found.items() if n not in types and (oid := oid_of(t))})
        return types

    def _run_catalog(self, sql: str, params: list) -> RowSource:
        system = self.server.system_catalog
        params = list(params)
        rewritten = system.rewrite(sql, self.values, params)
        cursor = system.connection()
        try:
            result = cursor.execute(rewritten, params or None)
            table = result.to_arrow_table() if result.description else None
        finally:
            cursor.close()
        return TableSource(vector_types(table) if table is not None else None)

    async def _run_portal(self, portal: Portal, *, describe: bool, max_rows: int = 0) -> None:
        command = portal.command
        if command.kind == "empty":
            self._check_transaction(command)
            self.send(pq.empty_query_response())
            return
        if command.kind == "fetch":
            await self._fetch(portal, describe)
            return
        if not portal.opened:
            await self._open(portal)
        if command.kind == "copy":
            await self._copy(portal)
            return
        source = portal.source
        if source is None or source.schema is None:
            self.send(pq.command_complete(portal.tag or statements.command_tag(command.sql, 0)))
            portal.close()
            return
        if describe:
            self.send(self._row_description(source.schema, portal.formats))
        encoders = self._encoders(source.schema, portal.formats)
        sent = await self._stream(portal, max_rows or None, encoders)
        if portal.exhausted:
            self.send(pq.command_complete(statements.command_tag(command.sql, sent)))
            portal.close()
        else:
            self.send(pq.portal_suspended())

    async def _stream(self, portal: Portal, limit: int | None, encoders: list | None) -> int:
        """Send up to ``limit`` rows of the portal (all if None); ``encoders=None`` skips them (MOVE)."""
        sent = 0
        while limit is None or sent < limit:
            if portal.source is None and (portal.pending is None or portal.pending.num_rows == 0):
                portal.exhausted = True
                break
            want = CHUNK_ROWS if limit is None else min(CHUNK_ROWS, limit - sent)
            if portal.source is not None and portal.source.in_hand:  # a few rows already read: no trip
                rows, data, last = _next_chunk(portal, want, encoders)
            else:
                rows, data, last = await self._call(_next_chunk, portal, want, encoders)
            if data is not None:
                self.send(data)
                await self.flush()
            sent += rows
            if last:
                portal.exhausted = True
                break
            if self.cancel_requested:
                break
        if self.cancel_requested:
            raise QueryCancelledError("canceling statement due to user request")
        return sent

    async def _fetch(self, portal: Portal, describe: bool) -> None:
        command = portal.command
        self._check_transaction(command)
        target = self.portals.get(command.name)
        if target is None or not target.cursor:
            raise UnknownCursor(f'cursor "{command.name}" does not exist')
        if not target.opened:
            await self._open(target)
        schema = target.source.schema if target.source is not None else None
        if schema is None or target.exhausted and target.pending is None:
            if describe and schema is not None and command.tag == "FETCH":
                self.send(self._row_description(schema, target.formats))
            self.send(pq.command_complete(f"{command.tag} 0"))
            return
        codes = target.formats if describe else portal.formats
        encoders = None
        if command.tag == "FETCH":
            if describe:
                self.send(self._row_description(schema, codes))
            encoders = self._encoders(schema, codes)
        sent = await self._stream(target, command.count, encoders)
        self.send(pq.command_complete(f"{command.tag} {sent}"))

    async def _copy(self, portal: Portal) -> None:
        """COPY ... TO STDOUT: CopyOutResponse, one CopyData per row, CopyDone, ``COPY n``."""
        source = portal.source
        lines = CopyLines(source.schema, portal.command.copy)
        self.send(pq.copy_out_response(len(source.schema)))
        if lines.header is not None:
            self.send(pq.copy_data(lines.header))
        sent = 0
        while True:
            batch = await self._call(source.next_batch)
            if batch is None:
                break
            for offset in range(0, batch.num_rows, CHUNK_ROWS):
                chunk = batch.slice(offset, CHUNK_ROWS)
                self.send(await self._call(lines.encode, chunk))
                sent += chunk.num_rows
                await self.flush()
            if self.cancel_requested:
                raise QueryCancelledError("canceling statement due to user request")
        self.send(pq.copy_done())
        self.send(pq.command_complete(f"COPY {sent}"))
        portal.close()

    # --- the server's own commands ------------------------------------------------------------------

    def _transaction(self, command: Command, portal: Portal) -> None:
        verb = command.name
        if verb in ("BEGIN", "START"):
            if self.transaction != "I":
                self.send(pq.notice_response("there is already a transaction in progress", "25001"))
            self.transaction = "T" if self.transaction == "I" else self.transaction
        elif verb in ("COMMIT", "END", "ROLLBACK", "ABORT"):
            if "TO" in statements.first_words(command.sql, 3)[1:]:  # ROLLBACK TO SAVEPOINT
                self.transaction = "T" if self.transaction != "I" else "I"
                return
            if verb in ("COMMIT", "END") and self.transaction == "E":
                portal.tag = "ROLLBACK"
            self.transaction = "I"
            for name in [n for n, p in self.portals.items() if p.cursor and not p.hold]:
                self.portals.pop(name).close()

    def _discard_all(self, current: Portal) -> None:
        """``DISCARD ALL`` (what connection pools send between clients): every cursor and prepared statement
        gone, settings and ``SET VARIABLE`` values back to their defaults."""
        if self.transaction != "I":
            raise ProgrammingError("DISCARD ALL cannot run inside a transaction block")
        for name in [n for n, p in self.portals.items() if p is not current]:
            self.portals.pop(name).close()
        self.prepared.clear()
        self.values.discard()
        if self._engine_session is not None and self._engine_session.engine is not None:
            self._engine_session.engine.variables.clear()

    def _set(self, command: Command) -> None:
        reported = self.values.set(command.name, command.value)
        if reported is not None:
            self.send(pq.parameter_status(*reported))


def _duckdb_sqlstate(error: duckdb.Error) -> str:
    if isinstance(error, duckdb.InterruptException):
        return "57014"
    if isinstance(error, duckdb.ParserException):
        return "42601"
    if isinstance(error, duckdb.CatalogException):
        return "42P01" if "Table" in str(error) else "42883"
    if isinstance(error, duckdb.BinderException):
        return "42703"
    if isinstance(error, (duckdb.ConversionException, duckdb.InvalidInputException)):
        return "22000"
    return "XX000"


def _next_chunk(portal: Portal, want: int, encoders: list | None) -> tuple[int, bytes | None, bool]:
    """Up to ``want`` rows of the portal, encoded (``encoders=None``: skipped, for MOVE): ``(rows, bytes,
    last)``. Runs in the thread pool; when a batch is used up the next one is read in the same trip, so a
    one-row answer learns it is complete without another."""
    batch = portal.pending
    if batch is None or batch.num_rows == 0:
        batch = portal.source.next_batch() if portal.source is not None else None
        if batch is None:
            portal.pending = None
            return 0, None, True
    chunk = batch.slice(0, want)
    portal.pending = batch.slice(want) if batch.num_rows > want else None
    data = encode_chunk(chunk, encoders) if encoders is not None else None
    last = False
    if portal.pending is None and portal.source is not None:
        portal.pending = portal.source.next_batch()
        last = portal.pending is None
    return chunk.num_rows, data, last


def _encoders(schema: pa.Schema, codes: list[int]) -> list:
    """Each column's field encoder, for the type OID it is described with (a catalog column's may be in its
    metadata, see :data:`PG_OID`)."""
    return [encoder(f.type, fmt, int((f.metadata or {}).get(PG_OID, 0)) or None)
            for f, fmt in zip(schema, result_formats(codes, len(schema)))]
