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
        values = [metrics["model"][key], *[metrics["baselines"][b][key] for b in baselines]]
        lines.append("| " + " | ".join([label.format(horizon=horizon), *[f"{v:.4f}" for v in values]]) + " |")
    return "\n".join(lines)


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
    lost = [f"{metric} vs {BASELINE_NAMES.get(name, name)}"
            for metric, per in card.metrics.get("beats", {}).items() for name, won in per.items() if not won]
    verdict = "The model beats every baseline on every metric above." if not lost else (
        "The model does NOT beat: " + "; ".join(lost) + ".")
    return f"""# Model card: purchase propensity ({card.version})

- **Predicts**: for each customer, the probability of buying in the next {card.horizon_days} days
  (`p_purchase_{card.horizon_days}d`) and, per category, the probability that it is the category with the highest
  spend (`p_<category>`); classes: {", ".join(card.classes)}.
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

{verdict}

## Calibration (model, evaluation window)

{calibration_table(card.metrics, card.horizon_days) if card.metrics else ""}

## Features (columns of `customer_360`)

"read" says whether some tree splits on the feature; `c360_predict` is given only those.
{dropped}
| feature | kind | read | vocabulary |
|---|---|---|---|
{features}
"""
