"""Accelerated browsing history plus the newest blob windows read live (``live_tail``)."""

from __future__ import annotations

import datetime as dt
import json
import time

import c360
from c360.acceleration.refresh import refresh
from c360.acceleration.store import Store
from c360.catalog import Catalog
from tests.views.world import AS_OF, browsing_folder, write_world

TAIL = """
acceleration:
  clicks.browsing: {refresh: append, column: partition_hour, key: [window_start, customer_id, category],
                    live_tail: true, max_staleness: 1s}
"""


def add_window(root, start: str, customer_id: int, category: str, views: int, seconds: float, part="late"):
    """One more one-minute window, written where the stream writes it: the folder of its hour."""
    begin = dt.datetime.fromisoformat(start)
    folder = root / "blob" / "clicks" / "browsing" / browsing_folder(start)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{part}.jsonl").open("a") as out:
        out.write(json.dumps({"window_start": begin.isoformat(), "window_end": (begin + dt.timedelta(minutes=1))
                              .isoformat(), "customer_id": customer_id, "category": category, "page_views": views,
                              "seconds": seconds}) + "\n")


def explain(connection, sql: str) -> str:
    return "\n".join(row[0] for row in connection.execute(f"EXPLAIN {sql}").fetchall())


def test_a_query_reads_the_copy_and_the_windows_past_its_watermark(tmp_path):
    catalog_dir = write_world(tmp_path)
    (catalog_dir / "acceleration.yaml").write_text(TAIL)
    catalog = Catalog(catalog_dir)
    refresh(catalog, catalog.accelerations["clicks.browsing"])
    catalog.close()
    watermark = Store(tmp_path).read("clicks.browsing").watermark_value()
    assert watermark == dt.datetime(2026, 6, 30, 0, 0)  # the newest hour folder at the refresh
    add_window(tmp_path, "2026-06-30 00:30:00", 42, "Home", 2, 25.0)  # the watermark's hour keeps growing
    add_window(tmp_path, "2026-06-30 01:05:00", 1, "Sports", 3, 33.0)  # a new hour folder
    add_window(tmp_path, "2026-06-30 01:06:00", 7, "Home", 1, 5.0)
    tail, live = c360.connect(catalog_dir), c360.connect(catalog_dir)
    live.execute("SET max_staleness = 0")
    for sql in ("SELECT customer_id, category, count(*), sum(seconds), max(window_end) FROM clicks.browsing "
                "GROUP BY ALL ORDER BY ALL",
                "SELECT * FROM clicks.browsing WHERE customer_id = 42 ORDER BY window_start"):
        assert tail.execute(sql).fetchall() == live.execute(sql).fetchall()
    text = explain(tail, "SELECT * FROM clicks.browsing WHERE customer_id = 1")
    assert "acceleration.clicks.browsing" in text and "rows at or past it are read live" in text
    assert "2026/06/30/00" in text and "2026/06/29" not in text  # only the folders from the watermark on are listed
    time.sleep(1.1)  # older than max_staleness: a tail copy is still used (its newest rows are live)
    assert "acceleration.clicks.browsing" in explain(tail, "SELECT * FROM clicks.browsing")
    views = "SELECT * FROM browsing_features ORDER BY customer_id, category"
    for connection in (tail, live):
        connection.execute(f"SET VARIABLE as_of = DATE '{(AS_OF + dt.timedelta(days=1)).isoformat()}'")
    assert tail.execute(views).fetchall() == live.execute(views).fetchall()
    tail.close()
    live.close()
