"""Reading SQL text: splitting at real semicolons, numbered parameters, command tags."""

from __future__ import annotations

import pytest

from c360.errors import ProgrammingError
from c360.server.statements import bind_placeholders, command_tag, count_placeholders, first_words, split


def test_split_cuts_only_at_semicolons_outside_quotes_and_comments():
    sql = "SELECT 'a;b' AS \"x;y\"; -- c;\nSELECT $$d;e$$ /* f; */; SELECT E'g\\';h'"
    assert split(sql) == ["SELECT 'a;b' AS \"x;y\"", "-- c;\nSELECT $$d;e$$ /* f; */", "SELECT E'g\\';h'"]


def test_split_drops_the_empty_tail_after_the_last_semicolon():
    assert split("") == [""]
    assert split("SELECT 1;") == ["SELECT 1"]
    assert split(" ; ") == [""]


def test_placeholders_become_named_parameters_in_order_of_number():
    sql, params = bind_placeholders("SELECT $2, $1::int, $1 WHERE s = '$3' -- $4", ["a", "b"])
    assert sql == "SELECT (:p2), (:p1)::int, (:p1) WHERE s = '$3' -- $4"
    assert params == {"p1": "a", "p2": "b"}


def test_a_placeholder_without_a_value_is_an_error():
    with pytest.raises(ProgrammingError, match=r"\$2 but 1 parameter"):
        bind_placeholders("SELECT $1, $2", [1])


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
