"""A compiled tree-ensemble evaluator: the XGBoost model as flat arrays and numba kernels.

:class:`Forest` turns the booster into *complete* trees of the model's depth, stored as arrays,
and scores a batch with a kernel compiled by numba. Side by side on one core with the committed
model (360 trees of depth 3, ``benchmarks/scoring.py``): XGBoost's own predictor ~200,000
customers/s, this 5,000,000 to 6,500,000 on a ready matrix.

* every tree is padded to full depth: a leaf above the bottom becomes a split that always goes
  left (threshold NaN: ``x >= NaN`` is false), its value copied to the leftmost leaf below it;
* missing values are resolved without a branch: the kernels read a doubled block in which each
  feature appears twice, NaN replaced by -inf (missing goes left) and by +inf (missing goes
  right), and each split reads the copy matching its default direction;
* rows are scored in blocks of :data:`BLOCK`, tree by tree, and every loop over a block is
  branch-free over contiguous floats, so the compiler vectorises it. Trees of depth <= 3 (the
  model ``c360 train`` fits; shallower ones are padded to 3) go through :func:`_score3`, which
  evaluates all seven splits of a tree and picks the leaf with seven selects held in registers;
  deeper trees through :func:`_score`, which walks each level with byte positions.

Exactness: XGBoost compares the feature rounded to float32 with a float32 threshold (``x <
threshold`` goes left) and adds the leaves, in float32, in tree order, to the base margin. The
kernels do the same comparisons and the same additions in the same order, so their margins are
XGBoost's, bit for bit (tested).
"""

from __future__ import annotations

import json
import threading

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

#: Rows scored together, tree by tree (their doubled features, 104 x 512 x 4 bytes, stay in L2).
BLOCK = 512
#: Leaf positions are bytes.
MAX_DEPTH = 8
#: Trees up to this depth are padded to it and scored by the unrolled kernel.
UNROLLED_DEPTH = 3


class Forest:
    """The trees of a gradient-boosted model as arrays, and :meth:`margins` to score a batch."""

    def __init__(self, feature: np.ndarray, threshold: np.ndarray, leaf: np.ndarray, group: np.ndarray,
                 base: np.ndarray, depth: int, features: int):
        self.feature, self.threshold, self.leaf, self.group = feature, threshold, leaf, group
        self.base, self.depth, self.features = base, depth, features
        self._scratch = threading.local()  # each thread's doubled block (the kernels run without the GIL)

    @classmethod
    def from_booster(cls, booster) -> "Forest":
        """Compile an ``xgboost.Booster`` (gbtree, numeric splits) into arrays."""
        model = json.loads(booster.save_raw(raw_format="json"))
        learner = model["learner"]
        booster_model = learner["gradient_booster"]["model"]
        groups = int(learner["learner_model_param"].get("num_class") or 0) or 1
        features = int(learner["learner_model_param"]["num_feature"])
        base = base_margins(booster, groups).astype(np.float32)
        trees = booster_model["trees"]
        depth = max((_depth(tree) for tree in trees), default=0)
        if depth > MAX_DEPTH:
            raise ValueError(f"the compiled scorer handles trees up to depth {MAX_DEPTH}; this model has depth {depth}")
        depth = max(depth, UNROLLED_DEPTH) if depth <= UNROLLED_DEPTH else depth
        internal, leaves = 2 ** depth - 1, 2 ** depth
        feature = np.zeros((len(trees), internal), dtype=np.int32)
        threshold = np.full((len(trees), internal), np.nan, dtype=np.float32)
        leaf = np.zeros((len(trees), leaves), dtype=np.float32)
        for t, tree in enumerate(trees):
            _place(tree, 0, 0, 0, depth, feature[t], threshold[t], leaf[t])
        group = np.asarray(booster_model.get("tree_info") or [0] * len(trees), dtype=np.int32)
        return cls(feature, threshold, leaf, group, base, depth, features)

    def columns_read(self) -> set[int]:
        """The matrix columns some split compares (padding splits read nothing)."""
        return {int(f) // 2 for f, cut in zip(self.feature.ravel(), self.threshold.ravel()) if not np.isnan(cut)}

    def margins(self, matrix: np.ndarray) -> np.ndarray:
        """Raw scores (rows x groups, float32, XGBoost's own) of a matrix of the model's columns (NaN: missing).

        Either layout is read; a column-major float32 matrix (what :func:`c360.model.matrix.matrix`
        builds) without a copy."""
        return self.margins_by_group(self._columns(matrix)).T

    def margins_by_group(self, columns: np.ndarray) -> np.ndarray:
        """:meth:`margins` transposed, of the transposed matrix: ``columns`` is C-contiguous float32, one
        row per model column, and so is the answer, one row per output group (the scorer's layout)."""
        out = np.empty((len(self.base), columns.shape[1]), dtype=np.float32)
        doubled = getattr(self._scratch, "doubled", None)
        if doubled is None:
            doubled = self._scratch.doubled = np.empty((2 * self.features, BLOCK), dtype=np.float32)
        if self.depth == UNROLLED_DEPTH:
            _score3(columns, self.feature, self.threshold, self.leaf, self.group, self.base, doubled, out)
        else:
            _score(columns, self.feature, self.threshold, self.leaf, self.group, self.depth, self.base, doubled, out)
        return out

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        """Softmax of :meth:`margins` in float64 (what ``multi:softprob`` predicts), rows x classes."""
        return softmax(self.margins_by_group(self._columns(matrix))).T

    def _columns(self, matrix: np.ndarray) -> np.ndarray:
        """``matrix`` (rows x the model's columns, either layout) as C-contiguous float32 columns x rows."""
        matrix = np.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[1] != self.features:
            raise ValueError(f"expected a matrix with {self.features} columns, got shape {matrix.shape}")
        return np.ascontiguousarray(matrix.T, dtype=np.float32)


@numba.njit(cache=True, nogil=True)
def softmax(margins):  # pragma: no cover - compiled
    """Class probabilities (float64, classes x rows) of margins (classes x rows, the layout
    :meth:`Forest.margins_by_group` gives). Every loop runs over rows, so it is vectorised."""
    classes, rows = margins.shape
    top = np.empty(rows, dtype=np.float64)
    top[:] = margins[0]
    for k in range(1, classes):
        for r in range(rows):
            top[r] = max(top[r], np.float64(margins[k, r]))
    out = np.empty((classes, rows), dtype=np.float64)
    total = np.zeros(rows, dtype=np.float64)
    for k in range(classes):
        for r in range(rows):
            out[k, r] = _exp(np.float64(margins[k, r]) - top[r])
            total[r] += out[k, r]
    for k in range(classes):
        for r in range(rows):
            out[k, r] /= total[r]
    return out


@numba.njit(cache=True, nogil=True)
def softmax_against_first(margins):  # pragma: no cover - compiled
    """:func:`softmax` read against the first class (the scorer's "no purchase"): per row
    1 - P(first class), the other classes' probabilities row after row (flat, rows x (classes - 1)),
    and the position among the others (from 1, as SQL lists count) of the most likely one (the
    first on a tie)."""
    probabilities = softmax(margins)
    classes, rows = probabilities.shape
    p_any = np.empty(rows, dtype=np.float64)
    for r in range(rows):
        p_any[r] = 1.0 - probabilities[0, r]
    category_p = np.empty(rows * (classes - 1), dtype=np.float64)
    best = np.ones(rows, dtype=np.int16)
    most = np.empty(rows, dtype=np.float64)
    most[:] = probabilities[1]
    for k in range(1, classes):
        for r in range(rows):
            category_p[r * (classes - 1) + k - 1] = probabilities[k, r]
            better = probabilities[k, r] > most[r]
            best[r] = k if better else best[r]
            most[r] = probabilities[k, r] if better else most[r]
    return p_any, category_p, best


@intrinsic
def _float_bits(typingctx, bits):
    """The float64 whose IEEE-754 bits are the int64 ``bits``."""
    signature = types.float64(types.int64)

    def codegen(context, builder, signature, arguments):
        return builder.bitcast(arguments[0], ir.DoubleType())

    return signature, codegen


_LN2_HIGH, _LN2_LOW = 6.93147180369123816490e-01, 1.90821492927058770002e-10


@numba.njit(cache=True, nogil=True, inline="always")
def _exp(x):  # pragma: no cover - compiled
    """exp(x) for x <= 0 within 2 ulp (x below -708 counts as -708), without a libm call, so loops over it vectorise:
    x = n ln2 + r with |r| <= ln2 / 2, e**r by its Taylor series to r**13 / 13!, times 2**n."""
    x = max(x, -708.0)
    n = np.floor(x * 1.4426950408889634 + 0.5)
    r = (x - n * _LN2_HIGH) - n * _LN2_LOW
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _float_bits((np.int64(n) + 1023) << 52)


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
        value = np.float32(tree["base_weights"][node])
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
def _double(columns, start, width, doubled):  # pragma: no cover - compiled
    """Rows ``start:start+width`` of every feature, twice: NaN as -inf (row 2c), and as +inf (row 2c+1)."""
    low, high = np.float32(-np.inf), np.float32(np.inf)
    for c in range(columns.shape[0]):
        source, left, right = columns[c, start:start + width], doubled[2 * c], doubled[2 * c + 1]
        for r in range(width):
            value = source[r]
            missing = np.isnan(value)
            left[r] = low if missing else value
            right[r] = high if missing else value


@numba.njit(cache=True, nogil=True)
def _score3(columns, feature, threshold, leaf, group, base, doubled, out):  # pragma: no cover - compiled
    """Margins of complete depth-3 trees: seven comparisons, seven selects and one addition per row and tree.

    Every block is scored whole (rows past the batch's end read stale values and are dropped), so the
    inner loop has a constant trip count and a block-local accumulator."""
    rows = columns.shape[1]
    total = np.empty((out.shape[0], BLOCK), dtype=np.float32)
    for start in range(0, rows, BLOCK):
        width = min(BLOCK, rows - start)
        _double(columns, start, width, doubled)
        for g in range(out.shape[0]):
            total[g, :] = base[g]
        for t in range(feature.shape[0]):
            f, cut, value = feature[t], threshold[t], leaf[t]
            x0, x1, x2, x3 = doubled[f[0]], doubled[f[1]], doubled[f[2]], doubled[f[3]]
            x4, x5, x6 = doubled[f[4]], doubled[f[5]], doubled[f[6]]
            t0, t1, t2, t3, t4, t5, t6 = cut[0], cut[1], cut[2], cut[3], cut[4], cut[5], cut[6]
            v0, v1, v2, v3 = value[0], value[1], value[2], value[3]
            v4, v5, v6, v7 = value[4], value[5], value[6], value[7]
            sums = total[group[t]]
            for r in range(BLOCK):
                s3 = v1 if x3[r] >= t3 else v0
                s4 = v3 if x4[r] >= t4 else v2
                s5 = v5 if x5[r] >= t5 else v4
                s6 = v7 if x6[r] >= t6 else v6
                s1 = s4 if x1[r] >= t1 else s3
                s2 = s6 if x2[r] >= t2 else s5
                sums[r] += s2 if x0[r] >= t0 else s1
        for g in range(out.shape[0]):
            out[g, start:start + width] = total[g, :width]


@numba.njit(cache=True, nogil=True)
def _score(columns, feature, threshold, leaf, group, depth, base, doubled, out):  # pragma: no cover - compiled
    """Margins of complete trees of any depth up to 8: each level's splits move byte positions."""
    rows = columns.shape[1]
    position = np.empty(BLOCK, dtype=np.uint8)
    right = np.empty(BLOCK, dtype=np.uint8)
    for start in range(0, rows, BLOCK):
        width = min(BLOCK, rows - start)
        _double(columns, start, width, doubled)
        for g in range(out.shape[0]):
            out[g, start:start + width] = base[g]
        for t in range(feature.shape[0]):
            position[:width] = 0
            for level in range(depth):
                first = 2 ** level - 1
                right[:width] = 0
                for j in range(2 ** level):
                    column = doubled[feature[t, first + j]]
                    cut = threshold[t, first + j]
                    for r in range(width):
                        right[r] |= np.uint8(position[r] == j) & np.uint8(column[r] >= cut)
                for r in range(width):
                    position[r] = np.uint8(2) * position[r] + right[r]
            values, total = leaf[t], out[group[t], start:start + width]
            for r in range(width):
                total[r] += values[position[r]]
