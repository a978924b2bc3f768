"""The compiled pass that turns an Arrow batch into the feature matrix reads every layout it claims
exactly as Arrow's own compute functions do, and leaves the others to Arrow."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from c360.model.encode import Layout
from c360.model.features import CATEGORY, NUMBER, TAGS, YEAR, Feature
from c360.model.matrix import matrix

#: "abc"/"axc" share a hash slot (same length, first and last byte); "" and "é" are edge cases, and
#: the long words are compared in the middle too (byte by byte past 16 bytes).
WORDS = ("abc", "axc", "", "é", "Can't Lose Them", "25-50k", "Potential Loyalist", "Potential Loyalisu")


def _one_hot(values: list, lists: bool) -> np.ndarray:
    out = np.zeros((len(values), len(WORDS)), dtype=np.float32)
    for row, value in enumerate(values):
        for item in (value or []) if lists else [value]:
            if item in WORDS:
                out[row, WORDS.index(item)] = 1.0
    return out


def _encoded(column: pa.Array, kind: str = CATEGORY) -> np.ndarray:
    """The column's indicator columns, between two number columns that must stay as they are."""
    features = [Feature("left", NUMBER), Feature("c", kind, WORDS), Feature("right", NUMBER)]
    n = len(column)
    struct = pa.StructArray.from_arrays([pa.array(np.full(n, 7.0)), column, pa.array(np.full(n, 8.0))],
                                        names=["left", "c", "right"])
    out = matrix(struct, features)
    assert (out[:, 0] == 7).all() and (out[:, -1] == 8).all()  # only its own columns are written
    return out[:, 1:-1]


def test_strings_with_nulls_collisions_unknown_and_long_values_match_index_in():
    rng = np.random.default_rng(4)
    pool = list(WORDS) + ["abd", "ab", "ABC", "é ", None, "zzz", "Potential Loyalis", "Potential Loyalist "]
    values = [pool[i] for i in rng.integers(0, len(pool), 500)] + ["ab", "abc"]  # short strings at the buffer's end
    column = pa.array(values, pa.string())
    assert np.array_equal(_encoded(column), _one_hot(values, lists=False))
    assert np.array_equal(_encoded(column.slice(37, 101)), _one_hot(values[37:138], lists=False))
    assert np.array_equal(_encoded(column.cast(pa.large_string())), _one_hot(values, lists=False))
    codes = pc.index_in(column, value_set=pa.array(WORDS)).fill_null(-1).to_numpy(zero_copy_only=False)
    assert np.array_equal(_encoded(column).argmax(axis=1)[codes >= 0], codes[codes >= 0])


def test_tag_lists_with_null_lists_null_tags_and_slices():
    values = [["abc", "é"], None, [], ["axc", None, "nope"], ["", "25-50k", "abc"], ["Potential Loyalist"]] * 20
    column = pa.array(values, pa.list_(pa.string()))
    assert np.array_equal(_encoded(column, TAGS), _one_hot(values, lists=True))
    assert np.array_equal(_encoded(column.slice(3, 50), TAGS), _one_hot(values[3:53], lists=True))


@pytest.mark.parametrize("arrow_type", [pa.float64(), pa.float32(), pa.int8(), pa.int16(), pa.int32(), pa.int64(),
                                        pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()])
def test_numbers_of_every_width_become_float32_with_null_as_nan(arrow_type):
    rng = np.random.default_rng(5)
    if pa.types.is_integer(arrow_type):
        signed = pa.types.is_signed_integer(arrow_type)
        bits = arrow_type.bit_width - (1 if signed else 0)
        high, low = 2 ** bits - 1, -(2 ** bits) if signed else 0
        extremes = [low, high, 2 ** 53 + 1, 2 ** 24 + 1] if bits > 53 else [low, high]
        values = [int(v) for v in rng.integers(max(low, -2 ** 62), min(high, 2 ** 62), 300)] + extremes
    else:
        values = list(rng.normal(0, 1e6, 300)) + [np.inf, -np.inf, 1e-40, 3.4e38]
    values = [None if rng.random() < 0.3 else v for v in values]
    column = pa.array(values, arrow_type, from_pandas=True)
    for part in (column, column.slice(11, 200)):
        expected = pc.cast(part, pa.float64(), safe=False).to_numpy(zero_copy_only=False).astype(np.float32)
        got = matrix(pa.table({"n": part}), [Feature("n", NUMBER)])[:, 0]
        assert np.array_equal(got, expected, equal_nan=True)


def test_decimals_become_the_nearest_double_like_arrows_cast():
    rng = np.random.default_rng(6)
    integers = [int(v) for v in rng.integers(-10 ** 15, 10 ** 15, 400)] + [0, 1, -1, 2 ** 53 - 1, -(2 ** 53 - 1)]
    for scale in (0, 2, 9):
        values = [None if i % 7 == 0 else Decimal(v).scaleb(-scale) for i, v in enumerate(integers)]
        column = pa.array(values, pa.decimal128(38, scale))
        got = matrix(pa.table({"d": column}), [Feature("d", NUMBER)])[:, 0]
        nearest = np.array([np.nan if v is None else float(v) for v in values]).astype(np.float32)
        assert np.array_equal(got, nearest, equal_nan=True)
        arrow = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float32)
        assert np.array_equal(got, arrow, equal_nan=True)
    wide = pa.array([Decimal(10 ** 30), Decimal(-(10 ** 25) - 7)], pa.decimal128(38, 0))  # beyond 64 bits
    assert np.allclose(matrix(pa.table({"d": wide}), [Feature("d", NUMBER)])[:, 0], [1e30, -1e25], rtol=1e-7)


def test_dates_become_their_year_before_and_after_1970_and_year_zero():
    days = np.concatenate([np.arange(-800_000, 800_000, 7), [-719_528, -719_529, -1, 0, 59, 60]]).astype(np.int32)
    column = pa.array(days).cast(pa.date32())
    got = matrix(pa.table({"y": column}), [Feature("y", YEAR)])[:, 0]
    assert np.array_equal(got, pc.year(column).to_numpy().astype(np.float32))


def test_layouts_it_does_not_read_are_left_to_arrow_and_give_the_same_matrix():
    features = [Feature("t", YEAR), Feature("c", CATEGORY, WORDS), Feature("g", TAGS, WORDS),
                Feature("v", CATEGORY, WORDS)]
    values = ["abc", None, "Can't Lose Them", "zzz"]
    table = pa.table({
        "t": pa.array([0, None, 10 ** 15, -(10 ** 14)], pa.timestamp("us")),
        "c": pa.array(values).dictionary_encode(),
        "g": pa.array([["abc"], None, [], ["é", "x"]], pa.large_list(pa.string())),
        "v": pa.array(values, pa.string_view()),
        "d": pa.array([Decimal(100), None, Decimal(300), Decimal(400)], pa.decimal128(5, -2)),  # negative scale
    })
    features.append(Feature("d", NUMBER))
    layout = Layout(pa.struct(table.schema), features)
    assert [feature.name for feature, _, _ in layout.arrow] == ["t", "c", "g", "v", "d"]
    plain = pa.table({
        "t": pc.cast(table["t"], pa.date32()),  # whole days, so the year is the same
        "c": pa.array(values), "g": pa.array([["abc"], None, [], ["é", "x"]], pa.list_(pa.string())),
        "v": pa.array(values), "d": pa.array([100, None, 300, 400], pa.int64()),
    })
    assert np.array_equal(matrix(table, features), matrix(plain, features), equal_nan=True)


def test_a_sliced_struct_reads_each_field_at_its_own_offset():
    features = [Feature("n", NUMBER), Feature("c", CATEGORY, WORDS), Feature("y", YEAR), Feature("t", TAGS, WORDS)]
    n = pa.array([1.0, None, 3.0, 4.0, 5.0, 6.0]).slice(1)  # a field that is itself a slice
    c = pa.array(["x", "abc", None, "axc", "é", ""])
    y = pa.array([0, 366, None, 3650, 20000, -1], pa.int32()).cast(pa.date32())
    t = pa.array([["abc"], None, ["axc", "é"], [], ["zz"], [""]], pa.list_(pa.string()))
    struct = pa.StructArray.from_arrays([pa.concat_arrays([n, pa.array([9.0])]), c, y, t], names=["n", "c", "y", "t"])
    whole = matrix(struct, features)
    assert np.array_equal(matrix(struct.slice(2, 3), features), whole[2:5], equal_nan=True)
    table = pa.table({"n": pa.concat_arrays([n, pa.array([9.0])]), "c": c, "y": y, "t": t})
    assert np.array_equal(matrix(table, features), whole, equal_nan=True)


def test_unread_features_are_missing_whether_given_or_absent_and_absent_read_ones_are_refused():
    features = [Feature("n", NUMBER), Feature("c", CATEGORY, ("a", "b")), Feature("m", NUMBER)]
    table = pa.table({"n": [1.0, 2.0], "c": ["a", "b"]})
    out = matrix(table, features, unread=frozenset({"c", "m"}))
    assert np.array_equal(out, np.array([[1, 0, 0, np.nan], [2, 0, 0, np.nan]], dtype=np.float32), equal_nan=True)
    with pytest.raises(KeyError, match="m"):
        matrix(table, features)


def test_a_reused_output_array_is_overwritten_everywhere():
    features = [Feature("n", NUMBER), Feature("c", CATEGORY, ("a", "b"))]
    out = np.full((2, 3), 5.0, dtype=np.float32, order="F")
    matrix(pa.table({"n": [None, 2.0], "c": ["b", None]}), features, out=out)
    assert np.array_equal(out, np.array([[np.nan, 0, 1], [2, 0, 0]], dtype=np.float32), equal_nan=True)
