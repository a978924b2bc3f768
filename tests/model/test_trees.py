"""The compiled tree evaluator gives XGBoost's margins, whatever the trees' shapes and missing values."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import xgboost as xgb

from c360.model.features import CATEGORY, NUMBER, TAGS, YEAR, Feature
from c360.model.matrix import matrix
from c360.model.trees import MAX_DEPTH, UNROLLED_DEPTH, Forest


def _data(rows: int, columns: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, columns)).astype(np.float32)
    x[rng.random((rows, columns)) < 0.25] = np.nan  # missing values take each split's default branch
    x[:, 0] = np.round(x[:, 0])  # ties exactly at thresholds
    y = (np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 1]) > 0).astype(int) + (np.isnan(x[:, 2])).astype(int)
    return x, y


@pytest.mark.parametrize("depth, rounds", [(1, 5), (3, 20), (6, 15)])
def test_margins_are_xgboosts_bit_for_bit_for_multiclass_models_of_any_depth(depth, rounds):
    x, y = _data(3000, 7, seed=depth)
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": depth, "eta": 0.3,
                         "nthread": 1}, xgb.DMatrix(x, label=y), num_boost_round=rounds)
    forest = Forest.from_booster(booster)
    assert forest.depth == max(depth, UNROLLED_DEPTH)  # shallow trees are padded for the unrolled kernel
    expected = booster.inplace_predict(x, predict_type="margin").reshape(len(x), 3)
    assert np.array_equal(forest.margins(x), expected)  # bit for bit: same float32 sums in the same order
    assert np.array_equal(forest.margins(np.asfortranarray(x)), expected)  # either layout
    probabilities = forest.probabilities(x)
    assert np.abs(probabilities - booster.inplace_predict(x).reshape(len(x), 3)).max() < 1e-6


def test_trees_with_leaves_above_the_bottom_are_padded_without_changing_a_score():
    x, y = _data(400, 3, seed=9)  # few rows: min_child_weight stops some branches early
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 5, "min_child_weight": 20,
                         "nthread": 1}, xgb.DMatrix(x, label=y), num_boost_round=10)
    shapes = {len(tree["left_children"]) for tree in _trees(booster)}
    assert min(shapes) < 2 ** 6 - 1  # some tree is not complete
    expected = booster.inplace_predict(x, predict_type="margin").reshape(len(x), 3)
    assert np.array_equal(Forest.from_booster(booster).margins(x), expected)


def test_a_model_deeper_than_the_kernel_handles_is_refused():
    x, _ = _data(5000, 6, seed=3)
    noise = np.random.default_rng(3).integers(0, 2, len(x))  # random labels: only deep trees fit them
    booster = xgb.train({"objective": "binary:logistic", "max_depth": MAX_DEPTH + 2, "min_child_weight": 0,
                         "nthread": 1}, xgb.DMatrix(x, label=noise), num_boost_round=2)
    with pytest.raises(ValueError, match=f"up to depth {MAX_DEPTH}"):
        Forest.from_booster(booster)


def test_a_wrong_number_of_columns_is_refused():
    x, y = _data(100, 4, seed=1)
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "nthread": 1}, xgb.DMatrix(x, label=y), 2)
    with pytest.raises(ValueError, match="4 columns"):
        Forest.from_booster(booster).margins(x[:, :3])


def _trees(booster):
    import json

    return json.loads(booster.save_raw(raw_format="json"))["learner"]["gradient_booster"]["model"]["trees"]


def test_the_feature_matrix_reads_every_arrow_layout_the_udf_receives():
    features = [Feature("n", NUMBER), Feature("d", NUMBER), Feature("i", NUMBER), Feature("y", YEAR),
                Feature("c", CATEGORY, ("a", "b")), Feature("t", TAGS, ("x", "y"))]
    table = pa.table({
        "n": pa.array([1.5, None, 3.0, 4.0]),
        "d": pa.array([None, 2, 3, 4], pa.decimal128(10, 2)),
        "i": pa.array([7, 8, None, 10], pa.int32()),
        "y": pa.array([None, 0, 365, 3650], pa.int32()).cast(pa.date32()),
        "c": pa.array(["a", None, "b", "zzz"]),
        "t": pa.array([["y"], None, ["x", "y", "w"], []], pa.list_(pa.string())),
    })
    expected = np.array([
        [1.5, np.nan, 7, np.nan, 1, 0, 0, 1],
        [np.nan, 2, 8, 1970, 0, 0, 0, 0],
        [3, 3, np.nan, 1971, 0, 1, 1, 1],
        [4, 4, 10, 1979, 0, 0, 0, 0],
    ], dtype=np.float32)
    assert np.array_equal(matrix(table, features), expected, equal_nan=True)
    struct = pa.StructArray.from_arrays([column.combine_chunks() for column in table.columns],
                                        names=table.column_names)
    assert np.array_equal(matrix(struct.slice(1, 3), features), expected[1:], equal_nan=True)  # offsets
