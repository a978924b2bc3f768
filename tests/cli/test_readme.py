"""The README's first screen, run as a newcomer runs it: ``./scripts/demo`` in a fresh clone (which creates
``.venv`` and installs c360 first), its output compared with the block the README shows. Only the two
timings may differ. (``./scripts/test``, the first screen's other command, is this suite itself.)"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
_TIMINGS = [(re.compile(r"\(\d+\.\d+s\)"), "(…s)"), (re.compile(r"query: \d+\.\d+s"), "query: …s")]


def blocks(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of each fenced block, in order."""
    return re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def masked(text: str) -> str:
    for pattern, replacement in _TIMINGS:
        text = pattern.sub(replacement, text)
    return text


def test_the_first_screen_names_the_demo_and_shows_its_output():
    (language, commands), (_, shown) = blocks(README)[:2]
    assert language == "bash"
    assert [line.split("#")[0].strip() for line in commands.splitlines()] == ["./scripts/demo", "./scripts/test"]
    assert shown.splitlines()[0].startswith("Top 5 spenders as of 2026-12-01")


def test_the_readme_demo_prints_what_the_readme_shows_from_a_fresh_clone(tmp_path):
    (_, commands), (_, shown) = blocks(README)[:2]
    command = commands.splitlines()[0].split("#")[0].strip()
    clone = tmp_path / "c360"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("C360_", "VIRTUAL_ENV"))}
    done = subprocess.run(command, shell=True, cwd=clone, capture_output=True, text=True, timeout=1500, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert masked(done.stdout) == masked(shown)
    # the first run says what it installs as it goes, and how to put c360 on the PATH
    assert "  collecting duckdb" in done.stderr and "source .venv/bin/activate" in done.stderr
    again = subprocess.run(command, shell=True, cwd=clone, capture_output=True, text=True, timeout=600, env=env)
    assert masked(again.stdout) == masked(shown) and "collecting" not in again.stderr
