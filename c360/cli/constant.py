"""Constant statements (``SELECT 1``, ``SELECT 6 * 7 AS answer, 'x'``), answered without sqlglot, the catalog's
sources or the planner: the quick answer ``c360 query "SELECT 1"`` gives (issue #16: start-up within 0.5 s).

:func:`is_constant` accepts a statement only when, token by token, it is ``SELECT`` followed by literals
(numbers, ``'strings'``, ``NULL``, ``TRUE``, ``FALSE``), arithmetic operators (``+ - * / %``), parentheses,
commas and ``AS name`` aliases, with at most one ``;`` at the end. Such a statement names no table, file,
function, variable or setting, so the statement policy (:mod:`c360.policy`) has nothing to refuse in it; a
comment (``--``, ``/*``) or a second statement is refused here, so what DuckDB reads is what was checked.
Everything else, and any statement DuckDB rejects, takes the ordinary path (its errors are worded there).

The statement runs on a DuckDB configured by :func:`c360.lockdown.locked_config`, like the engine's, and its
rows are drawn without pyarrow (:class:`c360.cli.render.Rows`; other output formats take the ordinary path). It is
answered only for a catalog known to load (:func:`known_good`): every full load of a catalog writes a stamp
(``.c360/catalog-ok.json``: by profile, each catalog file's size and modification time), so ``SELECT 1``
in a project whose catalog is broken still fails as any other query does, and after an edit the next command
loads the catalog in full once.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

_TOKEN = re.compile(
    r"""(?P<space>[ \t\r\n]+)
      | (?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)
      | (?P<string>'(?:[^']|'')*')
      | (?P<word>[A-Za-z_][A-Za-z_0-9]*)
      | (?P<quoted>"(?:[^"]|"")+")
      | (?P<symbol>[-+*/%(),;])""",
    re.VERBOSE,
)
_LITERAL_WORDS = {"NULL", "TRUE", "FALSE"}
STAMP = Path(".c360") / "catalog-ok.json"


def is_constant(sql: str) -> bool:
    """Whether ``sql`` is a constant SELECT as the module docstring defines it (False when in any doubt)."""
    tokens = []
    position = 0
    while position < len(sql):
        match = _TOKEN.match(sql, position)
        if match is None:
            return False
        kind, text = match.lastgroup, match.group()
        if kind == "symbol" and sql[match.end():match.end() + 1] == {"-": "-", "/": "*"}.get(text):
            return False  # a comment starts here: DuckDB would skip what this check reads
        if kind != "space":
            tokens.append((kind, text))
        position = match.end()
    if tokens and tokens[-1] == ("symbol", ";"):
        tokens.pop()
    if len(tokens) < 2 or tokens[0][0] != "word" or tokens[0][1].upper() != "SELECT":
        return False
    alias_next = False
    for kind, text in tokens[1:]:
        if alias_next:
            if kind not in ("word", "quoted"):
                return False
            alias_next = False
        elif kind == "word":
            if text.upper() == "AS":
                alias_next = True
            elif text.upper() not in _LITERAL_WORDS:
                return False
        elif kind == "quoted" or text == ";":
            return False
    return not alias_next


def _catalog_files(path: Path) -> list[Path] | None:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return None
    return sorted([*path.glob("*.yaml"), *path.glob("*.yml")])


def _project_dir(path: Path) -> Path:
    return path.parent if path.is_file() else path.resolve().parent


def _fingerprint(path: Path) -> list | None:
    """Each catalog file's resolved path, size and modification time (None: there is no catalog there)."""
    files = _catalog_files(path)
    if files is None:
        return None
    entries = []
    for file in files:
        stat = file.stat()
        entries.append([str(file.resolve()), stat.st_size, stat.st_mtime_ns])
    return entries


def _stamps(path: Path) -> dict:
    """The stamp file's fingerprints by profile (empty when it is missing or unreadable)."""
    try:
        stamps = json.loads((_project_dir(path) / STAMP).read_text())
    except (OSError, ValueError):
        return {}
    return stamps if isinstance(stamps, dict) else {}


def known_good(path: Path, profile: str) -> bool:
    """Whether the catalog at ``path`` loaded, with ``profile``, as its files are now (see :func:`remember`)."""
    try:
        fingerprint = _fingerprint(Path(path))
    except OSError:
        return False
    return fingerprint is not None and _stamps(Path(path)).get(profile) == fingerprint


def remember(path: Path, profile: str) -> None:
    """Record that the catalog at ``path`` loaded with ``profile`` (called after every full load; a project
    folder that cannot be written just keeps taking the ordinary path)."""
    path = Path(path)
    try:
        fingerprint = _fingerprint(path)
        stamps = _stamps(path)
        if fingerprint is None or stamps.get(profile) == fingerprint:
            return
        stamps = {name: files for name, files in stamps.items() if files == fingerprint}  # older files: forgotten
        stamps[profile] = fingerprint
        stamp = _project_dir(path) / STAMP
        stamp.parent.mkdir(parents=True, exist_ok=True)
        partial = stamp.with_name(f".{stamp.name}.{os.getpid()}")
        partial.write_text(json.dumps(stamps))
        os.replace(partial, stamp)
    except OSError:
        return


#: DuckDB's names of the types drawn right-aligned (NULL too: Arrow reads an untyped NULL as a number)
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
            "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", '"NULL"', "NULL")


def answer(sql: str, catalog_path: Path, profile: str):
    """The result of ``sql`` as :class:`c360.cli.render.Rows` (drawn without pyarrow) when it is constant and
    the catalog is known good, else None."""
    if not is_constant(sql) or not known_good(catalog_path, profile):
        return None
    import duckdb

    from c360.cli.render import Rows
    from c360.lockdown import lock, locked_config

    connection = duckdb.connect(config=locked_config(threads=1))
    try:
        lock(connection)
        result = connection.execute(sql)
        rows = result.fetchall()
        names = [column[0] for column in result.description]
        numeric = [str(column[1]).split("(")[0] in _NUMERIC for column in result.description]
        return Rows(names, rows, numeric)
    except duckdb.Error:
        return None  # the ordinary path words the error
    finally:
        connection.close()
