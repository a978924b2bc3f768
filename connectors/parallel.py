"""Several statements to one source run at once, their rows as one scan (and their groups combined).

A source that runs each statement on one core (MariaDB) answers a long scan or aggregate sooner as a few
statements over disjoint key ranges on connections of their own (:mod:`connectors.mysql_ranges` decides
when). :class:`ParallelScan` runs the parts on threads and yields their batches as they come. When the parts
return partial groups (each range grouped on its own), ``combine`` says per output column how they add up:
``key`` (a grouping column), ``sum`` (partial SUMs and COUNTs), ``min`` or ``max``; the scan then yields one
row per group::

    part 1: ('A', 10.50, 3)   part 2: ('A', 4.00, 1), ('B', 1.00, 1)      combine = ('key', 'sum', 'sum')
    -> ('A', 14.50, 4), ('B', 1.00, 1)
"""

from __future__ import annotations

import queue
import threading

import pyarrow as pa

from connectors.base import Scan

#: batches waiting between the parts' threads and the reader (the engine's channel spills beyond)
BUFFERED = 8
#: how long closing waits for a part's thread (a part whose server does not answer its cancel is left behind)
CLOSE_SECONDS = 10


class ParallelScan(Scan):
    """``parts`` (scans of one source with the same columns) read at once on threads of their own."""

    def __init__(self, request, parts: list[Scan], schema: pa.Schema, combine: tuple[str, ...] | None = None):
        super().__init__(request, " ; ".join(part.sent for part in parts))
        self.parts = parts
        self.schema = schema
        self.combine = combine
        self.notes.extend(dict.fromkeys(note for part in parts for note in part.notes))
        self.transport = getattr(parts[0], "transport", None)
        self._threads: list[threading.Thread] = []

    def _batches(self):
        arrived: queue.Queue = queue.Queue(BUFFERED)
        for part in self.parts:
            thread = threading.Thread(target=self._read, args=(part, arrived), daemon=True,
                                      name=f"c360-part-{len(self._threads) + 1}")
            self._threads.append(thread)
            thread.start()
        running, held = len(self.parts), []
        while running:
            try:
                kind, value = arrived.get(timeout=0.1)
            except queue.Empty:
                if self.cancelled.is_set():
                    return
                continue
            if kind == "done":
                running -= 1
            elif kind == "error":
                self.cancel()
                raise value
            elif self.combine is None:
                yield value
            else:
                held.append(value)
        self.transport = getattr(self.parts[0], "transport", None)
        if self.combine is not None and not self.cancelled.is_set():
            yield from combined(held, self.schema, self.combine).to_batches()

    def _read(self, part: Scan, arrived: queue.Queue) -> None:
        try:
            for batch in part.batches():
                if self.cancelled.is_set() or not self._put(arrived, ("batch", batch)):
                    break
            self._put(arrived, ("done", None))
        except Exception as error:  # noqa: BLE001 - handed to the reader, which raises it
            self._put(arrived, ("error", error))

    def _put(self, arrived: queue.Queue, item) -> bool:
        """Hand ``item`` to the reader; False when the scan was cancelled while the queue was full."""
        while not self.cancelled.is_set():
            try:
                arrived.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def cancel(self) -> None:
        super().cancel()
        for part in self.parts:
            part.cancel()

    def close(self) -> None:
        """Stop the parts still running (the reader left early) and wait for their threads."""
        if any(thread.is_alive() for thread in self._threads):
            self.cancel()
            for thread in self._threads:
                thread.join(CLOSE_SECONDS)


def combined(batches: list[pa.RecordBatch], schema: pa.Schema, combine: tuple[str, ...]) -> pa.Table:
    """One row per group of the parts' partial groups (``combine`` as in the module docstring)."""
    table = pa.Table.from_batches(batches, schema) if batches else schema.empty_table()
    keys = [name for name, how in zip(schema.names, combine) if how == "key"]
    aggregates = [(name, how) for name, how in zip(schema.names, combine) if how != "key"]
    grouped = table.group_by(keys, use_threads=False).aggregate(aggregates)
    columns = [grouped.column(name if how == "key" else f"{name}_{how}") for name, how in zip(schema.names, combine)]
    return pa.Table.from_arrays([c.cast(f.type) for c, f in zip(columns, schema)], schema=schema)
