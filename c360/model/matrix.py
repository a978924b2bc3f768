"""Features into one float32 matrix: what training and the scorer both feed the trees.

Numbers become float32 with NULL as NaN, years the year of the date, categories and tags 0/1
indicator columns over their vocabulary (NULL or a value outside it: all zeros). The usual Arrow
layouts are read in one compiled pass (:mod:`c360.model.encode`, imported on the first matrix
because numba takes a moment to import); the others through Arrow compute here.
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa

from c360.model.features import CATEGORY, NUMBER, YEAR, Feature


def matrix(data, features: list[Feature], *, out: np.ndarray | None = None,
           unread: frozenset = frozenset()) -> np.ndarray:
    """A float32 matrix (rows x sum of each feature's columns) from a table or struct array.

    Numbers become float32 with NULL as NaN; years the year of the date; categories and tags
    0/1 indicator columns (NULL or a value outside the vocabulary: all zeros). The matrix is
    column-major, so each feature's columns are contiguous (the tree kernels read it without a
    copy). The usual layouts are read in one compiled pass by :mod:`c360.model.encode`; others
    (timestamps, string views, dictionaries, ...) through Arrow compute. ``unread`` names features
    left missing whether or not ``data`` has them (features no tree reads); ``out`` is a
    column-major float32 array of the right shape to fill instead of a new one (the scorer reuses
    one per thread: a fresh 400 kB array costs more in page faults than filling it).
    """
    struct = data if isinstance(data, pa.StructArray) else pa.StructArray.from_arrays(
        [column.combine_chunks() for column in data.columns], names=data.column_names)
    return fill(struct, _layout(struct.type, tuple(features), unread), out=out)


def fill(struct: pa.StructArray, layout, *, out: np.ndarray | None = None) -> np.ndarray:
    """:func:`matrix` with the struct's :class:`c360.model.encode.Layout` at hand (the scorer keeps one
    per input type instead of looking it up every batch)."""
    from c360.model import encode  # numba takes a moment to import: only when something is encoded

    rows = len(struct)
    if out is None:
        out = np.empty((rows, layout.columns), dtype=np.float32, order="F")
    if not rows:
        return out
    encode.decode(struct, layout, out.T)
    for feature, child, at in layout.arrow:
        _arrow_columns(struct.field(child), feature, out, at)
    return out


def _arrow_columns(column: pa.Array, feature: Feature, out: np.ndarray, at: int) -> None:
    """A feature's columns from a layout the compiled pass does not read, through Arrow compute."""
    import pyarrow.compute as pc  # here, not at import: every engine imports the scorer module

    if feature.kind in (NUMBER, YEAR):
        values = pc.year(column) if feature.kind == YEAR else column
        out[:, at] = pc.cast(values, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    elif feature.kind == CATEGORY:
        strings = column if pa.types.is_string(column.type) else column.cast(pa.string())  # views, dictionaries
        codes = pc.index_in(strings, options=_lookup(feature.vocabulary)).fill_null(-1).to_numpy(zero_copy_only=False)
        hit = np.flatnonzero(codes >= 0)
        out[hit, at + codes[hit]] = 1.0
    else:
        lists = column.cast(pa.list_(pa.string())) if not pa.types.is_list(column.type) else column
        parents = pc.list_parent_indices(lists).to_numpy()
        codes = pc.index_in(pc.list_flatten(lists), options=_lookup(feature.vocabulary)).fill_null(-1).to_numpy()
        hit = codes >= 0
        out[parents[hit], at + codes[hit]] = 1.0


_LAYOUTS: list = []


def _layout(struct_type: pa.StructType, features: tuple[Feature, ...], unread: frozenset = frozenset()):
    """The compiled pass's layout for this input type (built once; a batch's type is compared, not hashed)."""
    from c360.model.encode import Layout  # numba, as in fill()

    for known_type, known_features, known_unread, layout in _LAYOUTS:
        if known_features == features and known_unread == unread and known_type == struct_type:
            return layout
    layout = Layout(struct_type, features, unread)
    _LAYOUTS.insert(0, (struct_type, features, unread, layout))
    del _LAYOUTS[16:]
    return layout


@functools.lru_cache(maxsize=None)
def _lookup(words: tuple[str, ...]):
    """The vocabulary as Arrow's lookup options, built once per vocabulary."""
    import pyarrow.compute as pc

    return pc.SetLookupOptions(pa.array(words, pa.string()))
