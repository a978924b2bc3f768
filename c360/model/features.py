"""The model's inputs: columns of ``customer_360``, checked and turned into one float32 matrix.

A feature is named after the ``customer_360`` column it reads, with a kind:

* ``number``: any numeric column (integer, decimal, floating); NULL stays missing (NaN), which
  XGBoost routes down each tree's default branch;
* ``year``: a DATE column, read as its year (``birth_date``: the age, up to the cutoff's year);
* ``category``: a string column, one-hot encoded over a vocabulary fixed at training;
* ``tags``: a list of strings, multi-hot encoded over a vocabulary fixed at training.

Training and scoring go through the same :func:`matrix`, so the model never sees a feature
computed two ways. :func:`check_inputs` is what refuses a missing feature or one of the wrong
type, naming it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from c360.errors import ProgrammingError

NUMBER, YEAR, CATEGORY, TAGS = "number", "year", "category", "tags"

#: What the model reads from customer_360, in order (name, kind).
INPUTS: tuple[tuple[str, str], ...] = (
    ("recency_days", NUMBER),
    ("frequency", NUMBER),
    ("monetary", NUMBER),
    ("r_score", NUMBER),
    ("f_score", NUMBER),
    ("m_score", NUMBER),
    ("segment", CATEGORY),
    ("browse_seconds_1d", NUMBER),
    ("browse_seconds_7d", NUMBER),
    ("browse_seconds_30d", NUMBER),
    ("page_views_7d", NUMBER),
    ("page_views_30d", NUMBER),
    ("browsed_categories_30d", NUMBER),
    ("top_browsed_category_30d", CATEGORY),
    ("spend_10d", NUMBER),
    ("spend_30d", NUMBER),
    ("spend_60d", NUMBER),
    ("spend_365d", NUMBER),
    ("purchased_categories_365d", NUMBER),
    ("top_purchased_category_365d", CATEGORY),
    ("days_since_last_purchase", NUMBER),
    ("avg_basket_365d", NUMBER),
    ("income_band", CATEGORY),
    ("gender", CATEGORY),
    ("birth_date", YEAR),
    ("household_size", NUMBER),
    ("social_sentiment", NUMBER),
    ("survey_nps", NUMBER),
    ("interests", TAGS),
)


@dataclass(frozen=True)
class Feature:
    """One input column: its name, kind and (for category/tags) vocabulary."""

    name: str
    kind: str
    vocabulary: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        """How many matrix columns the feature becomes (``len(columns())`` without building the names)."""
        return 1 if self.kind in (NUMBER, YEAR) else len(self.vocabulary)

    def columns(self) -> list[str]:
        """The matrix columns this feature becomes, in order."""
        if self.kind in (NUMBER, YEAR):
            return [self.name]
        return [f"{self.name}={_safe(value)}" for value in self.vocabulary]

    def to_json(self) -> dict:
        out = {"name": self.name, "kind": self.kind}
        if self.kind not in (NUMBER, YEAR):
            out["vocabulary"] = list(self.vocabulary)
        return out

    @classmethod
    def from_json(cls, data: dict) -> "Feature":
        return cls(data["name"], data["kind"], tuple(data.get("vocabulary", ())))


def _safe(value: str) -> str:
    """A vocabulary value as XGBoost accepts it in a feature name (no ``[``, ``]`` or ``<``)."""
    return value.replace("<", "lt ").replace("[", "(").replace("]", ")")


def kind_accepts(kind: str, arrow_type: pa.DataType) -> bool:
    """Whether a column of ``arrow_type`` can feed a feature of ``kind`` (all-NULL always can)."""
    if pa.types.is_null(arrow_type):
        return True
    if kind == NUMBER:
        return pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type)
    if kind == YEAR:
        return pa.types.is_date(arrow_type) or pa.types.is_timestamp(arrow_type)
    if kind == CATEGORY:
        return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
    if kind == TAGS:
        return (pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type)) and kind_accepts(
            CATEGORY, arrow_type.value_type)
    return False


def check_inputs(features: list[Feature], fields: dict[str, pa.DataType], *, model: str = "the model",
                 optional: frozenset = frozenset()) -> None:
    """Refuse inputs that do not match the model's features, listing every difference.

    ``fields`` maps the given column names to their Arrow types. Missing features (but those in
    ``optional``: features no tree reads), features of the wrong type and unexpected extra columns
    are all named in one :class:`ProgrammingError`.
    """
    wanted = {f.name: f for f in features}
    missing = [name for name in wanted if name not in fields and name not in optional]
    wrong = [f"{name} (model: {wanted[name].kind}, given: {fields[name]})"
             for name in wanted if name in fields and not kind_accepts(wanted[name].kind, fields[name])]
    extra = [name for name in fields if name not in wanted]
    problems = []
    if missing:
        problems.append("missing feature(s): " + ", ".join(missing))
    if wrong:
        problems.append("wrong type: " + ", ".join(wrong))
    if extra:
        problems.append("not in the model card: " + ", ".join(extra))
    if problems:
        raise ProgrammingError(f"{model} does not match its input features; " + "; ".join(problems))


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
    from c360.model import encode  # numba: imported only when something is encoded

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
    from c360.model.encode import Layout

    for known_type, known_features, known_unread, layout in _LAYOUTS:
        if known_features == features and known_unread == unread and known_type == struct_type:
            return layout
    layout = Layout(struct_type, features, unread)
    _LAYOUTS.insert(0, (struct_type, features, unread, layout))
    del _LAYOUTS[16:]
    return layout


@functools.lru_cache(maxsize=None)
def _lookup(words: tuple[str, ...]) -> pc.SetLookupOptions:
    """The vocabulary as Arrow's lookup options, built once per vocabulary."""
    return pc.SetLookupOptions(pa.array(words, pa.string()))


def features_read(features: list[Feature], read: set[int]) -> list[Feature]:
    """The features at least one of whose matrix columns (by position) is in ``read``."""
    out, at = [], 0
    for feature in features:
        if any(column in read for column in range(at, at + feature.width)):
            out.append(feature)
        at += feature.width
    return out


def columns(features: list[Feature]) -> list[str]:
    """All matrix column names, in order."""
    return [name for feature in features for name in feature.columns()]
