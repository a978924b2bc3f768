"""Metrics on an out-of-time window, for the model and for the baselines on the same rows.

Probabilities are matrices (rows x classes) with class 0 = no purchase. Reported:

* ``auc_any``: ROC AUC of P(any purchase) = 1 - P(none), over all rows;
* ``macro_auc_category`` and ``accuracy_category``: over the rows that did buy, one-vs-rest
  AUC per category averaged, and how often the most likely category was the one bought
  (category probabilities conditional on buying); left out with a single category;
* ``log_loss``: multi-class, all rows; ``lift_top_decile``: purchase rate among the 10% with
  the highest P(any purchase) over the overall rate, rows tied at the cut counted by their
  expected value under random tie-breaking;
* ``calibration``: per decile of P(any purchase), mean predicted vs observed rate.

Baselines (:func:`fit_baselines`) are lookup tables learnt on the training rows: the class
distribution per RFM segment, per recency bucket, per last category bought, and overall (the
majority-class baseline), Laplace-smoothed toward the overall distribution. The model beats a
baseline on a metric when the paired bootstrap interval of the difference (:func:`compare`, resampling
customers) lies wholly on the model's side of 0.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-15
RECENCY_EDGES = (7, 14, 30, 60, 90, 180, 365)


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney AUC with average ranks for ties; NaN when only one class is present."""
    y = np.asarray(y, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    sorted_scores = np.asarray(score)[order]
    ranks = np.empty(len(score), dtype=np.float64)
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[y].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def log_loss(y: np.ndarray, probabilities: np.ndarray) -> float:
    p = np.clip(probabilities[np.arange(len(y)), y], EPS, 1.0)
    return float(-np.log(p).mean())


def lift_top_decile(bought: np.ndarray, score: np.ndarray) -> float:
    """Purchase rate among the top ``ceil(n / 10)`` scores over the overall rate; the rows tied at the
    cut count by their expected value under random tie-breaking (a constant score has lift exactly 1)."""
    bought = np.asarray(bought, dtype=np.float64)
    score = np.asarray(score)
    overall = bought.mean() if len(bought) else 0.0
    if not overall:
        return float("nan")
    k = max(1, int(np.ceil(len(score) * 0.1)))
    cut = np.partition(score, len(score) - k)[len(score) - k]  # the k-th highest score
    above, tied = score > cut, score == cut
    taken = k - int(above.sum())  # how many of the tied rows the top decile holds
    expected = bought[above].sum() + taken * bought[tied].mean()
    return float(expected / k / overall)


def calibration(bought: np.ndarray, score: np.ndarray, bins: int = 10) -> list[dict]:
    """Deciles of the score: rows, mean predicted probability, observed purchase rate."""
    order = np.argsort(score, kind="mergesort")
    table = []
    for index, part in enumerate(np.array_split(order, bins)):
        if len(part):
            table.append({"decile": index + 1, "rows": int(len(part)), "predicted": float(score[part].mean()),
                          "observed": float(bought[part].mean())})
    return table


def scores(y: np.ndarray, probabilities: np.ndarray) -> dict:
    """The compared metrics (:data:`HIGHER_IS_BETTER`'s keys) for true classes ``y`` and ``probabilities``.

    With a single category (two classes: none, bought) the category metrics mean nothing (every buyer
    bought the one category) and are left out: a binary model reports binary metrics only.
    """
    y = np.asarray(y, dtype=np.int64)
    bought = y > 0
    p_any = 1.0 - probabilities[:, 0]
    out = {
        "auc_any": roc_auc(bought, p_any),
        "log_loss": log_loss(y, probabilities),
        "lift_top_decile": lift_top_decile(bought, p_any),
    }
    if probabilities.shape[1] <= 2:
        return out
    buyers = probabilities[bought, 1:]
    buyers = buyers / np.clip(buyers.sum(axis=1, keepdims=True), EPS, None)
    truth = y[bought] - 1
    aucs = [roc_auc(truth == k, buyers[:, k]) for k in range(buyers.shape[1])]
    aucs = [a for a in aucs if not np.isnan(a)]
    out["macro_auc_category"] = float(np.mean(aucs)) if aucs else float("nan")
    out["accuracy_category"] = float((buyers.argmax(axis=1) == truth).mean()) if len(truth) else float("nan")
    return out


def metrics(y: np.ndarray, probabilities: np.ndarray) -> dict:
    """All metrics for true classes ``y`` (0 = none) and ``probabilities`` (rows x classes): :func:`scores`,
    the row count, the purchase rate and the calibration table."""
    y = np.asarray(y, dtype=np.int64)
    bought = y > 0
    out = {"rows": int(len(y)), "purchase_rate": float(bought.mean()), **scores(y, probabilities)}
    out["calibration"] = calibration(bought.astype(np.float64), 1.0 - probabilities[:, 0])
    return out


def recency_bucket(days) -> str:
    if days is None or (isinstance(days, float) and np.isnan(days)):
        return "no purchase in 365 days"
    for edge in RECENCY_EDGES:
        if days <= edge:
            return f"<= {edge} days"
    return "> 365 days"


class LookupBaseline:
    """P(class | key) from training counts, smoothed toward the overall distribution."""

    def __init__(self, keys, y: np.ndarray, classes: int, *, strength: float = 5.0):
        self.prior = (np.bincount(y, minlength=classes) + 1.0) / (len(y) + classes)
        self.table: dict = {}
        for key in set(keys):
            chosen = np.fromiter((k == key for k in keys), dtype=bool, count=len(keys))
            counts = np.bincount(y[chosen], minlength=classes)
            self.table[key] = (counts + strength * self.prior) / (counts.sum() + strength)

    def predict(self, keys) -> np.ndarray:
        return np.vstack([self.table.get(k, self.prior) for k in keys]) if len(keys) else np.zeros((0, len(self.prior)))


BASELINES = {
    "rfm_segment": lambda rows: [s or "none" for s in rows["segment"]],
    "recency": lambda rows: [recency_bucket(d) for d in rows["recency_days"]],
    "last_category": lambda rows: [c or "none" for c in rows["last_category"]],
    "majority_class": lambda rows: ["all"] * len(rows["segment"]),
}


def fit_baselines(train_rows: dict, y: np.ndarray, classes: int) -> dict:
    """Baselines learnt on the training rows (columns segment, recency_days, last_category)."""
    return {name: LookupBaseline(key(train_rows), y, classes) for name, key in BASELINES.items()}


def baseline_probabilities(baselines: dict, rows: dict) -> dict:
    return {name: baselines[name].predict(BASELINES[name](rows)) for name in baselines}


HIGHER_IS_BETTER = {"auc_any": True, "macro_auc_category": True, "accuracy_category": True,
                    "lift_top_decile": True, "log_loss": False}
#: Bootstrap resamples of the evaluation customers, the confidence level, and the seed (fixed: a card
#: is reproducible).
RESAMPLES = 400
LEVEL = 0.95
SEED = 7


def compare(y: np.ndarray, model: np.ndarray, baselines: dict[str, np.ndarray], *, resamples: int = RESAMPLES,
            seed: int = SEED) -> dict:
    """Paired bootstrap over customers: per metric and baseline, the model's score minus the baseline's
    on the evaluation rows, and the 95% percentile interval of that difference over ``resamples``
    resamples of the rows (the same rows for the model and every baseline in each resample).

    ``beats`` is true when the whole interval is on the model's side (above 0, or below 0 for log
    loss): the model is better and the difference is not an accident of which customers were drawn.
    """
    y = np.asarray(y, dtype=np.int64)
    names = list(baselines)
    observed_model = scores(y, model)
    observed = {name: scores(y, p) for name, p in baselines.items()}
    metric_names = [m for m in observed_model if m in HIGHER_IS_BETTER]
    draws = {(m, name): [] for m in metric_names for name in names}
    generator = np.random.default_rng(seed)
    for _ in range(resamples):
        rows = generator.integers(0, len(y), len(y))
        mine = scores(y[rows], model[rows])
        for name in names:
            theirs = scores(y[rows], baselines[name][rows])
            for m in metric_names:
                draws[(m, name)].append(mine[m] - theirs[m])
    tail = (1.0 - LEVEL) / 2 * 100
    out: dict = {}
    for m in metric_names:
        for name in names:
            values = np.asarray(draws[(m, name)], dtype=np.float64)
            values = values[~np.isnan(values)]
            low, high = (np.percentile(values, [tail, 100 - tail]) if len(values) else (np.nan, np.nan))
            better = bool(low > 0) if HIGHER_IS_BETTER[m] else bool(high < 0)
            out.setdefault(m, {})[name] = {"difference": float(observed_model[m] - observed[name][m]),
                                           "low": float(low), "high": float(high), "beats": better}
    return out


def beaten(comparisons: dict) -> dict:
    """Per metric and baseline: whether the model beats it (the interval of :func:`compare` excludes 0)."""
    return {metric: {name: c["beats"] for name, c in per.items()} for metric, per in comparisons.items()}
