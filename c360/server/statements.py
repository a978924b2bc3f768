"""Reading SQL text the way the server must before the engine sees it.

A scanner that knows PostgreSQL's quoting (``'...'``, ``E'...'``, ``"..."``,
``$tag$...$tag$``, ``--`` and ``/* */`` comments) so that :func:`split` cuts a
simple-query message into statements only at real semicolons, and
:func:`count_placeholders` finds the ``$n`` parameters a statement takes (the
engine binds them by number). :func:`first_words` classifies a statement by its
leading keywords.
"""

from __future__ import annotations

import functools
import re

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_PLACEHOLDER = re.compile(r"\$(\d+)")


def _scan(sql: str):
    """Yield ``(kind, start, end)`` spans: kind is 'code', 'string', 'ident' or 'comment'."""
    i, n, start = 0, len(sql), 0
    while i < n:
        c = sql[i]
        if c == "'" or c == '"':
            if i > start:
                yield "code", start, i
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                if sql[j] == "\\" and c == "'" and i > 0 and sql[i - 1] in "eE":
                    j += 2
                    continue
                j += 1
            yield ("string" if c == "'" else "ident"), i, min(j + 1, n)
            i = start = min(j + 1, n)
        elif c == "-" and sql.startswith("--", i):
            if i > start:
                yield "code", start, i
            j = sql.find("\n", i)
            j = n if j < 0 else j
            yield "comment", i, j
            i = start = j
        elif c == "/" and sql.startswith("/*", i):
            if i > start:
                yield "code", start, i
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            yield "comment", i, j
            i = start = j
        elif c == "$" and (match := _DOLLAR_TAG.match(sql, i)) and not (i > 0 and (sql[i - 1].isalnum() or sql[i - 1] == "_")):
            if i > start:
                yield "code", start, i
            tag = match.group(0)
            j = sql.find(tag, match.end())
            j = n if j < 0 else j + len(tag)
            yield "string", i, j
            i = start = j
        else:
            i += 1
    if start < n:
        yield "code", start, n


def split(sql: str) -> list[str]:
    """The statements of a simple-query message, stripped; empty statements are kept as ''."""
    statements, current = [], []
    for kind, start, end in _scan(sql):
        if kind != "code":
            current.append(sql[start:end])
            continue
        piece = sql[start:end]
        parts = piece.split(";")
        for part in parts[:-1]:
            current.append(part)
            statements.append("".join(current).strip())
            current = []
        current.append(parts[-1])
    tail = "".join(current).strip()
    if tail or not statements:
        statements.append(tail)
    return statements


def strip_comments(sql: str) -> str:
    return "".join(sql[s:e] if k != "comment" else " " for k, s, e in _scan(sql)).strip()


def count_placeholders(sql: str) -> int:
    """The highest ``$n`` used in ``sql`` (0 if none)."""
    highest = 0
    for kind, start, end in _scan(sql):
        if kind == "code":
            for match in _PLACEHOLDER.finditer(sql, start, end):
                highest = max(highest, int(match.group(1)))
    return highest


_CAST_PLACEHOLDER = re.compile(r"\$(\d+)\s*::\s*(?:pg_catalog\.)?\"?([A-Za-z_][A-Za-z0-9_]*)\"?\s*(\[\s*\])?")


def cast_placeholders(sql: str) -> dict[int, tuple[str, bool]]:
    """``{n: (type name, is_array)}`` for each ``$n::type`` (or ``$n::type[]``) in ``sql``, strings skipped:
    the type the client meant, even where the statement does not parse."""
    found: dict[int, tuple[str, bool]] = {}
    for kind, start, end in _scan(sql):
        if kind == "code":
            for match in _CAST_PLACEHOLDER.finditer(sql, start, end):
                found.setdefault(int(match.group(1)), (match.group(2).lower(), match.group(3) is not None))
    return found


def first_words(sql: str, count: int = 3) -> list[str]:
    """The first ``count`` keywords of a statement, upper-cased, comments skipped."""
    return [w.upper() for w in re.findall(r"[A-Za-z_]+", strip_comments(sql)[:200])[:count]]


@functools.lru_cache(maxsize=512)
def _verb(sql: str) -> str:
    words = first_words(sql, 1)
    return words[0] if words else "SELECT"


def command_tag(sql: str, rows: int) -> str:
    """The CommandComplete tag for a statement that returned ``rows`` rows."""
    verb = _verb(sql)
    if verb in ("SELECT", "WITH", "VALUES", "TABLE", "SHOW", "EXPLAIN", "FROM", "DESCRIBE", "SUMMARIZE", "PIVOT", "UNPIVOT"):
        return f"SELECT {rows}"
    if verb == "INSERT":
        return f"INSERT 0 {rows}"
    if verb in ("UPDATE", "DELETE", "MERGE", "FETCH", "MOVE", "COPY"):
        return f"{verb} {rows}"
    return verb
