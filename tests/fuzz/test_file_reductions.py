"""Files reduced for their own sake (c360/planner/reduce_joins.py ``FILE_BYTES``) give the oracle's answers.

The fuzz files are small, so the size a file must have is lowered to reduce every file the planner chooses
(a side expected to keep at most 5% of its table); each test also checks what the file scan did. Their key
lists are short too, so each runs both ways: keys as an ``IN`` list, and every list read from a table of keys
(connectors/files/query.py ``KEY_TABLE``, the way a long list goes).
"""

from __future__ import annotations

import importlib

import pytest

from tests.fuzz.check import check_query, run_for


@pytest.fixture(params=["listed keys", "key tables"])
def files_are_big(monkeypatch, request):
    monkeypatch.setattr(importlib.import_module("c360.planner.reduce_joins"), "FILE_BYTES", 1)
    if request.param == "key tables":
        monkeypatch.setattr(importlib.import_module("connectors.files.query"), "KEY_TABLE", 0)
    return request.param


def file_scans(world, sql: str, params=None):
    check_query(world, sql, params)
    _, scans = world.c360(sql, params)
    return [scan for scan in scans if scan.source in ("partners", "clicks")]


@pytest.mark.parametrize("sql", [
    # a pinned side reduces the JSON file; NULL keys on either side never join
    "SELECT p.nickname, a.tier FROM crm.accounts a JOIN partners.profiles p ON p.person_id = a.person_id "
    "WHERE a.account_id = 7",
    # one side reduces the JSON file and the blob file (a filter on the key itself would reach them directly)
    "SELECT v.page, p.segment FROM shop.people s JOIN partners.profiles p ON p.person_id = s.id "
    "JOIN clicks.visits v ON v.person_id = s.id WHERE s.city = 'Lyon' AND s.grp = 1",
    # the same file twice, each reference reduced by the same side: read once
    "SELECT p.nickname FROM shop.people s JOIN partners.profiles p ON p.person_id = s.id "
    "WHERE s.city = 'Paris' AND s.grp = 2 AND EXISTS (SELECT 1 FROM partners.profiles q WHERE q.person_id = s.id)",
    # a scalar subquery correlated with the selective side
    "SELECT s.name, (SELECT max(q.points) FROM partners.profiles q WHERE q.person_id = s.id) AS best "
    "FROM shop.people s WHERE s.id = 2",
])
def test_reduced_files_answer_as_the_oracle(fuzz_world, files_are_big, sql):
    scans = file_scans(fuzz_world, sql)
    reduced = [scan for scan in scans if any(n.startswith("reduced: ") for n in scan.notes)]
    assert all(("__c360_keys_" in scan.sent) == (files_are_big == "key tables") for scan in reduced)
    if "EXISTS" in sql:
        assert len(scans) == 1 and any(n.startswith("read once for 2 references") for n in scans[0].notes)
    assert scans and all(any(n.startswith(("reduced: ", "not read: ")) for n in scan.notes) for scan in scans), \
        [scan.notes for scan in scans]


def test_a_side_that_keeps_much_leaves_the_file_whole(fuzz_world, files_are_big):
    [scan] = file_scans(fuzz_world, "SELECT p.nickname FROM shop.people s JOIN partners.profiles p "
                                    "ON p.person_id = s.id WHERE s.city <> 'Oslo'")
    assert not any("reduced" in note for note in scan.notes)


def test_generated_queries_agree_with_every_file_big(fuzz_world, files_are_big):
    """A short fuzz run where every file the planner would reduce for its own sake is."""
    outcomes, failures = run_for(fuzz_world, range(30_001, 30_601), 10)
    assert not failures, f"{len(failures)} of {len(outcomes)} queries differ:\n\n" + "\n\n".join(failures[:3])
    assert len(outcomes) >= 25


def test_a_file_takes_all_its_keys_in_one_scan(fuzz_world, files_are_big, monkeypatch):
    """An SQL source takes at most so many keys a statement, and more make several; a file would parse
    its files once per statement, so it takes them all at once."""
    monkeypatch.setattr(importlib.import_module("c360.reductions"), "KEYS_PER_STATEMENT", 1)
    [scan] = file_scans(fuzz_world, "SELECT p.nickname FROM shop.people s JOIN partners.profiles p "
                                    "ON p.person_id = s.id WHERE s.grp = 1")
    [note] = [n for n in scan.notes if n.startswith("reduced: ")]
    assert note == "reduced: 12 s_id values of shop.people sent as person_id IN (…)", note
