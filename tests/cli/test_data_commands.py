"""``c360 generate`` and ``c360 demo`` as a user runs them: real subprocesses in a fresh project folder."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from c360.cli.data_commands import DEMO_AS_OF

ROOT = Path(__file__).resolve().parents[2]


def c360(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "C360_DEBUG"}
    return subprocess.run([sys.executable, "-m", "c360", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


def top_spenders_by_hand(data: Path, end: date, n: int = 5) -> list[int]:
    """The demo's answer computed straight from the files: completed spend, among customers who
    browsed in the 30 days before ``end``."""
    since = datetime.combine(end - timedelta(days=30), datetime.min.time())
    browsed = set()
    for path in (data / "blob" / "clicks" / "browsing").rglob("*.jsonl"):
        hour = datetime.strptime("/".join(path.parent.parts[-4:]), "%Y/%m/%d/%H")
        if hour >= since:
            browsed.update(json.loads(line)["customer_id"] for line in path.read_text().splitlines())
    shop = sqlite3.connect(data / "shop.sqlite")
    spend = shop.execute(
        "SELECT o.customer_id, SUM(i.quantity * i.unit_price) FROM orders o JOIN order_items i USING (order_id) "
        "WHERE o.status = 'completed' GROUP BY 1"
    ).fetchall()
    shop.close()
    ranked = sorted(((round(s, 2), c) for c, s in spend if c in browsed), key=lambda x: (-x[0], x[1]))
    return [c for _, c in ranked[:n]]


def test_demo_prints_the_top_spenders_from_all_four_sources_without_servers(tmp_path):
    shutil.copytree(ROOT / "catalog", tmp_path / "catalog")
    done = c360("demo", "--customers", "250", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Top 5 spenders as of 2026-12-01" in done.stdout and "(embedded)" in done.stdout
    shown = [int(line.split("│")[1]) for line in done.stdout.splitlines()
             if line.startswith("│") and line.split("│")[1].strip().isdigit()]
    assert shown == top_spenders_by_hand(tmp_path / "demo-data", DEMO_AS_OF)
    manifest = json.loads((tmp_path / "demo-data" / "manifest.json").read_text())
    assert manifest["customers"] == 250 and manifest["customer_ids"] == [1, 250]
    # the catalog is known to load, so the README's next `c360 query "SELECT 1"` need not load it (cli/constant.py)
    from c360.cli.constant import known_good

    assert known_good(tmp_path / "catalog", "embedded")


def test_generate_reports_what_it_wrote(tmp_path):
    done = c360("generate", "-n", "40", "-d", "10", "--end", "2026-11-23", "-q", "--out", "data", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("generated 40 customers, 200 products, ")
    assert (tmp_path / "data" / "crm.sqlite").exists() and (tmp_path / "data" / "manifest.json").exists()


def test_generate_refuses_bad_arguments_in_one_line(tmp_path):
    for args, message in [
        (["--end", "2026-13-01"], "error: --end must be a date like 2026-11-23, got '2026-13-01'"),
        (["--target", "cloud"], "error: --target must be 'embedded' or 'servers', got 'cloud'"),
        (["--categories", "Home,home"], "error: --categories must be distinct, comma-separated names, got 'Home,home'"),
    ]:
        done = c360("generate", "-n", "5", "-q", *args, cwd=tmp_path)
        assert done.returncode == 1
        assert done.stderr.strip() == message
