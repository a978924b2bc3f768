"""The aggregator on hand-made events: window sums, the watermark, dead letters, exactly-once restarts."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from c360.stream.aggregate import Aggregator
from c360.stream.events import KnownCustomers
from c360.stream.inputs import FileInput, SpoolInput
from connectors.files.store import LocalFolder


def event(ts: str, customer_id: int, category: str, action: str, dwell: float, n: int = 0) -> str:
    return json.dumps({"event_id": f"e{n}-{ts}", "customer_id": customer_id, "ts": ts, "category": category,
                       "page": f"/{category.lower()}/p/1", "action": action, "dwell_seconds": dwell})


HAND_MADE = [
    event("2026-11-20T10:00:05.000Z", 1, "Technology", "view", 10),
    event("2026-11-20T10:00:50.000Z", 1, "Technology", "view", 20),
    event("2026-11-20T10:00:59.999Z", 1, "Technology", "add_to_cart", 5),
    event("2026-11-20T10:00:30.000Z", 2, "Apparel", "view", 7.5),
    event("2026-11-20T10:01:00.000Z", 1, "Technology", "view", 1),
    event("2026-11-20T10:01:20.000Z", 2, "Apparel", "search", 4),
    event("2026-11-20T10:00:40.000Z", 2, "Apparel", "view", 2.5),   # out of order, within lateness
    event("2026-11-20T10:01:45.000Z", 1, "Cosmetics", "view", 3),   # watermark 10:01:15 closes 10:00
    event("2026-11-20T10:00:55.000Z", 2, "Apparel", "view", 100),   # late: its window has closed
    event("2026-11-20T10:02:10.000Z", 3, "Home", "view", 8),
]
HOUR = "browsing/2026/11/20/10/"


def aggregator(tmp_path: Path, source, **options) -> Aggregator:
    settings = dict(checkpoint_dir=tmp_path / "checkpoint", window=60, lateness=30, known=KnownCustomers(1, 100),
                    fmt="jsonl", prefix="browsing/", clock=lambda: 1_800_000_000.0)
    settings.update(options)
    return Aggregator(source, LocalFolder(tmp_path / "out"), **settings)


def rows(store_root: Path, key: str) -> list[tuple]:
    lines = (store_root / key).read_text().splitlines()
    return [(r["window_start"], r["window_end"], r["customer_id"], r["category"], r["page_views"], r["seconds"])
            for r in map(json.loads, lines)]


def write_lines(path: Path, lines) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_window_sums_match_values_computed_by_hand(tmp_path):
    source = FileInput(write_lines(tmp_path / "events.jsonl", HAND_MADE))
    counts = aggregator(tmp_path, source).run()
    out = tmp_path / "out"
    assert rows(out, HOUR + "window-20261120T100000Z-60s.jsonl") == [
        ("2026-11-20T10:00:00", "2026-11-20T10:01:00", 1, "Technology", 2, 35.0),
        ("2026-11-20T10:00:00", "2026-11-20T10:01:00", 2, "Apparel", 2, 10.0),
    ]
    assert rows(out, HOUR + "window-20261120T100100Z-60s.jsonl") == [
        ("2026-11-20T10:01:00", "2026-11-20T10:02:00", 1, "Cosmetics", 1, 3.0),
        ("2026-11-20T10:01:00", "2026-11-20T10:02:00", 1, "Technology", 1, 1.0),
        ("2026-11-20T10:01:00", "2026-11-20T10:02:00", 2, "Apparel", 0, 4.0),
    ]
    assert rows(out, HOUR + "window-20261120T100200Z-60s.jsonl") == [
        ("2026-11-20T10:02:00", "2026-11-20T10:03:00", 3, "Home", 1, 8.0),
    ]
    assert counts["read"] == 10 and counts["aggregated"] == 9 and counts["late"] == 1
    assert counts["windows_written"] == 3


def test_watermark_closes_a_window_only_after_the_allowed_lateness(tmp_path):
    job = aggregator(tmp_path, FileInput(tmp_path / "unused.jsonl"))
    job.restore()
    out = tmp_path / "out"
    first = HOUR + "window-20261120T100000Z-60s.jsonl"
    job.process([line.encode() for line in HAND_MADE[:7]])  # newest 10:01:20 -> watermark 10:00:50
    assert not (out / first).exists(), "the 10:00 window closed before its end passed the watermark"
    job.process([HAND_MADE[7].encode()])  # newest 10:01:45 -> watermark 10:01:15
    assert (out / first).exists()
    assert not (out / (HOUR + "window-20261120T100100Z-60s.jsonl")).exists()
    job.process([HAND_MADE[8].encode()])
    assert job.counts["late"] == 1
    job.checkpoint()
    dead = [json.loads(line) for line in (tmp_path / "checkpoint" / "dead-letter.jsonl").read_text().splitlines()]
    assert [d["reason"] for d in dead] == ["late"]
    assert json.loads(dead[0]["line"])["dwell_seconds"] == 100


def test_a_longer_lateness_accepts_the_event_a_shorter_one_refuses(tmp_path):
    source = FileInput(write_lines(tmp_path / "events.jsonl", HAND_MADE))
    counts = aggregator(tmp_path, source, lateness=120).run()
    assert counts["late"] == 0
    assert rows(tmp_path / "out", HOUR + "window-20261120T100000Z-60s.jsonl")[1][4:] == (3, 110.0)


GOOD = json.loads(HAND_MADE[0])


def spoiled(**changes) -> str:
    record = dict(GOOD)
    for key, value in changes.items():
        if value is KeyError:
            record.pop(key)
        else:
            record[key] = value
    return json.dumps(record)


@pytest.mark.parametrize(
    "line, reason",
    [
        ('{"event_id": "x", "customer_id": 1,', "invalid_json"),
        ("[1, 2, 3]", "invalid_json"),
        (spoiled(customer_id=KeyError), "missing_field"),
        (spoiled(ts=None), "missing_field"),
        (spoiled(dwell_seconds="ten"), "wrong_type"),
        (spoiled(customer_id="1"), "wrong_type"),
        (spoiled(ts="yesterday"), "wrong_type"),
        (spoiled(dwell_seconds=-3), "wrong_type"),
        (spoiled(dwell_seconds=1e999), "wrong_type"),
        (spoiled(customer_id=999), "unknown_customer"),
        (spoiled(ts="2099-01-01T00:00:00.000Z"), "future_timestamp"),
    ],
)
def test_each_malformed_kind_is_dead_lettered_with_its_reason_and_the_stream_goes_on(tmp_path, line, reason):
    source = FileInput(write_lines(tmp_path / "events.jsonl", [line, HAND_MADE[0]]))
    counts = aggregator(tmp_path, source).run()
    dead = [json.loads(x) for x in (tmp_path / "checkpoint" / "dead-letter.jsonl").read_text().splitlines()]
    assert [d["reason"] for d in dead] == [reason]
    assert dead[0]["line"] == line and dead[0]["detail"]
    assert counts[reason] == 1 and counts["aggregated"] == 1
    assert rows(tmp_path / "out", HOUR + "window-20261120T100000Z-60s.jsonl")[0][2:] == (1, "Technology", 1, 10.0)


def test_a_spool_folder_is_read_in_name_order_and_ignores_files_still_being_written(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    write_lines(spool / "events-000000001.jsonl", HAND_MADE[5:])
    write_lines(spool / "events-000000000.jsonl", HAND_MADE[:5])
    write_lines(spool / "events-000000002.part", [event("2026-11-20T10:00:01.000Z", 1, "Technology", "view", 999)])
    counts = aggregator(tmp_path, SpoolInput(spool)).run()
    assert counts["read"] == 10 and counts["late"] == 1
    assert rows(tmp_path / "out", HOUR + "window-20261120T100000Z-60s.jsonl")[0][4:] == (2, 35.0)


def test_a_line_without_its_newline_waits_until_it_is_complete(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(HAND_MADE[0] + "\n" + HAND_MADE[1][:20])
    source = FileInput(path)
    assert len(source.read(100)) == 1
    with open(path, "a") as handle:
        handle.write(HAND_MADE[1][20:] + "\n")
    assert [json.loads(x)["dwell_seconds"] for x in source.read(100)] == [20]


# --- exactly once, with real processes killed -----------------------------------------------------


def stream_input(path: Path) -> Path:
    """~16,000 events over ~55 s of event time, with disorder: most within lateness, some far behind."""
    from datetime import datetime

    from c360.stream.emit import events

    produced = events(customers=(1, 300), rate=300, seed=5, start=datetime(2026, 11, 20, 10, 0, 0), malformed=0.02)
    lines = [line for _, (_, line) in zip(range(16_000), produced)]
    rng = random.Random(0)
    for i in range(0, len(lines) - 600, 97):
        j = i + rng.choice((30, 150, 600))  # 0.1 s, 0.5 s (within lateness), 2 s (often late) apart
        lines[i], lines[j] = lines[j], lines[i]
    return write_lines(path, lines)


def aggregate_command(events: Path, out: Path, checkpoint: Path) -> list[str]:
    return [sys.executable, "-m", "c360", "stream", "aggregate", "--input", str(events), "--out", str(out),
            "--customers", "1-300", "--window", "5s", "--lateness", "1s", "--max-future", "3650d",
            "--checkpoint", str(checkpoint), "--checkpoint-every", "400"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_sigkill_at_several_points_then_restart_gives_exactly_the_uninterrupted_output(tmp_path):
    events = stream_input(tmp_path / "events.jsonl")
    reference = subprocess.run(aggregate_command(events, tmp_path / "ref", tmp_path / "ref-ck"),
                               capture_output=True, text=True, timeout=120)
    assert reference.returncode == 0, reference.stderr
    expected = snapshot(tmp_path / "ref")
    assert len(expected) >= 9
    out, checkpoint = tmp_path / "killed", tmp_path / "killed-ck"
    kills = 0
    # Kill right after start, then as output grows: before the first checkpoint, between window
    # writes and checkpoints, mid-file — wherever SIGKILL happens to land.
    for threshold in (0, 3, 7):
        process = subprocess.Popen(aggregate_command(events, out, checkpoint), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            written = len(list(out.rglob("window-*"))) if out.exists() else 0
            if written >= threshold and (threshold or (checkpoint / "dead-letter.jsonl").exists()):
                break
            time.sleep(0.005)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait(timeout=30)
    assert kills >= 2, "the aggregator finished before it could be killed: make the input longer"
    final = subprocess.run(aggregate_command(events, out, checkpoint), capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    assert snapshot(out) == expected
    assert (checkpoint / "dead-letter.jsonl").read_bytes() == (tmp_path / "ref-ck" / "dead-letter.jsonl").read_bytes()
    reference_counts = json.loads(reference.stderr.strip().splitlines()[-1])
    final_counts = json.loads(final.stderr.strip().splitlines()[-1])
    for key in ("read", "aggregated", "late", "invalid_json", "unknown_customer", "future_timestamp"):
        assert final_counts[key] == reference_counts[key], key
    assert reference_counts["late"] > 0 and reference_counts["invalid_json"] > 0


def test_a_rerun_over_a_finished_input_writes_nothing_new(tmp_path):
    source = write_lines(tmp_path / "events.jsonl", HAND_MADE)
    aggregator(tmp_path, FileInput(source)).run()
    before = snapshot(tmp_path / "out")
    counts = aggregator(tmp_path, FileInput(source)).run()
    assert snapshot(tmp_path / "out") == before
    assert counts["read"] == 10 and counts["windows_written"] == 3


def test_a_restart_removes_the_half_written_window_and_checkpoint_a_killed_run_left(tmp_path):
    from tests.connectors.files.test_store import killed_while_writing

    source = write_lines(tmp_path / "events.jsonl", HAND_MADE)
    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "out" / HOUR).mkdir(parents=True)
    for folder, name in ((tmp_path / "checkpoint", "checkpoint"),
                         (tmp_path / "out" / HOUR, "window-20261120T100000Z-60s.jsonl")):
        writer = killed_while_writing(folder, name)
        writer.kill()
        writer.wait(timeout=10)
    aggregator(tmp_path, FileInput(source)).run()
    assert sorted(p.name for p in (tmp_path / "checkpoint").iterdir()) == ["checkpoint.json", "dead-letter.jsonl"]
    assert sorted(p.name for p in (tmp_path / "out" / HOUR).iterdir()) == [
        "window-20261120T100000Z-60s.jsonl", "window-20261120T100100Z-60s.jsonl",
        "window-20261120T100200Z-60s.jsonl"]
