"""What a panel shows beyond rows: segment meanings, the model's reasons, the next best offer, movement.

Nothing here reads a source: each function takes answers of :mod:`c360.app.queries` (through
:mod:`c360.app.db`) and the project's model, so the same numbers the page shows are the SQL's.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

#: What each RFM segment of queries/rfm.sql means for the person talking to the customer.
SEGMENT_MEANINGS = {
    "Champions": "Bought recently, buys often and spends the most: reward them, ask for reviews.",
    "Loyal": "Buys regularly and responds to promotions: upsell higher-value products.",
    "Potential Loyalist": "Recent customers with a few orders: offer membership or a loyalty programme.",
    "New": "Bought for the first time very recently: help them get started, build the relationship.",
    "Promising": "Recent shoppers with one order: create brand awareness, offer a free trial.",
    "Need Attention": "Average recency and frequency: a limited-time offer on what they like may reactivate.",
    "About to Sleep": "Below-average recency and frequency: share popular products, reconnect before they go.",
    "At Risk": "Used to buy often but not lately: send personalised emails, a win-back offer.",
    "Can't Lose Them": "Bought the most and most often, but long ago: win them back, talk to them.",
    "Hibernating": "Last order long ago, few orders: offer relevant products and special discounts.",
    "Lost": "No purchase in the last 365 days (or the lowest recency and frequency): revive interest or let go.",
}

#: Segments the next best offer treats as to be won back.
WIN_BACK = ("At Risk", "Can't Lose Them", "Hibernating", "About to Sleep", "Lost")
#: At or above this probability of buying in 30 days, no discount is offered.
CONFIDENT = 0.30
OFFER_RULE = (f"Offer the predicted category; a 15% win-back voucher when the segment is "
              f"{', '.join(WIN_BACK[:-1])} or {WIN_BACK[-1]}; otherwise no discount when P(purchase in 30 days) "
              f"≥ {CONFIDENT:.0%}, and free shipping below it.")

#: Words for the model's features (the reasons); others show their column name.
FEATURE_WORDS = {
    "recency_days": "days since the last order", "frequency": "orders in 365 days", "monetary": "net spend in 365 days",
    "r_score": "recency score", "f_score": "frequency score", "m_score": "monetary score", "segment": "RFM segment",
    "days_since_first_order": "days since the first order", "days_since_signup": "days since sign-up",
    "mean_days_between_orders": "mean days between orders",
    "days_between_last_orders": "days between the last two orders",
    "browse_seconds_1d": "seconds browsed in 1 day", "browse_seconds_7d": "seconds browsed in 7 days",
    "browse_seconds_30d": "seconds browsed in 30 days", "page_views_7d": "page views in 7 days",
    "page_views_30d": "page views in 30 days", "browsed_categories_30d": "categories browsed in 30 days",
    "top_browsed_category_30d": "most browsed category (30 days)", "spend_10d": "spend in 10 days",
    "spend_30d": "spend in 30 days", "spend_60d": "spend in 60 days", "spend_365d": "spend in 365 days",
    "purchased_categories_365d": "categories bought in 365 days",
    "top_purchased_category_365d": "most bought category (365 days)",
    "days_since_last_purchase": "days since the last purchase", "avg_basket_365d": "average basket",
    "income_band": "income band", "gender": "gender", "birth_date": "birth year", "household_size": "household size",
}


def next_best_offer(prediction: dict) -> dict:
    """The offer for one customer's prediction row (``segment``, ``p_purchase_30d``, ``predicted_category``)."""
    category, p = prediction.get("predicted_category"), prediction.get("p_purchase_30d")
    if category is None or p is None:
        return {"offer": None, "rule": OFFER_RULE}
    if prediction.get("segment") in WIN_BACK:
        offer = f"15% win-back voucher on {category}"
    elif p >= CONFIDENT:
        offer = f"Recommend {category}, no discount"
    else:
        offer = f"Free shipping on {category}"
    return {"offer": offer, "rule": OFFER_RULE}


def reasons(models: Path, table, *, top: int = 4) -> dict:
    """Per-feature contributions (XGBoost ``pred_contribs``, in log-odds) for the first row of ``table``.

    ``category``: what moves the predicted category against no purchase; ``purchase``: what moves buying
    at all against not buying (each category's contribution weighted by its share of the purchase
    probability). Each list is the ``top`` features by size, with the customer's value, in words.
    """
    import numpy as np
    import xgboost as xgb

    from c360.model.matrix import matrix
    from c360.model.scorer import scorer

    model = scorer(models)
    if model is None or table is None or not table.num_rows:
        return {"category": [], "purchase": []}
    card = model.card
    inputs = table.select([f.name for f in model.inputs])
    values = matrix(inputs, card.features, unread=model.unread)
    rows = xgb.DMatrix(np.ascontiguousarray(values), feature_names=card.columns, nthread=1)
    contributions = one_thread(model).predict(rows, pred_contribs=True)[0]  # classes x (columns + bias)
    margins = contributions.sum(axis=1)
    probabilities = np.exp(margins - margins.max())
    probabilities /= probabilities.sum()
    predicted = 1 + int(np.argmax(probabilities[1:]))
    against_none = contributions - contributions[0]
    weights = probabilities[1:] / max(probabilities[1:].sum(), 1e-12)
    purchase = (weights[:, None] * against_none[1:]).sum(axis=0)
    row = inputs.slice(0, 1).to_pylist()[0]
    by_feature = []
    at = 0
    for feature in card.features:
        width = feature.width
        by_feature.append((feature.name, at, at + width))
        at += width

    def top_of(deltas) -> list[dict]:
        sums = [(name, float(deltas[start:end].sum())) for name, start, end in by_feature]
        chosen = sorted((s for s in sums if abs(s[1]) > 1e-6), key=lambda s: -abs(s[1]))[:top]
        return [{"feature": name, "words": FEATURE_WORDS.get(name, name), "value": _shown(row.get(name)),
                 "log_odds": round(delta, 4), "direction": "raises" if delta > 0 else "lowers"}
                for name, delta in chosen]

    # the contributions add up to the model's margins: the probability they imply is the view's (a check)
    return {"category": top_of(against_none[predicted]), "purchase": top_of(purchase),
            "predicted": card.classes[predicted], "p_purchase_30d": float(1 - probabilities[0])}


_ONE_THREAD: dict[int, tuple] = {}
_ONE_THREAD_LOCK = threading.Lock()


def one_thread(model):
    """``model``'s booster (a :class:`c360.model.scorer.Scorer`'s) copied to run on one thread, made once per
    loaded model. One customer's contributions take ~1 ms on one thread; with XGBoost's default (a thread per
    core) they took 40-50 ms at the median on the loaded 2-core test machine, its threads waiting for cores that
    the page's other panels hold. The scorer's own booster (whole views at once) keeps its threads."""
    with _ONE_THREAD_LOCK:
        kept = _ONE_THREAD.get(id(model))
        if kept is None or kept[0] is not model:
            booster = model.booster.copy()
            booster.set_param({"nthread": 1})
            if len(_ONE_THREAD) >= 4:
                _ONE_THREAD.clear()
            kept = _ONE_THREAD[id(model)] = (model, booster)
        return kept[1]


def _shown(value):
    if hasattr(value, "year") and hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "as_integer_ratio") and not isinstance(value, int):
        return round(float(value), 2)
    return value


def movement(before: list[dict], after: list[dict]) -> list[dict]:
    """Customers per (segment before, segment after), from two answers of ``SEGMENT_OF``; a customer
    missing on one side is counted as ``(not signed up)``."""
    first = {row["customer_id"]: row["segment"] for row in before}
    second = {row["customer_id"]: row["segment"] for row in after}
    pairs = Counter((first.get(c, "(not signed up)"), second.get(c, "(not signed up)")) for c in first.keys() | second)
    return [{"from": a, "to": b, "customers": n} for (a, b), n in sorted(pairs.items(), key=lambda p: (-p[1], p[0]))]
