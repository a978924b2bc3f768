"""The Customer 360 data generator: realistic, deterministic for a seed, and streamed.

Run it with ``c360 generate`` (or :func:`generate`). It produces the demo's four
sources: CRM ``customers``; shop ``products``, ``orders`` (with cancelled and
returned orders) and ``order_items``; partner enrichment JSON files (two
partners, with schema drift); and browsing aggregates in the
``{yyyy}/{MM}/{dd}/{HH}/`` layout the stream aggregator writes.

Customers are produced in id order, a chunk at a time, each one a pure function
of ``(seed, customer_id)``: the output is byte-for-byte the same for the same
arguments (including ``end``), and memory stays bounded however many customers
are asked for (browsing rows are buffered in compact arrays up to a limit, then
flushed as one file per hour folder).

The signal, documented so a model's success can be judged against it
------------------------------------------------------------------------
* **Latent types** (hidden, never written): enthusiast, bargain hunter, loyal
  regular, window shopper, occasional. Each has a browsing rate, a baseline
  purchase hazard, a responsiveness to browsing, a focus on one favourite
  category, a churn hazard and a price tilt (:data:`model.TYPES`).
* **Browsing drives purchases a few days later**: the daily probability of
  buying in category *c* rises by ``response × min(1, s / 300)`` where *s* is
  the seconds the customer browsed *c* during the 2 to 6 days before (days
  d-6..d-2). Same-day and next-day browsing does not lift it; nor does browsing
  a week earlier. An order's first line is in the category that triggered it.
* **Spend depends on income and age**: dearer products and larger quantities
  with higher income bands, a peak between 25 and 55, bargain hunters buy at a
  discount.
* **Seasonality**: weekends ×1.25 vs weekdays ×0.95, a holiday peak in early
  December (up to ×1.8) and a small summer bump.
* **Churn and return**: customers go quiet at a daily hazard (by type); most
  quiet spells last weeks (mean ~50 days), a fifth last years; while quiet there
  is no browsing and no purchase.
* **Interests**: partner ``interests`` come mostly from the favourite category,
  so enrichment predicts category affinity; survey NPS and social sentiment
  are higher for enthusiasts and loyal regulars.
* **Mess**: mixed-case emails, trailing spaces (emails, last names), NULLs in
  phone, gender, birth date, income, household fields, city and state; about 1%
  duplicate-looking people (same name, birth date and city as a customer just
  before them, a different email).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from c360.generate.behaviour import simulate
from c360.generate.model import DEFAULT_CATEGORIES, customer, products, season

CHUNK = 500


@dataclass(frozen=True)
class Config:
    """What to generate. ``end`` is exclusive; history covers ``days`` days before it."""

    customers: int = 10_000
    days: int = 365
    seed: int = 42
    end: date = field(default_factory=lambda: date.today())
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    browsing_format: str = "jsonl"
    #: Keep only the browsing aggregates of the last N days (None: all ``days``). Customers are still
    #: simulated over the whole history, so orders are the same; a clickstream store with a retention
    #: period looks like this, and it keeps a million-customer run's blob volume manageable.
    browsing_days: int | None = None

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days)

    def manifest(self) -> dict:
        return {
            "generator": "c360.generate",
            "seed": self.seed,
            "customers": self.customers,
            "customer_ids": [1, self.customers],
            "days": self.days,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "categories": list(self.categories),
            "browsing_format": self.browsing_format,
            "browsing_days": self.browsing_days or self.days,
        }


@dataclass
class Chunk:
    """One chunk of customers and everything they did, ready for a target to write."""

    index: int
    customers: list[tuple]
    orders: list[tuple]
    order_items: list[tuple]
    partners: list[dict]
    browsing: list[tuple]


@functools.lru_cache(maxsize=4)
def _world(config: Config):
    """The product shelves per category and the daily season multipliers of ``config``."""
    catalogue = {c: [] for c in config.categories}
    for product in products(config.seed, config.categories):
        catalogue[product.category].append(product)
    seasons = [season(config.start + timedelta(days=i)) for i in range(config.days)]
    return catalogue, seasons


def _chunk(config: Config, index: int, first: int, size: int) -> Chunk:
    """Customers ``first .. first+size-1``; order ids are numbered from 1 within the chunk."""
    catalogue, seasons = _world(config)
    start, end = config.start, config.end
    chunk = Chunk(index, [], [], [], [], [])
    kept_from = datetime.combine(end - timedelta(days=config.browsing_days), time()) if config.browsing_days else None
    next_order = 1
    for customer_id in range(first, min(first + size, config.customers + 1)):
        person = customer(config.seed, customer_id, config.categories, start, end)
        activity = simulate(config.seed, person, catalogue, start, end, seasons)
        chunk.customers.append(person.crm_row())
        for order_ts, channel, status, items in sorted(activity.orders, key=lambda o: o[0]):
            chunk.orders.append((next_order, customer_id, order_ts, channel, status))
            for line_no, (product_id, quantity, unit_price) in enumerate(items, start=1):
                chunk.order_items.append((next_order, line_no, product_id, quantity, unit_price))
            next_order += 1
        if activity.partner is not None:
            chunk.partners.append(activity.partner)
        if kept_from is None:
            chunk.browsing.extend(activity.browsing)
        else:
            chunk.browsing.extend(row for row in activity.browsing if row[0] >= kept_from)
    return chunk


def chunks(config: Config, *, workers: int = 1):
    """Yield :class:`Chunk` s of up to ``CHUNK`` customers, in customer id order.

    With ``workers`` > 1 the chunks are simulated in that many processes, at most
    two per worker in flight, and still yielded in order: the output is the same.
    Order ids are dense from 1 in customer order; they depend only on the config.
    """
    starts = list(enumerate(range(1, config.customers + 1, CHUNK)))
    offset = 0

    def numbered(chunk: Chunk) -> Chunk:
        nonlocal offset
        if offset:
            chunk.orders = [(o + offset, *rest) for o, *rest in chunk.orders]
            chunk.order_items = [(o + offset, *rest) for o, *rest in chunk.order_items]
        offset += len(chunk.orders)
        return chunk

    if workers <= 1:
        for index, first in starts:
            yield numbered(_chunk(config, index, first, CHUNK))
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as pool:
        pending = []
        for index, first in starts:
            pending.append(pool.submit(_chunk, config, index, first, CHUNK))
            if len(pending) >= 2 * workers:
                yield numbered(pending.pop(0).result())
        for future in pending:
            yield numbered(future.result())


def product_rows(config: Config) -> list[tuple]:
    return [(p.product_id, p.name, p.category, p.list_price) for p in products(config.seed, config.categories)]


def generate(config: Config, target, *, progress=None, workers: int = 1) -> dict:
    """Generate ``config`` into ``target`` (see :mod:`c360.generate.targets`); returns row counts.

    ``progress(n)`` is called after each chunk with the number of customers done; ``workers``
    processes simulate customers in parallel (the output does not change).
    """
    counts = {"customers": 0, "products": 0, "orders": 0, "order_items": 0, "partners": 0, "browsing": 0}
    rows = product_rows(config)
    target.begin(config, rows)
    counts["products"] = len(rows)
    for chunk in chunks(config, workers=workers):
        target.write(chunk)
        counts["customers"] += len(chunk.customers)
        counts["orders"] += len(chunk.orders)
        counts["order_items"] += len(chunk.order_items)
        counts["partners"] += len(chunk.partners)
        counts["browsing"] += len(chunk.browsing)
        if progress is not None:
            progress(len(chunk.customers))
    target.finish()
    return counts


def write_manifest(folder: Path, config: Config, counts: dict) -> Path:
    """``manifest.json``: the config and row counts, read by ``c360 stream`` for the known customers."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "manifest.json"
    path.write_text(json.dumps({**config.manifest(), "rows": counts}, indent=2) + "\n")
    return path
