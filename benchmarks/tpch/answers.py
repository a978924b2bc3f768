"""Is an answer right? Compared with the ``tpch`` extension's reference answers, or with a local DuckDB's.

``tpch_answers()`` holds the answers for scale factors 0.01, 0.1 and 1 as
``|``-separated text. A number must match to the last digit the reference
prints (``505822441.4861``: closer than 0.0001), unless the answer is a double
and the reference printed one in full (15 significant digits or more): then to
a relative 1e-9 (summed in another order). Against a typed reference (a local
DuckDB's Arrow answer) column names and types must be the same, decimals and
integers match exactly, doubles to a relative 1e-9. Strings and dates match
exactly; the reference text prints NULL as an empty field. Rows are compared in
order when the query has an ORDER BY, as sorted lists otherwise.
:func:`difference` returns None when equal, or one line saying where the first
difference is.
"""

from __future__ import annotations

import datetime as dt
import decimal
from functools import lru_cache

import duckdb
import pyarrow as pa

from benchmarks.tpch import extensions

RELATIVE = 1e-9
ABSOLUTE = 1e-9
#: A reference number with this many significant digits is a double printed in full.
DOUBLE_DIGITS = 15


@lru_cache(maxsize=8)
def reference(sf: float) -> dict[int, list[list[str]]]:
    """Query number → reference rows as text (header dropped), for ``sf``; empty if the extension has none."""
    with duckdb.connect() as connection:
        extensions.load(connection, "tpch")
        found = connection.execute(
            "SELECT query_nr, answer FROM tpch_answers() WHERE abs(scale_factor - $sf) < 1e-9", {"sf": sf}
        ).fetchall()
    return {number: [line.split("|") for line in text.splitlines()[1:]] for number, text in found}


def _number(value) -> bool:
    return isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool)


def _text(value) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return "NULL" if value is None else str(value)


def _significant(text: str) -> int:
    return len(text.lstrip("-").replace(".", "").lstrip("0"))


def _cell_differs(got, want) -> bool:
    """Whether ``got`` (a Python value) differs from ``want`` (text from tpch_answers, or a Python value)."""
    if isinstance(want, str) and got is None:
        return want not in ("", "NULL")  # tpch_answers() prints NULL as nothing
    if isinstance(want, str) and _number(got):
        try:
            expected = float(want)
        except ValueError:
            return True
        if (
            isinstance(got, float) and _significant(want) >= DOUBLE_DIGITS
        ):  # a double printed in full: summation order moves its last digits
            return abs(float(got) - expected) > RELATIVE * abs(expected)
        digits = len(want.split(".", 1)[1]) if "." in want else 0
        return abs(decimal.Decimal(str(got)) - decimal.Decimal(want)) >= decimal.Decimal(10) ** -digits
    if isinstance(want, str):
        return _text(got) != want
    if _number(got) and _number(want):
        if isinstance(got, float) or isinstance(want, float):
            return abs(float(got) - float(want)) > max(ABSOLUTE, RELATIVE * abs(float(want)))
        return got != want
    return got != want


def _key(row) -> tuple:
    return tuple(
        round(float(v), 2) if _number(v) else (float(v) if isinstance(v, str) and _is_float(v) else _text(v))
        for v in row
    )


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return "." in text


def rows(table: pa.Table) -> list[tuple]:
    return [tuple(row.values()) for row in table.to_pylist()]


def difference(got: pa.Table, expected, *, ordered: bool) -> str | None:
    """None if ``got`` matches ``expected`` (reference text rows, or an Arrow table), else where it does not."""
    want = rows(expected) if isinstance(expected, pa.Table) else expected
    have = rows(got)
    if isinstance(expected, pa.Table) and got.column_names != expected.column_names:
        return f"columns {got.column_names} instead of {expected.column_names}"
    if isinstance(expected, pa.Table) and got.schema.types != expected.schema.types:
        return f"types {[str(t) for t in got.schema.types]} instead of {[str(t) for t in expected.schema.types]}"
    if len(have) != len(want):
        return f"{len(have)} rows instead of {len(want)}"
    if have and len(have[0]) != len(want[0]):
        return f"{len(have[0])} columns instead of {len(want[0])}"
    if not ordered:
        have, want = sorted(have, key=_key), sorted(want, key=_key)
    for index, (row, reference_row) in enumerate(zip(have, want)):
        for column, (cell, reference_cell) in enumerate(zip(row, reference_row)):
            if _cell_differs(cell, reference_cell):
                name = got.column_names[column]
                return f"row {index + 1}, {name}: {cell!r} instead of {reference_cell!r}"
    return None
