"""Discovering an undeclared table's columns: which files are sampled."""

from __future__ import annotations

from connectors.files.discover import sample
from connectors.files.layout import FileEntry


def test_sample_spreads_over_the_listing_including_first_and_last():
    entries = [FileEntry(f"f{i:02d}", 1) for i in range(20)]
    chosen = sample(entries, 5)
    assert len(chosen) == 5
    assert chosen[0].key == "f00" and chosen[-1].key == "f19"
    assert sample(entries[:3], 5) == entries[:3]
