"""Running one query (or any wait on sources) for a person: a progress line while it is slow, Ctrl-C
cancelling it at its sources.

:func:`run` executes on a worker thread (through :func:`wait`, which any slow command uses) while the
calling (main) thread waits, so a Ctrl-C arrives where it can act: the cursor is cancelled (each source's
running statement is killed there, DuckDB is interrupted) and ``KeyboardInterrupt`` goes on to the caller.
After :data:`PROGRESS_AFTER` seconds, and only when stderr is a terminal, one line on stderr shows the time
so far and each source's rows as they arrive; it is erased before the result is drawn. Piped or redirected,
nothing is written.
"""

from __future__ import annotations

import sys
import threading
import time

PROGRESS_AFTER = 1.0
_TICK = 0.1


def progress_text(elapsed: float, scans) -> str:
    """``running 3.2s · shop.orders 12,000 rows · crm.customers 400 rows``: the line shown while a query runs."""
    parts = [f"running {elapsed:.1f}s"]
    for scan in scans:
        parts.append(f"{scan.source}.{scan.table} {scan.rows:,} row{'' if scan.rows == 1 else 's'}")
    return " · ".join(parts)


def run(cursor, sql: str, params=None, *, progress: bool | None = None, stream=None):
    """Execute ``sql`` on ``cursor`` and return the whole result as an Arrow table (None: no result).

    ``progress=None`` shows the progress line when ``stream`` (default stderr) is a terminal.
    """

    def work():
        cursor.execute(sql, params)
        return cursor.fetch_arrow() if cursor.description is not None else None

    return wait(work, lambda elapsed: progress_text(elapsed, cursor.scans), progress=progress, stream=stream,
                on_interrupt=cursor.cancel)


def wait(work, text, *, progress: bool | None = None, stream=None, on_interrupt=None):
    """Call ``work()`` on a worker thread and return what it returns (or raise what it raised), showing
    ``text(seconds so far)`` as the progress line once it has taken :data:`PROGRESS_AFTER` seconds.

    Any command that may wait on a source uses it (``c360 tables`` while each source lists its tables). On
    Ctrl-C, ``on_interrupt()`` is called (a cursor's cancel), the worker gets ten seconds to stop, and
    ``KeyboardInterrupt`` goes on to the caller.
    """
    stream = stream or sys.stderr
    if progress is None:
        progress = stream.isatty()
    outcome: dict = {}

    def call():
        try:
            outcome["value"] = work()
        except BaseException as error:  # noqa: BLE001 - handed to the waiting thread, raised there
            outcome["error"] = error

    worker = threading.Thread(target=call, name="c360-work", daemon=True)
    started = time.monotonic()
    worker.start()
    shown = False
    try:
        while worker.is_alive():
            worker.join(_TICK)
            elapsed = time.monotonic() - started
            if progress and worker.is_alive() and elapsed >= PROGRESS_AFTER:
                _show(stream, text(elapsed))
                shown = True
    except KeyboardInterrupt:
        if on_interrupt is not None:
            on_interrupt()
            worker.join(10)
        raise
    finally:
        if shown:
            stream.write("\r\x1b[K")
            stream.flush()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _show(stream, text: str) -> None:
    import shutil

    from c360.cli.render import truncate

    width = shutil.get_terminal_size().columns
    stream.write("\r\x1b[K" + truncate(text, max(10, width - 1)))
    stream.flush()
