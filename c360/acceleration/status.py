"""What ``c360 accelerate status`` shows: one row per copy (declared, and dated copies made), as a table."""

from __future__ import annotations

import datetime as dt
import time

import pyarrow as pa

from c360.acceleration.declaration import format_duration
from c360.acceleration.store import Store


def status_table(catalog) -> pa.Table:
    """Per copy: name, refresh mode, age, rows, size, as-of date, watermark, stale flag, last error."""
    store = Store(catalog.project_dir)
    names = set(catalog.accelerations) | {c for c in store.copies() if c.split("@")[0] in catalog.accelerations}
    now = time.time()
    rows = []
    for copy in sorted(names):
        declaration = catalog.accelerations[copy.split("@")[0]]
        manifest = store.read(copy)
        refreshed = manifest.refreshed_at if manifest is not None else None
        rows.append({
            "copy": copy,
            "refresh": declaration.refresh + (f" every {format_duration(declaration.every)}" if declaration.every
                                              else ""),
            "refreshed_at": dt.datetime.fromtimestamp(refreshed, dt.timezone.utc).replace(tzinfo=None)
            if refreshed else None,
            "age": format_duration(now - refreshed) if refreshed else "never refreshed",
            "max_staleness": format_duration(declaration.max_staleness),
            "rows": manifest.rows if manifest is not None and manifest.file else None,
            "size_mb": round(manifest.bytes / 1e6, 2) if manifest is not None and manifest.file else None,
            "last_refresh": (f"{manifest.mode}, {manifest.rows_read} rows read in {manifest.seconds:.2f}s"
                             if manifest is not None and manifest.file else None),
            "as_of": manifest.as_of if manifest is not None else None,
            "watermark": str(manifest.watermark_value()) if manifest is not None and manifest.watermark else None,
            "stale": bool(manifest is not None and manifest.stale),
            "last_error": manifest.last_error if manifest is not None else None,
        })
    schema = pa.schema([("copy", pa.string()), ("refresh", pa.string()), ("refreshed_at", pa.timestamp("s")),
                        ("age", pa.string()), ("max_staleness", pa.string()), ("rows", pa.int64()),
                        ("size_mb", pa.float64()), ("last_refresh", pa.string()), ("as_of", pa.string()),
                        ("watermark", pa.string()), ("stale", pa.bool_()), ("last_error", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)
