"""Rendering results: a table for people, CSV/JSON/Parquet for programs."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet
from rich.console import Console
from rich.table import Table

from c360.errors import ProgrammingError
from c360.types import json_default


def _text(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def print_table(table: pa.Table, *, max_rows: int = 1000) -> None:
    console = Console(soft_wrap=True)
    view = Table(show_header=True, header_style="bold", show_lines=False)
    for name in table.column_names:
        view.add_column(name, overflow="fold")
    for row in table.slice(0, max_rows).to_pylist():
        view.add_row(*[_text(row[name]) for name in table.column_names])
    console.print(view)
    shown = min(table.num_rows, max_rows)
    more = f" (showing {shown})" if shown < table.num_rows else ""
    console.print(f"{table.num_rows} row{'s' if table.num_rows != 1 else ''}{more}")


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
    columns = []
    for column in table.columns:
        if pa.types.is_nested(column.type):
            column = pa.array([None if v is None else json.dumps(v, default=json_default) for v in column.to_pylist()],
                              pa.string())
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)
