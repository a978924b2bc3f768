"""A compiled tree-ensemble evaluator: the XGBoost model as flat arrays and one numba kernel.

XGBoost's own predictor scores ~240,000 customers/s on one core with the committed model (360
trees, a ready matrix); this kernel ~2,200,000 (``benchmarks/scoring.py``). :class:`Forest` turns the booster into *complete* trees of
the model's depth, stored as arrays, and scores a batch with a kernel compiled by numba:

* every tree is padded to full depth: a leaf above the bottom becomes a split that always goes
  left (threshold NaN), its value copied to the leftmost leaf below it, so a row takes exactly
  ``depth`` steps and the leaf index is ``2 * node + 1 + went_right`` arithmetic, no branches;
* missing values are resolved without a branch: the kernel reads a doubled row in which each
  feature appears twice, NaN replaced by -inf (missing goes left) and by +inf (missing goes
  right), and each split reads the copy matching its default direction;
* rows are scored in blocks of :data:`BLOCK`, tree by tree, and every loop over a block is
  branch-free over contiguous bytes, so the compiler vectorises it: at each level, each split
  of the level compares its column with its threshold for the whole block and keeps the answer
  of the rows whose position is that split's; positions are bytes (so trees of depth <= 8).

Exactness: XGBoost compares the feature rounded to float32 with a float32 threshold (``x <
threshold`` goes left); the kernel does the same comparison on the same float32 values, so
every row reaches the leaf XGBoost reaches. Leaves are summed in float64 (XGBoost sums in
float32), so margins agree to ~1e-6.
"""

from __future__ import annotations

import json

import numba
import numpy as np

#: Rows scored together, tree by tree (their doubled features, 512 x 104 x 4 bytes, stay in L2).
BLOCK = 512
#: Leaf positions are bytes.
MAX_DEPTH = 8


class Forest:
    """The trees of a gradient-boosted model as arrays, and :meth:`margins` to score a batch."""

    def __init__(self, feature: np.ndarray, threshold: np.ndarray, leaf: np.ndarray, group: np.ndarray,
                 base: np.ndarray, depth: int, features: int):
        self.feature, self.threshold, self.leaf, self.group = feature, threshold, leaf, group
        self.base, self.depth, self.features = base, depth, features

    @classmethod
    def from_booster(cls, booster) -> "Forest":
        """Compile an ``xgboost.Booster`` (gbtree, numeric splits) into arrays."""
        model = json.loads(booster.save_raw(raw_format="json"))
        learner = model["learner"]
        booster_model = learner["gradient_booster"]["model"]
        groups = int(learner["learner_model_param"].get("num_class") or 0) or 1
        features = int(learner["learner_model_param"]["num_feature"])
        base = base_margins(booster, groups)
        trees = booster_model["trees"]
        depth = max(_depth(tree) for tree in trees) if trees else 0
        depth = max(depth, 1)
        if depth > MAX_DEPTH:
            raise ValueError(f"the compiled scorer handles trees up to depth {MAX_DEPTH}; this model has depth {depth}")
        internal, leaves = 2 ** depth - 1, 2 ** depth
        feature = np.zeros((len(trees), internal), dtype=np.int32)
        threshold = np.full((len(trees), internal), np.nan, dtype=np.float32)
        leaf = np.zeros((len(trees), leaves), dtype=np.float64)
        for t, tree in enumerate(trees):
            _place(tree, 0, 0, 0, depth, feature[t], threshold[t], leaf[t])
        group = np.asarray(booster_model.get("tree_info") or [0] * len(trees), dtype=np.int32)
        return cls(feature, threshold, leaf, group, base, depth, features)

    def margins(self, matrix: np.ndarray) -> np.ndarray:
        """Raw scores (rows x groups, float64) of a float32 matrix of the model's columns (NaN: missing)."""
        matrix = np.asarray(matrix, dtype=np.float32)  # either layout: the kernel copies a block at a time
        if matrix.ndim != 2 or matrix.shape[1] != self.features:
            raise ValueError(f"expected a matrix with {self.features} columns, got shape {matrix.shape}")
        out = np.empty((matrix.shape[0], len(self.base)), dtype=np.float64)
        out[:] = self.base
        _score(matrix, self.feature, self.threshold, self.leaf, self.group, self.depth, out)
        return out

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        """Softmax of :meth:`margins` (what ``multi:softprob`` predicts), rows x classes."""
        margins = self.margins(matrix)
        _softmax(margins)
        return margins


@numba.njit(cache=True, nogil=True)
def _softmax(margins):  # pragma: no cover - compiled
    rows, classes = margins.shape
    for r in range(rows):
        top = margins[r, 0]
        for k in range(1, classes):
            top = max(top, margins[r, k])
        total = 0.0
        for k in range(classes):
            margins[r, k] = np.exp(margins[r, k] - top)
            total += margins[r, k]
        for k in range(classes):
            margins[r, k] /= total


def base_margins(booster, groups: int) -> np.ndarray:
    """The model's starting margin per output group (XGBoost's ``base_score``, already a margin for softprob)."""
    config = json.loads(booster.save_config())
    text = config["learner"]["learner_model_param"]["base_score"].strip("[]")
    values = [float(v) for v in text.split(",") if v.strip()]
    return np.asarray(values if len(values) == groups else values[:1] * groups, dtype=np.float64)


def _depth(tree: dict, node: int = 0) -> int:
    left, right = tree["left_children"][node], tree["right_children"][node]
    if left == -1:
        return 0
    return 1 + max(_depth(tree, left), _depth(tree, right))


def _place(tree: dict, node: int, slot: int, level: int, depth: int, feature, threshold, leaf) -> None:
    """Copy ``tree``'s subtree at ``node`` into the complete tree at ``slot`` (breadth-first numbering)."""
    left, right = tree["left_children"][node], tree["right_children"][node]
    internal = 2 ** depth - 1
    if left == -1:
        value = float(tree["base_weights"][node])
        while level < depth:  # pad: always go left (x >= NaN is false) down to the bottom
            feature[slot], threshold[slot] = 0, np.nan
            slot, level = 2 * slot + 1, level + 1
        leaf[slot - internal] = value
        return
    if tree["split_type"][node] if "split_type" in tree else 0:
        raise ValueError("categorical splits are not supported by the compiled scorer")
    index = int(tree["split_indices"][node])
    default_right = 0 if tree["default_left"][node] else 1
    feature[slot] = 2 * index + default_right
    threshold[slot] = np.float32(tree["split_conditions"][node])
    _place(tree, left, 2 * slot + 1, level + 1, depth, feature, threshold, leaf)
    _place(tree, right, 2 * slot + 2, level + 1, depth, feature, threshold, leaf)


@numba.njit(cache=True, nogil=True)
def _score(matrix, feature, threshold, leaf, group, depth, out):  # pragma: no cover - compiled
    rows, columns = matrix.shape
    trees, internal = feature.shape
    doubled = np.empty((2 * columns, BLOCK), dtype=np.float32)  # column-major: each split reads a vector
    position = np.empty(BLOCK, dtype=np.uint8)
    right = np.empty(BLOCK, dtype=np.uint8)
    groups = out.shape[1]
    total = np.empty((groups, BLOCK), dtype=np.float64)
    low, high = np.float32(-np.inf), np.float32(np.inf)
    for start in range(0, rows, BLOCK):
        width = min(BLOCK, rows - start)
        for c in range(columns):
            for r in range(width):
                value = matrix[start + r, c]
                missing = value != value
                doubled[2 * c, r] = low if missing else value
                doubled[2 * c + 1, r] = high if missing else value
        for r in range(width, BLOCK):
            for c in range(2 * columns):
                doubled[c, r] = 0
        total[:] = 0
        for t in range(trees):
            position[:] = 0
            for level in range(depth):
                first = 2 ** level - 1
                right[:] = 0
                for j in range(2 ** level):
                    column = doubled[feature[t, first + j]]
                    cut = threshold[t, first + j]
                    for r in range(BLOCK):
                        right[r] |= np.uint8(position[r] == j) & np.uint8(column[r] >= cut)
                for r in range(BLOCK):
                    position[r] = np.uint8(2) * position[r] + right[r]
            values, sums = leaf[t], total[group[t]]
            for r in range(BLOCK):
                sums[r] += values[position[r]]
        for g in range(groups):
            for r in range(width):
                out[start + r, g] += total[g, r]
