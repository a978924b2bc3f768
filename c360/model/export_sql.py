"""The model as plain SQL: the trees as CASE expressions, softmax with EXP, in any dialect.

The query reads a table with the model's input columns (``customer_360`` itself, or a copy of
it in another database) and returns ``customer_id``, ``p_purchase_<horizon>d`` and one ``p_<category>``
per category. It is built as a sqlglot tree and generated in the requested dialect; a feature
the dialect cannot express (``tags`` need array membership) raises rather than emit wrong SQL.

Exactness: XGBoost compares a feature, rounded to float32, with a float32 threshold. The
features are therefore cast to REAL (float32) before the trees compare them with the exact
threshold, so every row takes the branch XGBoost takes; leaves are summed in double.
"""

from __future__ import annotations

import json

import sqlglot
from sqlglot import exp

from c360.model.features import CATEGORY, NUMBER, TAGS, YEAR
from c360.model.view_sql import column_name, purchase_column


def _feature_columns(card) -> list[tuple[str, exp.Expression]]:
    """(matrix column name, SQL expression producing it as REAL) for every matrix column."""
    out = []
    for feature in card.features:
        source = exp.column(feature.name, quoted=True)
        if feature.kind in (NUMBER, YEAR):
            value = exp.Year(this=source) if feature.kind == YEAR else source
            out.append((feature.name, exp.cast(value, "REAL")))
            continue
        for name, item in zip(feature.columns(), feature.vocabulary):
            literal = exp.Literal.string(item)
            test = exp.EQ(this=source, expression=literal) if feature.kind == CATEGORY else exp.ArrayContains(
                this=source, expression=literal)
            out.append((name, exp.cast(exp.Case(ifs=[exp.If(this=test, true=exp.Literal.number(1))],
                                               default=exp.Literal.number(0)), "REAL")))
    assert all(f.kind in (NUMBER, YEAR, CATEGORY, TAGS) for f in card.features)
    return out


def _float(value: float) -> exp.Expression:
    text = repr(float(value))
    return exp.Neg(this=exp.Literal.number(text[1:])) if text.startswith("-") else exp.Literal.number(text)


def _tree(nodes: dict, index: int, columns: dict[str, str]) -> exp.Expression:
    node = nodes[index]
    if "leaf" in node:
        return _float(node["leaf"])
    feature = exp.column(columns[node["split"]], quoted=True)
    below = _tree(nodes, node["yes"], columns)
    above = _tree(nodes, node["no"], columns)
    missing = below if node["missing"] == node["yes"] else above
    return exp.Case(ifs=[exp.If(this=exp.Is(this=feature, expression=exp.Null()), true=missing),
                         exp.If(this=exp.LT(this=feature, expression=_float(node["split_condition"])), true=below)],
                    default=above)


def _trees(booster) -> list[dict]:
    out = []
    for text in booster.get_dump(dump_format="json"):
        nodes = {}
        stack = [json.loads(text)]
        while stack:
            node = stack.pop()
            nodes[node["nodeid"]] = node
            stack.extend(node.get("children", ()))
        out.append(nodes)
    return out


def export(booster, card, *, table: str = "customer_360", dialect: str = "duckdb") -> str:
    """The SELECT scoring every row of ``table`` with the model, as SQL text in ``dialect``."""
    features = _feature_columns(card)
    aliases = {name: f"f{i}" for i, (name, _) in enumerate(features)}
    classes = len(card.classes)
    from c360.model.trees import base_margins  # numba is loaded already: export-sql loads the scorer

    bases = [float(value) for value in base_margins(booster, classes)]
    trees = _trees(booster)
    margins = []
    for k in range(classes):
        terms = [_tree(nodes, 0, aliases) for i, nodes in enumerate(trees) if i % classes == k]
        total: exp.Expression = _float(bases[k])
        for term in terms:
            total = exp.Add(this=total, expression=exp.Paren(this=term))
        margins.append(exp.alias_(total, f"m{k}", quoted=True))
    featured = exp.select(exp.column("customer_id", quoted=True),
                          *[exp.alias_(e, aliases[name], quoted=True) for name, e in features]).from_(
        exp.to_table(table))
    margined = exp.select(exp.column("customer_id", quoted=True), *margins).from_(
        exp.alias_(exp.Subquery(this=featured), "features", table=True))
    top = exp.Greatest(this=exp.column("m0", quoted=True),
                       expressions=[exp.column(f"m{k}", quoted=True) for k in range(1, classes)])
    exps = [exp.Exp(this=exp.Sub(this=exp.column(f"m{k}", quoted=True), expression=top.copy())) for k in range(classes)]
    denominator = exps[0].copy()
    for term in exps[1:]:
        denominator = exp.Add(this=denominator, expression=term.copy())
    outputs = [exp.column("customer_id", quoted=True),
               exp.alias_(exp.Sub(this=exp.Literal.number(1), expression=exp.Div(
                   this=exps[0], expression=exp.Paren(this=denominator))), purchase_column(card), quoted=True)]
    for k, category in enumerate(card.categories, start=1):
        outputs.append(exp.alias_(exp.Div(this=exps[k], expression=exp.Paren(this=denominator.copy())),
                                  column_name(category), quoted=True))
    query = exp.select(*outputs).from_(exp.alias_(exp.Subquery(this=margined), "margins", table=True))
    header = (f"-- c360 model {card.version}: P(purchase in {card.horizon_days} days) and P(top category) "
              f"from the columns of {table}\n")
    return header + query.sql(dialect=dialect, pretty=True, unsupported_level=sqlglot.ErrorLevel.RAISE) + "\n"
