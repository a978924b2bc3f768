"""The prediction columns of ``customer_360``, generated from the model card around the view.

The hand-written view (the *base*) stays verbatim; the generator wraps it in two layers::

    SELECT scored.* EXCLUDE (c360_prediction),
           scored.c360_prediction.p_purchase_30d AS p_purchase_30d, ...   -- p_purchase_<horizon>d
    FROM (
        SELECT base.*, c360_predict(struct_pack(recency_days := base.recency_days, ...)) AS c360_prediction
        FROM (
            <the base view>
        ) AS base
    ) AS scored

The scorer is called once per row (one struct, one call, whatever number of prediction columns
a query asks for), its features are the base's own output columns (a feature is named after the
``customer_360`` column it reads; features no tree splits on are left out, so DuckDB neither
computes nor converts them), and DuckDB drops the call entirely when no prediction column
is referenced. Filters on the base's columns are applied below the call, so only the rows that
survive them are scored.
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlglot

from c360.errors import ProgrammingError
from c360.model.scorer import FUNCTION, PREDICTION

MARKER = "-- predictions of models/ (virtual: computed only when referenced); regenerate with `c360 model view-columns`"
BASE_BEGIN = "-- the view without predictions (edit this part) --"
BASE_END = "-- end of the view without predictions --"


def purchase_column(card) -> str:
    """``p_purchase_<horizon>d``: the view's column for P(any purchase within the card's horizon)."""
    return f"p_purchase_{card.horizon_days}d"


def column_name(category: str) -> str:
    """``p_<category>``: lower case, anything but letters and digits becomes ``_``."""
    return "p_" + re.sub(r"[^0-9a-z]+", "_", category.lower()).strip("_")


def view_columns(view_sql: str) -> list[str]:
    """The view's output column names (lower case), in order."""
    tree = sqlglot.parse_one(view_sql, read="duckdb")
    return [projection.alias_or_name.lower() for projection in tree.expressions]


def features_struct(card, base_sql: str) -> str:
    """``c360_predict(struct_pack(<feature> := base.<feature>, ...))`` over the base view's columns,
    for the features the model's trees read (the card's ``reads``; every feature for older cards)."""
    columns = set(view_columns(base_sql))
    missing = [f.name for f in card.features if f.name.lower() not in columns]
    if missing:
        raise ProgrammingError("customer_360 lacks the model's feature column(s): " + ", ".join(missing))
    pairs = ", ".join(f"{f.name} := base.{f.name}" for f in card.inputs)
    return f"{FUNCTION}(struct_pack({pairs}))"


def prediction_columns(card, view_sql: str) -> str:
    """The SELECT-list lines (indented, comma-led) that read the prediction columns from the scored layer."""
    field = f"scored.{PREDICTION}"
    lines = [f"    {field}.p_purchase_30d AS {purchase_column(card)}"]
    for position, category in enumerate(card.categories, start=1):
        lines.append(f"    {field}.probabilities[{position}] AS {column_name(category)}")
    names = ", ".join(sqlglot.exp.Literal.string(category).sql(dialect="duckdb") for category in card.categories)
    lines.append(f"    [{names}][{field}.predicted_position] AS predicted_category")
    lines.append(f"    {field}.model_version AS model_version")
    return f"    {MARKER}\n" + ",\n".join(lines)


def base_view(view_sql: str) -> str:
    """The hand-written view inside the generated layers (the whole text if there are none)."""
    if BASE_BEGIN not in view_sql:
        if MARKER in view_sql:  # the first layout: prediction columns inline, just before the first FROM
            head, tail = view_sql.split(MARKER, 1)
            return head.rstrip().rstrip(",") + tail[tail.index("\nFROM "):]
        return view_sql
    inner = view_sql.split(BASE_BEGIN, 1)[1].split(BASE_END, 1)[0]
    return inner.strip("\n") + "\n"


def with_predictions(view_sql: str, card) -> str:
    """The base view wrapped in the layers that add the card's prediction columns."""
    base = base_view(view_sql)
    header = []
    for line in base.splitlines():  # the base's leading comments describe the whole view: keep them on top
        if not line.startswith("--"):
            break
        header.append(line)
    return "\n".join([
        *header,
        f"SELECT\n    scored.* EXCLUDE ({PREDICTION}),",
        prediction_columns(card, base),
        "FROM (",
        f"    SELECT base.*, {features_struct(card, base)} AS {PREDICTION}",
        "    FROM (",
        BASE_BEGIN,
        base.rstrip("\n"),
        BASE_END,
        "    ) AS base",
        ") AS scored",
        "",
    ])


def update_view(path: Path, card) -> bool:
    """Rewrite ``queries/customer_360.sql`` with the card's prediction columns; True if it changed."""
    text = path.read_text(encoding="utf-8")
    new = with_predictions(text, card)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text
