"""How the benchmark decides an answer is right (benchmarks/tpch/answers.py)."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa

from benchmarks.tpch import answers


def _table(**columns) -> pa.Table:
    return pa.table(columns)


def test_numbers_match_to_the_last_printed_digit_of_the_reference():
    got = _table(revenue=pa.array([decimal.Decimal("505822441.4861")], pa.decimal128(20, 4)), avg=[0.0499311195640999])
    assert answers.difference(got, [["505822441.4861", "0.04993111956409993"]], ordered=True) is None
    off = _table(revenue=pa.array([decimal.Decimal("505822441.4863")], pa.decimal128(20, 4)), avg=[0.0499311195640999])
    assert answers.difference(off, [["505822441.4861", "0.04993111956409993"]], ordered=True) == (
        "row 1, revenue: Decimal('505822441.4863') instead of '505822441.4861'"
    )


def test_integers_and_strings_and_dates_match_exactly():
    got = _table(n=[500], name=["Supplier#000000021 "], day=[dt.date(1995, 10, 21)])
    assert answers.difference(got, [["500", "Supplier#000000021 ", "1995-10-21"]], ordered=True) is None
    assert answers.difference(got, [["501", "Supplier#000000021 ", "1995-10-21"]], ordered=True) is not None
    assert answers.difference(got, [["500", "Supplier#000000021", "1995-10-21"]], ordered=True) is not None
    assert answers.difference(got, [["500", "Supplier#000000021 ", "1995-10-22"]], ordered=True) is not None


def test_null_matches_the_references_empty_field():
    assert answers.difference(_table(avg_yearly=pa.array([None], pa.float64())), [[""]], ordered=False) is None
    assert answers.difference(_table(avg_yearly=[1.5]), [[""]], ordered=False) is not None


def test_row_order_counts_only_when_the_query_orders():
    got = _table(k=["b", "a"], v=[2, 1])
    reference = [["a", "1"], ["b", "2"]]
    assert answers.difference(got, reference, ordered=False) is None
    assert answers.difference(got, reference, ordered=True) == "row 1, k: 'b' instead of 'a'"


def test_a_typed_reference_checks_column_names_and_row_counts():
    expected = _table(revenue=[1.0, 2.0])
    assert answers.difference(_table(revenue=[1.0, 2.0 + 1e-12]), expected, ordered=True) is None
    assert answers.difference(_table(REVENUE=[1.0, 2.0]), expected, ordered=True) == (
        "columns ['REVENUE'] instead of ['revenue']"
    )
    assert answers.difference(_table(revenue=[1.0]), expected, ordered=True) == "1 rows instead of 2"
