"""``queries/browsing_features.sql`` on the fixed world: sums over 1, 7 and 30 days before the
as-of date, worked out by hand from :data:`tests.views.world.BROWSING`, and the hour folders read."""

from __future__ import annotations

import datetime as dt

from tests.views.world import AS_OF, EARLIER

COLUMNS = ("customer_id, category, seconds_1d, seconds_7d, seconds_30d, page_views_1d, page_views_7d, "
           "page_views_30d, last_seen")


def features(connection):
    cursor = connection.execute(f"SELECT {COLUMNS} FROM browsing_features ORDER BY customer_id, category")
    files = [scan.sent.split("; SQL per group")[0] for scan in cursor.scans if scan.source == "clicks"]
    return cursor.fetchall(), files


def test_browsing_as_of_june_30_sums_each_window_and_reads_only_its_hour_folders(as_of):
    rows, sent = features(as_of(AS_OF))
    # 30 days: [05-31 00:00, 06-30 00:00); 7 days from 06-23 00:00; 1 day from 06-29 00:00.
    # 1/Home: 06-22 23:59 (2 views, 20 s) is outside 7 days, 06-23 00:00 (1, 10 s) inside.
    # 42/Technology: 06-29 20:00 (3, 60) + 20:01 (1, 30.5) in 1 day; 06-05 (5, 100) in 30 days;
    #   05-30 23:59 is one minute too early; 06-30 00:00 is at the as-of instant.
    # 42/Home: 06-25 (2, 40); 05-15 is too early.
    assert rows == [
        (1, "Home", 0.0, 10.0, 30.0, 0, 1, 3, dt.datetime(2026, 6, 23, 0, 1)),
        (42, "Home", 0.0, 40.0, 40.0, 0, 2, 2, dt.datetime(2026, 6, 25, 10, 1)),
        (42, "Technology", 90.5, 90.5, 190.5, 4, 4, 9, dt.datetime(2026, 6, 29, 20, 2)),
    ]
    assert len(sent) == 1
    assert sent[0].startswith("5 files: ")
    for folder in ("2026/06/05/09", "2026/06/22/23", "2026/06/23/00", "2026/06/25/10", "2026/06/29/20"):
        assert f"browsing/{folder}/history-0000.jsonl" in sent[0]


def test_browsing_as_of_june_10_sees_only_the_month_before_it(as_of):
    rows, sent = features(as_of(EARLIER))
    # 30 days: [05-11, 06-10); 7 days from 06-03; 1 day from 06-09. Customer 1 browsed only later.
    # 42/Home: 05-15 (4, 44). 42/Technology: 05-30 23:59 (7, 70) and 06-05 09:00 (5, 100, within 7 days).
    assert rows == [
        (42, "Home", 0.0, 0.0, 44.0, 0, 0, 4, dt.datetime(2026, 5, 15, 12, 1)),
        (42, "Technology", 0.0, 100.0, 170.0, 0, 5, 12, dt.datetime(2026, 6, 5, 9, 1)),
    ]
    assert sent == [
        "3 files: browsing/2026/05/15/12/history-0000.jsonl, browsing/2026/05/30/23/history-0000.jsonl, "
        "browsing/2026/06/05/09/history-0000.jsonl"
    ]
