"""Statements split into key ranges (connectors/mysql_ranges.py) give the oracle's answers.

The fuzz tables are small, so :data:`SPLIT_ROWS` is lowered to split every statement the rule allows; each
test also checks what MariaDB received: the statements of the ranges, or one statement where the rule
keeps it whole.
"""

from __future__ import annotations

import pytest

import connectors.mysql_ranges
from tests.fuzz.check import check_query, run_for


@pytest.fixture
def split_everything(monkeypatch):
    monkeypatch.setattr(connectors.mysql_ranges, "SPLIT_ROWS", 0)


def shop_scans(world, sql: str, params=None):
    check_query(world, sql, params)
    _, scans = world.c360(sql, params)
    return [scan for scan in scans if scan.source == "shop"]


def ranges_sent(scan) -> list[str]:
    return scan.sent.split(" ; ")


@pytest.mark.parametrize("sql", [
    # partial groups combined: sums of decimals, counts, min and max, a NULL group, groups in both ranges
    "SELECT e.kind, sum(e.amount), count(*), count(e.amount), min(e.ts), max(e.qty), avg(e.amount) "
    "FROM shop.events e GROUP BY e.kind",
    # no GROUP BY: one row per range, added up (COUNT of nothing is 0, SUM of nothing NULL)
    "SELECT count(*), sum(e.amount), min(e.event_id) FROM shop.events e WHERE e.qty > 5",
    "SELECT count(*), sum(e.amount) FROM shop.events e WHERE e.qty > 1000000",
    # a join of the shop's two tables, grouped by the smaller one's column
    "SELECT p.city, count(*), sum(e.qty) FROM shop.events e JOIN shop.people p ON p.id = e.person_id "
    "GROUP BY p.city",
    # grouped by the split key itself: each group lies in one range, HAVING and DISTINCT aggregates go too
    "SELECT e.event_id, count(DISTINCT e.kind), max(p.name) FROM shop.events e "
    "LEFT JOIN shop.people p ON p.id = e.person_id GROUP BY e.event_id HAVING count(*) >= 1",
    # rows, no aggregate: the ranges' rows are the rows
    "SELECT e.event_id, e.kind, e.amount FROM shop.events e WHERE e.amount > 10",
    "SELECT DISTINCT e.kind, e.flag FROM shop.events e",
    # a semi-join correlated with the split table
    "SELECT p.grp, count(*) FROM shop.people p WHERE EXISTS (SELECT 1 FROM shop.events e "
    "WHERE e.person_id = p.id AND e.qty > 3) GROUP BY p.grp",
])
def test_split_statements_answer_as_the_oracle(fuzz_world, split_everything, sql):
    [scan] = shop_scans(fuzz_world, sql)
    sent = ranges_sent(scan)
    assert len(sent) == 2, scan.sent
    assert any("split: 2 ranges" in note for note in scan.notes)
    low, high = sent
    assert " < " in low and " >= " in high  # open ends: every key in exactly one range


@pytest.mark.parametrize("sql", [
    # a lookup through an index is quick already
    "SELECT e.kind FROM shop.events e WHERE e.person_id = 3",
    # top-N, and a window: the ranges' rows would not add up
    "SELECT e.event_id FROM shop.events e ORDER BY e.amount DESC NULLS LAST, e.event_id LIMIT 3",
    "SELECT e.event_id, row_number() OVER (PARTITION BY e.kind ORDER BY e.event_id) FROM shop.events e",
    # a DISTINCT aggregate over groups that span ranges
    "SELECT e.kind, count(DISTINCT e.qty) FROM shop.events e GROUP BY e.kind",
    # HAVING over groups that span ranges
    "SELECT e.kind, sum(e.qty) FROM shop.events e GROUP BY e.kind HAVING sum(e.qty) > 10",
])
def test_statements_whose_ranges_would_not_add_up_run_whole(fuzz_world, split_everything, sql):
    for scan in shop_scans(fuzz_world, sql):
        assert " ; " not in scan.sent, scan.sent
        assert not any(note.startswith("split:") for note in scan.notes)


def test_small_tables_are_not_split(fuzz_world):
    [scan] = shop_scans(fuzz_world, "SELECT e.kind, count(*) FROM shop.events e GROUP BY e.kind")
    assert " ; " not in scan.sent


def test_generated_queries_agree_with_every_statement_split(fuzz_world, split_everything):
    """A short fuzz run with every MariaDB statement the rule allows split in two."""
    outcomes, failures = run_for(fuzz_world, range(20_001, 20_601), 25)
    assert not failures, f"{len(failures)} of {len(outcomes)} queries differ:\n\n" + "\n\n".join(failures[:3])
    assert len(outcomes) >= 50
