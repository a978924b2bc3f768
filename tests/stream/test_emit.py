"""The live event emitter: valid, time-ordered sessions of known customers; spoiled on request; spooled safely."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from itertools import islice

from c360.stream.emit import SpoolWriter, events
from c360.stream.events import KnownCustomers, parse

START = datetime(2026, 11, 20, 10, 0, 0)


def test_events_are_valid_time_ordered_and_come_at_the_asked_rate():
    produced = list(islice(events(customers=(1, 50), rate=20, seed=3, start=START), 3000))
    parsed = [parse(line, KnownCustomers(1, 50)) for _, line in produced]
    assert all(type(p[0]) is float for p in parsed), [p for p in parsed if type(p[0]) is str][:3]
    times = [p[0] for p in parsed]
    assert times == sorted(times)
    span = times[-1] - times[0]
    assert 135 < span < 200, f"3000 events at 20/s took {span:.0f}s of event time"
    assert {p[1] for p in parsed} <= set(range(1, 51)) and len({p[1] for p in parsed}) > 25
    actions = Counter(p[3] for p in parsed)
    assert actions[True] > 0.7 * len(parsed) and actions[False] > 0  # mostly page views, some other actions


def test_malformed_events_are_refused_for_each_kind_and_only_the_asked_share():
    produced = list(islice(events(customers=(1, 50), rate=20, seed=4, start=START, malformed=0.2), 4000))
    limit = START.timestamp() + 10 * 86400
    reasons = Counter(p[0] for p in (parse(line, KnownCustomers(1, 50), limit) for _, line in produced)
                      if type(p[0]) is str)
    assert set(reasons) == {"invalid_json", "missing_field", "wrong_type", "unknown_customer", "future_timestamp"}
    assert 0.15 < sum(reasons.values()) / 4000 < 0.25


def test_spool_files_become_visible_only_when_complete(tmp_path):
    writer = SpoolWriter(tmp_path, roll=100)
    for n in range(250):
        writer.write(f'{{"n": {n}}}')
    assert sorted(p.name for p in tmp_path.glob("*.jsonl")) == ["events-000000000.jsonl", "events-000000001.jsonl"]
    assert len(list(tmp_path.glob("*.part"))) == 1
    writer.close()
    assert len(list(tmp_path.glob("*.jsonl"))) == 3 and not list(tmp_path.glob("*.part"))
    assert sum(len(p.read_text().splitlines()) for p in tmp_path.glob("*.jsonl")) == 250
    assert SpoolWriter(tmp_path).seq == 3  # a new writer continues the numbering


def test_the_cli_paces_events_in_real_time():
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "c360", "stream", "generate", "--customers", "1-100",
                           "--rate", "60", "--duration", "1.5"], capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert 30 < len(lines) < 250
    assert elapsed > 1.2
    assert all(type(parse(line, KnownCustomers(1, 100))[0]) is float for line in lines)
