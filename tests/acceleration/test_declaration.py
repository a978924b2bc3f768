"""The catalog's ``acceleration:`` block: what it accepts, and the fixed sentence for what it refuses."""

from __future__ import annotations

import pytest

from c360.acceleration.declaration import format_duration, parse_duration
from c360.catalog import Catalog
from c360.errors import CatalogError
from tests.acceleration.projects import accelerated_project


def test_a_declaration_reads_every_setting(tmp_path):
    catalog = Catalog(accelerated_project(tmp_path, """
        acceleration:
          spend: {refresh: full, every: 5m, key: [customer_id], max_staleness: 15m}
          shop.orders: {refresh: append, every: 30s, column: updated_at, key: order_id, overlap: 1h, live_tail: true,
                        timeout: 2h, compress: false}
    """))
    spend, orders = catalog.accelerations["spend"], catalog.accelerations["shop.orders"]
    assert (spend.is_view, spend.refresh, spend.every, spend.max_staleness, spend.key) == (
        True, "full", 300, 900, ("customer_id",))
    assert (orders.source, orders.table, orders.every, orders.column, orders.key, orders.overlap, orders.live_tail) == (
        "shop", "orders", 30, "updated_at", ("order_id",), 3600, True)
    assert (spend.timeout, orders.timeout) == (3600, 7200)
    assert (spend.compress, orders.compress) == (True, False)


@pytest.mark.parametrize("block, message", [
    ("spend: {refresh: sometimes}", "'refresh' must be full or append"),
    ("spend: {refersh: full}", "unknown acceleration setting 'refersh'. Did you mean 'refresh'?"),
    ("spend: {refresh: append, column: x, key: [k]}", "view 'spend' can only be refreshed in full"),
    ("shop.orders: {refresh: append, key: [order_id]}", "needs 'column'"),
    ("shop.orders: {refresh: append, column: updated_at}", "needs 'key'"),
    ("shop.orders: {every: soon}", "'every' must be a duration"),
    ("shop.orders: {live_tail: true}", "'live_tail' needs refresh: append"),
    ("shop.orders: {timeout: 0}", "'timeout' must be longer than 0 seconds"),
    ("shop.orders: {timeout: later}", "'timeout' must be a duration"),
    ("shop.orders: {compress: maybe}", "'compress' must be true or false"),
    ("shopp.orders: {}", "there is no source 'shopp'. Did you mean 'shop'?"),
])
def test_a_wrong_declaration_is_named_with_its_file_and_line(tmp_path, block, message):
    with pytest.raises(CatalogError) as raised:
        Catalog(accelerated_project(tmp_path, "\n        acceleration:\n          " + block + "\n"))
    assert message in str(raised.value)
    assert "sources.yaml:" in str(raised.value)


@pytest.mark.parametrize("text, seconds", [
    (0, 0), (90, 90), ("90s", 90), ("5m", 300), ("10 minutes", 600), ("1h", 3600), ("2 days", 172800),
    ("1.5h", 5400), ("0", 0),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "-5", "5 fortnights", True])
def test_a_wrong_duration_is_refused(text):
    with pytest.raises(ValueError, match="must be a duration|cannot be negative"):
        parse_duration(text)


def test_ages_read_as_people_write_them():
    assert [format_duration(s) for s in (3.25, 42, 192, 7500, 97200)] == ["3.2s", "42s", "3m12s", "2h05m", "1d03h"]


def test_every_declaration_key_is_documented():
    from pathlib import Path

    from c360.acceleration.declaration import KEYS

    docs = (Path(__file__).resolve().parents[2] / "docs" / "acceleration.md").read_text()
    for key in KEYS:
        assert f"| `{key}` |" in docs, key
