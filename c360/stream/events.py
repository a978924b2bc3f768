"""Reading one raw browsing event: a JSON line -> a compact tuple, or the reason it is refused.

An event is ``{"event_id", "customer_id", "ts", "category", "page", "action",
"dwell_seconds"}``. :func:`parse` never raises for bad input: it returns either
``(epoch_seconds, customer_id, category, is_view, dwell_seconds)`` or a
``(reason, detail)`` pair naming what is wrong. Reasons are fixed words, so
dead letters can be counted and filtered.
"""

from __future__ import annotations

import json
import json.scanner
from datetime import UTC, datetime

REASONS = (
    "invalid_json",       # the line is not JSON, or not a JSON object
    "missing_field",      # a required field is absent or null
    "wrong_type",         # a field has the wrong type, or ts is not an ISO-8601 time
    "unknown_customer",   # customer_id is not a known customer
    "future_timestamp",   # ts is later than now + the allowed clock skew
    "late",               # ts falls in a window already closed by the watermark
)

FIELDS = ("event_id", "customer_id", "ts", "category", "page", "action", "dwell_seconds")

#: Longest believable dwell on one page (a day); also keeps infinities out of the sums.
MAX_DWELL = 86_400

_minutes: dict[str, float] = {}


def ts_epoch(text: str) -> float:
    """Seconds since the epoch for an ISO-8601 time; naive times are UTC. ValueError if not a time.

    The canonical ``YYYY-MM-DDTHH:MM:SS[.fff]Z`` form takes a fast path that
    caches each minute.
    """
    if len(text) >= 20 and text[-1] == "Z" and text[10] == "T" and text[16] == ":":
        base = _minutes.get(text[:16])
        if base is None:
            if len(_minutes) > 100_000:
                _minutes.clear()
            base = datetime.fromisoformat(text[:16]).replace(tzinfo=UTC).timestamp()
            _minutes[text[:16]] = base
        seconds = float(text[17:-1])
        if not 0.0 <= seconds < 61.0 or not text[17:19].isdigit():
            raise ValueError(text)
        return base + seconds
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


_scan = json.scanner.make_scanner(json.JSONDecoder())


def _load(line):
    """The JSON value of one line, or raise ValueError; a fast path for the common, clean case."""
    text = line.decode("utf-8") if type(line) is bytes else line
    text = text.rstrip("\r\n")
    try:
        value, end = _scan(text, 0)
        if end == len(text):
            return value
    except StopIteration:
        pass
    return json.loads(text)


def parse(line, known=None, future_limit: float | None = None):
    """One event line -> ``(epoch, customer_id, category, is_view, dwell)`` or ``(reason, detail)``.

    ``known`` (a container of ids, or None for any) decides unknown customers;
    ``future_limit`` is the latest acceptable epoch.
    """
    try:
        event = _load(line)
    except ValueError:
        return ("invalid_json", "not valid JSON")
    if type(event) is not dict:
        return ("invalid_json", "not a JSON object")
    try:
        customer_id, ts, category = event["customer_id"], event["ts"], event["category"]
        action, dwell, event_id, page = event["action"], event["dwell_seconds"], event["event_id"], event["page"]
    except KeyError:
        return _what_is_wrong(event)
    if not (type(customer_id) is int and type(ts) is str and type(category) is str and category
            and type(action) is str and type(page) is str and (type(dwell) is float or type(dwell) is int)
            and 0 <= dwell <= MAX_DWELL and (type(event_id) is str or type(event_id) is int)):
        return _what_is_wrong(event)
    # ts: the canonical form YYYY-MM-DDTHH:MM:SS[.fff]Z inline (minute cached), anything else via ts_epoch.
    base = _minutes.get(ts[:16]) if len(ts) >= 20 and ts[-1] == "Z" else None
    try:
        if base is not None and ts[16] == ":" and ts[17:19].isdigit():
            seconds = float(ts[17:-1])
            if not 0.0 <= seconds < 61.0:
                raise ValueError(ts)
            epoch = base + seconds
        else:
            epoch = ts_epoch(ts)
    except ValueError:
        return ("wrong_type", "ts is not an ISO-8601 time")
    if known is not None and customer_id not in known:
        return ("unknown_customer", f"customer {customer_id} is not known")
    if future_limit is not None and epoch > future_limit:
        return ("future_timestamp", f"ts {ts} is in the future")
    return (epoch, customer_id, category, action == "view", float(dwell))


def _what_is_wrong(event: dict) -> tuple[str, str]:
    for name in FIELDS:
        if event.get(name) is None:
            return ("missing_field", f"no '{name}'" if name not in event else f"'{name}' is null")
    customer_id, dwell = event["customer_id"], event["dwell_seconds"]
    if type(customer_id) is not int:
        return ("wrong_type", "customer_id must be an integer")
    if type(event["category"]) is not str or not event["category"]:
        return ("wrong_type", "category must be a non-empty string")
    if type(event["action"]) is not str:
        return ("wrong_type", "action must be a string")
    if type(event["page"]) is not str:
        return ("wrong_type", "page must be a string")
    if type(dwell) is not float and type(dwell) is not int or not 0 <= dwell <= MAX_DWELL:
        return ("wrong_type", "dwell_seconds must be a number of seconds between 0 and 86400")
    if type(event["ts"]) is not str:
        return ("wrong_type", "ts must be an ISO-8601 string")
    return ("wrong_type", "event_id must be a string or an integer")


class KnownCustomers:
    """Customer ids accepted by the aggregator: a range (``1-10000``), an id file, or a manifest."""

    def __init__(self, low: int | None = None, high: int | None = None, ids: frozenset | None = None):
        self.low, self.high, self.ids = low, high, ids

    def __contains__(self, customer_id) -> bool:
        if self.ids is not None:
            return customer_id in self.ids
        return self.low <= customer_id <= self.high

    def describe(self) -> str:
        if self.ids is not None:
            return f"{len(self.ids):,} listed ids"
        return f"ids {self.low}-{self.high}"

    @classmethod
    def from_spec(cls, spec: str) -> KnownCustomers:
        """``1-10000``, a generator ``manifest.json``, or a text file with one id per line."""
        from pathlib import Path

        from c360.errors import ProgrammingError

        low, dash, high = spec.partition("-")
        if dash and low.strip().isdigit() and high.strip().isdigit():
            return cls(int(low), int(high))
        path = Path(spec)
        if not path.is_file():
            raise ProgrammingError(f"--customers must be a range like 1-10000 or a file; '{spec}' is neither")
        if path.suffix == ".json":
            try:
                manifest = json.loads(path.read_text())
                first, last = manifest["customer_ids"]
            except (ValueError, KeyError, TypeError):
                raise ProgrammingError(f"{path}: not a c360 generator manifest (no customer_ids)") from None
            return cls(int(first), int(last))
        ids = set()
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            if not line.lstrip("-").isdigit():
                raise ProgrammingError(f"{path}:{number}: expected a customer id, got '{line[:40]}'")
            ids.add(int(line))
        return cls(ids=frozenset(ids))
