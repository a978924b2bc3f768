"""Comparing an engine answer with a Spark answer, row by row, whatever each one's Arrow types."""

from __future__ import annotations

import datetime as dt
import decimal
import math

import pyarrow as pa


def normalized(value):
    """A value both engines' answers agree on: decimals and floats as floats, lists as lists."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items()}
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value


def same(left, right) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(left) and math.isnan(right))
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right))
    return left == right


def assert_same_rows(engine: pa.Table, spark: pa.Table, keys: list[str]) -> None:
    """Same columns in the same order, same row count, and every row equal (rows matched by ``keys``)."""
    assert spark.column_names == engine.column_names
    assert spark.num_rows == engine.num_rows

    def by_key(table):
        rows = [{k: normalized(v) for k, v in row.items()} for row in table.to_pylist()]
        return {tuple(row[k] for k in keys): row for row in rows}

    left, right = by_key(engine), by_key(spark)
    assert left.keys() == right.keys()
    differences = []
    for key, row in left.items():
        for column, value in row.items():
            if not same(value, right[key][column]):
                differences.append(f"{key} {column}: engine {value!r}, spark {right[key][column]!r}")
    assert not differences, f"{len(differences)} differences, first: " + "; ".join(differences[:8])
