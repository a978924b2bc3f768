"""Live browsing events for ``c360 stream generate``: overlapping sessions of known customers.

Sessions start as a Poisson process in event time, sized so that events flow at
``rate`` per second; each session is the generator's own session model
(:func:`c360.generate.behaviour.session_events`) for a customer drawn from the
known ids, so live events and generated history look alike. Events come out in
time order (a heap merges the sessions in flight). ``malformed`` turns that
fraction of events into each kind of bad input the aggregator must dead-letter.
"""

from __future__ import annotations

import heapq
import json
import os
import random
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from c360.generate.behaviour import session_events
from c360.generate.model import DEFAULT_CATEGORIES, customer, rng_for

MEAN_EVENTS_PER_SESSION = 5.5
#: Sessions last minutes, so the stream starts sessions this long before its first event (at most
#: WARM_UP_SESSIONS of them) and drops the events before it: the rate starts near its steady value.
WARM_UP_SECONDS = 600
WARM_UP_SESSIONS = 5000


def events(*, customers: tuple[int, int], rate: float, seed: int = 1, start: datetime | None = None,
           categories=DEFAULT_CATEGORIES, malformed: float = 0.0):
    """Yield ``(ts, line)`` forever, in event-time order; ``ts`` is a naive UTC datetime."""
    rng = rng_for(seed, "stream")
    now = start or datetime.now(UTC).replace(tzinfo=None)
    session_rate = rate / MEAN_EVENTS_PER_SESSION
    low, high = customers
    categories = tuple(categories)
    today = now.date()
    heap: list = []
    people: dict[int, object] = {}
    counter = 0
    next_session = now - timedelta(seconds=min(WARM_UP_SECONDS, WARM_UP_SESSIONS / session_rate))
    while True:
        while not heap or next_session <= heap[0][0]:
            customer_id = rng.randint(low, high)
            person = people.get(customer_id)
            if person is None:
                if len(people) > 50_000:
                    people.clear()
                person = people[customer_id] = customer(seed, customer_id, categories,
                                                        today - timedelta(days=365), today)
            category = rng.choices(categories, [person.affinity[c] for c in categories])[0]
            for event in session_events(rng, person, next_session, category, categories):
                counter += 1
                heapq.heappush(heap, (event.ts, counter, event))
            next_session += timedelta(seconds=rng.expovariate(session_rate))
        ts, _, event = heapq.heappop(heap)
        if ts < now:
            continue
        record = event.as_json()
        if malformed and rng.random() < malformed:
            yield ts, _spoil(rng, record)
        else:
            yield ts, json.dumps(record, separators=(",", ":"))


def _spoil(rng: random.Random, record: dict) -> str:
    kind = rng.choice(("invalid_json", "missing_field", "wrong_type", "unknown_customer", "future_timestamp"))
    if kind == "invalid_json":
        return json.dumps(record)[: rng.randint(5, 30)]
    if kind == "missing_field":
        record.pop(rng.choice(("customer_id", "ts", "category", "dwell_seconds")))
    elif kind == "wrong_type":
        record["dwell_seconds"] = "a while"
    elif kind == "unknown_customer":
        record["customer_id"] = -rng.randint(1, 10**6)
    else:
        record["ts"] = "2099-01-01T00:00:00.000Z"
    return json.dumps(record, separators=(",", ":"))


class SpoolWriter:
    """Writes lines into ``events-<seq>.jsonl`` files, each complete before it is renamed into view."""

    def __init__(self, folder: Path, roll: int = 10_000):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.roll = roll
        names = sorted(p.name for p in self.folder.glob("events-*.jsonl"))
        self.seq = int(names[-1][7:16]) + 1 if names else 0
        self._handle = None
        self._count = 0

    def write(self, line: str) -> None:
        if self._handle is None:
            self._path = self.folder / f"events-{self.seq:09d}.jsonl"
            self._handle = open(self._path.with_suffix(".part"), "w")
        self._handle.write(line + "\n")
        self._count += 1
        if self._count >= self.roll:
            self.close()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            os.replace(self._path.with_suffix(".part"), self._path)
            self._handle, self._count = None, 0
            self.seq += 1


def run(write, *, customers, rate: float, count: int | None, duration: float | None, seed: int,
        start: datetime | None, fast: bool, malformed: float, categories=DEFAULT_CATEGORIES) -> int:
    """Emit events through ``write(line)``; paced in real time unless ``fast``. Returns how many."""
    began = time.monotonic()
    first = None
    emitted = 0
    for ts, line in events(customers=customers, rate=rate, seed=seed, start=start, categories=categories,
                           malformed=malformed):
        if first is None:
            first = ts
        elapsed = (ts - first).total_seconds()
        if duration is not None and elapsed >= duration:
            break
        if count is not None and emitted >= count:
            break
        if not fast:
            delay = elapsed - (time.monotonic() - began)
            if delay > 0:
                time.sleep(delay)
        write(line)
        emitted += 1
    return emitted


def today() -> date:
    return datetime.now(UTC).date()
