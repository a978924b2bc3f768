"""Metrics on an out-of-time window, for the model and for the baselines on the same rows.

Probabilities are matrices (rows x classes) with class 0 = no purchase. Reported:

* ``auc_any``: ROC AUC of P(any purchase) = 1 - P(none), over all rows;
* ``macro_auc_category`` and ``accuracy_category``: over the rows that did buy, one-vs-rest
  AUC per category averaged, and how often the most likely category was the one bought
  (category probabilities conditional on buying);
* ``log_loss``: multi-class, all rows; ``lift_top_decile``: purchase rate among the 10% with
  the highest P(any purchase) over the overall rate;
* ``calibration``: per decile of P(any purchase), mean predicted vs observed rate.

Baselines (:func:`fit_baselines`) are lookup tables learnt on the training rows: the class
distribution per RFM segment, per recency bucket, per last category bought, and overall (the
majority-class baseline), Laplace-smoothed toward the overall distribution.
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
    n = max(1, int(np.ceil(len(score) * 0.1)))
    top = np.argsort(-score, kind="mergesort")[:n]
    overall = bought.mean()
    return float(bought[top].mean() / overall) if overall else float("nan")


def calibration(bought: np.ndarray, score: np.ndarray, bins: int = 10) -> list[dict]:
    """Deciles of the score: rows, mean predicted probability, observed purchase rate."""
    order = np.argsort(score, kind="mergesort")
    table = []
    for index, part in enumerate(np.array_split(order, bins)):
        if len(part):
            table.append({"decile": index + 1, "rows": int(len(part)), "predicted": float(score[part].mean()),
                          "observed": float(bought[part].mean())})
    return table


def metrics(y: np.ndarray, probabilities: np.ndarray) -> dict:
    """All metrics for true classes ``y`` (0 = none) and ``probabilities`` (rows x classes)."""
    y = np.asarray(y, dtype=np.int64)
    bought = y > 0
    p_any = 1.0 - probabilities[:, 0]
    out = {
        "rows": int(len(y)),
        "purchase_rate": float(bought.mean()),
        "auc_any": roc_auc(bought, p_any),
        "log_loss": log_loss(y, probabilities),
        "lift_top_decile": lift_top_decile(bought, p_any),
    }
    buyers = probabilities[bought, 1:]
    buyers = buyers / np.clip(buyers.sum(axis=1, keepdims=True), EPS, None)
    truth = y[bought] - 1
    aucs = [roc_auc(truth == k, buyers[:, k]) for k in range(buyers.shape[1])]
    aucs = [a for a in aucs if not np.isnan(a)]
    out["macro_auc_category"] = float(np.mean(aucs)) if aucs else float("nan")
    out["accuracy_category"] = float((buyers.argmax(axis=1) == truth).mean()) if len(truth) else float("nan")
    out["calibration"] = calibration(bought.astype(np.float64), p_any)
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


def beaten(model: dict, baselines: dict) -> dict:
    """Per metric and baseline: whether the model is strictly better."""
    return {
        metric: {name: (model[metric] > scores[metric]) if higher else (model[metric] < scores[metric])
                 for name, scores in baselines.items()}
        for metric, higher in HIGHER_IS_BETTER.items()
    }
