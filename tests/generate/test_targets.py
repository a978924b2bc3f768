"""The embedded target: reruns replace instead of appending, and the demo catalog reads what it wrote."""

from __future__ import annotations

import io
import shutil
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import c360
from c360.generate import Config, generate
from c360.generate.targets import BrowsingBuffer, EmbeddedTarget
from connectors.files.store import LocalFolder

ROOT = Path(__file__).resolve().parents[2]


def count(path: Path, table: str) -> int:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
    finally:
        connection.close()


def test_a_rerun_replaces_the_previous_data_and_never_appends(tmp_path):
    out = tmp_path / "demo-data"
    generate(Config(customers=150, days=40, seed=1, end=date(2026, 11, 23)), EmbeddedTarget(out))
    second = generate(Config(customers=90, days=30, seed=2, end=date(2026, 11, 23)), EmbeddedTarget(out))
    assert count(out / "crm.sqlite", "customers") == 90
    assert count(out / "shop.sqlite", "orders") == second["orders"]
    assert count(out / "shop.sqlite", "order_items") == second["order_items"]
    partner_lines = sum(len(p.read_text().splitlines()) for p in (out / "partners" / "enrichment").glob("*.json"))
    assert partner_lines == second["partners"]
    browsing = list((out / "blob" / "clicks" / "browsing").rglob("*.jsonl"))
    assert sum(len(p.read_text().splitlines()) for p in browsing) == second["browsing"]
    assert not list(out.glob(".*building"))


def test_the_demo_catalog_reads_every_generated_source(tmp_path):
    shutil.copytree(ROOT / "catalog", tmp_path / "catalog")
    config = Config(customers=200, days=45, seed=4, end=date(2026, 11, 23))
    counts = generate(config, EmbeddedTarget(tmp_path / "demo-data"))
    connection = c360.connect(catalog=str(tmp_path / "catalog"), profile="embedded")
    try:
        cursor = connection.cursor()
        for sql, expected in [
            ("SELECT COUNT(*) FROM crm.customers", counts["customers"]),
            ("SELECT COUNT(*) FROM shop.orders", counts["orders"]),
            ("SELECT COUNT(*) FROM shop.order_items", counts["order_items"]),
            ("SELECT COUNT(*) FROM shop.products", counts["products"]),
            ("SELECT COUNT(*) FROM partners.enrichment", counts["partners"]),
            ("SELECT COUNT(*) FROM clicks.browsing", counts["browsing"]),
        ]:
            cursor.execute(sql)
            assert cursor.fetchone()[0] == expected, sql
        # Nested partner fields, with drift: only acme_data has surveys, only socialscope a tier.
        cursor.execute(
            "SELECT partner, COUNT(survey), COUNT(influencer_tier), COUNT(social.followers) "
            "FROM partners.enrichment GROUP BY partner ORDER BY partner"
        )
        (acme, acme_surveys, acme_tiers, _), (social, social_surveys, social_tiers, _) = cursor.fetchall()
        assert (acme, social) == ("acme_data", "socialscope")
        assert acme_surveys > 0 and acme_tiers == 0 and social_surveys == 0 and social_tiers > 0
        # Browsing rows land in the hour folder of their window.
        cursor.execute(
            "SELECT COUNT(*) FROM clicks.browsing WHERE date_trunc('hour', window_start) <> partition_hour"
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT typeof(list_price), typeof(order_ts) FROM shop.products, shop.orders LIMIT 1")
        assert cursor.fetchone() == ("DECIMAL(12,2)", "TIMESTAMP")
    finally:
        connection.close()


def test_many_flushes_still_leave_one_file_per_hour_with_every_row(tmp_path):
    config = Config(customers=200, days=20, seed=6, end=date(2026, 11, 23))
    generate(config, EmbeddedTarget(tmp_path / "one"))
    counts = generate(config, EmbeddedTarget(tmp_path / "many", browsing_buffer_rows=300))
    assert counts["browsing"] > 3 * 300

    def hours(root: Path) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for path in (root / "blob" / "clicks" / "browsing").rglob("*.jsonl"):
            found.setdefault(path.parent.relative_to(root).as_posix(), []).append(path.name)
        return found

    many = hours(tmp_path / "many")
    assert many and all(names == ["history-0000.jsonl"] for names in many.values())
    assert set(many) == set(hours(tmp_path / "one"))
    for folder in many:
        merged, single = (sorted((root / folder / "history-0000.jsonl").read_text().splitlines())
                          for root in (tmp_path / "many", tmp_path / "one"))
        assert merged == single


def test_the_embedded_target_writes_where_the_catalog_points(tmp_path):
    shutil.copytree(ROOT / "catalog", tmp_path / "catalog")
    for name, old, new in [("crm", "../demo-data/crm.sqlite", "../elsewhere/people.sqlite"),
                           ("clicks", "container: clicks", "container: web-clicks"),
                           ("partners", "../demo-data/partners", "../third-party")]:
        path = tmp_path / "catalog" / f"{name}.yaml"
        path.write_text(path.read_text().replace(old, new))
    counts = generate(Config(customers=60, days=35, seed=2, end=date(2026, 11, 23)),
                      EmbeddedTarget.from_catalog(tmp_path / "catalog", tmp_path / "demo-data"))
    assert (tmp_path / "elsewhere" / "people.sqlite").exists() and not (tmp_path / "demo-data" / "crm.sqlite").exists()
    assert list((tmp_path / "third-party" / "enrichment").glob("*.json"))
    assert (tmp_path / "demo-data" / "blob" / "web-clicks" / "browsing").is_dir()
    with c360.connect(catalog=str(tmp_path / "catalog")) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT (SELECT COUNT(*) FROM crm.customers), (SELECT COUNT(*) FROM partners.enrichment), "
                       "(SELECT COUNT(*) FROM clicks.browsing)")
        assert cursor.fetchone() == (60, counts["partners"], counts["browsing"])



@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_compaction_leaves_one_file_per_hour_with_every_row_of_every_part(tmp_path, fmt):
    store = LocalFolder(tmp_path)
    buffer = BrowsingBuffer(store, "browsing/", fmt, ["Home", "Sports"], limit=5)
    hours = 6
    rows = [(datetime(2026, 3, 1, hour, minute), datetime(2026, 3, 1, hour, minute + 1), customer, category, 2, 30.0)
            for hour in range(hours) for minute in (1, 2, 3) for customer, category in ((1, "Home"), (2, "Sports"))]
    for row in rows:
        buffer.add([row])
    buffer.flush()
    assert len(store.keys("browsing/")) > hours  # several parts per hour before compaction
    buffer.compact()
    keys = store.keys("browsing/")
    assert len({key.rsplit("/", 1)[0] for key in keys}) == len(keys) == hours
    for key in keys:
        data = store.get(key)
        found = pq.read_table(io.BytesIO(data)).num_rows if fmt == "parquet" else data.count(b"\n")
        assert found == len(rows) // hours
