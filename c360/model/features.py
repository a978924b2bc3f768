"""The model's inputs: columns of ``customer_360``, their kinds, and the check that refuses wrong ones.

A feature is named after the ``customer_360`` column it reads, with a kind:

* ``number``: any numeric column (integer, decimal, floating); NULL stays missing (NaN), which
  XGBoost routes down each tree's default branch;
* ``year``: a DATE column, read as its year (``birth_date``: the age, up to the cutoff's year);
* ``category``: a string column, one-hot encoded over a vocabulary fixed at training;
* ``tags``: a list of strings, multi-hot encoded over a vocabulary fixed at training.

Training and scoring turn features into numbers through the same
:func:`c360.model.matrix.matrix`, so the model never sees a feature computed two ways.
:func:`check_inputs` is what refuses a missing feature or one of the wrong type, naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

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
    ("days_since_first_order", NUMBER),
    ("days_since_signup", NUMBER),
    ("mean_days_between_orders", NUMBER),
    ("days_between_last_orders", NUMBER),
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
