"""How a file that cannot be read is reported: one sentence naming the source, the file and, for JSON, the line.

DuckDB's messages name the local path it read (a temporary copy, for a blob)
and, on later lines, quote the whole SQL with every file of the group; the
errors here name the file by its key instead and keep only the first line.
A file listed but gone by the time it is read is a NotFoundError; anything
else unreadable is a FileFormatError.
"""

from __future__ import annotations

import json
from pathlib import Path

from c360.errors import DatabaseError, FileFormatError, NotFoundError


def json_error_line(path: Path) -> tuple[int, str] | None:
    """The 1-based line and message of the first JSON syntax error in ``path``, or None if it parses.

    Handles newline-delimited files, arrays and concatenated values; reads line
    by line so a large newline-delimited file is never held whole.
    """
    decoder = json.JSONDecoder()
    with open(path, encoding="utf-8", errors="replace") as handle:
        head = handle.read(4096).lstrip()
    if head.startswith("["):
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            json.loads(text)
        except json.JSONDecodeError as error:
            return error.lineno, error.msg
        return None
    pending, start = "", 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not pending:
                start = number
            pending += line
            text = pending.strip()
            if not text:
                pending = ""
                continue
            try:
                position = 0
                while position < len(text):
                    _, position = decoder.raw_decode(text, position)
                    while position < len(text) and text[position].isspace():
                        position += 1
                pending = ""
            except json.JSONDecodeError as error:
                if error.pos >= len(text) - 1 and text[-1] not in "}]\"":
                    continue  # a value spanning lines: read on
                return start + error.lineno - 1, error.msg
    if pending.strip():
        try:
            json.loads(pending)
        except json.JSONDecodeError as error:
            return start + error.lineno - 1, error.msg
    return None


def format_error(fmt: str, label: str, path: Path, error: Exception, source: str) -> DatabaseError:
    """A FileFormatError naming the file (and for JSON the line) behind DuckDB's ``error``.

    A file removed between listing and reading is a NotFoundError instead.
    """
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    message = message.replace(str(path), label)
    if not path.exists():
        return NotFoundError(f"{source}: file '{label}' was listed but no longer exists")
    if fmt in ("json", "jsonl"):
        found = json_error_line(path)
        if found is not None:
            line, reason = found
            return FileFormatError(f"{source}: file '{label}' is not valid JSON at line {line}: {reason}")
    return FileFormatError(f"{source}: file '{label}' could not be read as {fmt}: {message}")


def group_error(fmt: str, keys: list[str], paths: list[Path], error: Exception, source: str) -> DatabaseError:
    """The error for a group that failed: it names the file DuckDB names, or the first bad one found."""
    text = str(error).split("\n")[0]  # later lines quote the whole SQL, every file name included
    for key, path in sorted(zip(keys, paths), key=lambda pair: -len(str(pair[1]))):
        if str(path) in text:
            return format_error(fmt, key, path, error, source)
    for key, path in zip(keys, paths):
        if not path.exists():
            return format_error(fmt, key, path, error, source)
        if fmt in ("json", "jsonl") and json_error_line(path) is not None:
            return format_error(fmt, key, path, error, source)
    first = text or type(error).__name__
    for key, path in zip(keys, paths):
        first = first.replace(str(path), key)
    return FileFormatError(f"{source}: files {keys[0]} … {keys[-1]} could not be read as {fmt}: {first}")
