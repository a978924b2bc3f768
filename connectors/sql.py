"""What every relational connector shares: SQL built from sqlglot trees, rows to Arrow.

The SELECT a source receives is assembled as a sqlglot tree from the
:class:`ScanRequest` and generated in the source's dialect with
``unsupported_level=RAISE``: a construct the dialect lacks raises
:class:`sqlglot.errors.UnsupportedError` and the planner keeps it local.
Values are always sqlglot literals, never formatted strings.
"""

from __future__ import annotations

import threading
import time
from typing import Iterator

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from c360.secrets import redact
from connectors.base import Capabilities, Scan, ScanRequest, conform

RELATIONAL_FILTERS = frozenset({"compare", "in", "between", "is_null", "like_prefix", "boolean"})

BATCH_ROWS = 8192


#: Phrases of the drivers' "cannot connect" messages (pymysql, psqlODBC, FreeTDS), and the reason shown for each.
_UNREACHABLE = (
    (("refused",), "connection refused"),
    (("timed out", "timeout"), "connection timed out"),
    (("name or service not known", "nodename nor servname", "errno -2", "translate host name", "unknown host"),
     "host not found"),
    (("no such file",), "no server socket there"),
)


def unreachable_reason(message: str) -> str:
    """Why a driver could not connect, in a few words: a known reason, else its first line, redacted."""
    lowered = message.lower()
    for phrases, reason in _UNREACHABLE:
        if any(phrase in lowered for phrase in phrases):
            return reason
    return redact((message.splitlines() or [""])[0])


def render_select(request: ScanRequest, dialect) -> str:
    """The SELECT for ``request`` in ``dialect``; raises UnsupportedError if it cannot be said.

    A request carrying a whole ``statement`` (a pushed fragment) is that statement, generated as is.
    """
    return select_for(request).sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)


def select_for(request: ScanRequest) -> exp.Query:
    """The SELECT :func:`render_select` generates, as an expression (the request's own ``statement`` when it
    carries one: copy it before changing it)."""
    if request.statement is not None:
        return request.statement
    table = request.table
    remote = table.remote_name or (table.name,)
    parts = [exp.to_identifier(part, quoted=True) for part in remote]
    if len(parts) == 1:
        source = exp.Table(this=parts[0])
    elif len(parts) == 2:
        source = exp.Table(this=parts[1], db=parts[0])
    else:
        source = exp.Table(this=parts[2], db=parts[1], catalog=parts[0])
    select = exp.Select().from_(source, copy=False)
    select = select.select(*[exp.column(name, quoted=True) for name in request.columns], copy=False)
    condition = None
    for expression in request.filters:
        quoted = _quote_columns(expression)
        condition = quoted if condition is None else exp.and_(condition, quoted, copy=False)
    if condition is not None:
        select = select.where(condition, copy=False)
    if request.order_by:
        select = select.order_by(*[_quote_columns(o) for o in request.order_by], copy=False)
    if request.limit is not None:
        select = select.limit(request.limit, copy=False)
    return select


def integer_keys(values: list[int]) -> exp.Var:
    """A long list of integer keys as one node of text (``1, 5, 9``) for ``IN (…)``: a join reduction's
    tens of thousands of keys as one node each made sqlglot copy, walk and generate them for seconds
    (TPC-H Q22's 42,015 customer keys: about 1.5 s per statement). Count them with :func:`keys_in`."""
    return exp.Var(this=", ".join(str(int(v)) for v in values))


def keys_in(node: exp.In) -> int:
    """How many values ``node``'s list holds, a list of :func:`integer_keys` counted key by key."""
    return sum(e.name.count(",") + 1 if isinstance(e, exp.Var) else 1 for e in node.expressions)


def conjuncts(condition: exp.Expression | None) -> list[exp.Expression]:
    """The AND-ed parts of ``condition``, parentheses around ANDs looked through; ``TRUE`` parts dropped."""
    if condition is None:
        return []
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        return [part for side in (condition.left, condition.right) for part in conjuncts(side)]
    if isinstance(condition, exp.Boolean) and condition.this is True:
        return []
    return [condition]


def renders(expression: exp.Expression, dialect) -> bool:
    """Whether ``expression`` can be generated in ``dialect`` without unsupported syntax."""
    try:
        _quote_columns(expression).sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)
    except sqlglot.errors.UnsupportedError:
        return False
    return True


def _quote_columns(expression: exp.Expression) -> exp.Expression:
    copy = expression.copy()
    for column in copy.find_all(exp.Column):
        column.set("table", None)
        column.set("db", None)
        column.set("catalog", None)
        column.this.set("quoted", True)
    return copy


def rows_to_batch(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    """Turn DB-API row tuples into one record batch of ``schema``."""
    if not rows:
        return pa.RecordBatch.from_pylist([], schema=schema)
    columns = list(zip(*rows))
    arrays = []
    for field, values in zip(schema, columns):
        try:
            arrays.append(pa.array(values, type=field.type, from_pandas=False))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays.append(pa.array(values).cast(field.type, safe=False))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class StatementScan(Scan):
    """One SQL statement run against a source, streamed as record batches of a promised schema.

    What it needs is only the statement's text, the Arrow schema its result
    must have, and the source's timeout: never the :class:`ScanRequest` (a
    pushed statement may be a whole join or aggregate). ``request`` is kept, when
    given, for the engine's bookkeeping only. Subclasses implement
    :meth:`_batches` (batches already of ``schema``; columns by position) and
    :meth:`_kill` (stop the statement on the server, from any thread).

    :meth:`start_timer` arms the timeout: if it strikes before every row has
    arrived, the statement is killed and :meth:`batches` raises the timeout
    error (via :meth:`_translate`) rather than pass a partial result off as the
    whole. A plain cancel ends the batches quietly: whoever cancelled knows.
    """

    def __init__(self, sent: str, schema: pa.Schema, *, timeout: float | None = None,
                 request: ScanRequest | None = None):
        super().__init__(request, sent)
        self.schema = schema
        self.timeout = timeout
        self._exhausted = False  # every row has arrived
        self._timed_out = False
        self._timer: threading.Timer | None = None

    def batches(self) -> Iterator[pa.RecordBatch]:
        self.stats.started = time.perf_counter()
        try:
            try:
                # cancelled before it started (a cancel finds nothing to kill yet): the statement is never sent
                for batch in () if self.cancelled.is_set() else self._batches():
                    if self.cancelled.is_set():
                        break
                    batch = conform(batch, self.schema)
                    self.stats.rows += batch.num_rows
                    self.stats.bytes += batch.nbytes
                    self.stats.batches += 1
                    yield batch
                else:
                    self._exhausted = not self.cancelled.is_set()
            except Exception as error:  # noqa: BLE001 - translated into a named source error
                raise self._translate(error, cancelled=self.cancelled.is_set()) from None
        finally:
            self.stats.finished = time.perf_counter()
            self.close()
        if self._timed_out:
            raise self._translate(RuntimeError("timed out"), cancelled=False)

    def _translate(self, error: Exception, *, cancelled: bool) -> Exception:
        """The named source error for a driver error (subclasses word it); by default the error itself."""
        return error

    def _kill(self) -> None:
        """Stop the statement on the server (called from any thread)."""

    def start_timer(self, seconds: float) -> None:
        """Cancel the statement after ``seconds`` unless every row has arrived by then."""
        self._timer = threading.Timer(seconds, self._time_out)
        self._timer.daemon = True
        self._timer.start()

    def _time_out(self) -> None:
        if self._exhausted:
            return  # every row arrived in time
        self._timed_out = True
        self.cancel()

    def cancel(self) -> None:
        super().cancel()
        if not self._exhausted:
            self._kill()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class CursorScan(StatementScan):
    """A scan over a DB-API cursor that fetches in batches of :data:`BATCH_ROWS` rows.

    ``open_cursor`` is called in the consuming thread and returns the cursor
    after ``execute``; ``kill`` (optional) is what :meth:`cancel` calls to stop
    the statement on the server; ``on_error(error, cancelled=...)`` names the
    source. The schema is the request's columns.
    """

    def __init__(self, request: ScanRequest, sent: str, open_cursor, kill=None, on_error=None):
        super().__init__(sent, request.table.arrow_schema(request.columns), timeout=request.timeout, request=request)
        self._open_cursor = open_cursor
        self._kill_statement = kill
        self._on_error = on_error
        self._cursor = None

    def _batches(self) -> Iterator[pa.RecordBatch]:
        self._cursor = self._open_cursor()
        while True:
            rows = self._cursor.fetchmany(BATCH_ROWS)
            if not rows:
                break
            yield self.to_batch(rows, self.schema)
        self._exhausted = True

    #: rows -> one record batch; a source whose driver returns text for some types overrides it
    to_batch = staticmethod(rows_to_batch)

    def _translate(self, error: Exception, *, cancelled: bool) -> Exception:
        return error if self._on_error is None else self._on_error(error, cancelled=cancelled)

    def _kill(self) -> None:
        if self._kill_statement is not None:
            self._kill_statement()


__all__ = [
    "BATCH_ROWS",
    "Capabilities",
    "CursorScan",
    "RELATIONAL_FILTERS",
    "StatementScan",
    "conjuncts",
    "integer_keys",
    "keys_in",
    "render_select",
    "select_for",
    "renders",
    "rows_to_batch",
]
