"""docs/compatibility.md is what the compat-marked tests prove (see :mod:`tests.compat`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests import compat


@pytest.mark.compat_check
def test_the_committed_table_is_what_the_marked_tests_prove(request):
    declared = compat.declared_cells()
    assert compat.TABLE.read_text() == compat.render(declared), (
        "docs/compatibility.md differs from the compat markers of the tests: run `python -m tests.compat`")
    # the markers pytest collected are the ones read from the test files (a marker in another form is not)
    for cell, nodeids in compat.collected(request.config).items():
        for nodeid in nodeids:
            assert nodeid.split("[")[0] in declared.get(cell, ()), \
                f"{nodeid} marks {cell} in a form tests/compat.py does not read: use the decorator"
    failed = [f"{client} × {operation}: {nodeid}"
              for (client, operation), tests in compat.outcomes(request.config).items()
              for nodeid, passed in tests.items() if not passed]
    assert not failed, "the table claims cells whose tests failed in this run:\n" + "\n".join(failed)


def test_a_failed_test_leaves_its_cell_unproven_and_unknown_cells_are_refused(tmp_path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.compat"]\n')
    (tmp_path / "test_cells.py").write_text(textwrap.dedent("""
        import pytest

        @pytest.mark.compat(client="psql", operation="connect")
        def test_passes():
            pass

        @pytest.mark.compat(client="psql", operation="cancel")
        @pytest.mark.compat(client="psql", operation="preview")
        def test_fails():
            assert False

        @pytest.mark.compat(client="psql", operation="preview")
        def test_passes_too():
            pass
    """))
    out = tmp_path / "table.md"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           "--compat-write", str(out), str(tmp_path)], capture_output=True, text=True,
                          cwd=compat.ROOT)
    assert done.returncode == 1, done.stdout + done.stderr
    row = next(line for line in out.read_text().splitlines() if line.startswith("| psql |"))
    cells = dict(zip(compat.OPERATION_NAMES, [cell.strip() for cell in row.split("|")[3:-1]], strict=True))
    assert cells["connect"] == compat.YES
    assert cells["cancel"] == cells["preview"] == compat.NO  # one failing test is enough to unprove a cell
    assert cells["columns"] == compat.NO
    (tmp_path / "test_cells.py").write_text(
        "import pytest\n\n@pytest.mark.compat(client='psql', operation='teleport')\ndef test_x():\n    pass\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           str(tmp_path)], capture_output=True, text=True, cwd=compat.ROOT)
    assert done.returncode != 0 and "operation='teleport') is not a cell of the table" in done.stdout + done.stderr
