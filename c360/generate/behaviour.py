"""A customer's days: browsing sessions, orders and partner enrichment, driven by the latent model.

:func:`simulate` walks one customer day by day (a pure function of the seed and
the customer), :func:`session_events` turns a browsing session into raw events
(the same events ``c360 stream generate`` emits live), and :func:`window_rows`
aggregates events into the rows the stream aggregator writes, so generated
history and live aggregates are the same shape and meaning.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from c360.generate.model import (
    TYPES,
    Customer,
    Product,
    rng_for,
    season,
    session_start,
    traits,
)

#: Browsing on day d lifts purchases in the same category on days d+LAG_MIN .. d+LAG_MAX.
LAG_MIN, LAG_MAX = 2, 6
#: Browsing seconds in the lag window at which the lift saturates.
SATURATION_SECONDS = 300.0
ACTIONS = ("view", "view", "view", "view", "view", "view", "view", "view", "add_to_cart", "search")
CHANNELS = ("web", "mobile", "store")


class Event(NamedTuple):
    """One raw browsing event, as ``c360 stream generate`` emits it."""

    event_id: str
    customer_id: int
    ts: datetime
    category: str
    page: str
    action: str
    dwell_seconds: float

    def as_json(self) -> dict:
        return {
            "event_id": self.event_id,
            "customer_id": self.customer_id,
            "ts": self.ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.ts.microsecond // 1000:03d}Z",
            "category": self.category,
            "page": self.page,
            "action": self.action,
            "dwell_seconds": self.dwell_seconds,
        }


def session_events(rng: random.Random, customer: Customer, start: datetime, category: str,
                   categories: tuple[str, ...]) -> list[Event]:
    """One browsing session from ``start``: mostly pages of ``category``, some wandering."""
    pages = 1 + min(40, int(rng.expovariate(0.2)))
    random_ = rng.random
    n = len(categories)
    ts = start
    events = []
    slug_main = category.lower().replace(" ", "-")
    for _ in range(pages):
        current = category if random_() < 0.85 else categories[int(random_() * n)]
        slug = slug_main if current is category else current.lower().replace(" ", "-")
        dwell = round(min(900.0, 35.0 * math.exp(rng.gauss(0, 0.8))), 1)
        action = ACTIONS[int(random_() * len(ACTIONS))]
        page = f"/{slug}" if action == "search" else f"/{slug}/p/{1 + int(random_() * 400)}"
        events.append(Event(f"{rng.getrandbits(64):016x}", customer.customer_id, ts, current, page, action, dwell))
        ts = ts + timedelta(seconds=round(dwell + 1 + 7 * random_(), 3))
    return events


def window_rows(events, window_seconds: int = 60) -> list[tuple]:
    """Aggregate events into tumbling windows: ``(window_start, window_end, customer_id, category,
    page_views, seconds)``, sorted; page_views counts ``view`` actions, seconds sums dwell."""
    sums: dict[tuple, list] = {}
    for event in events:
        epoch = int((event.ts - EPOCH).total_seconds())
        start = epoch - epoch % window_seconds
        key = (start, event.customer_id, event.category)
        acc = sums.get(key)
        if acc is None:
            acc = sums[key] = [0, 0.0]
        if event.action == "view":
            acc[0] += 1
        acc[1] += event.dwell_seconds
    rows = []
    for (start, customer_id, category), (views, seconds) in sorted(sums.items()):
        begin = EPOCH + timedelta(seconds=start)
        rows.append((begin, begin + timedelta(seconds=window_seconds), customer_id, category, views,
                     round(seconds, 3)))
    return rows


EPOCH = datetime(1970, 1, 1)


@dataclass
class Activity:
    """What one customer did: orders (with items), browsing window rows, partner record (or None)."""

    orders: list[tuple]  # (order_ts, channel, status, [(product_id, quantity, unit_price), ...])
    browsing: list[tuple]
    partner: dict | None


def simulate(seed: int, customer: Customer, catalogue: dict[str, list[Product]], start: date, end: date,
             seasons: list[float] | None = None) -> Activity:
    """Walk ``customer`` from ``start`` (or signup) to ``end`` (exclusive).

    Each active day: a browsing session with probability ``browse × season``; a
    purchase with hazard ``buy × season`` plus, per category, ``response ×
    min(1, seconds browsed in it during days d-6..d-2 / 300)``. Customers go
    quiet (churn) at a daily hazard and most come back after weeks; a fifth of
    quiet spells last about three years.
    """
    rng = rng_for(seed, "activity", customer.customer_id)
    traits_ = TYPES[customer.kind]
    browse, buy, response, churn = traits_["browse"], traits_["buy"], traits_["response"], traits_["churn"]
    categories = tuple(catalogue)
    weights = [customer.affinity[c] for c in categories]
    first = max(start, customer.signup_date)
    days = (end - first).days
    offset = (first - start).days
    if seasons is None:
        seasons = [season(start + timedelta(days=i)) for i in range((end - start).days)]
    random_ = rng.random
    browsed: dict[int, dict[str, float]] = {}
    last_browse = -LAG_MAX - 1
    events: list[Event] = []
    orders: list[tuple] = []
    # Days with no recent browsing are skipped by thinning: candidate days come at the
    # bound rate ``bound`` (geometric gaps) and are accepted with the day's true rate.
    bound = churn + (browse + buy) * max(seasons[offset:] or [1.0])
    log_keep = math.log(1.0 - bound)
    i = 0
    while i < days:
        lift_active = i - last_browse <= LAG_MAX
        if not lift_active:
            i += int(math.log(1.0 - random_()) / log_keep)
            if i >= days:
                break
            s = seasons[offset + i]
            b, c = browse * s, buy * s
            q = churn + (1 - churn) * (b + c - b * c)
            if random_() * bound >= q:
                i += 1
                continue
            if random_() * q < churn:
                rate = 0.001 if random_() < 0.2 else 0.02
                i += 1 + int(math.log(1.0 - random_()) / math.log(1.0 - rate))
                continue
            browsing_today = random_() * (b + c - b * c) < b
            buying_today = (random_() < c) if browsing_today else True
            if browsing_today:
                _browse(rng, customer, first + timedelta(days=i), categories, weights, events,
                        browsed.setdefault(i, {}))
                last_browse = i
            if buying_today:
                category = rng.choices(categories, weights)[0]
                orders.append(_order(rng, customer, catalogue, categories, weights, first + timedelta(days=i),
                                     category, s))
            i += 1
            continue
        if random_() < churn:
            # Quiet for a geometric number of days; a fifth of spells are (almost) for good.
            rate = 0.001 if random_() < 0.2 else 0.02
            i += 1 + int(math.log(1.0 - random_()) / math.log(1.0 - rate))
            continue
        s = seasons[offset + i]
        if random_() < browse * s:
            _browse(rng, customer, first + timedelta(days=i), categories, weights, events, browsed.setdefault(i, {}))
            last_browse = i
        total = buy * s
        lifted = None
        if i - last_browse <= LAG_MAX + 1 and browsed:
            lifted = {}
            for lag in range(LAG_MIN, LAG_MAX + 1):
                past = browsed.get(i - lag)
                if past:
                    for category, seconds in past.items():
                        lifted[category] = lifted.get(category, 0.0) + seconds
            for category, seconds in lifted.items():
                lifted[category] = response * min(1.0, seconds / SATURATION_SECONDS)
                total += lifted[category]
            for old in [d for d in browsed if i - d > LAG_MAX]:
                del browsed[old]
        if random_() < total:
            pick = random_() * total
            category = None
            for c, h in (lifted or {}).items():
                if pick < h:
                    category = c
                    break
                pick -= h
            if category is None:
                category = rng.choices(categories, weights)[0]
            day = first + timedelta(days=i)
            orders.append(_order(rng, customer, catalogue, categories, weights, day, category, s))
        i += 1
    return Activity(orders, window_rows(events), _partner(rng_for(seed, "partner", customer.customer_id),
                                                          customer, end))


def _browse(rng, customer, day, categories, weights, events, today) -> None:
    """One or two sessions on ``day``; adds their events and the seconds per category browsed today."""
    for _ in range(2 if rng.random() < 0.2 else 1):
        category = rng.choices(categories, weights)[0]
        session = session_events(rng, customer, session_start(rng, day), category, categories)
        events.extend(session)
        for event in session:
            today[event.category] = today.get(event.category, 0.0) + event.dwell_seconds


def _order(rng, customer: Customer, catalogue, categories, weights, day: date, category: str, s: float) -> tuple:
    ts = session_start(rng, day) + timedelta(minutes=rng.randint(5, 90))
    if ts.date() != day:
        ts = datetime(day.year, day.month, day.day, 23, rng.randint(0, 59), rng.randint(0, 59))
    channel = rng.choices(CHANNELS, weights=(0.6, 0.3, 0.1))[0]
    u = rng.random()
    status = "cancelled" if u < 0.05 else "returned" if u < 0.10 else "completed"
    lines = 1 + (rng.random() < 0.3) + (rng.random() < 0.1)
    items = []
    for line in range(lines):
        chosen = category if line == 0 else rng.choices(categories, weights)[0]
        shelf = catalogue[chosen]
        product = shelf[min(len(shelf) - 1, int(len(shelf) * rng.random() ** (1.0 / customer.wealth)))]
        quantity = 1 + (rng.random() < 0.15 * customer.wealth) + (rng.random() < 0.05)
        discount = 1.0
        if customer.kind == "bargain_hunter":
            discount = rng.uniform(0.7, 0.95)
        elif rng.random() < 0.2 * s:
            discount = rng.uniform(0.85, 0.97)
        items.append((product.product_id, quantity, round(product.list_price * discount, 2)))
    return ts, channel, status, items


def _partner(rng: random.Random, customer: Customer, end: date) -> dict | None:
    """Third-party enrichment for about two thirds of customers; two partners with different schemas."""
    if rng.random() > (0.85 if customer.kind == "enthusiast" else 0.62):
        return None
    partner = "acme_data" if rng.random() < 0.6 else "socialscope"
    _, _, favourite_interests = traits(customer.favourite)
    interests = rng.sample(favourite_interests, k=min(len(favourite_interests), rng.randint(1, 3)))
    if rng.random() < 0.5:
        other = rng.choice(list(customer.affinity))
        extra = rng.choice(traits(other)[2])
        if extra not in interests:
            interests.append(extra)
    sentiment = {"enthusiast": 0.5, "loyal_regular": 0.4, "window_shopper": 0.0}.get(customer.kind, 0.2)
    updated = datetime(end.year, end.month, end.day) - timedelta(minutes=rng.randint(60, 60 * 24 * 60))
    record = {
        "customer_id": customer.customer_id,
        "partner": partner,
        "interests": interests,
        "social": {
            "followers": int(math.exp(rng.gauss(5, 1.8))),
            "sentiment": round(max(-1.0, min(1.0, rng.gauss(sentiment, 0.35))), 3),
        },
        "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if partner == "acme_data":
        if rng.random() < 0.3:  # the minority who answered the survey
            nps = {"enthusiast": 9, "loyal_regular": 8, "window_shopper": 5}.get(customer.kind, 7)
            responded = updated - timedelta(days=rng.randint(1, 300))
            record["survey"] = {"nps": max(0, min(10, int(round(rng.gauss(nps, 1.8))))),
                                "responded_at": responded.strftime("%Y-%m-%dT%H:%M:%S")}
    else:  # schema drift: no survey at all, an extra field, sometimes no sentiment
        record["influencer_tier"] = rng.choice(("nano", "micro", "micro", "macro"))
        if rng.random() < 0.3:
            del record["social"]["sentiment"]
    return record
