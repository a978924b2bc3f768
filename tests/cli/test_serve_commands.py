"""``c360 serve`` as a command: its help tells BI users how to connect, and unsafe binds are refused."""

from __future__ import annotations

import subprocess
import sys

from c360.server.auth import Verifier


def c360(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "c360", *args], capture_output=True, text=True, input=stdin,
                          timeout=60, env={"COLUMNS": "120", "PATH": "/usr/bin:/bin", "HOME": "/tmp"})


def test_serve_help_says_how_to_connect_bi_tools_and_why_loopback_is_the_default():
    done = c360("serve", "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    for tool in ("Power BI", "Tableau", "Superset", "psql"):
        assert tool in text
    for word in ("Server 127.0.0.1", "Port 5433", "Database c360", "Username", "user"):
        assert word in text
    assert "Why the default bind is 127.0.0.1" in text
    assert "trust" in text and "SCRAM-SHA-256" in text


def test_serve_refuses_a_public_bind_without_users_in_one_line():
    done = c360("serve", "--host", "0.0.0.0", "--catalog", "/nonexistent-catalog")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: Refusing to serve on 0.0.0.0 without users: trust is allowed only on 127.0.0.1. "
        "Give --users FILE or set C360_SERVE_USER and C360_SERVE_PASSWORD"
    ]


def test_hash_password_prints_a_verifier_for_the_users_file():
    done = c360("serve", "--hash-password", stdin="pw\npw\n")
    assert done.returncode == 0, done.stderr
    assert Verifier.parse(done.stdout.strip()).iterations == 4096
