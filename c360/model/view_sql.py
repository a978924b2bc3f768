"""The prediction columns of ``customer_360``, generated from the model card and the view.

Each virtual column is ``c360_predict(struct_pack(<feature> := <expression>, ...)).<field>``,
where each expression is the one the view itself uses for the column of that name (read from
``queries/customer_360.sql`` with sqlglot), so the scorer sees exactly what a query of the view
sees. DuckDB evaluates the identical calls once per row (common subexpression elimination), and
drops them entirely when no prediction column is referenced.
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlglot
from sqlglot import exp

from c360.errors import ProgrammingError
from c360.model.scorer import FUNCTION

MARKER = "-- predictions of models/ (virtual: computed only when referenced); regenerate with `c360 model view-columns`"


def column_name(category: str) -> str:
    """``p_<category>``: lower case, anything but letters and digits becomes ``_``."""
    return "p_" + re.sub(r"[^0-9a-z]+", "_", category.lower()).strip("_")


def view_expressions(view_sql: str) -> dict[str, str]:
    """The view's output columns (lower-case alias) -> the SQL of their defining expression."""
    tree = sqlglot.parse_one(view_sql, read="duckdb")
    out = {}
    for projection in tree.expressions:
        name = projection.alias_or_name.lower()
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        out[name] = inner.sql(dialect="duckdb", comments=False)
    return out


def features_struct(card, view_sql: str) -> str:
    columns = view_expressions(_without_predictions(view_sql))
    missing = [f.name for f in card.features if f.name.lower() not in columns]
    if missing:
        raise ProgrammingError("customer_360 lacks the model's feature column(s): " + ", ".join(missing))
    pairs = ", ".join(f"{f.name} := {columns[f.name.lower()]}" for f in card.features)
    return f"{FUNCTION}(struct_pack({pairs}))"


def prediction_columns(card, view_sql: str) -> str:
    """The SELECT-list lines (indented, comma-led) that add the prediction columns."""
    call = features_struct(card, view_sql)
    lines = [f"    {MARKER}", f"    {call}.p_purchase_30d AS p_purchase_30d"]
    for category in card.categories:
        quoted = category.replace("'", "''")
        lines.append(f"    {call}.probabilities['{quoted}'] AS {column_name(category)}")
    lines.append(f"    {call}.predicted_category AS predicted_category")
    lines.append(f"    {call}.model_version AS model_version")
    return ",\n".join(lines[1:]).join([lines[0] + "\n", ""])


def _without_predictions(view_sql: str) -> str:
    """The view with its generated prediction columns removed (between the marker and FROM)."""
    if MARKER not in view_sql:
        return view_sql
    head, tail = view_sql.split(MARKER, 1)
    tail = tail[tail.index("\nFROM "):]
    return head.rstrip().rstrip(",") + tail


def with_predictions(view_sql: str, card) -> str:
    """The view with its prediction columns (re)generated just before its first top-level FROM."""
    base = _without_predictions(view_sql)
    at = base.index("\nFROM ")
    return base[:at].rstrip() + ",\n" + prediction_columns(card, base) + base[at:]


def update_view(path: Path, card) -> bool:
    """Rewrite ``queries/customer_360.sql`` with the card's prediction columns; True if it changed."""
    text = path.read_text(encoding="utf-8")
    new = with_predictions(text, card)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text
