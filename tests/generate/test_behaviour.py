"""The documented signal is really in the data: measured on a generated dataset, never assumed."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from statistics import mean

import pytest

from c360.generate import Config, chunks, product_rows
from c360.generate.behaviour import LAG_MAX, LAG_MIN


@pytest.fixture(scope="module")
def dataset():
    config = Config(customers=1000, days=365, seed=11, end=date(2026, 11, 23))
    category_of = {row[0]: row[2] for row in product_rows(config)}
    data = {"customers": [], "orders": {}, "items": [], "browsing": []}
    for chunk in chunks(config):
        data["customers"].extend(chunk.customers)
        data["orders"].update({o[0]: o for o in chunk.orders})
        data["items"].extend(chunk.order_items)
        data["browsing"].extend(chunk.browsing)
    data["category_of"] = category_of
    return data


def test_browsing_a_category_raises_purchases_in_it_a_few_days_later(dataset):
    """Within the same customer and category: purchases 2-6 days after a browsing day are far more
    likely than 2-6 days before it. Latent taste affects both sides alike, so only the lagged effect
    of browsing on buying can make them differ."""
    browsed = defaultdict(set)
    for start, _end, customer_id, category, _views, _seconds in dataset["browsing"]:
        browsed[(customer_id, category)].add(start.date())
    bought = defaultdict(set)
    for order_id, line_no, product_id, _q, _p in dataset["items"]:
        if line_no == 1:
            _, customer_id, ts, _channel, _status = dataset["orders"][order_id]
            bought[(customer_id, dataset["category_of"][product_id])].add(ts.date())
    after = before = total = 0
    for key, days in browsed.items():
        purchases = bought.get(key, set())
        for day in days:
            total += 1
            after += any(day + timedelta(days=k) in purchases for k in range(LAG_MIN, LAG_MAX + 1))
            before += any(day - timedelta(days=k) in purchases for k in range(LAG_MIN, LAG_MAX + 1))
    assert total > 8_000 and before > 50
    assert after / total > 2.0 * (before / total), (after, before, total)


def test_spend_per_order_rises_with_income(dataset):
    band_of = {row[0]: row[7] for row in dataset["customers"]}
    value = defaultdict(float)
    for order_id, _line, _product, quantity, price in dataset["items"]:
        value[order_id] += quantity * price
    by_band = defaultdict(list)
    for order_id, total in value.items():
        band = band_of[dataset["orders"][order_id][1]]
        if band is not None:
            by_band[band].append(total)
    assert mean(by_band["100-150k"] + by_band["150k+"]) > 1.5 * mean(by_band["<25k"] + by_band["25-50k"])


def test_the_holiday_season_sells_more_than_the_autumn(dataset):
    per_day = defaultdict(int)
    for _id, _customer, ts, _channel, _status in dataset["orders"].values():
        per_day[ts.date()] += 1
    december = sum(per_day[date(2025, 12, d)] for d in range(1, 21))
    september = sum(per_day[date(2026, 9, d)] for d in range(1, 21))
    assert december > 1.3 * september, (december, september)


def test_orders_include_cancelled_and_returned_ones(dataset):
    statuses = defaultdict(int)
    for _id, _customer, _ts, _channel, status in dataset["orders"].values():
        statuses[status] += 1
    total = sum(statuses.values())
    assert set(statuses) == {"completed", "cancelled", "returned"}
    assert 0.02 < statuses["cancelled"] / total < 0.1 and 0.02 < statuses["returned"] / total < 0.1
