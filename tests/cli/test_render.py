"""Results drawn for people (:mod:`c360.cli.render`): golden output of the fixed world at three widths,
and each rule on a small table of its own.

Golden files are in ``tests/cli/golden/``; ``C360_UPDATE_GOLDEN=1`` rewrites them (then read the diff).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

import c360
from c360.cli.render import render, text_width, truncate
from tests.views.world import AS_OF, write_world

GOLDEN = Path(__file__).parent / "golden"
QUERIES = {
    "customer_360": "SELECT * FROM customer_360 WHERE customer_id = 42",
    "customer_360_all": "SELECT * FROM customer_360 ORDER BY customer_id",
    "crm_customers": "SELECT * FROM crm.customers ORDER BY customer_id",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return write_world(tmp_path_factory.mktemp("render_world"))


@pytest.fixture(scope="module")
def results(world):
    with c360.connect(world) as connection:
        connection.execute(f"SET VARIABLE as_of = DATE '{AS_OF.isoformat()}'")
        return {name: connection.execute(sql).fetch_arrow() for name, sql in QUERIES.items()}


@pytest.mark.parametrize("width", [60, 100, 200])
@pytest.mark.parametrize("name", list(QUERIES))
def test_golden_output_fits_each_width(results, name, width):
    lines = render(results[name], width=width, max_rows=6)
    assert all(text_width(line) <= width for line in lines), "\n".join(lines)
    text = "\n".join(lines) + "\n"
    path = GOLDEN / f"{name}.{width}.txt"
    if os.environ.get("C360_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()


def test_one_wide_row_is_drawn_vertically_with_every_column(results):
    table = results["customer_360"]
    lines = render(table, width=100)
    assert lines[0].startswith("─[ record 1 ]")
    assert len(lines) == table.num_columns + 2
    assert lines[-1] == "1 row"
    assert any(line.startswith("first_name") and line.endswith("│ Ivy") for line in lines)
    # the same row is drawn as a table when it fits, or when --horizontal asks
    assert render(table.select([0, 1]), width=100)[0].startswith("┌")
    assert render(table, width=100, vertical=False)[0].startswith("┌")


def test_columns_are_elided_in_the_middle_with_the_count_hidden(results):
    table = results["crm_customers"]
    lines = render(table, width=60)
    header = lines[1]
    assert header.startswith("│ customer_id │") and "│ … │" in header
    assert header.rstrip(" │").endswith(table.column_names[-1])
    shown = header.count("│") - 2  # columns drawn, not counting the "…" one
    assert lines[-1] == f"9 rows, {table.num_columns} columns ({table.num_columns - shown} hidden)"


def test_headers_are_never_broken_and_long_values_end_in_an_ellipsis():
    table = pa.table({"customer_identifier": [1], "note": ["x" * 100]})
    lines = render(table, width=200)
    assert "customer_identifier" in lines[1]
    assert "│ " + "x" * 39 + "… │" in lines[3]
    assert render(table, width=None)[3].count("x") == 100  # piped: values whole


def test_rows_past_the_limit_are_elided_with_the_total():
    lines = render(pa.table({"n": list(range(100))}), width=80, max_rows=4)
    body = [line.strip("│ ") for line in lines[3:-2]]
    assert body == ["0", "1", "·", "98", "99"]
    assert lines[-1] == "100 rows (4 shown)"


def test_numbers_right_aligned_null_distinct_nested_compact():
    table = pa.table({
        "id": pa.array([7, 12345], pa.int64()),
        "amount": pa.array([Decimal("1.50"), None], pa.decimal128(10, 2)),
        "ratio": [0.1 + 0.2, 2.0],
        "name": ["", None],
        "tags": [["a", "b"], []],
        "survey": [{"nps": 9, "channel": "web"}, None],
        "day": [dt.date(2026, 6, 30), None],
        "text": ["two\nlines", "tab\there"],
        "m": pa.array([[("k", 1)], None], pa.map_(pa.string(), pa.int64())),
    })
    lines = render(table, width=200)
    assert lines[1:] == [
        "│    id │ amount │ ratio │ name │ tags   │ survey                 │ day        │ text       │ m     │",
        "├───────┼────────┼───────┼──────┼────────┼────────────────────────┼────────────┼────────────┼───────┤",
        "│     7 │   1.50 │   0.3 │      │ [a, b] │ {nps: 9, channel: web} │ 2026-06-30 │ two\\nlines │ {k=1} │",
        "│ 12345 │   NULL │     2 │ NULL │ []     │ NULL                   │ NULL       │ tab\\there  │ NULL  │",
        "└───────┴────────┴───────┴──────┴────────┴────────────────────────┴────────────┴────────────┴───────┘",
        "2 rows",
    ]


def test_null_is_dim_and_headers_bold_only_when_styled():
    table = pa.table({"name": ["a", None]})
    styled = "\n".join(render(table, width=80, style=True))
    assert "\x1b[2mNULL" in styled and "\x1b[1mname" in styled
    assert "\x1b[" not in "\n".join(render(table, width=80))


def test_wide_characters_take_two_cells():
    assert text_width("顧客") == 4 and truncate("顧客データ", 5) == "顧客…"
    lines = render(pa.table({"名前": ["顧客"], "n": [1]}), width=80)
    assert len({text_width(line) for line in lines[:-1]}) == 1


def test_duplicate_column_names_keep_their_own_values():
    lines = render(pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"]), width=80)
    assert lines[3] == "│ 1 │ 2 │"


def test_piped_query_output_has_no_escape_codes_and_every_row(world):
    env = {**os.environ, "COLUMNS": "", "NO_COLOR": ""}
    env.pop("C360_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "c360", "query", "SELECT * FROM range(100) t(n)"],
                          cwd=world.parent, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout and done.stderr == ""
    assert done.stdout.splitlines()[-1] == "100 rows" and "│ 99 │" in done.stdout
