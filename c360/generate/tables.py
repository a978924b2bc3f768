"""The generated tables' columns, their types per target, and the browsing-aggregate file format.

Types are written once, as data, in the portable names the SQLite connector maps
to Arrow (``BIGINT``, ``VARCHAR(n)``, ``DECIMAL(12,2)``, ``DATE``, ``TIMESTAMP``,
``BOOLEAN``); :func:`ddl` renders them for SQLite, MariaDB or PostgreSQL.
"""

from __future__ import annotations

import io
import json
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

TABLES = {
    "customers": (
        ("customer_id", "BIGINT"), ("first_name", "VARCHAR(50)"), ("last_name", "VARCHAR(50)"),
        ("email", "VARCHAR(120)"), ("phone", "VARCHAR(30)"), ("gender", "VARCHAR(1)"), ("birth_date", "DATE"),
        ("income_band", "VARCHAR(10)"), ("household_size", "INTEGER"), ("head_of_household", "BOOLEAN"),
        ("city", "VARCHAR(60)"), ("state", "VARCHAR(2)"), ("country", "VARCHAR(2)"), ("signup_date", "DATE"),
        ("marketing_opt_in", "BOOLEAN"),
    ),
    "products": (("product_id", "INTEGER"), ("name", "VARCHAR(100)"), ("category", "VARCHAR(30)"),
                 ("list_price", "DECIMAL(12,2)")),
    "orders": (("order_id", "BIGINT"), ("customer_id", "BIGINT"), ("order_ts", "TIMESTAMP"),
               ("channel", "VARCHAR(10)"), ("status", "VARCHAR(10)")),
    "order_items": (("order_id", "BIGINT"), ("line_no", "INTEGER"), ("product_id", "INTEGER"),
                    ("quantity", "INTEGER"), ("unit_price", "DECIMAL(12,2)")),
}
KEYS = {"customers": ("customer_id",), "products": ("product_id",), "orders": ("order_id",),
        "order_items": ("order_id", "line_no")}
INDEXES = {"orders": ("customer_id", "order_ts"), "order_items": ("product_id",)}

_MYSQL = {"TIMESTAMP": "DATETIME", "BOOLEAN": "BOOLEAN"}
_POSTGRES = {"DECIMAL(12,2)": "NUMERIC(12,2)"}


def ddl(table: str, dialect: str) -> list[str]:
    """CREATE TABLE (and index) statements for ``table`` in ``sqlite``, ``mysql`` or ``postgres``."""
    mapping = {"mysql": _MYSQL, "postgres": _POSTGRES}.get(dialect, {})
    quote = "`" if dialect == "mysql" else '"'
    columns = ", ".join(f"{quote}{name}{quote} {mapping.get(kind, kind)}" for name, kind in TABLES[table])
    key = ", ".join(f"{quote}{k}{quote}" for k in KEYS[table])
    statements = [f"CREATE TABLE {quote}{table}{quote} ({columns}, PRIMARY KEY ({key}))"]
    for column in INDEXES.get(table, ()):
        statements.append(
            f"CREATE INDEX {quote}{table}_{column}{quote} ON {quote}{table}{quote} ({quote}{column}{quote})"
        )
    return statements


# --- browsing aggregates -------------------------------------------------------------------------

BROWSING_SCHEMA = pa.schema([
    ("window_start", pa.timestamp("us")),
    ("window_end", pa.timestamp("us")),
    ("customer_id", pa.int64()),
    ("category", pa.string()),
    ("page_views", pa.int64()),
    ("seconds", pa.float64()),
])
BROWSING_COLUMNS = {
    "window_start": "TIMESTAMP", "window_end": "TIMESTAMP", "customer_id": "BIGINT", "category": "VARCHAR",
    "page_views": "BIGINT", "seconds": "DOUBLE",
}
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
