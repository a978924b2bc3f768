"""Accelerated browsing history plus the newest blob windows read live (``live_tail``)."""

from __future__ import annotations

import datetime as dt
import json
import time

import c360
from c360.acceleration import connector
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


BOUNDED = ("SELECT window_start, category, page_views, seconds FROM clicks.browsing WHERE customer_id = ? "
           "AND partition_hour >= TIMESTAMP '2026-06-30 00:00:00' "
           "AND partition_hour <= TIMESTAMP '2026-06-30 03:00:00' ORDER BY window_start, category")


def tail_project(tmp_path):
    """The world with a live-tail copy of ``clicks.browsing`` refreshed (watermark 2026-06-30 00:00)."""
    catalog_dir = write_world(tmp_path)
    (catalog_dir / "acceleration.yaml").write_text(TAIL)
    catalog = Catalog(catalog_dir)
    refresh(catalog, catalog.accelerations["clicks.browsing"])
    catalog.close()
    return catalog_dir


def live_tail_text(connection, customer: int) -> str:
    """What EXPLAIN says the live part of :data:`BOUNDED` reads (the line of its file list)."""
    text = explain(connection, BOUNDED.replace("?", str(customer)))
    return next(line for line in text.splitlines() if "live tail:" in line)


def test_the_live_tail_reads_each_window_file_once_and_a_new_file_at_a_later_query(tmp_path):
    catalog_dir = tail_project(tmp_path)
    add_window(tmp_path, "2026-06-30 01:05:00", 1, "Sports", 3, 33.0, part="w0105")
    add_window(tmp_path, "2026-06-30 01:06:00", 7, "Home", 1, 5.0, part="w0106")
    tail, live = c360.connect(catalog_dir), c360.connect(catalog_dir)
    live.execute("SET max_staleness = 0")
    try:
        # the watermark's hour folder (1 file) and the new one (2)
        assert "3 files" in live_tail_text(tail, 1) and "3 not read before" in live_tail_text(tail, 1)
        for customer in (1, 7, 42):
            assert tail.execute(BOUNDED, [customer]).fetchall() == live.execute(BOUNDED, [customer]).fetchall()
        assert "0 not read before" in live_tail_text(tail, 7)  # kept in memory, shared by every customer
        other = c360.connect(catalog_dir)  # another connection of the process (the app has 8): same memory
        assert "0 not read before" in live_tail_text(other, 1)
        other.close()
        add_window(tmp_path, "2026-06-30 01:07:00", 1, "Home", 2, 12.0, part="w0107")  # written after the reads
        time.sleep(connector.LIVE_LISTING_SECONDS + 0.1)
        assert "4 files" in live_tail_text(tail, 1) and "1 not read before" in live_tail_text(tail, 1)
        rows = tail.execute(BOUNDED, [1]).fetchall()
        assert rows == live.execute(BOUNDED, [1]).fetchall()
        assert [r[1] for r in rows] == ["Sports", "Home"]
        # a file that grew (the test world's writer appends) is read again with its folder
        add_window(tmp_path, "2026-06-30 01:08:00", 1, "Books", 1, 4.0, part="w0107")
        time.sleep(connector.LIVE_LISTING_SECONDS + 0.1)
        assert tail.execute(BOUNDED, [1]).fetchall() == live.execute(BOUNDED, [1]).fetchall()
        assert [r[1] for r in tail.execute(BOUNDED, [1]).fetchall()] == ["Sports", "Home", "Books"]
    finally:
        tail.close()
        live.close()


def test_rows_in_memory_are_never_served_older_than_the_keep_bound(tmp_path, monkeypatch):
    catalog_dir = tail_project(tmp_path)
    monkeypatch.setattr(connector, "LIVE_KEEP_SECONDS", 1.0)
    monkeypatch.setattr(connector, "LIVE_LISTING_SECONDS", 0.0)
    add_window(tmp_path, "2026-06-30 01:05:00", 1, "Sports", 3, 33.0, part="w0105")
    tail = c360.connect(catalog_dir)
    try:
        assert tail.execute(BOUNDED, [1]).fetchall()[0][3] == 33.0
        # the same key rewritten with the same size: not a new file to the listing
        path = tmp_path / "blob" / "clicks" / "browsing" / "2026/06/30/01" / "w0105.jsonl"
        path.write_text(path.read_text().replace("33.0", "44.0"))
        assert tail.execute(BOUNDED, [1]).fetchall()[0][3] == 33.0  # kept, within the bound
        time.sleep(1.1)
        assert tail.execute(BOUNDED, [1]).fetchall()[0][3] == 44.0  # past the bound: the folder is read again
    finally:
        tail.close()


def test_a_tail_query_without_a_bound_on_both_sides_is_the_source_scan(tmp_path):
    catalog_dir = tail_project(tmp_path)
    tail = c360.connect(catalog_dir)
    try:
        text = explain(tail, "SELECT * FROM clicks.browsing WHERE customer_id = 1")
        assert "live tail:" not in text and "rows at or past it are read live" in text
    finally:
        tail.close()


def test_a_listing_past_half_its_bound_is_renewed_while_served(tmp_path, monkeypatch):
    catalog_dir = tail_project(tmp_path)
    monkeypatch.setattr(connector, "LIVE_LISTING_SECONDS", 4.0)
    tail = c360.connect(catalog_dir)
    try:
        started = time.monotonic()
        assert tail.execute(BOUNDED, [1]).fetchall() == []
        add_window(tmp_path, "2026-06-30 01:05:00", 1, "Sports", 3, 33.0, part="w0105")
        time.sleep(max(0.0, started + 2.2 - time.monotonic()))
        assert tail.execute(BOUNDED, [1]).fetchall() == []  # the listing of before the window, within its bound
        seen = []
        while not seen and time.monotonic() < started + 3.8:  # before the first listing's bound runs out
            time.sleep(0.1)
            seen = tail.execute(BOUNDED, [1]).fetchall()
        assert [r[1] for r in seen] == ["Sports"]  # the renewal started by the query above listed it
    finally:
        tail.close()


LOOKUP = ("SELECT window_start, category, page_views, seconds FROM clicks.browsing WHERE customer_id = ? "
          "AND partition_hour >= ? AND partition_hour <= ? AND window_start >= ? ORDER BY window_start DESC, category "
          "LIMIT 10")


def test_a_known_lookup_of_a_copy_and_its_tail_runs_without_planning_and_answers_as_the_sources(tmp_path,
                                                                                                 monkeypatch):
    import c360.engine

    catalog_dir = tail_project(tmp_path)
    add_window(tmp_path, "2026-06-30 01:05:00", 1, "Sports", 3, 33.0, part="w0105")
    add_window(tmp_path, "2026-06-30 01:06:00", 7, "Home", 1, 5.0, part="w0106")
    parsed = []
    real = c360.engine.parse
    monkeypatch.setattr(c360.engine, "parse", lambda sql, **kwargs: parsed.append(sql) or real(sql, **kwargs))
    tail, live = c360.connect(catalog_dir), c360.connect(catalog_dir)
    live.execute("SET max_staleness = 0")

    def values(customer: int, since: str) -> list:
        since = dt.datetime.fromisoformat(since)
        return [customer, since.replace(minute=0), since + dt.timedelta(hours=3), since]

    try:
        # planned in full, then every value changed and verified against a full plan
        for customer, since in ((1, "2026-06-29 23:10:00"), (42, "2026-06-29 22:05:00")):
            assert tail.execute(LOOKUP, values(customer, since)).fetchall() == \
                live.execute(LOOKUP, values(customer, since)).fetchall()
        before = len(parsed)
        # (each from before the copy's watermark, 2026-06-30 00:00: a bound past it leaves no copy rows to read,
        # a plan of another shape)
        for customer, since in ((7, "2026-06-29 23:20:00"), (1, "2026-06-29 23:59:00"), (42, "2026-06-29 21:01:00")):
            cursor = tail.execute(LOOKUP, values(customer, since))
            assert cursor.fetchall() == live.execute(LOOKUP, values(customer, since)).fetchall()
            sent = [scan.sent for scan in cursor.scans]
            assert any("its shape known" in s for s in sent) and any("live tail" in s for s in sent), sent
        assert len(parsed) == before + 3  # the live connection's three: none on the tail's
        add_window(tmp_path, "2026-06-30 01:07:00", 1, "Home", 2, 12.0, part="w0107")  # written after the reads
        time.sleep(connector.LIVE_LISTING_SECONDS + 0.1)
        cursor = tail.execute(LOOKUP, values(1, "2026-06-29 23:30:00"))
        rows = cursor.fetchall()
        assert any("its shape known" in scan.sent for scan in cursor.scans)
        assert rows == live.execute(LOOKUP, values(1, "2026-06-29 23:30:00")).fetchall()
        assert [r[1] for r in rows] == ["Home", "Sports"]
    finally:
        tail.close()
        live.close()
