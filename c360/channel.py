"""The stream between one source scan and DuckDB: it never makes the source wait.

A source must not be killed because DuckDB has not read its stream yet. DuckDB
reads a join's build side to the end before it reads the probe side, so a
bounded queue between a scan and DuckDB holds the probe side's reader still for
as long as the build takes; MariaDB then sits in "Writing to net" and drops the
connection after ``net_write_timeout`` (TPC-H Q21 at SF 1 lost two of its three
``lineitem`` streams this way). Other sources have the same kind of limit
(idle-in-transaction and cursor timeouts, HTTP read timeouts).

So the producer (the scan's thread) always reads its source at the source's
pace and :meth:`Channel.put` never waits for the consumer: batches are kept in
memory up to ``memory_bytes``, and batches beyond that are written to a spill
file (one Arrow IPC message each) in ``spill_dir``; :meth:`Channel.get` hands
them to DuckDB in the order they came, from memory or from the file. The answer
therefore does not depend on how fast DuckDB drains a stream; the price of a
stalled stream is local disk, not a failed query. The spill file is unlinked
as soon as it is created (only the open descriptor keeps it), so it disappears
on :meth:`Channel.close`, on cancel and even if the process dies; once every
spilled batch has been read it is truncated, so a stream that stalls only for
a while does not keep its disk.

Alternatives considered and not taken: raising the server's write timeout only
moves the limit (and holds server threads), and deferring a read until DuckDB
asks for it serialises the sources and still leaves a stream idle mid-read.
"""

from __future__ import annotations

import collections
import os
import queue
import tempfile
import threading
from dataclasses import dataclass

import pyarrow as pa

from c360.errors import OperationalError

#: Bytes of batches a channel keeps in memory before it spills to disk.
DEFAULT_MEMORY_BYTES = 64 << 20


@dataclass
class ChannelStats:
    """What a channel did: EXPLAIN ANALYZE and the tests read it."""

    batches: int = 0
    spilled_batches: int = 0
    spilled_bytes: int = 0
    peak_memory_bytes: int = 0


@dataclass(frozen=True)
class _Spilled:
    offset: int
    length: int


class Channel:
    """A FIFO of record batches from one producer thread to one consumer, memory-bounded, spilling to disk.

    Producer side: :meth:`put` (never blocks on the consumer), then :meth:`finish`
    or :meth:`fail`. Consumer side: :meth:`get`. Either side, or anyone: :meth:`close`.
    """

    def __init__(self, schema: pa.Schema, *, memory_bytes: int = DEFAULT_MEMORY_BYTES, spill_dir: str | None = None):
        self.schema = schema
        self.memory_bytes = memory_bytes
        self.spill_dir = spill_dir or tempfile.gettempdir()
        self.stats = ChannelStats()
        self._items: collections.deque = collections.deque()
        self._in_memory = 0
        self._spilled_pending = 0
        self._file: int | None = None  # descriptor of the (already unlinked) spill file
        self._end = 0  # where the next spilled batch is written
        self._finished = False
        self._error: BaseException | None = None
        self._closed = False
        self._ready = threading.Condition()
        self._io = threading.Lock()  # the spill file's descriptor: not closed under a read or write

    # --- producer ---------------------------------------------------------------------------------

    def put(self, batch: pa.RecordBatch) -> None:
        """Add ``batch``: kept in memory while there is room (or nothing else is), else spilled."""
        with self._ready:
            if self._closed:
                return
            if not self._items or self._in_memory + batch.nbytes <= self.memory_bytes:
                self._items.append(batch)
                self._in_memory += batch.nbytes
                self.stats.peak_memory_bytes = max(self.stats.peak_memory_bytes, self._in_memory)
                self.stats.batches += 1
                self._ready.notify()
                return
        data = batch.serialize()
        with self._ready:
            if self._closed:
                return
            if self._file is None:
                self._file = self._open_spill_file()
            offset, self._end = self._end, self._end + data.size
            self._spilled_pending += 1  # counted now, so the file is not truncated under the write
        with self._io:  # written outside the condition: the consumer keeps reading meanwhile
            if self._file is None:
                return  # closed meanwhile
            self._write(offset, data)
        with self._ready:
            if self._closed:
                return
            self._items.append(_Spilled(offset, data.size))
            self.stats.batches += 1
            self.stats.spilled_batches += 1
            self.stats.spilled_bytes += data.size
            self._ready.notify()

    def _open_spill_file(self) -> int:
        try:
            descriptor, path = tempfile.mkstemp(prefix="c360-spill-", suffix=".arrows", dir=self.spill_dir)
        except OSError as error:
            raise OperationalError(f"cannot spill a stream to {self.spill_dir}: {error.strerror or error}") from None
        os.unlink(path)  # the descriptor keeps the data; nothing is left behind, whatever happens
        return descriptor

    def _write(self, offset: int, data: pa.Buffer) -> None:
        view = memoryview(data)
        written = 0
        try:
            while written < len(view):
                written += os.pwrite(self._file, view[written:], offset + written)
        except OSError as error:
            raise OperationalError(f"cannot spill a stream to {self.spill_dir}: {error.strerror or error}") from None

    def finish(self) -> None:
        """No more batches: :meth:`get` returns None once the last one is read."""
        with self._ready:
            self._finished = True
            self._ready.notify_all()

    def fail(self, error: BaseException) -> None:
        """The stream failed: the next :meth:`get` raises ``error``."""
        with self._ready:
            self._error = error
            self._ready.notify_all()

    # --- consumer ---------------------------------------------------------------------------------

    def get(self, timeout: float | None = None) -> pa.RecordBatch | None:
        """The next batch in order; None at the end; raises the producer's error,
        or :class:`queue.Empty` if nothing came within ``timeout`` seconds."""
        with self._ready:
            while True:
                if self._error is not None:
                    raise self._error
                if self._items:
                    item = self._items.popleft()
                    break
                if self._finished or self._closed:
                    return None
                if not self._ready.wait(timeout):
                    raise queue.Empty
            if isinstance(item, pa.RecordBatch):
                self._in_memory -= item.nbytes
                return item
        with self._io:
            if self._file is None:
                return None  # closed meanwhile
            data = os.pread(self._file, item.length, item.offset)
        batch = pa.ipc.read_record_batch(pa.py_buffer(data), self.schema)
        with self._ready:
            self._spilled_pending -= 1
            if self._spilled_pending == 0:
                self._truncate_locked()
        return batch

    def _truncate_locked(self) -> None:
        if self._file is not None and not self._closed:
            os.ftruncate(self._file, 0)
            self._end = 0

    # --- either side ------------------------------------------------------------------------------

    def close(self) -> None:
        """Drop every batch and the spill file; a waiting :meth:`get` returns None."""
        with self._ready:
            self._closed = True
            self._items.clear()
            self._in_memory = 0
            self._ready.notify_all()
        with self._io:
            descriptor, self._file = self._file, None
            if descriptor is not None:
                os.close(descriptor)

    @property
    def spilling(self) -> bool:
        """Whether a spill file exists now."""
        return self._file is not None
