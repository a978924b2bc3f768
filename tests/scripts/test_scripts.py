"""scripts/setup, scripts/test and .ci/run: the commands CI and developers type."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*command: str, timeout: float = 120) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=environment
    )


def test_setup_is_quick_and_says_ready_when_everything_is_there():
    run("./scripts/setup")  # whatever was missing is installed now
    started = time.monotonic()
    done = run("./scripts/setup")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"setup: ready ({ROOT})")
    assert time.monotonic() - started < 15


def test_test_script_passes_arguments_to_pytest_and_prints_its_summary():
    done = run("./scripts/test", "-q", "-p", "no:cacheprovider", "tests/connectors/test_tsql_golden.py",
               "-k", "limit_is_top")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("2 passed")


def test_test_script_fails_when_pytest_collects_no_tests():
    done = run("./scripts/test", "-q", "-p", "no:cacheprovider", "tests/connectors/test_tsql_golden.py",
               "-k", "no_such_test")
    assert done.returncode == 1
    assert "pytest collected no tests; counting that as a failure" in done.stderr


def test_test_script_fails_when_a_test_fails(tmp_path):
    failing = tmp_path / "test_fails.py"
    failing.write_text("def test_fails():\n    assert 1 == 2\n")
    done = run("./scripts/test", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(failing))
    assert done.returncode == 1
    assert "1 failed" in done.stdout


def test_the_tree_passes_ruff():
    done = run(str(ROOT / ".venv/bin/ruff"), "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_reports_the_codes_the_code_cites_in_noqa_comments(tmp_path):
    sloppy = tmp_path / "sloppy.py"
    sloppy.write_text("import os\n\n\ndef f():\n    try:\n        return 1\n    except Exception:\n        pass\n")
    done = run(str(ROOT / ".venv/bin/ruff"), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"),
               "--output-format", "concise", str(sloppy))
    assert done.returncode == 1
    assert "F401" in done.stdout and "BLE001" in done.stdout


def test_ci_lints_before_it_tests():
    lines = (ROOT / ".ci/run").read_text().splitlines()
    lint = next(i for i, line in enumerate(lines) if "ruff check" in line)
    assert lint < next(i for i, line in enumerate(lines) if "scripts/test" in line and not line.startswith("#"))


def run_with_the_project_settings(test_file: Path) -> subprocess.CompletedProcess:
    return run("./scripts/test", "-q", "-p", "no:cacheprovider", "-c", str(ROOT / "pyproject.toml"),
               "--rootdir", str(test_file.parent), str(test_file))


def test_an_unknown_marker_fails_the_suite(tmp_path):
    test_file = tmp_path / "test_marker.py"
    test_file.write_text("import pytest\n\n\n@pytest.mark.no_such_marker\ndef test_marked():\n    pass\n")
    done = run_with_the_project_settings(test_file)
    assert done.returncode != 0
    assert "'no_such_marker' not found in `markers` configuration option" in done.stdout + done.stderr


def test_an_expected_failure_that_passes_fails_the_suite(tmp_path):
    test_file = tmp_path / "test_xpass.py"
    test_file.write_text("import pytest\n\n\n@pytest.mark.xfail(reason='not yet')\ndef test_passes():\n    pass\n")
    done = run_with_the_project_settings(test_file)
    assert done.returncode == 1
    assert "1 failed" in done.stdout and "XPASS(strict)" in done.stdout
