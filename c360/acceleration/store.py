"""Where copies live: ``.c360/acceleration/`` under the project, one manifest and one DuckDB file per copy.

A copy is named ``customer_360`` (the current copy of a view), ``customer_360@2026-11-30``
(a view as of that date) or ``shop.orders``. Its manifest ``NAME.json`` says which data file
is current (``NAME.<random>.duckdb``, table ``data``), when it was refreshed, its rows,
watermark, columns and the last refresh's error. Files are never changed in place:

1. a refresh writes a new data file under a ``.tmp`` name, checkpoints and closes it,
   fsyncs it and renames it to its final name;
2. it writes the new manifest to a temporary file, fsyncs it and ``os.replace``\\ s the
   manifest (atomic on POSIX), then fsyncs the folder;
3. only then is an older data file deleted (the one before the previous: a reader that read
   the previous manifest a moment ago still finds its file).

A process killed at any point leaves the previous manifest pointing at the previous, complete
data file; what it left behind (``.tmp`` files) is removed by the next refresh of that copy,
which holds the copy's lock file (``flock``; the kernel releases it when a process dies).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa

FOLDER = "acceleration"


@dataclass
class Manifest:
    """What ``NAME.json`` holds. ``file`` is None when no refresh has succeeded yet."""

    name: str
    file: str | None = None
    #: when the refresh began reading (epoch seconds): the copy holds at least what the sources held then
    refreshed_at: float | None = None
    #: the view's as-of date (ISO) the copy was computed for; None for a table
    as_of: str | None = None
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    #: rows the last refresh read from the sources, and how (full or append)
    rows_read: int = 0
    mode: str = ""
    #: the largest value of the append column, as {"type": ..., "value": ...}
    watermark: dict | None = None
    #: [name, DuckDB type] of each column of the copy, in order (for people)
    columns: list = field(default_factory=list)
    #: the Arrow schema the copy's data file returns, serialized (IPC) and base64-encoded
    schema: str = ""
    last_error: str | None = None
    error_at: float | None = None
    #: for a view: the digest of the view definitions it was computed from (c360.acceleration.choose.views_digest)
    views: str | None = None

    @property
    def stale(self) -> bool:
        """Whether the last refresh failed (the copy in place is the one before it)."""
        return self.last_error is not None

    def age(self, now: float | None = None) -> float | None:
        if self.refreshed_at is None:
            return None
        return (time.time() if now is None else now) - self.refreshed_at

    def arrow_schema(self) -> pa.Schema:
        return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(self.schema)))

    def watermark_value(self):
        return decode_value(self.watermark)


def encode_schema(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def encode_value(value) -> dict | None:
    """A watermark value as JSON (its type kept, so it comes back as the same Python type)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return {"type": "timestamp", "value": value.isoformat()}
    if isinstance(value, dt.date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, bool):
        return {"type": "bool", "value": value}
    if isinstance(value, int):
        return {"type": "int", "value": value}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    return {"type": "str", "value": str(value)}


def decode_value(encoded: dict | None):
    if not encoded:
        return None
    kind, value = encoded["type"], encoded["value"]
    if kind == "timestamp":
        return dt.datetime.fromisoformat(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    return value


class Store:
    """The copies of one project: manifests read and written atomically, data files, locks."""

    def __init__(self, project_dir: Path):
        self.folder = Path(project_dir) / ".c360" / FOLDER

    def manifest_path(self, copy: str) -> Path:
        return self.folder / f"{copy}.json"

    def data_path(self, manifest: Manifest) -> Path | None:
        return self.folder / manifest.file if manifest.file else None

    def read(self, copy: str) -> Manifest | None:
        """The manifest of ``copy``, or None if it was never refreshed (or its manifest is unreadable)."""
        try:
            text = self.manifest_path(copy).read_text(encoding="utf-8")
            return Manifest(**json.loads(text))
        except (OSError, ValueError, TypeError):
            return None

    def write(self, manifest: Manifest) -> None:
        """Replace ``manifest``'s file atomically (temporary file, fsync, rename, fsync of the folder)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.manifest_path(manifest.name)
        temporary = target.with_name(f"{target.name}.{secrets.token_hex(4)}.tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(asdict(manifest), handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        sync_folder(self.folder)

    def new_data_path(self, copy: str) -> tuple[Path, Path]:
        """``(temporary, final)`` paths for a new data file of ``copy``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{copy}.{secrets.token_hex(6)}.duckdb"
        return final.with_name(final.name + ".tmp"), final

    def copies(self) -> list[str]:
        """Names of every copy with a manifest."""
        if not self.folder.is_dir():
            return []
        return sorted(p.name[: -len(".json")] for p in self.folder.glob("*.json"))

    @contextlib.contextmanager
    def lock(self, copy: str):
        """Hold ``copy``'s refresh lock (blocking): one refresh of a copy at a time, across processes."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f"{copy}.lock", "a+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def clean(self, copy: str, keep: set[str]) -> None:
        """Remove ``copy``'s data files not in ``keep`` and any ``.tmp`` left by a killed refresh (lock held)."""
        pattern = re.compile(rf"^{re.escape(copy)}\.[0-9a-f]{{12}}\.duckdb(\.tmp)?(\.wal)?$")
        for path in self.folder.iterdir() if self.folder.is_dir() else ():
            match = pattern.match(path.name)
            if match is None:
                continue
            base = path.name.split(".duckdb")[0] + ".duckdb"
            if match.group(1) or base not in keep:
                with contextlib.suppress(OSError):
                    path.unlink()


def sync_folder(folder: Path) -> None:
    """fsync a folder so a rename in it survives a power cut."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
