"""Human-readable views of a model card: the metrics table printed by ``c360 train`` and
``models/MODEL_CARD.md``."""

from __future__ import annotations

METRICS = (
    ("auc_any", "ROC AUC, any purchase in {horizon} days"),
    ("macro_auc_category", "macro OvR AUC, category (buyers)"),
    ("accuracy_category", "accuracy, category (buyers)"),
    ("log_loss", "log loss, all classes (lower is better)"),
    ("lift_top_decile", "top-decile lift, any purchase"),
)
BASELINE_NAMES = {
    "rfm_segment": "RFM segment",
    "recency": "recency alone",
    "last_category": "last category bought",
    "majority_class": "majority class",
}


def metrics_table(metrics: dict, horizon: int = 30) -> str:
    """A markdown table: one row per metric, the model then each baseline."""
    baselines = list(metrics["baselines"])
    head = ["metric", "model", *[BASELINE_NAMES.get(b, b) for b in baselines]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, label in METRICS:
        if key not in metrics["model"]:  # a single category: no category metrics
            continue
        values = [metrics["model"][key], *[metrics["baselines"][b][key] for b in baselines]]
        lines.append("| " + " | ".join([label.format(horizon=horizon), *[f"{v:.4f}" for v in values]]) + " |")
    return "\n".join(lines)


def comparison_table(metrics: dict, horizon: int = 30) -> str:
    """A markdown table: per metric, the model minus each baseline with its 95% paired bootstrap interval,
    and whether the model beats it (the interval excludes 0 on the model's side)."""
    comparisons = metrics.get("comparisons")
    if not comparisons:
        return ""
    baselines = list(metrics["baselines"])
    head = ["model − baseline (95% CI)", *[BASELINE_NAMES.get(b, b) for b in baselines]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, label in METRICS:
        if key not in comparisons:
            continue
        cells = []
        for name in baselines:
            c = comparisons[key][name]
            cells.append(f"{c['difference']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}]{'' if c['beats'] else ' ✗'}")
        lines.append("| " + " | ".join([label.format(horizon=horizon), *cells]) + " |")
    return "\n".join(lines)


def verdict(metrics: dict) -> str:
    """One sentence: does the model beat every baseline on every metric, by the bootstrap intervals?"""
    lost = [f"{metric} vs {BASELINE_NAMES.get(name, name)}"
            for metric, per in metrics.get("beats", {}).items() for name, won in per.items() if not won]
    if not lost:
        return ("The model beats every baseline on every metric: each 95% paired bootstrap interval of the "
                "difference (resampling customers) lies on the model's side of 0.")
    return ("The model does NOT clearly beat (the 95% interval of the difference reaches 0 or beyond, ✗ above): "
            + "; ".join(lost) + ".")


def calibration_table(metrics: dict, horizon: int = 30) -> str:
    lines = [f"| decile of p_purchase_{horizon}d | rows | mean predicted | observed rate |", "|---|---|---|---|"]
    for row in metrics["model"]["calibration"]:
        lines.append(f"| {row['decile']} | {row['rows']} | {row['predicted']:.3f} | {row['observed']:.3f} |")
    return "\n".join(lines)


def card_markdown(card) -> str:
    read = {f.name for f in card.inputs}
    features = "\n".join(
        f"| `{f.name}` | {f.kind} | {'yes' if f.name in read else 'no'} | {', '.join(f.vocabulary)} |"
        for f in card.features
    )
    rows = card.rows
    dropped = (f"Left out, constant in the training set (no data for them): {', '.join(card.dropped)}.\n"
               if card.dropped else "")
    cutoffs = ", ".join(card.training_cutoffs)
    categories = (" and, per category, the probability that it is the category with the highest\n  spend "
                  "(`p_<category>`)" if len(card.categories) > 1 else
                  " (a single category: a binary model, `p_<category>` is the same probability)")
    return f"""# Model card: purchase propensity ({card.version})

- **Predicts**: for each customer, the probability of buying in the next {card.horizon_days} days
  (`p_purchase_{card.horizon_days}d`){categories}; classes: {", ".join(card.classes)}.
- **Label**: {card.label}
- **Model**: XGBoost `{card.params.get("objective")}`, {card.params.get("rounds")} rounds, depth
  {card.params.get("max_depth")}, eta {card.params.get("eta")}; trained {card.trained_at}.
- **Training cutoffs**: {cutoffs} ({rows.get("training")} rows: {rows.get("training_by_class")}).
- **Evaluation (out of time)**: cutoff {card.evaluation_cutoff}, {rows.get("evaluation")} rows
  ({rows.get("evaluation_by_class")}); no label day of training falls in or after it.

## Metrics on the evaluation window, next to baselines on the same rows

Baselines are lookup tables learnt on the training rows (class distribution per RFM segment, per
recency bucket, per last category bought, overall).

{metrics_table(card.metrics, card.horizon_days) if card.metrics else "(not evaluated)"}

Differences from each baseline, with 95% paired bootstrap confidence intervals over the evaluation
customers (the same resampled customers for the model and the baseline; lower log loss is better,
so there the difference should be negative):

{comparison_table(card.metrics, card.horizon_days) if card.metrics else ""}

{verdict(card.metrics) if card.metrics else ""}

## Calibration (model, evaluation window)

{calibration_table(card.metrics, card.horizon_days) if card.metrics else ""}

## Features (columns of `customer_360`)

"read" says whether some tree splits on the feature; `c360_predict` is given only those.
{dropped}
| feature | kind | read | vocabulary |
|---|---|---|---|
{features}
"""
