"""The generator: deterministic for a seed, independent of chunking, bounded in memory, messy like a CRM."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import c360.generate as generator
from c360.generate import Config, chunks, generate
from c360.generate.targets import EmbeddedTarget

SMALL = Config(customers=120, days=60, seed=7, end=date(2026, 11, 23))


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_same_seed_and_arguments_give_byte_identical_files(tmp_path):
    generate(SMALL, EmbeddedTarget(tmp_path / "a"))
    generate(SMALL, EmbeddedTarget(tmp_path / "b"))
    first, second = files(tmp_path / "a"), files(tmp_path / "b")
    assert first == second
    assert {"crm.sqlite", "shop.sqlite"} <= set(first)
    assert any(k.startswith("partners/enrichment/") for k in first)
    assert any(k.startswith("blob/clicks/browsing/2026/") for k in first)


def test_another_seed_gives_other_data(tmp_path):
    generate(SMALL, EmbeddedTarget(tmp_path / "a"))
    other = Config(customers=120, days=60, seed=8, end=date(2026, 11, 23))
    generate(other, EmbeddedTarget(tmp_path / "b"))
    assert (tmp_path / "a" / "crm.sqlite").read_bytes() != (tmp_path / "b" / "crm.sqlite").read_bytes()


def test_rows_do_not_depend_on_the_chunk_size(monkeypatch):
    def everything():
        out = {"customers": [], "orders": [], "order_items": [], "partners": [], "browsing": []}
        for chunk in chunks(SMALL):
            for name in out:
                out[name].extend(getattr(chunk, name))
        return out

    monkeypatch.setattr(generator, "CHUNK", 1000)
    whole = everything()
    monkeypatch.setattr(generator, "CHUNK", 7)
    assert everything() == whole


MEMORY_PROBE = textwrap.dedent(
    """
    import resource, sys
    from datetime import date
    from pathlib import Path
    import c360.generate
    from c360.generate import Config, generate
    from c360.generate.targets import EmbeddedTarget
    c360.generate.CHUNK = 100  # small chunks, small buffer: what is held must not grow with customers
    config = Config(customers=int(sys.argv[1]), days=365, seed=3, end=date(2026, 11, 23))
    counts = generate(config, EmbeddedTarget(Path(sys.argv[2]), browsing_buffer_rows=20_000))
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, counts["browsing"], counts["orders"])
    """
)


def peak(tmp_path: Path, customers: int) -> tuple[int, int]:
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(customers), str(tmp_path / f"out{customers}")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    kilobytes, browsing, _orders = map(int, done.stdout.split())
    return kilobytes, browsing


def test_peak_memory_stays_flat_when_six_times_more_customers_are_generated(tmp_path):
    small_kb, small_rows = peak(tmp_path, 150)
    large_kb, large_rows = peak(tmp_path, 900)
    extra_rows = large_rows - small_rows
    assert extra_rows > 35_000
    # Holding the extra rows (as Python tuples: ~250 bytes each, plus their orders) would cost more.
    growth = (large_kb - small_kb) * 1024
    assert growth < 150 * extra_rows, f"peak grew by {growth / 1e6:.1f} MB for {extra_rows:,} more browsing rows"


def test_the_crm_has_the_documented_mess():
    config = Config(customers=3000, days=30, seed=5, end=date(2026, 11, 23))
    rows = [row for chunk in chunks(config) for row in chunk.customers]
    emails = [r[3] for r in rows if r[3] is not None]
    assert sum(e != e.lower() for e in emails) > 0.05 * len(emails), "mixed-case emails"
    assert sum(e != e.rstrip() for e in emails) > 0.01 * len(emails), "trailing spaces in emails"
    assert sum(r[2] != r[2].rstrip() for r in rows) > 0.005 * len(rows), "trailing spaces in last names"
    for index, name in ((4, "phone"), (5, "gender"), (6, "birth_date"), (7, "income_band"), (8, "household_size")):
        nulls = sum(r[index] is None for r in rows) / len(rows)
        assert 0.02 < nulls < 0.3, f"NULL share of {name}: {nulls:.2f}"
    people = Counter((r[1], r[2].rstrip(), r[6], r[10]) for r in rows if r[6] is not None)
    assert sum(n - 1 for n in people.values() if n > 1) >= 5, "duplicate-looking people"
    assert len({r[0] for r in rows}) == len(rows), "customer ids are unique"


def test_parallel_workers_give_the_same_rows_in_the_same_order(monkeypatch):
    monkeypatch.setattr(generator, "CHUNK", 25)

    def everything(workers: int):
        return [(c.index, c.customers, c.orders, c.order_items, c.partners, c.browsing)
                for c in chunks(SMALL, workers=workers)]

    assert everything(2) == everything(1)


def test_browsing_days_keeps_only_recent_browsing_and_leaves_orders_alone():
    full = Config(customers=60, days=90, seed=5, end=date(2026, 6, 1))
    recent = Config(customers=60, days=90, seed=5, end=date(2026, 6, 1), browsing_days=10)
    everything = [chunk for chunk in chunks(full)]
    kept = [chunk for chunk in chunks(recent)]
    assert [c.orders for c in kept] == [c.orders for c in everything]
    all_rows = [row for c in everything for row in c.browsing]
    kept_rows = [row for c in kept for row in c.browsing]
    cutoff = datetime(2026, 5, 22)
    assert kept_rows and len(kept_rows) < len(all_rows)
    assert kept_rows == [row for row in all_rows if row[0] >= cutoff]
    assert recent.manifest()["browsing_days"] == 10 and full.manifest()["browsing_days"] == 90
