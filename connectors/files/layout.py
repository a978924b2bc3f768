"""A file table's layout: which keys of a store are its files, their format, and their partition values.

A :class:`Layout` is a base prefix, optional globs (``*`` and ``?`` stay inside
one folder, ``**/`` spans any), a format (``json``/``jsonl``/``csv``/``parquet``)
and an optional :class:`~connectors.files.partitions.Partitioning` that turns
each file's path relative to the prefix into partition values.
:meth:`Layout.prefixes` chooses what to list — the whole prefix, or only the
folders the filters allow — and :meth:`Layout.entries` lists them into
:class:`FileEntry` rows.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from c360.errors import CatalogError, did_you_mean
from connectors.base import TableSchema
from connectors.files.partitions import HivePartitioning, Partitioning, TemplatePartitioning, time_bounds

FORMATS = ("json", "jsonl", "csv", "parquet")
#: Files named one by one in EXPLAIN before "… (N more)".
SHOWN_FILES = 10


@dataclass(frozen=True)
class FileEntry:
    """One listed file: its key under the store's root and its partition values from the path."""

    key: str
    size: int
    partitions: tuple[tuple[str, object], ...] = ()


def glob_regex(pattern: str) -> re.Pattern:
    """A regex for a ``/``-separated glob: ``*`` and ``?`` stay inside one folder, ``**/`` spans any."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(pattern[i]))
                i += 1
            else:
                out.append("[" + pattern[i + 1 : end].replace("\\", "\\\\") + "]")
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def literal_prefix(pattern: str) -> str:
    """The folders of ``pattern`` before its first wildcard (``a/b/*.json`` -> ``a/b/``)."""
    parts = pattern.split("/")
    fixed = []
    for part in parts[:-1]:
        if any(ch in part for ch in "*?["):
            break
        fixed.append(part)
    return "".join(f"{p}/" for p in fixed)


@dataclass
class Layout:
    """Where a table's files are and how to read them."""

    prefix: str  # under the store's root; partitions are parsed relative to it
    format: str
    patterns: tuple[str, ...] = ()  # globs relative to the store's root; empty = every file
    partitioning: Partitioning | None = None
    regexes: list = field(default_factory=list, repr=False)

    def __post_init__(self):
        if self.format not in FORMATS:
            raise CatalogError(
                f"Unknown file format '{self.format}'.{did_you_mean(self.format, FORMATS)} "
                f"Use one of {', '.join(FORMATS)}"
            )
        self.regexes = [glob_regex(p) for p in self.patterns]

    def describe(self) -> str:
        return ", ".join(self.patterns) if self.patterns else (self.prefix or "(all files)")

    def prefixes(self, filters=(), table: TableSchema | None = None, store=None) -> list[str]:
        """The key prefixes to list: the table's own, or only the folders the filters allow.

        A template's bounded time column selects the periods' folders; for hive
        folders, the first level's ``key=value`` folders are listed (one cheap
        call) and only those whose value satisfies the filters on that key are
        kept. Either way the result is a superset of the matching files.
        """
        literal = {literal_prefix(p) for p in self.patterns} if self.patterns else {self.prefix}
        whole = sorted(p for p in literal if not any(p != q and p.startswith(q) for q in literal))
        partitioning = self.partitioning
        if table is None or whole != [self.prefix] or not filters:
            return whole
        if isinstance(partitioning, HivePartitioning) and store is not None:
            folders = partitioning.folders(store, self.prefix, filters, table)
            return whole if folders is None else [self.prefix + folder for folder in folders]
        if not isinstance(partitioning, TemplatePartitioning):
            return whole
        column = table.column(partitioning.column)
        if column is None or not column.partition:
            return whole
        low, high = time_bounds(filters, column.name)
        if low is None or high is None:
            return whole
        folders = partitioning.folders(low, high)
        return whole if folders is None else [self.prefix + folder for folder in folders]

    def entries(self, store, prefixes: list[str] | None = None, *, empty: list | None = None) -> list[FileEntry]:
        """The table's files under ``prefixes`` (default: all), in key order, with partition values.

        Empty files, hidden files and folders (``_SUCCESS``, ``.x.tmp``, ``_temporary/``) and files
        outside the partition layout are not part of the table; the keys of the empty files that
        otherwise match are appended to ``empty`` when it is given (so "no files" can be told
        from "only empty files").
        """
        found = []
        prefixes = self.prefixes() if prefixes is None else prefixes
        seen = set()
        for listed in _listings(store, prefixes):
            for key, size in listed:
                relative = key[len(self.prefix) :] if key.startswith(self.prefix) else key
                if key in seen or key.endswith("/") or any(p.startswith(("_", ".")) for p in relative.split("/")):
                    continue
                if self.regexes and not any(r.match(key) for r in self.regexes):
                    continue
                seen.add(key)
                values = {}
                if self.partitioning is not None:
                    values = self.partitioning.parse(relative)
                    if values is None:
                        continue
                if size == 0:  # no rows; also how folder placeholders of hierarchical accounts look
                    if empty is not None:
                        empty.append(key)
                    continue
                found.append(FileEntry(key, size, tuple(values.items())))
        found.sort(key=lambda e: e.key)
        return found


#: Folders listed at once: a day of hour folders on blob storage is one round trip's wait, not 24.
LISTING_THREADS = 16


def _listings(store, prefixes: list[str]) -> list[list]:
    """``store.list(prefix)`` of each prefix, in order; several prefixes are listed concurrently."""
    if len(prefixes) <= 1:
        return [list(store.list(p)) for p in prefixes]
    with ThreadPoolExecutor(min(LISTING_THREADS, len(prefixes)), thread_name_prefix="c360-list") as pool:
        return list(pool.map(lambda p: list(store.list(p)), prefixes))


def describe_files(entries: list[FileEntry]) -> str:
    """``3 files: a, b, c`` (the first few, then how many more)."""
    noun = "file" if len(entries) == 1 else "files"
    shown = ", ".join(e.key for e in entries[:SHOWN_FILES])
    more = f", … ({len(entries) - SHOWN_FILES} more)" if len(entries) > SHOWN_FILES else ""
    return f"{len(entries)} {noun}: {shown}{more}" if entries else "0 files"
