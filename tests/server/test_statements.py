"""Reading SQL text: splitting at real semicolons, numbered parameters, command tags."""

from __future__ import annotations

import pytest

from c360.server.statements import command_tag, count_placeholders, first_words, split


def test_split_cuts_only_at_semicolons_outside_quotes_and_comments():
    sql = "SELECT 'a;b' AS \"x;y\"; -- c;\nSELECT $$d;e$$ /* f; */; SELECT E'g\\';h'"
    assert split(sql) == ["SELECT 'a;b' AS \"x;y\"", "-- c;\nSELECT $$d;e$$ /* f; */", "SELECT E'g\\';h'"]


def test_split_drops_the_empty_tail_after_the_last_semicolon():
    assert split("") == [""]
    assert split("SELECT 1;") == ["SELECT 1"]
    assert split(" ; ") == [""]


def test_count_placeholders_ignores_strings_and_dollar_quotes():
    assert count_placeholders("SELECT $1, '$9', $$ $8 $$, $3") == 3


def test_first_words_skip_comments():
    assert first_words("/* hi */ -- there\n  select 1", 1) == ["SELECT"]


@pytest.mark.parametrize(
    "sql, rows, tag",
    [("SELECT 1", 1, "SELECT 1"), ("with x as (select 1) select * from x", 3, "SELECT 3"), ("VALUES (1)", 1, "SELECT 1")],
)
def test_command_tags_follow_postgres(sql, rows, tag):
    assert command_tag(sql, rows) == tag
