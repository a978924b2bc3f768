"""``c360 stream generate | c360 stream aggregate`` as processes: stdin, a followed file, SIGTERM, restart."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

C360 = [sys.executable, "-m", "c360"]


def windows(folder: Path) -> list[Path]:
    return sorted(folder.rglob("window-*.jsonl")) if folder.exists() else []


def total(folder: Path, field: str) -> float:
    return sum(json.loads(line)[field] for path in windows(folder) for line in path.read_text().splitlines())


def test_generated_events_piped_through_stdin_are_all_accounted_for(tmp_path):
    generate = subprocess.Popen(
        C360 + ["stream", "generate", "--fast", "--count", "3000", "--customers", "1-100", "--rate", "50",
                "--start", "2026-11-20T10:00:00Z", "--malformed", "0.05", "--seed", "9"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    aggregate = subprocess.run(
        C360 + ["stream", "aggregate", "--out", str(tmp_path / "out"), "--customers", "1-100",
                "--checkpoint", str(tmp_path / "ck"), "--max-future", "3650d", "--window", "5s"],
        stdin=generate.stdout, capture_output=True, text=True, timeout=120,
    )
    generate.wait(timeout=60)
    assert aggregate.returncode == 0, aggregate.stderr
    counts = json.loads(aggregate.stderr.strip().splitlines()[-1])
    dead = (tmp_path / "ck" / "dead-letter.jsonl").read_text().splitlines()
    assert counts["read"] == 3000 and counts["aggregated"] + len(dead) == 3000
    assert 0.02 < len(dead) / 3000 < 0.1
    assert counts["dead_letters"] == len(dead)
    assert len(windows(tmp_path / "out")) == counts["windows_written"] > 10


def test_a_followed_file_emits_windows_as_the_watermark_passes_and_resumes_after_sigterm(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text("")

    def append(second: int, customer_id: int, dwell: float) -> None:
        minute, sec = divmod(second, 60)
        record = {"event_id": f"{second}-{customer_id}", "customer_id": customer_id,
                  "ts": f"2026-11-20T10:{minute:02d}:{sec:02d}.000Z", "category": "Home", "page": "/home",
                  "action": "view", "dwell_seconds": dwell}
        with open(events, "a") as handle:
            handle.write(json.dumps(record) + "\n")

    command = C360 + ["stream", "aggregate", "--input", str(events), "--out", str(tmp_path / "out"),
                      "--customers", "1-10", "--checkpoint", str(tmp_path / "ck"), "--lateness", "10s",
                      "--max-future", "3650d", "--follow"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        append(5, 1, 2.0)
        append(30, 2, 3.0)
        append(65, 1, 4.0)  # watermark 10:00:55: the 10:00 window stays open
        time.sleep(1.5)
        assert windows(tmp_path / "out") == []
        append(75, 1, 5.0)  # watermark 10:01:05: the 10:00 window closes while the process runs
        deadline = time.monotonic() + 20
        while not windows(tmp_path / "out") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [p.name for p in windows(tmp_path / "out")] == ["window-20261120T100000Z-60s.jsonl"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert total(tmp_path / "out", "seconds") == 5.0
    append(80, 2, 6.0)
    done = subprocess.run([part for part in command if part != "--follow"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in windows(tmp_path / "out")] == [
        "window-20261120T100000Z-60s.jsonl", "window-20261120T100100Z-60s.jsonl"]
    assert total(tmp_path / "out", "seconds") == 20.0
    assert json.loads(done.stderr.strip().splitlines()[-1])["read"] == 5
