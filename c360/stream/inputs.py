"""Where events come from, with a position that a checkpoint can store and a restart resume from.

Three inputs, one interface: ``read(max_lines) -> list[bytes]`` returns complete
lines only (a line still being written, without its newline, waits), an empty
list when nothing is available now; ``position`` is a small JSON-able value
that :meth:`seek` restores.

* :class:`FileInput`: a file, tailed; position = byte offset.
* :class:`SpoolInput`: a folder of ``*.jsonl`` files (producers write
  ``*.part`` and rename when complete), read in name order; position = file
  name and byte offset.
* :class:`StdinInput`: standard input; position = lines consumed. A restart
  skips that many lines, which is right when the producer replays the stream
  from its beginning (``cat events.jsonl | c360 stream aggregate``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

BLOCK = 1 << 20


class FileInput:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0
        self._handle = None

    def describe(self) -> str:
        return f"file:{self.path.resolve()}"

    @property
    def position(self):
        return {"offset": self.offset}

    def seek(self, position) -> None:
        self.offset = int(position["offset"])
        if self._handle is not None:
            self._handle.seek(self.offset)

    def _open(self):
        if self._handle is None:
            if not self.path.exists():
                return None
            self._handle = open(self.path, "rb")
            self._handle.seek(self.offset)
        return self._handle

    def read(self, max_lines: int) -> list[bytes]:
        handle = self._open()
        if handle is None:
            return []
        lines = []
        while len(lines) < max_lines:
            line = handle.readline()
            if not line:
                break
            if not line.endswith(b"\n"):  # being written: come back for it later
                handle.seek(self.offset)
                break
            self.offset += len(line)
            lines.append(line)
        return lines

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class SpoolInput:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.current: str | None = None
        self.offset = 0
        self._file: FileInput | None = None

    def describe(self) -> str:
        return f"spool:{self.folder.resolve()}"

    @property
    def position(self):
        return {"file": self.current, "offset": self.offset}

    def seek(self, position) -> None:
        self.current, self.offset = position.get("file"), int(position.get("offset", 0))
        self._file = None

    def _files(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir() if p.name.endswith(".jsonl") and not p.name.startswith("."))

    def read(self, max_lines: int) -> list[bytes]:
        lines: list[bytes] = []
        while len(lines) < max_lines:
            if self.current is not None:
                if self._file is None:
                    self._file = FileInput(self.folder / self.current)
                    self._file.seek({"offset": self.offset})
                got = self._file.read(max_lines - len(lines))
                self.offset = self._file.offset
                lines.extend(got)
                if got:
                    continue
            later = [name for name in self._files() if self.current is None or name > self.current]
            if not later:
                break
            if self._file is not None:
                self._file.close()
            self.current, self.offset, self._file = later[0], 0, None
        return lines

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class StdinInput:
    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stdin.buffer
        self.lines = 0
        self._skip = 0
        self.ended = False

    def describe(self) -> str:
        return "stdin"

    @property
    def position(self):
        return {"lines": self.lines}

    def seek(self, position) -> None:
        self._skip = int(position["lines"]) - self.lines

    def read(self, max_lines: int) -> list[bytes]:
        lines = []
        while len(lines) < max_lines:
            line = self.stream.readline()
            if not line:
                self.ended = True
                break
            if self._skip > 0:
                self._skip -= 1
                self.lines += 1
                continue
            self.lines += 1
            lines.append(line)
        return lines

    def close(self) -> None:
        pass


def open_input(spec: str):
    """``-`` for stdin, a folder for a spool, anything else a file to tail."""
    if spec == "-":
        return StdinInput()
    path = Path(spec)
    if path.is_dir():
        return SpoolInput(path)
    return FileInput(path)


def fsync_file(handle) -> None:
    handle.flush()
    os.fsync(handle.fileno())
