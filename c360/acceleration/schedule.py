"""Refreshing on schedule inside ``c360 serve``: each copy with ``every`` is refreshed when it is due.

One daemon thread wakes every few seconds and, for each declared copy whose age (or time
since its last failed attempt) is past its ``every``, runs ``c360 accelerate refresh NAME``
as a child process and waits for it. The refresh's work -- reading the sources, converting
rows, writing DuckDB -- happens in that process, so it takes no turn of the server's Python
interpreter lock: queries are never blocked behind a refresh. They keep reading the previous
copy until the new one's manifest replaces it (atomically). The child records its own
errors in the copy's manifest (``c360 accelerate status``); the server logs a line.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from c360.acceleration.store import Store

log = logging.getLogger("c360.server")

#: seconds between looks at what is due
TICK = 2.0


class Refresher:
    """The schedule of one catalog's copies; :meth:`start` it, :meth:`stop` it on shutdown."""

    def __init__(self, catalog, *, catalog_path: str | Path, profile: str | None, tick: float = TICK):
        self.due = {name: a for name, a in catalog.accelerations.items() if a.every}
        self.store = Store(catalog.project_dir)
        self.catalog_path = str(catalog_path)
        self.profile = profile
        self.tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen | None = None
        #: copy -> when it was last attempted (a failing one waits ``every`` before it is tried again)
        self._attempted: dict[str, float] = {}
        #: refreshes run, for tests and logs: (copy, exit code, seconds)
        self.runs: list[tuple[str, int, float]] = []

    def start(self) -> None:
        if not self.due or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="c360-accelerate", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()  # a refresh cut short leaves the previous copy (the store is atomic)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, acceleration in self.due.items():
                if self._stop.is_set():
                    return
                if self._is_due(name, acceleration.every):
                    self._refresh(name)
            self._stop.wait(self.tick)

    def _is_due(self, name: str, every: float) -> bool:
        now = time.time()
        if now - self._attempted.get(name, 0.0) < every:
            return False
        manifest = self.store.read(name)
        return manifest is None or manifest.refreshed_at is None or now - manifest.refreshed_at >= every

    def _refresh(self, name: str) -> None:
        command = [sys.executable, "-m", "c360", "accelerate", "refresh", name, "--quiet",
                   "--catalog", self.catalog_path]
        if self.profile:
            command += ["--profile", self.profile]
        started = time.time()
        self._attempted[name] = started
        try:
            self._child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                           env=dict(os.environ))
            out, err = self._child.communicate()
        except OSError as error:
            log.warning("acceleration: cannot start the refresh of %s: %s", name, error)
            return
        code = self._child.returncode
        self._child = None
        self.runs.append((name, code, time.time() - started))
        if code == 0:
            log.info("acceleration: %s", out.strip())
        elif not self._stop.is_set():
            log.warning("acceleration: %s", (err.strip().splitlines() or [f"refresh of {name} failed"])[-1])
