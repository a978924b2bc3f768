"""``c360 generate --target servers`` starts Azurite when nothing answers at the catalog's endpoint
(:func:`c360.generate.servers.ensure_azurite`). Two runs that start at the same moment must end with one
Azurite, both runs going on, and only the run that started it saying so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.azurite import connection_string, free_port

ROOT = Path(__file__).resolve().parents[2]

#: One run's start: wait for the go file (so both check the port at the same moment), then ensure Azurite
#: exactly as ``prepare_servers`` does, and print what it returned or the error it raised.
RUN = """
import json, os, sys, time
from pathlib import Path
from c360.generate.servers import ensure_azurite
go = Path(sys.argv[3])
while not go.exists():
    time.sleep(0.001)
try:
    print(json.dumps({"pid": ensure_azurite(sys.argv[1], Path(sys.argv[2]))}))
except Exception as error:  # noqa: BLE001 - the test reports what the run would have printed
    print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
"""


def _listener_pid(port: int) -> set[int]:
    """Process ids listening on ``port`` (from /proc, the way ``ss -ltnp`` finds them)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            pids.add(int(entry.name))
    return pids


def test_two_runs_starting_azurite_at_the_same_moment_share_one(tmp_path):
    port = free_port()
    go = tmp_path / "go"
    runs = [
        subprocess.Popen([sys.executable, "-c", RUN, connection_string("127.0.0.1", port), str(tmp_path / name),
                          str(go)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("first", "second")
    ]
    started: list[int] = []
    try:
        time.sleep(2)  # both interpreters up and polling for the go file
        go.touch()
        results = []
        for run in runs:
            out, err = run.communicate(timeout=90)
            assert run.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        started = [r["pid"] for r in results if r.get("pid")]
        assert [r for r in results if "error" in r] == [], results
        assert len(started) == 1, f"each run says it started Azurite: {results}"
        assert _listener_pid(port) == set(started), "the pid printed is not the Azurite that answers"
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
        for pid in started + sorted(_listener_pid(port)):
            try:
                os.killpg(pid, signal.SIGTERM)  # Azurite runs in its own session: node and its children
            except ProcessLookupError:
                pass
