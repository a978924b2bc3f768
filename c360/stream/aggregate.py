"""Tumbling event-time windows with a watermark, written exactly once to a blob store.

State per open window: ``(customer_id, category) -> [page_views, seconds]``.
The watermark is the largest event time seen minus the allowed lateness; a
window ``[start, start + W)`` closes when the watermark reaches its end, and an
event whose window has closed is *late* (dead-lettered). Lateness is decided
per event from the events before it, so the outcome depends only on the input
order, never on batch sizes or restarts.

Exactly-once output, after a SIGKILL at any moment:

1. closed windows are written first, each to a file whose name is the window
   (``window-20261123T070100Z-60s.jsonl`` under ``{yyyy}/{MM}/{dd}/{HH}/``), in
   one atomic put;
2. then the dead-letter file is flushed and fsynced;
3. then the checkpoint (input position, open windows, watermark, counters,
   dead-letter size) is replaced atomically.

A restart loads the checkpoint, truncates the dead-letter file to the size it
records and re-reads the input from its position. Anything written after the
checkpoint is produced again from the same state and the same input, so it is
rewritten identically: no window is lost and none appears twice. The hidden
temporary file of a window or checkpoint the killed run was writing is removed
(the first write into a folder removes those whose writer is gone), so the
output is byte for byte what an uninterrupted run writes.
"""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

from c360.browsing import encode_browsing, partition_path
from c360.errors import ProgrammingError
from c360.stream.events import REASONS, parse
from c360.stream.inputs import fsync_file
from connectors.files.store import remove_partial_writes

CHECKPOINT_VERSION = 1


def parse_duration(text: str) -> int:
    """``90s``, ``1m``, ``5m``, ``1h`` (or plain seconds) -> seconds."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text and text[-1] in units:
            value = float(text[:-1]) * units[text[-1]]
        else:
            value = float(text)
    except ValueError:
        raise ProgrammingError(f"'{text}' is not a duration (use e.g. 30s, 1m, 2h)") from None
    if value < 0 or value != int(value):
        raise ProgrammingError(f"'{text}' is not a whole, non-negative number of seconds")
    return int(value)


def window_key(prefix: str, start: int, width: int, fmt: str) -> str:
    moment = datetime.fromtimestamp(start, UTC).replace(tzinfo=None)
    return f"{prefix}{partition_path(moment)}window-{moment:%Y%m%dT%H%M%S}Z-{width}s.{fmt}"


class Aggregator:
    """Consumes an input, keeps windows and a checkpoint, writes closed windows to ``store``."""

    def __init__(self, source, store, *, checkpoint_dir: Path, window: int = 60, lateness: int = 60,
                 max_future: int = 3600, known=None, fmt: str = "jsonl", prefix: str = "browsing/",
                 dead_letter: Path | None = None, checkpoint_every: int = 10_000, clock=time.time):
        if window <= 0:
            raise ProgrammingError("--window must be at least one second")
        self.source, self.store = source, store
        self.window, self.lateness, self.max_future = window, lateness, max_future
        self.known, self.fmt, self.prefix = known, fmt, prefix
        self.checkpoint_dir = Path(checkpoint_dir)
        self.checkpoint_path = self.checkpoint_dir / "checkpoint.json"
        self.dead_letter_path = Path(dead_letter) if dead_letter else self.checkpoint_dir / "dead-letter.jsonl"
        self.checkpoint_every = checkpoint_every
        self.clock = clock
        self.windows: dict[int, dict[tuple, list]] = {}
        self.max_ts = float("-inf")
        self.closed_until = float("-inf")  # windows ending at or before this are closed
        self.counts = {"read": 0, "aggregated": 0, "windows_written": 0, **{r: 0 for r in REASONS}}
        self.stopping = False
        self._dead = None

    # --- checkpoint ---------------------------------------------------------------------------------

    def restore(self) -> bool:
        """Load the checkpoint if there is one; returns whether one was found."""
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        remove_partial_writes(self.checkpoint_dir)  # a checkpoint a killed run was writing
        dead_size = 0
        found = False
        if self.checkpoint_path.exists():
            state = json.loads(self.checkpoint_path.read_text())
            if state.get("version") != CHECKPOINT_VERSION:
                raise ProgrammingError(f"{self.checkpoint_path}: unknown checkpoint version {state.get('version')}")
            settings = {"input": self.source.describe(), "window": self.window, "lateness": self.lateness}
            for key, value in settings.items():
                if state["settings"].get(key) != value:
                    raise ProgrammingError(
                        f"{self.checkpoint_path} was made with {key}={state['settings'].get(key)!r}, not {value!r}: "
                        f"use another --checkpoint folder or delete it to start over"
                    )
            self.source.seek(state["position"])
            self.max_ts = state["max_ts"] if state["max_ts"] is not None else float("-inf")
            self.closed_until = state["closed_until"] if state["closed_until"] is not None else float("-inf")
            for start, customer_id, category, views, seconds in state["open"]:
                self.windows.setdefault(start, {})[(customer_id, category)] = [views, seconds]
            self.counts.update(state["counts"])
            dead_size = state["dead_letter_bytes"]
            found = True
        self._dead = open(self.dead_letter_path, "ab")
        self._dead.truncate(dead_size)
        self._dead.seek(dead_size)
        return found

    def checkpoint(self) -> None:
        fsync_file(self._dead)
        state = {
            "version": CHECKPOINT_VERSION,
            "settings": {"input": self.source.describe(), "window": self.window, "lateness": self.lateness},
            "position": self.source.position,
            "max_ts": None if self.max_ts == float("-inf") else self.max_ts,
            "closed_until": None if self.closed_until == float("-inf") else self.closed_until,
            "open": [[start, c, cat, acc[0], acc[1]] for start, keys in self.windows.items()
                     for (c, cat), acc in keys.items()],
            "counts": self.counts,
            "dead_letter_bytes": self._dead.tell(),
        }
        temporary = self.checkpoint_path.with_name(f".checkpoint.{os.getpid()}.tmp")
        with open(temporary, "w") as handle:
            handle.write(json.dumps(state, separators=(",", ":")))
            fsync_file(handle)
        os.replace(temporary, self.checkpoint_path)

    # --- processing ---------------------------------------------------------------------------------

    def process(self, lines: list[bytes]) -> None:
        """Aggregate ``lines`` (dead-lettering the bad ones), then write every window that closed."""
        width = self.window
        windows = self.windows
        known = self.known
        future_limit = self.clock() + self.max_future
        max_ts = self.max_ts
        closed = max(self.closed_until, max_ts - self.lateness)
        counts = self.counts
        aggregated = 0
        for line in lines:
            result = parse(line, known, future_limit)
            if type(result[0]) is str:
                self._reject(line, *result)
                continue
            epoch, customer_id, category, is_view, dwell = result
            start = int(epoch // width) * width
            if start + width <= closed:
                self._reject(line, "late", f"window {start} closed (watermark {closed:.0f})")
                continue
            keys = windows.get(start)
            if keys is None:
                keys = windows[start] = {}
            acc = keys.get((customer_id, category))
            if acc is None:
                keys[(customer_id, category)] = [1 if is_view else 0, dwell]
            else:
                if is_view:
                    acc[0] += 1
                acc[1] += dwell
            aggregated += 1
            if epoch > max_ts:
                max_ts = epoch
                if max_ts - self.lateness > closed:  # not max(): this is the hot loop
                    closed = max_ts - self.lateness
        counts["read"] += len(lines)
        counts["aggregated"] += aggregated
        self.max_ts = max_ts
        self.emit(closed)

    def _reject(self, line: bytes, reason: str, detail: str) -> None:
        self.counts[reason] += 1
        text = line.decode("utf-8", "replace").rstrip("\n")
        record = {"reason": reason, "detail": detail, "line": text}
        self._dead.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")

    def emit(self, closed: float) -> None:
        """Write every window ending at or before ``closed``; record ``closed`` as the new bound."""
        ready = sorted(start for start in self.windows if start + self.window <= closed)
        files = []
        for start in ready:
            keys = self.windows.pop(start)
            begin = datetime.fromtimestamp(start, UTC).replace(tzinfo=None)
            end = datetime.fromtimestamp(start + self.window, UTC).replace(tzinfo=None)
            rows = [(begin, end, c, cat, acc[0], round(acc[1], 3)) for (c, cat), acc in sorted(keys.items())]
            files.append((window_key(self.prefix, start, self.window, self.fmt), encode_browsing(rows, self.fmt)))
        if files:
            self.store.put_many(files)
            self.counts["windows_written"] += len(files)
        self.closed_until = max(self.closed_until, closed)

    def flush_all(self) -> None:
        """Close every open window (end of a finite input): the bound moves to the last window's end."""
        if self.windows:
            self.emit(max(self.windows) + self.window)

    # --- the loop -----------------------------------------------------------------------------------

    def run(self, *, follow: bool = False, poll: float = 0.2, idle_exit: float | None = None) -> dict:
        """Consume until the input ends (or, with ``follow``, until SIGTERM/SIGINT); returns the counters."""
        self.restore()
        previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, self._stop)
        try:
            idle_since = None
            while not self.stopping:
                lines = self.source.read(self.checkpoint_every)
                if lines:
                    idle_since = None
                    self.process(lines)
                    self.checkpoint()
                    continue
                if not follow:
                    break
                idle_since = idle_since or time.monotonic()
                if idle_exit is not None and time.monotonic() - idle_since > idle_exit:
                    break
                time.sleep(poll)
            if not follow and not self.stopping:
                self.flush_all()
            self.checkpoint()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.source.close()
            if self._dead is not None:
                self._dead.close()
        return dict(self.counts)

    def _stop(self, *_):
        self.stopping = True
