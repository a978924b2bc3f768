"""``c360 accelerate refresh`` and ``status`` as a user runs them: a real subprocess, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.acceleration.projects import accelerated_project


def c360(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "C360_DEBUG"}
    return subprocess.run([sys.executable, "-m", "c360", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


def test_refresh_prints_rows_and_seconds_and_status_shows_each_copy(tmp_path):
    accelerated_project(tmp_path, """
        acceleration:
          spend: {key: [customer_id]}
          shop.orders: {refresh: append, column: updated_at, key: [order_id], every: 5m}
    """)
    status = c360("accelerate", "status", "-f", "json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    before = {row["copy"]: row for row in map(json.loads, status.stdout.splitlines())}
    assert before["spend"]["age"] == "never refreshed" and before["spend"]["rows"] is None
    done = c360("accelerate", "refresh", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "spend: full, 3 rows read, 3 rows in the copy" in done.stdout
    assert "shop.orders: full, 4 rows read, 4 rows in the copy" in done.stdout
    again = c360("accelerate", "refresh", "shop.orders", cwd=tmp_path)
    assert "shop.orders: append, 1 rows read, 4 rows in the copy" in again.stdout  # the watermark's row again
    rows = {row["copy"]: row for row in map(json.loads, c360("accelerate", "status", "-f", "json",
                                                              cwd=tmp_path).stdout.splitlines())}
    assert rows["shop.orders"]["rows"] == 4 and rows["shop.orders"]["refresh"] == "append every 5m00s"
    assert rows["shop.orders"]["watermark"] == "2026-03-02 12:00:00" and rows["spend"]["stale"] is False
    table = c360("accelerate", "status", cwd=tmp_path)
    assert "spend" in table.stdout and "2 rows" in table.stdout  # (narrow terminals wrap longer names)


def test_a_failed_refresh_is_one_line_and_status_shows_the_error(tmp_path):
    accelerated_project(tmp_path, """
        acceleration:
          shop.orders: {key: [order_id]}
    """)
    assert c360("accelerate", "refresh", cwd=tmp_path).returncode == 0
    (tmp_path / "shop.sqlite").rename(tmp_path / "gone.sqlite")
    failed = c360("accelerate", "refresh", cwd=tmp_path)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "shop.orders: refresh failed, the previous copy stays (marked stale)" in failed.stderr
    row = json.loads(c360("accelerate", "status", "-f", "json", cwd=tmp_path).stdout.splitlines()[0])
    assert row["stale"] is True and "does not exist" in row["last_error"] and row["rows"] == 4


def test_unknown_names_and_dates_are_refused_in_one_line(tmp_path):
    accelerated_project(tmp_path, """
        acceleration:
          spend: {}
    """)
    unknown = c360("accelerate", "refresh", "spnd", cwd=tmp_path)
    assert unknown.returncode == 1 and "'spnd' is not accelerated. Did you mean 'spend'?" in unknown.stderr
    bad_date = c360("accelerate", "refresh", "spend", "--as-of", "yesterday", cwd=tmp_path)
    assert bad_date.returncode == 2 and "--as-of must be a date" in bad_date.stderr
