"""The browsing-aggregate file format: what ``c360 stream aggregate`` and ``c360 generate`` write.

One row per customer, category and window (``window_start``, ``window_end``,
``customer_id``, ``category``, ``page_views``, ``seconds``), in files under the
Stream Analytics folder of the window's hour (``{yyyy}/{MM}/{dd}/{HH}/``), as
JSON lines or zstd parquet. The ``clicks.browsing`` blob table of the demo
catalog reads exactly this.
"""

from __future__ import annotations

import io
import json
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

BROWSING_SCHEMA = pa.schema([
    ("window_start", pa.timestamp("us")),
    ("window_end", pa.timestamp("us")),
    ("customer_id", pa.int64()),
    ("category", pa.string()),
    ("page_views", pa.int64()),
    ("seconds", pa.float64()),
])
#: The file formats a browsing file may have.
FORMATS = ("parquet", "jsonl")


def partition_path(moment: datetime) -> str:
    """The Stream Analytics folder of a moment: ``{yyyy}/{MM}/{dd}/{HH}/``."""
    return f"{moment:%Y/%m/%d/%H}/"


def encode_browsing(rows: list[tuple], fmt: str) -> bytes:
    """Browsing rows ``(window_start, window_end, customer_id, category, page_views, seconds)`` as one file."""
    if fmt == "jsonl":
        times: dict = {}
        names: dict = {}
        lines = []
        for start, end, customer_id, category, views, seconds in rows:
            begin = times.get(start) or times.setdefault(start, start.strftime('"%Y-%m-%dT%H:%M:%S"'))
            finish = times.get(end) or times.setdefault(end, end.strftime('"%Y-%m-%dT%H:%M:%S"'))
            name = names.get(category) or names.setdefault(category, json.dumps(category))
            lines.append(f'{{"window_start":{begin},"window_end":{finish},"customer_id":{int(customer_id)},'
                         f'"category":{name},"page_views":{int(views)},"seconds":{float(seconds)!r}}}\n')
        return "".join(lines).encode()
    if fmt == "parquet":
        columns = list(zip(*rows)) if rows else [[] for _ in BROWSING_SCHEMA]
        table = pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, BROWSING_SCHEMA)],
                                     schema=BROWSING_SCHEMA)
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        return sink.getvalue()
    raise ValueError(f"unknown browsing format {fmt!r}")
