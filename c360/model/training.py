"""Leak-free training sets from the views, and the XGBoost model trained on them.

For each cutoff, ``customer_360`` is evaluated with ``SET VARIABLE as_of = <cutoff>`` (so it
sees only data strictly before the cutoff) and joined with the label, computed from the raw
shop tables over ``[cutoff, cutoff + 30 days)``. Training cutoffs are spaced ``every`` days and
all their label windows end by the evaluation cutoff, whose window is the last 30 days of data:
the evaluation is out of time and shares no label day with training.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from c360.errors import ProgrammingError
from c360.model import card as cards
from c360.model import evaluation
from c360.model.features import CATEGORY, INPUTS, NUMBER, TAGS, YEAR, Feature, columns
from c360.model.matrix import matrix

HORIZON_DAYS = 30
PARAMS = {
    "objective": "multi:softprob",
    "tree_method": "hist",
    "max_depth": 3,
    "eta": 0.1,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 20,
    "lambda": 1.0,
    "seed": 7,
}
ROUNDS = 60
#: Training cutoffs when --cutoffs is not given (fewer when the history is shorter).
CUTOFFS = 6
MAX_TAGS = 40

LABEL_SQL = """
SELECT o.customer_id, p.category, sum(i.quantity * i.unit_price) AS spend
FROM shop.orders AS o
JOIN shop.order_items AS i ON i.order_id = o.order_id
JOIN shop.products AS p ON p.product_id = i.product_id
WHERE o.order_ts >= CAST(? AS TIMESTAMP) AND o.order_ts < CAST(? AS TIMESTAMP) AND o.status <> 'cancelled'
GROUP BY o.customer_id, p.category
"""

LAST_CATEGORY_SQL = """
SELECT customer_id, category, days_since_last_purchase, spend_365d FROM purchase_features
"""


@dataclass(frozen=True)
class Plan:
    training_cutoffs: list[dt.date]
    evaluation_cutoff: dt.date


def parse_horizon(text: str | int) -> int:
    """Days in a horizon written ``30d``, ``90d``, ``12w`` or ``30`` (days); at least one day."""
    match = re.fullmatch(r"\s*(\d+)\s*([dw]?)\s*", str(text).lower())
    days = int(match.group(1)) * (7 if match.group(2) == "w" else 1) if match else 0
    if days < 1:
        raise ProgrammingError(f"--horizon must be a number of days or weeks such as 30d, 90d or 12w, got '{text}'")
    return days


def default_every(horizon: int) -> int:
    """Days between training cutoffs when not given: half the horizon, at least a week (30d: 15)."""
    return max(7, horizon // 2)


def plan_cutoffs(end: dt.date, *, cutoffs: int | None = None, every: int | None = None,
                 horizon: int = HORIZON_DAYS, start: dt.date | None = None) -> Plan:
    """Cutoffs for the data ``[start, end)`` and a label window of ``horizon`` days.

    The evaluation cutoff is ``end - horizon`` (its label window is the last ``horizon`` days); the last
    training cutoff is one horizon before it, so no training label day reaches the evaluation window;
    the others go back ``every`` days at a time. With ``start`` known, the first cutoff keeps at least
    one horizon of history before it: ``cutoffs`` (default: up to :data:`CUTOFFS` that fit) must fit in
    the span, else a :class:`ProgrammingError` says how many days are needed.
    """
    every = every or default_every(horizon)
    if cutoffs is not None and cutoffs < 1:
        raise ProgrammingError("--cutoffs must be at least 1")
    evaluation_cutoff = end - dt.timedelta(days=horizon)
    last = evaluation_cutoff - dt.timedelta(days=horizon)
    if start is not None:
        span = (end - start).days
        fitting = ((last - start).days - horizon) // every + 1 if (last - start).days >= horizon else 0
        wanted = cutoffs or 1
        if fitting < wanted:
            needed = 3 * horizon + (wanted - 1) * every
            what = f"{wanted} training cutoffs {every} days apart" if wanted > 1 else "one training cutoff"
            raise ProgrammingError(
                f"The order history is too short for a {horizon}-day horizon: {what} need at least {needed} days "
                f"of orders ({horizon} of history before the first cutoff, {horizon} for the label windows"
                + (f", {(wanted - 1) * every} between the cutoffs" if wanted > 1 else "")
                + f", {horizon} for the out-of-time evaluation), and the data spans {span} "
                f"({start} .. {end - dt.timedelta(days=1)}). Use a shorter --horizon"
                + (", fewer --cutoffs or a smaller --every" if wanted > 1 else "") + ", or more history."
            )
        cutoffs = cutoffs or min(CUTOFFS, fitting)
    cutoffs = cutoffs or CUTOFFS
    return Plan([last - dt.timedelta(days=every * k) for k in reversed(range(cutoffs))], evaluation_cutoff)


def data_span(connection) -> tuple[dt.date, dt.date]:
    """The day of the first order and the day after the last one: where the data starts and ends."""
    row = connection.execute("SELECT min(order_ts), max(order_ts) FROM shop.orders").fetchone()
    if row is None or row[1] is None:
        raise ProgrammingError("shop.orders is empty: nothing to train on")
    first, last = (value.date() if isinstance(value, dt.datetime) else dt.date.fromisoformat(str(value)[:10])
                   for value in row)
    return first, last + dt.timedelta(days=1)


def data_end(connection) -> dt.date:
    """The day after the last order: where the data ends (exclusive)."""
    return data_span(connection)[1]


def categories(connection) -> list[str]:
    return sorted(r[0] for r in connection.execute("SELECT DISTINCT category FROM shop.products").fetchall()
                  if r[0] is not None)


def snapshot(connection, cutoff: dt.date, classes: list[str], *, horizon: int = HORIZON_DAYS) -> pa.Table:
    """One row per customer of ``customer_360`` as of ``cutoff``, with ``last_category`` and the ``label``
    of the ``horizon`` days from the cutoff; rows in ``customer_id`` order (training is reproducible)."""
    connection.execute(f"SET VARIABLE as_of = DATE '{cutoff.isoformat()}'")
    names = ", ".join(name for name, _ in INPUTS)
    cursor = connection.execute(f"SELECT customer_id, {names} FROM customer_360 ORDER BY customer_id")
    table = cursor.fetch_arrow()
    last = {}
    for customer_id, category, days, spend in connection.execute(LAST_CATEGORY_SQL).fetchall():
        key = (days if days is not None else 1 << 30, -(float(spend or 0)), category)
        if customer_id not in last or key < last[customer_id][0]:
            last[customer_id] = (key, category)
    end = cutoff + dt.timedelta(days=horizon)
    best: dict = {}
    for customer_id, category, spend in connection.execute(
            LABEL_SQL, [cutoff.isoformat(), end.isoformat()]).fetchall():
        key = (-float(spend or 0), category)
        if customer_id not in best or key < best[customer_id][0]:
            best[customer_id] = (key, category)
    index = {c: i for i, c in enumerate(classes)}
    ids = table.column("customer_id").to_pylist()
    labels = [index.get(best[c][1], 0) if c in best else 0 for c in ids]
    last_categories = [last[c][1] if c in last else None for c in ids]
    table = table.append_column("last_category", pa.array(last_categories, pa.string()))
    table = table.append_column("label", pa.array(labels, pa.int64()))
    return table.append_column("cutoff", pa.array([cutoff] * len(ids), pa.date32()))


def learn_features(table: pa.Table, classes: list[str]) -> list[Feature]:
    """Feature specs with vocabularies from the training rows (categories: the model's classes)."""
    features = []
    for name, kind in INPUTS:
        if kind in (NUMBER, YEAR):
            features.append(Feature(name, kind))
            continue
        if kind == CATEGORY and name.startswith("top_"):
            vocabulary = [c for c in classes if c != cards.NO_PURCHASE]
        elif kind == CATEGORY:
            vocabulary = sorted({v for v in table.column(name).to_pylist() if v is not None})
        else:
            counts: dict = {}
            for values in table.column(name).to_pylist():
                for value in values or ():
                    counts[value] = counts.get(value, 0) + 1
            vocabulary = sorted(sorted(counts, key=lambda v: (-counts[v], v))[:MAX_TAGS])
        features.append(Feature(name, kind, tuple(vocabulary)))
    assert all(f.kind in (NUMBER, YEAR, CATEGORY, TAGS) for f in features)
    return features


def constant_features(table: pa.Table, features: list[Feature]) -> list[str]:
    """The features that are the same in every training row (every one of their matrix columns holds
    one value, or is all missing; a category or tag list with an empty vocabulary): nothing to learn
    from, as when a project has no browsing or partner data and those columns are all 0 or NULL."""
    x = matrix(table, features)
    constant, at = [], 0
    for feature in features:
        part = x[:, at:at + feature.width]
        at += feature.width
        if not part.shape[1] or all(_constant(part[:, k]) for k in range(part.shape[1])):
            constant.append(feature.name)
    return constant


def _constant(column: np.ndarray) -> bool:
    present = column[~np.isnan(column)]
    return len(present) == 0 or (len(present) == len(column) and bool((present == present[0]).all()))


def fit(table: pa.Table, features: list[Feature], classes: list[str], *, rounds: int = ROUNDS,
        params: dict | None = None, progress=None):
    """Train the multi-class booster; ``progress(done, total)`` after each round."""
    import xgboost as xgb

    x = matrix(table, features)
    y = np.asarray(table.column("label").to_pylist(), dtype=np.int64)
    data = xgb.DMatrix(x, label=y, feature_names=columns(features), missing=np.nan)
    callbacks = []
    if progress is not None:
        class Progress(xgb.callback.TrainingCallback):
            def after_iteration(self, model, epoch, evals_log):
                progress(epoch + 1, rounds)
                return False

        callbacks.append(Progress())
    merged = {**PARAMS, **(params or {}), "num_class": len(classes), "nthread": 0}
    return xgb.train(merged, data, num_boost_round=rounds, callbacks=callbacks)


def _rows(table: pa.Table) -> dict:
    return {name: table.column(name).to_pylist() for name in ("segment", "recency_days", "last_category")}


def evaluate(scorer, train: pa.Table, test: pa.Table) -> dict:
    """The :class:`~c360.model.scorer.Scorer`'s metrics and each baseline's, on the evaluation rows; the
    paired bootstrap intervals of the differences, and which baselines the model beats by them."""
    classes = scorer.card.classes
    probabilities = scorer.predict(test)
    y_train = np.asarray(train.column("label").to_pylist(), dtype=np.int64)
    y_test = np.asarray(test.column("label").to_pylist(), dtype=np.int64)
    baselines = evaluation.fit_baselines(_rows(train), y_train, len(classes))
    predicted = evaluation.baseline_probabilities(baselines, _rows(test))
    scored = {name: evaluation.metrics(y_test, p) for name, p in predicted.items()}
    comparisons = evaluation.compare(y_test, probabilities, predicted)
    return {"model": evaluation.metrics(y_test, probabilities), "baselines": scored, "comparisons": comparisons,
            "beats": evaluation.beaten(comparisons)}


def train(connection, out_dir: Path, *, end: dt.date | None = None, cutoffs: int | None = None,
          every: int | None = None, horizon: int = HORIZON_DAYS, rounds: int = ROUNDS,
          note=lambda *a: None, advance=lambda *a: None, say=lambda text: None) -> cards.ModelCard:
    """Build the training and evaluation sets, train, evaluate, write ``out_dir``; return the card.

    ``note(text, total)`` starts a progress step; ``advance(step, done)`` moves it on; ``say(text)``
    reports a decision (features dropped as constant). The same data gives a byte-identical model file:
    rows come in a fixed order and XGBoost's seed is fixed.
    """
    start, last = data_span(connection)
    plan = plan_cutoffs(end or last, cutoffs=cutoffs, every=every, horizon=horizon, start=start)
    classes = [cards.NO_PURCHASE, *categories(connection)]
    step = note("snapshots as of each cutoff", len(plan.training_cutoffs) + 1)
    parts = []
    for cutoff in plan.training_cutoffs:
        parts.append(snapshot(connection, cutoff, classes, horizon=horizon))
        advance(step, 1)
    test = snapshot(connection, plan.evaluation_cutoff, classes, horizon=horizon)
    advance(step, 1)
    train_rows = pa.concat_tables(parts)
    features = learn_features(train_rows, classes)
    dropped = constant_features(train_rows, features)
    if dropped:
        say(f"dropped {len(dropped)} feature(s) constant in the training set: {', '.join(dropped)}")
        features = [f for f in features if f.name not in dropped]
    step = note("boosting rounds", rounds)
    booster = fit(train_rows, features, classes, rounds=rounds, progress=lambda done, total: advance(step, 1))
    from c360.model.scorer import Scorer

    scorer = Scorer(booster, cards.ModelCard(features, classes))
    step = note("evaluation (baselines, paired bootstrap)", 1)
    results = evaluate(scorer, train_rows, test)
    advance(step, 1)
    card = cards.ModelCard(
        features=features,
        classes=classes,
        label=cards.label_definition(horizon),
        training_cutoffs=[c.isoformat() for c in plan.training_cutoffs],
        evaluation_cutoff=plan.evaluation_cutoff.isoformat(),
        horizon_days=horizon,
        rows={"training": train_rows.num_rows, "evaluation": test.num_rows,
              "training_by_class": _counts(train_rows, classes), "evaluation_by_class": _counts(test, classes)},
        params={**PARAMS, "rounds": rounds, "num_class": len(classes)},
        metrics=results,
        trained_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        reads=[f.name for f in scorer.inputs],
        dropped=dropped,
    )
    model_bytes = bytes(booster.save_raw("json"))
    cards.write(out_dir, model_bytes, card)
    from c360.model.scorer import forget

    forget(out_dir)
    return card


def _counts(table: pa.Table, classes: list[str]) -> dict:
    labels = np.bincount(np.asarray(table.column("label").to_pylist(), dtype=np.int64), minlength=len(classes))
    return {c: int(n) for c, n in zip(classes, labels)}
