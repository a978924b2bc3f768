"""Writing results: a table for people (drawn by :mod:`c360.cli.render`), CSV/JSON/Parquet for programs."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from c360.errors import ProgrammingError

if TYPE_CHECKING:
    import pyarrow as pa


def terminal() -> bool:
    """Whether stdout is a person's terminal (piped output is never decorated)."""
    return sys.stdout.isatty()


def print_table(table: pa.Table, *, max_rows: int | None = None, vertical: bool | None = None) -> None:
    """Draw ``table`` for a person: fitted to the terminal there, whole and undecorated when piped.

    On a terminal the width is the terminal's and at most ``max_rows`` (default 40) rows are drawn;
    piped, the width is ``$COLUMNS`` if set (unlimited otherwise) and every row is drawn unless
    ``max_rows`` is given. ANSI styling only on a terminal, and never with ``NO_COLOR`` set.
    """
    from c360.cli.render import render

    if terminal():
        width = shutil.get_terminal_size().columns
        limit = 40 if max_rows is None else max_rows
        style = not os.environ.get("NO_COLOR")
    else:
        columns = os.environ.get("COLUMNS", "")
        width = int(columns) if columns.isdigit() and int(columns) > 0 else None
        limit, style = max_rows, False
    lines = render(table, width=width, max_rows=limit, vertical=vertical, style=style)
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def check_output(output: Path | None) -> None:
    """Refuse, before any work, an output file whose folder is missing or that names a folder."""
    if output is None:
        return
    output = Path(output)
    folder = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise ProgrammingError(f"Cannot write '{output}': it is a folder")
    if not folder.is_dir():
        raise ProgrammingError(f"Cannot write '{output}': the folder '{folder}' does not exist")
    if not os.access(folder, os.W_OK):
        raise ProgrammingError(f"Cannot write '{output}': the folder '{folder}' is not writable")


@contextlib.contextmanager
def replacing(output: Path):
    """A temporary path beside ``output``, renamed over it once written: a failure leaves ``output`` as it was."""
    check_output(output)
    output = Path(output)
    handle, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=output.parent or ".")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, output)
    except OSError as error:
        raise ProgrammingError(f"Cannot write '{output}': {error.strerror or error}") from None
    finally:
        temporary.unlink(missing_ok=True)


def write_result(table: pa.Table, format: str, output: Path | None) -> None:
    """Write ``table`` as csv, json (one object per line) or parquet to ``output`` or stdout."""
    import pyarrow as pa
    import pyarrow.csv
    import pyarrow.parquet

    from c360.types import json_default

    if format == "parquet":
        if output is None:
            sink = pa.BufferOutputStream()
            pyarrow.parquet.write_table(table, sink)
            sys.stdout.buffer.write(sink.getvalue().to_pybytes())
        else:
            with replacing(output) as path:
                pyarrow.parquet.write_table(table, path)
        return
    if format == "csv":
        sink = pa.BufferOutputStream()
        pyarrow.csv.write_csv(_csv_safe(table), sink)
        data = sink.getvalue().to_pybytes()
    else:
        lines = [json.dumps(row, default=json_default) for row in table.to_pylist()]
        data = ("\n".join(lines) + ("\n" if lines else "")).encode()
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        with replacing(output) as path:
            path.write_bytes(data)


def _csv_safe(table: pa.Table) -> pa.Table:
    """Nested columns (structs, lists) written as JSON text, since CSV has no nesting."""
    import pyarrow as pa

    from c360.types import json_default

    columns = []
    for column in table.columns:
        if pa.types.is_nested(column.type):
            column = pa.array([None if v is None else json.dumps(v, default=json_default) for v in column.to_pylist()],
                              pa.string())
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)
