"""The compiled one-hot encoder agrees with Arrow's index_in on every string it is given."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from c360.model.encode import Vocabulary, one_hot

#: "abc"/"axc" share a hash slot (same length, first and last byte); "" and "é" are edge cases.
WORDS = ("abc", "axc", "", "é", "Can't Lose Them", "25-50k")


def _expected(values: list, lists: bool) -> np.ndarray:
    out = np.zeros((len(values), len(WORDS)), dtype=np.float32)
    for row, value in enumerate(values):
        for item in (value or []) if lists else [value]:
            if item in WORDS:
                out[row, WORDS.index(item)] = 1.0
    return out


def _encoded(column: pa.Array) -> np.ndarray:
    out = np.zeros((len(column), len(WORDS) + 2), dtype=np.float32, order="F")
    assert one_hot(column, Vocabulary(WORDS), out, 1)
    assert not out[:, 0].any() and not out[:, -1].any()  # only its own columns are written
    return out[:, 1:-1]


def test_strings_with_nulls_collisions_and_unknown_values():
    rng = np.random.default_rng(4)
    pool = list(WORDS) + ["abd", "ab", "ABC", "é ", None, "zzz"]
    values = [pool[i] for i in rng.integers(0, len(pool), 500)]
    column = pa.array(values, pa.string())
    assert np.array_equal(_encoded(column), _expected(values, lists=False))
    assert np.array_equal(_encoded(column.slice(37, 101)), _expected(values[37:138], lists=False))
    codes = pc.index_in(column, value_set=pa.array(WORDS)).fill_null(-1).to_numpy(zero_copy_only=False)
    assert np.array_equal(_encoded(column).argmax(axis=1)[codes >= 0], codes[codes >= 0])


def test_tag_lists_with_null_lists_null_tags_and_slices():
    values = [["abc", "é"], None, [], ["axc", None, "nope"], ["", "25-50k", "abc"]] * 20
    column = pa.array(values, pa.list_(pa.string()))
    assert np.array_equal(_encoded(column), _expected(values, lists=True))
    assert np.array_equal(_encoded(column.slice(3, 50)), _expected(values[3:53], lists=True))


def test_layouts_it_does_not_read_are_left_to_arrow():
    out = np.zeros((2, len(WORDS)), dtype=np.float32)
    assert not one_hot(pa.array(["abc", "x"], pa.large_string()), Vocabulary(WORDS), out, 0)
    assert not out.any()
