"""The connector contract: what every source kind implements, and the data it trades in.

A connector is one class per source kind, constructed as ``Cls(name, options,
base_dir=Path)`` from its catalog entry (``options`` still holds ``${ENV:...}``
references: resolve them with :func:`c360.secrets.resolve` only when
connecting). :class:`Connector` lists its nine members:

``OPTIONS`` (class)
    its catalog settings as data, name -> help (``REQUIRED``, a tuple of names,
    says which must be present; the catalog refuses any other setting).
``kind`` (class)
    the catalog's ``kind:`` string.
``dialect``
    the sqlglot dialect, a name or a class, its SQL is written in; ``duckdb``
    for the file connectors, whose files DuckDB reads. A class attribute, or set
    per source in ``__init__`` (ODBC: from the catalog's ``dialect:``).
``capabilities``
    a frozen :class:`Capabilities`: what the planner may offer it (likewise a
    class attribute, or set per source).
``name``, ``location``
    the source's catalog name and where it is (``127.0.0.1:3306``, a folder, a
    container: never a secret), so errors can say
    ``Source 'shop' (mysql at 127.0.0.1:3306)`` (:func:`source_label`).
``tables()`` / ``schema(name)``
    discovery: the table names, and one table's :class:`TableSchema`.
``scan(request) -> Scan``
    prepare a :class:`ScanRequest`. ``scan()`` itself moves no data: it builds
    what will be sent (SQL, or the pruned file list) so EXPLAIN can show it;
    rows move only when :meth:`Scan.batches` is iterated. The scan can be
    cancelled from another thread, which must stop the remote work.

A connector may also have ``close()``, which the catalog calls when it closes.

Pushdown is a negotiation. The planner offers only what ``capabilities`` claim,
each filter is checked per column (string collations) and rendered in the
source's dialect with unsupported syntax raising; whatever is refused stays with
DuckDB, which also re-checks every pushed filter. A timid connector is slow,
never wrong.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Iterator, Protocol

import pyarrow as pa
from sqlglot import exp

from c360.errors import Error, SourceError
from c360.secrets import redact

# Filter operations a source may claim. Each names a family of sqlglot nodes.
FILTER_OPS = frozenset(
    {
        "compare",  # = <> < <= > >=
        "in",  # col IN (literals)
        "between",
        "is_null",  # IS NULL / IS NOT NULL
        "like_prefix",  # col LIKE 'abc%'
        "like_any",  # col LIKE any pattern, ESCAPE too: only sources that evaluate it with DuckDB itself
        "boolean",  # AND / OR / NOT
    }
)


@dataclass(frozen=True)
class Capabilities:
    """What a source can do itself. Data, not code: the planner reads every field, and
    ``tests/connectors/test_contract.py`` checks each claim in both directions (claimed:
    the source received it; unclaimed: it did not, and the answer is still right).

    The default claims nothing, so a new field must default to "not claimed". Every scan
    names the columns it needs; a connector returns exactly those.
    """

    #: The :data:`FILTER_OPS` the source evaluates; the planner offers a filter only if
    #: each of its operations is here (and its string columns compare exactly).
    filters: frozenset[str] = field(default_factory=frozenset)
    #: The source accepts a row limit (DuckDB re-applies the query's LIMIT regardless).
    limit: bool = False
    #: ORDER BY … LIMIT can be sent together.
    top_n: bool = False
    #: Filters whose columns are all partition columns are accepted (exact) and
    #: used to choose which files are listed and read.
    partitions: bool = False
    #: Whether ``LIKE`` is case-sensitive in this source (false for SQLite and for
    #: case-insensitive collations); an inexact LIKE is pushed only as a superset.
    like_exact: bool = True
    #: Whether the source runs a whole SELECT of its own tables (joins, GROUP BY, subqueries) sent as
    #: :attr:`ScanRequest.statement`; what goes in it is decided expression by expression by
    #: :mod:`c360.planner.translate`.
    statements: bool = False
    #: Whether such a statement may compute window functions (``OVER``), each one still decided by the
    #: translator. A connector whose servers differ by version (MySQL before 8.0, MariaDB before 10.2 have
    #: none) also answers ``window_functions()`` for its own server.
    windows: bool = False

    def can_filter(self, op: str) -> bool:
        return op in self.filters


@dataclass(frozen=True)
class Column:
    """One column of a source table.

    ``exact_strings`` is false for a text column whose collation is
    case-insensitive or blind to trailing spaces: equality on it is pushed only
    as a superset and re-checked locally, ranges and ``<>`` are never pushed.
    """

    name: str
    type: pa.DataType
    nullable: bool = True
    collation: str | None = None
    exact_strings: bool = True
    partition: bool = False


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: tuple[Column, ...]
    #: The name as the source spells it, qualified as the source needs it
    #: (``("dbo", "Customers")``); defaults to ``(name,)``.
    remote_name: tuple[str, ...] = ()
    #: Statistics from discovery, for choosing plans (:mod:`c360.planner.push_fragments`) and for the
    #: catalogs BI tools read: the primary key's columns; each index's columns in order (None: unknown);
    #: the source's estimate of the row count (None: unknown).
    primary_key: tuple[str, ...] = ()
    indexes: tuple[tuple[str, ...], ...] | None = None
    row_count: int | None = None

    def indexed(self, column: str) -> bool | None:
        """Whether an index starts with ``column`` (so a lookup by it is cheap); None when unknown."""
        if self.indexes is None:
            return None
        return any(index and index[0].lower() == column.lower() for index in self.indexes)

    def column(self, name: str) -> Column | None:
        lowered = name.lower()
        for column in self.columns:
            if column.name.lower() == lowered:
                return column
        return None

    def arrow_schema(self, names=None) -> pa.Schema:
        columns = self.columns if names is None else [self.column(n) for n in names]
        return pa.schema([pa.field(c.name, c.type, c.nullable) for c in columns])


@dataclass(frozen=True)
class ScanRequest:
    """What the planner asks of one source table.

    ``columns`` are the columns to return, in order. ``filters`` are sqlglot
    expressions over the table's unqualified column names, each already
    accepted by the connector's capabilities (for a file source, the filters
    over partition columns also choose the files); ``order_by`` and ``limit``
    are set only when the scan is the whole query block and every filter is
    exact. ``timeout`` is the source's catalog ``timeout`` in seconds (None:
    no limit); when it strikes, the scan is cancelled, which stops the remote work.
    """

    table: TableSchema
    columns: tuple[str, ...]
    filters: tuple[exp.Expression, ...] = ()
    order_by: tuple[exp.Ordered, ...] = ()
    limit: int | None = None
    timeout: float | None = None
    #: A whole SELECT over the source's own tables (a pushed fragment), instead of ``columns``/``filters``:
    #: ``table`` is then its output. Generated in the source's dialect with unsupported syntax raising.
    statement: exp.Select | None = None
    #: The source may run the request as several statements at once (:mod:`connectors.mysql_ranges`); False
    #: when the caller reads what is sent its own way (Spark reads a pushed statement in ranges itself).
    parallel: bool = True


@dataclass
class ScanStats:
    """Rows, bytes and seconds a scan actually moved; what EXPLAIN ANALYZE prints."""

    rows: int = 0
    bytes: int = 0
    batches: int = 0
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    @property
    def seconds(self) -> float:
        end = self.finished if self.finished is not None else time.perf_counter()
        return end - self.started


class Scan:
    """A running scan: an iterator of record batches plus what was sent and a cancel switch.

    Subclasses implement :meth:`_batches`; :meth:`cancel` may be called from any
    thread and must stop the remote work (KILL QUERY, SQLCancel, closing a
    download).
    """

    def __init__(self, request: ScanRequest, sent: str):
        self.request = request
        #: The exact SQL (or file list) sent to the source.
        self.sent = sent
        self.stats = ScanStats()
        self.cancelled = threading.Event()
        #: what the connector chose when it rendered the statement, for EXPLAIN ANALYZE
        self.notes: list[str] = []

    def batches(self) -> Iterator[pa.RecordBatch]:
        schema = self.request.table.arrow_schema(self.request.columns)
        self.stats.started = time.perf_counter()
        try:
            for batch in self._batches():
                if self.cancelled.is_set():
                    break
                batch = conform(batch, schema)
                self.stats.rows += batch.num_rows
                self.stats.bytes += batch.nbytes
                self.stats.batches += 1
                yield batch
        finally:
            self.stats.finished = time.perf_counter()
            self.close()

    def _batches(self) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError

    def cancel(self) -> None:
        self.cancelled.set()

    def close(self) -> None:
        """Release the source's resources. Called once the batches are exhausted."""


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``'s columns, in order, cast where types differ.

    Missing columns (schema drift in files) become nulls.
    """
    if batch.schema.equals(schema):
        return batch
    arrays = []
    lowered = {name.lower(): i for i, name in enumerate(batch.schema.names)}
    for target in schema:
        index = lowered.get(target.name.lower())
        if index is None:
            arrays.append(pa.nulls(batch.num_rows, target.type))
            continue
        array = batch.column(index)
        if not array.type.equals(target.type):
            array = array.cast(target.type, safe=False)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def source_label(connector) -> str:
    """``Source 'shop' (mysql at 127.0.0.1:3306)``: how every error names a source."""
    location = getattr(connector, "location", None)
    place = f"{connector.kind} at {location}" if location else connector.kind
    return f"Source '{connector.name}' ({place})"


def guard(connector, call):
    """Run a connector call, turning a stray driver exception into a named SourceError."""
    try:
        return call()
    except Error:
        raise
    except Exception as error:  # noqa: BLE001 - becomes a named source error
        raise SourceError(f"{source_label(connector)} failed: {redact(str(error))}") from None


class Connector(Protocol):
    OPTIONS: dict[str, str]
    name: str
    location: str
    kind: str
    dialect: str | None
    capabilities: Capabilities

    def tables(self) -> list[str]: ...

    def schema(self, name: str) -> TableSchema: ...

    def scan(self, request: ScanRequest) -> Scan: ...
