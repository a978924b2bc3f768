"""Arrow Flight SQL, the second door of ``c360 serve`` (``--flight-port``): columnar results for ADBC clients.

What it answers (Flight SQL commands, see :mod:`c360.server.flight_messages`):

- ``CommandStatementQuery`` in GetFlightInfo runs the statement (DuckDB's SQL,
  as the CLI and DB-API take it; the engine's statement policy refuses writes,
  COPY, ATTACH...) and returns one endpoint whose ticket DoGet streams the
  result's Arrow batches as they come. ``SET VARIABLE as_of = ...`` is a
  statement like any other and stays with the client's session.
- Prepared statements: the CreatePreparedStatement / ClosePreparedStatement
  actions (the parameter schema types each ``?`` as the query implies, see
  :mod:`c360.server.flight_types`), DoPut of ``CommandPreparedStatementQuery``
  binding one row of parameters, then GetFlightInfo runs it.
- Catalog (:mod:`c360.server.flight_catalog`): GetCatalogs (one, ``c360``),
  GetDbSchemas (a source each, and ``c360`` for the views), GetTables (with
  Arrow schemas on request), GetTableTypes, GetPrimaryKeys, the foreign-key
  commands, GetXdbcTypeInfo, and GetSqlInfo with the server's name, version
  and read-only flag.
- Cancel: a client that cancels its gRPC call (ADBC's ``cursor.adbc_cancel``)
  cancels the running statement, sources included; the CancelFlightInfo and
  CancelQuery actions cancel a result not yet fetched.

Authentication is the wire server's users, through Flight's basic-token
handshake: the client sends ``Authorization: Basic`` (user and password,
checked against the user's SCRAM verifier; on a trust server any user name
and password), and gets ``Authorization: Bearer <token>`` back, which names
its session (its engine, so ``SET VARIABLE`` never leaks between clients).
Every call needs one or the other. Basic auth carries the password itself, so
a bind other than loopback needs TLS (``--tls-cert``/``--tls-key``).
"""

from __future__ import annotations

import functools
import hmac
import itertools
import logging
import secrets
import threading
import time
from collections import OrderedDict

import pyarrow as pa
import pyarrow.flight as flight

from c360.errors import Error, InterfaceError
from c360.server import flight_messages as fm
from c360.server.auth import Users, Verifier, is_loopback
from c360.server.backend import ExecutionSource, RowSource, TableSource
from c360.server.flight_catalog import FlightCatalog
from c360.server.flight_types import parameter_schema

log = logging.getLogger("c360.server.flight")

#: results prepared by GetFlightInfo and not yet fetched, per session; past it the oldest is closed
PENDING_RESULTS = 16
#: how often a running statement checks whether its client cancelled the call
CANCEL_POLL_SECONDS = 0.05
#: seconds a session may stay unused before it is closed (its client must log in again)
SESSION_IDLE_SECONDS = 1800.0


class CancelWatcher:
    """One thread for every running call of a server: every ``CANCEL_POLL_SECONDS`` it asks each watched
    call's context whether its client cancelled it (ADBC's ``adbc_cancel``, a deadline) and, if so, calls
    that call's ``cancel()``. One thread, not one per call: a point lookup makes two calls, and starting a
    thread for each cost more than the lookup's own protocol work.

    A call's context is freed once the call ends: :meth:`done` returns only when the watcher is not asking
    it, and the watcher never asks it again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[int, tuple] = {}
        self._keys = itertools.count()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, context, cancel) -> int:
        """Watch ``context`` until :meth:`done` is called with the returned key."""
        with self._lock:
            key = next(self._keys)
            self._calls[key] = (context, cancel)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="c360-flight-cancel", daemon=True)
                self._thread.start()
        return key

    def done(self, key: int) -> None:
        with self._lock:
            self._calls.pop(key, None)

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(CANCEL_POLL_SECONDS):
            with self._lock:
                cancelled = [key for key, (context, _) in self._calls.items() if context.is_cancelled()]
                cancels = [self._calls.pop(key)[1] for key in cancelled]
            for cancel in cancels:  # outside the lock: a cancel may take a while to reach a source
                try:
                    cancel()
                except Exception:  # noqa: BLE001 - one failed cancel must not stop watching the others
                    log.exception("Flight SQL: cancelling a call failed")


class FlightSession:
    """One authenticated client: its engine, its unfetched results and its prepared statements."""

    def __init__(self, user: str, token: str, engine_session):
        self.user, self.token = user, token
        self.engine = engine_session
        self.last_used = time.monotonic()
        self.lock = threading.Lock()
        self.results: OrderedDict[bytes, RowSource] = OrderedDict()
        self.prepared: dict[bytes, dict] = {}

    def keep(self, source) -> bytes:
        handle = secrets.token_bytes(16)
        self.results[handle] = source
        while len(self.results) > PENDING_RESULTS:
            _, oldest = self.results.popitem(last=False)
            oldest.close()
        return handle

    def close(self) -> None:
        for source in self.results.values():
            source.close()
        self.results.clear()
        self.engine.close()


class AuthMiddleware(flight.ServerMiddleware):
    def __init__(self, session: FlightSession, token: str | None):
        self.session, self.token = session, token

    def sending_headers(self):
        return {"authorization": f"Bearer {self.token}"} if self.token else {}


class _HandshakeDone(flight.ServerAuthHandler):
    """Flight's Handshake call, answered once :class:`AuthFactory` has checked its Basic header."""

    def authenticate(self, outgoing, incoming):
        pass

    def is_valid(self, token):
        return ""


class AuthFactory(flight.ServerMiddlewareFactory):
    """Checks every call's ``authorization`` header: Basic (log in, get a token) or Bearer (a session)."""

    def __init__(self, server: "FlightSqlServer"):
        self.server = server

    def start_call(self, info, headers):
        values = headers.get("authorization") or headers.get("Authorization") or []
        value = values[0] if values else ""
        scheme, _, credential = value.partition(" ")
        if scheme.lower() == "bearer":
            session = self.server.sessions.get(credential.strip())
            if session is None:
                raise flight.FlightUnauthenticatedError("The session token is unknown or expired: log in again")
            session.last_used = time.monotonic()
            return AuthMiddleware(session, None)
        if scheme.lower() == "basic":
            import base64

            try:
                padded = credential.strip() + "=" * (-len(credential.strip()) % 4)  # Go's client leaves it out
                user, _, password = base64.b64decode(padded).decode("utf-8").partition(":")
            except ValueError:
                raise flight.FlightUnauthenticatedError("Malformed basic credentials") from None
            session, token = self.server.log_in(user, password)
            return AuthMiddleware(session, token)
        raise flight.FlightUnauthenticatedError(
            "c360 needs a user: log in with basic auth (any user name and password on a trust server)"
        )


def _flight_error(error: Error) -> flight.FlightError:
    """A c360 error as the client sees it: its fixed sentence, prefixed with its SQLSTATE."""
    return flight.FlightServerError(f"[{error.sqlstate}] {error}")


def _answers(method):
    """Wrap a Flight RPC: c360 errors keep their sentence; anything unexpected is logged here and reaches
    the client as one sentence, never as pyarrow's Python traceback."""

    @functools.wraps(method)
    def wrapper(self, context, *args):
        try:
            return method(self, context, *args)
        except flight.FlightError:
            raise
        except Error as error:
            raise _flight_error(error) from None
        except Exception:  # noqa: BLE001 - the RPC boundary: logged with its traceback, answered in one line
            log.exception("Flight SQL %s failed", method.__name__)
            raise flight.FlightServerError(
                f"Internal error in c360's Flight SQL server ({method.__name__}); the server log has the details"
            ) from None

    return wrapper


class FlightSqlServer(flight.FlightServerBase):
    """``c360 serve --flight-port``: serves in pyarrow's own threads once constructed; ``shutdown()`` stops."""

    def __init__(self, backend, *, host: str = "127.0.0.1", port: int = 0, users: Users | None = None,
                 tls_cert=None, tls_key=None, max_sessions: int = 256):
        users = users or Users()
        if not is_loopback(host) and (not users or tls_cert is None):
            raise InterfaceError(
                f"Refusing Flight SQL on {host} without users and TLS: basic auth sends the password itself. "
                "Give --users (or C360_SERVE_USER/C360_SERVE_PASSWORD) and --tls-cert/--tls-key"
            )
        scheme = "grpc+tls" if tls_cert is not None else "grpc+tcp"
        tls = None
        if tls_cert is not None:
            try:
                tls = [(open(tls_cert, "rb").read(), open(tls_key, "rb").read())]
            except OSError as error:
                raise InterfaceError(f"Cannot read the TLS certificate '{tls_cert}': {error.strerror}") from None
        self.backend = backend
        self.users = users
        self.max_sessions = max_sessions
        self.sessions: dict[str, FlightSession] = {}
        self._sessions_lock = threading.Lock()
        self.catalog = FlightCatalog(backend)
        self.watcher = CancelWatcher()
        try:
            super().__init__(f"{scheme}://{host}:{port}", tls_certificates=tls,
                             auth_handler=_HandshakeDone(), middleware={"auth": AuthFactory(self)})
        except (OSError, pa.ArrowException) as error:
            raise InterfaceError(f"Cannot listen for Flight SQL on {host}:{port}: {error}") from None
        self.location = f"{scheme}://{host}:{self.port}"

    # --- sessions --------------------------------------------------------------------------------

    def log_in(self, user: str, password: str) -> tuple[FlightSession, str]:
        if self.users:
            verifier = self.users.get(user)
            # an unknown user costs the same key derivation, so timing does not tell which names exist
            reference = verifier or Verifier.from_password(secrets.token_hex(16))
            check = Verifier.from_password(password, salt=reference.salt, iterations=reference.iterations)
            if verifier is None or not hmac.compare_digest(check.stored_key, verifier.stored_key):
                raise flight.FlightUnauthenticatedError(f"password authentication failed for user '{user}'")
        elif not user:
            raise flight.FlightUnauthenticatedError("Give a user name (any name is accepted on a trust server)")
        token = secrets.token_urlsafe(24)
        with self._sessions_lock:
            self._close_idle()
            if len(self.sessions) >= self.max_sessions:
                raise flight.FlightUnavailableError(
                    f"Too many Flight SQL sessions ({self.max_sessions}): close a connection or try again later"
                )
            session = FlightSession(user, token, self.backend.session())
            self.sessions[token] = session
        return session, token

    def _close_idle(self) -> None:
        now = time.monotonic()
        for token, session in list(self.sessions.items()):
            if now - session.last_used > SESSION_IDLE_SECONDS and not session.lock.locked():
                del self.sessions[token]
                session.close()

    def _end(self, session: FlightSession) -> None:
        """The client closed its connection (Flight's CloseSession action)."""
        with self._sessions_lock:
            self.sessions.pop(session.token, None)
        with session.lock:
            session.close()

    @staticmethod
    def _session(context) -> FlightSession:
        middleware = context.get_middleware("auth")
        if middleware is None:
            raise flight.FlightUnauthenticatedError("c360 needs a user: log in with basic auth")
        return middleware.session

    def shutdown(self):
        for session in list(self.sessions.values()):
            session.close()
        self.sessions.clear()
        self.watcher.stop()
        super().shutdown()

    # --- statements ------------------------------------------------------------------------------

    def _run(self, context, session: FlightSession, sql: str, params=None) -> ExecutionSource:
        """Start ``sql`` on the session's engine; a client that cancels the call cancels the statement."""
        cancel_switch: list = []
        watched = self.watcher.watch(context, lambda: cancel_switch and cancel_switch[0]())
        try:
            with session.lock:  # one statement at a time per session, as on a DB-API connection
                return session.engine.execute(sql, params, register=cancel_switch.append)
        except Error as error:
            raise _flight_error(error) from None
        finally:
            self.watcher.done(watched)

    def _statement_info(self, context, descriptor, session, sql: str, params=None) -> flight.FlightInfo:
        source = self._run(context, session, sql, params)
        schema = source.schema if source.schema is not None else pa.schema([])
        handle = session.keep(source)
        ticket = flight.Ticket(fm.pack("TicketStatementQuery", {fm.HANDLE: handle}))
        return flight.FlightInfo(schema, descriptor, [flight.FlightEndpoint(ticket, [])], -1, -1)

    def _catalog_info(self, descriptor, session, table: pa.Table) -> flight.FlightInfo:
        handle = session.keep(TableSource(table))
        ticket = flight.Ticket(fm.pack("TicketStatementQuery", {fm.HANDLE: handle}))
        return flight.FlightInfo(table.schema, descriptor, [flight.FlightEndpoint(ticket, [])], table.num_rows, -1)

    def _command(self, descriptor) -> tuple[str, dict]:
        if descriptor.descriptor_type != flight.DescriptorType.CMD:
            raise flight.FlightServerError("c360 answers Flight SQL commands, not paths")
        try:
            return fm.unpack(descriptor.command)
        except fm.MessageError as error:
            raise flight.FlightServerError(f"Malformed Flight SQL command: {error}") from None

    @_answers
    def get_flight_info(self, context, descriptor):
        session = self._session(context)
        name, fields = self._command(descriptor)
        if name == "CommandStatementQuery":
            return self._statement_info(context, descriptor, session, fm.text(fields, fm.QUERY) or "")
        if name == "CommandPreparedStatementQuery":
            prepared = self._prepared(session, fields)
            return self._statement_info(context, descriptor, session, prepared["sql"], prepared["params"])
        catalog = self.catalog.answer(name, fields)
        if catalog is None:
            raise flight.FlightServerError(f"c360 does not answer the Flight SQL command {name}")
        return self._catalog_info(descriptor, session, catalog)

    @_answers
    def get_schema(self, context, descriptor):
        session = self._session(context)
        name, fields = self._command(descriptor)
        catalog = self.catalog.answer(name, fields)
        if catalog is not None:
            return flight.SchemaResult(catalog.schema)
        if name == "CommandStatementQuery":
            return flight.SchemaResult(self._schema_of(session, fm.text(fields, fm.QUERY) or ""))
        if name == "CommandPreparedStatementQuery":
            prepared = self._prepared(session, fields)
            if prepared["schema"] is not None:
                return flight.SchemaResult(prepared["schema"])
        raise flight.FlightServerError(f"c360 does not answer GetSchema for {name}")

    @staticmethod
    def _schema_of(session: FlightSession, sql: str, params=None) -> pa.Schema:
        """The schema ``sql`` returns, planned over empty inputs (nothing is read from the sources)."""
        from c360.engine import Engine
        from c360.planner.parse import parse

        statement = parse(sql)
        with session.lock:
            engine = session.engine
            if engine.engine is None:
                engine.engine = Engine(engine.catalog, views=engine.views, owns_catalog=False, plans=engine.plans)
            return engine.engine.schema_of(statement, params)

    @_answers
    def do_get(self, context, ticket):
        session = self._session(context)
        try:
            name, fields = fm.unpack(ticket.ticket)
        except fm.MessageError as error:
            raise flight.FlightServerError(f"Malformed ticket: {error}") from None
        handle = fm.raw(fields, fm.HANDLE) if name == "TicketStatementQuery" else None
        source = session.results.pop(handle, None) if handle else None
        if source is None:
            raise flight.FlightServerError("The ticket is unknown or was already fetched: run the statement again")
        schema = source.schema if source.schema is not None else pa.schema([])
        batches = self._batches(context, source)
        head = list(itertools.islice(batches, 2))
        if len(head) < 2:
            # the whole result (a lookup's one batch): Arrow's C++ stream sends it, without coming back to
            # Python (and its GIL) for each message; the source is already closed
            return flight.RecordBatchStream(pa.Table.from_batches(head, schema))
        return flight.GeneratorStream(schema, itertools.chain(head, batches))

    def _batches(self, context, source: RowSource):
        """The source's batches; a client cancelling the call stops the statement (DuckDB computes much of a
        result while it is read). The source is closed when they end, fail, or the stream is dropped."""
        watched = self.watcher.watch(context, source.cancel)
        try:
            while True:
                try:
                    batch = source.next_batch()
                except Error as error:
                    raise _flight_error(error) from None
                except Exception:  # noqa: BLE001 - mid-stream: logged here, one line to the client
                    log.exception("Flight SQL result stream failed")
                    raise flight.FlightServerError("Internal error while streaming the result") from None
                if batch is None:
                    return
                yield batch
        finally:
            self.watcher.done(watched)
            source.close()

    # --- prepared statements and actions ---------------------------------------------------------

    def _prepared(self, session: FlightSession, fields) -> dict:
        prepared = session.prepared.get(fm.raw(fields, fm.HANDLE) or b"")
        if prepared is None:
            raise flight.FlightServerError("The prepared statement is unknown or was closed")
        return prepared

    @_answers
    def do_put(self, context, descriptor, reader, writer):
        session = self._session(context)
        name, fields = self._command(descriptor)
        if name == "CommandPreparedStatementQuery":
            prepared = self._prepared(session, fields)
            table = reader.read_all()
            if table.num_rows > 1:
                raise flight.FlightServerError(
                    f"A prepared query binds one row of parameters at a time, not {table.num_rows}"
                )
            prepared["params"] = [column[0].as_py() for column in table.columns] if table.num_rows else None
            writer.write(pa.py_buffer(fm.encode({fm.HANDLE: fm.raw(fields, fm.HANDLE)})))
            return
        if name in ("CommandStatementUpdate", "CommandPreparedStatementUpdate"):
            sql = fm.text(fields, fm.QUERY) if name == "CommandStatementUpdate" else self._prepared(session, fields)["sql"]
            source = self._run(context, session, sql or "")  # the policy refuses writes with its own sentence
            source.close()
            writer.write(pa.py_buffer(fm.encode({1: 0})))
            return
        raise flight.FlightServerError(f"c360 does not accept DoPut of {name}")

    def list_actions(self, context):
        return [("CreatePreparedStatement", "Prepare a statement with ? parameters"),
                ("ClosePreparedStatement", "Close a prepared statement"),
                ("CancelFlightInfo", "Cancel a result not yet fetched"),
                ("CancelQuery", "Cancel a result not yet fetched (older clients)"),
                ("CloseSession", "Log out: close the session and its engine")]

    @_answers
    def do_action(self, context, action):
        session = self._session(context)
        kind, body = action.type, action.body.to_pybytes() if action.body is not None else b""
        if kind in ("CreatePreparedStatement", "ClosePreparedStatement", "CancelQuery"):
            try:
                _, fields = fm.unpack(body)
            except fm.MessageError as error:
                raise flight.FlightServerError(f"Malformed {kind} request: {error}") from None
        if kind == "CreatePreparedStatement":
            sql = fm.text(fields, fm.QUERY) or ""
            handle = secrets.token_bytes(16)
            schema = self._prepared_schema(session, sql)
            parameters = parameter_schema(sql, self.catalog.type_schema)
            session.prepared[handle] = {"sql": sql, "params": None, "schema": schema}
            return [fm.pack("ActionCreatePreparedStatementResult", {
                fm.RESULT_HANDLE: handle,
                fm.DATASET_SCHEMA: schema.serialize().to_pybytes() if schema is not None else None,
                fm.PARAMETER_SCHEMA: parameters.serialize().to_pybytes() if parameters is not None else None,
            })]
        if kind == "ClosePreparedStatement":
            session.prepared.pop(fm.raw(fields, fm.HANDLE) or b"", None)
            return []
        if kind == "CloseSession":
            self._end(session)
            return [fm.encode({1: 1})]  # CloseSessionResult: CLOSED
        if kind in ("CancelFlightInfo", "CancelQuery"):
            info_bytes = body if kind == "CancelFlightInfo" else fm.raw(fields, fm.INFO)
            if kind == "CancelFlightInfo":
                info_bytes = fm.raw(fm.decode(body), 1) or b""
            cancelled = self._cancel(session, info_bytes or b"")
            # CancelStatus: 1 cancelled, 3 not cancellable (already fetched or unknown)
            status = 1 if cancelled else 3
            return [fm.encode({1: status}) if kind == "CancelFlightInfo" else fm.pack("ActionCancelQueryResult", {1: status})]
        raise flight.FlightServerError(f"c360 does not answer the action {kind}")

    def _prepared_schema(self, session: FlightSession, sql: str) -> pa.Schema | None:
        """The result schema of a prepared query without parameters; None when it has ``?`` parameters (their
        types are known only once bound) or is not a query (SET VARIABLE): the schema then comes with the result."""
        from sqlglot import exp

        from c360.planner.parse import parse

        try:
            statement = parse(sql)
            if not isinstance(statement, exp.Query) or statement.find(exp.Placeholder, exp.Parameter):
                return None
            return self._schema_of(session, sql)
        except Error:  # the statement's error comes when it runs, with the statement's own sentence
            return None

    def _cancel(self, session: FlightSession, info_bytes: bytes) -> bool:
        try:
            info = flight.FlightInfo.deserialize(info_bytes)
            _, fields = fm.unpack(info.endpoints[0].ticket.ticket)
        except (pa.ArrowException, fm.MessageError, IndexError):
            raise flight.FlightServerError("The cancel request does not hold a c360 FlightInfo") from None
        source = session.results.pop(fm.raw(fields, fm.HANDLE) or b"", None)
        if source is None:
            return False
        source.cancel()
        source.close()
        return True
