"""PostgreSQL's date/time format patterns (``to_char``, ``to_timestamp``, ``to_date``) as DuckDB's
``strftime``/``strptime``, exactly or not at all.

:func:`format_expression` builds the expression for ``to_char(value, pattern)``:
pieces of ``strftime`` with the case (``MON``, ``mon``) and padding (``Month``
is 9 wide unless ``FM``) PostgreSQL applies; :func:`parse_format` gives one
``strptime`` format. A pattern without an exact equivalent (``WW``, ``TZ``,
``TH``, number formats) raises NotSupportedError: an error, never a different
answer.
"""

from __future__ import annotations

import re

from sqlglot import exp

from c360.errors import NotSupportedError

#: PostgreSQL date/time format patterns with an exact strftime/strptime equivalent:
#: pattern -> (format with padding, format with FM) ; None where FM has no equivalent
_PATTERNS = {
    "HH24": ("%H", "%-H"), "HH12": ("%I", "%-I"), "HH": ("%I", "%-I"), "MI": ("%M", "%-M"), "SS": ("%S", "%-S"),
    "MS": ("%g", None), "US": ("%f", None), "YYYY": ("%Y", "%Y"), "YY": ("%y", "%-y"), "MM": ("%m", "%-m"),
    "DDD": ("%j", "%-j"), "DD": ("%d", "%-d"), "IYYY": ("%G", "%G"), "IW": ("%V", None),
    "ID": ("%u", "%u"),
    "AM": ("%p", "%p"), "PM": ("%p", "%p"), "Mon": ("%b", "%b"), "Dy": ("%a", "%a"),
    "FMMonth": ("%B", "%B"), "FMDay": ("%A", "%A"),
}
#: patterns whose text is upper/lower-cased or padded as PostgreSQL prints it: pattern -> (format, case, pad)
_CASED = {
    "MONTH": ("%B", "upper", 9), "Month": ("%B", None, 9), "month": ("%B", "lower", 9),
    "MON": ("%b", "upper", 0), "mon": ("%b", "lower", 0),
    "DAY": ("%A", "upper", 9), "Day": ("%A", None, 9), "day": ("%A", "lower", 9),
    "DY": ("%a", "upper", 0), "dy": ("%a", "lower", 0), "am": ("%p", "lower", 0), "pm": ("%p", "lower", 0),
}
_LOWER_ALIASES = {"hh24": "HH24", "hh12": "HH12", "hh": "HH", "mi": "MI", "ss": "SS", "ms": "MS", "us": "US",
                  "yyyy": "YYYY", "yy": "YY", "mm": "MM", "ddd": "DDD", "dd": "DD", "iyyy": "IYYY", "iw": "IW",
                  "id": "ID"}
#: patterns PostgreSQL knows that have no exact equivalent here (refused, never approximated)
_UNSUPPORTED = ("A.M.", "P.M.", "a.m.", "p.m.", "B.C.", "A.D.", "b.c.", "a.d.", "SSSSS", "SSSS", "YYY", "Y,YYY",
                "IYY", "IY", "BC", "AD", "bc", "ad", "WW", "CC", "cc", "ww", "RM", "rm", "TZH", "TZM", "TZ", "tz",
                "OF", "FF1", "FF2", "FF3", "FF4", "FF5", "FF6", "J", "Q", "q", "W", "D", "I", "Y", "y",
                "TH", "th", "SP", "FX", "TM")
_KEYS = sorted([*_PATTERNS, *_CASED, *_LOWER_ALIASES, *_UNSUPPORTED], key=len, reverse=True)


def _format_pieces(pattern: str, *, parsing: bool) -> list[tuple[str, str | None, int]]:
    """``pattern`` as pieces ``(strftime format, case, pad)``; NotSupportedError names a pattern without an
    exact equivalent. Parsing (to_timestamp) accepts only plain pieces."""
    pieces: list[tuple[str, str | None, int]] = []
    i = 0

    def add(fmt: str, case: str | None = None, pad: int = 0):
        if pieces and pieces[-1][1] is None and pieces[-1][2] == 0 and case is None and pad == 0:
            pieces[-1] = (pieces[-1][0] + fmt, None, 0)
        else:
            pieces.append((fmt, case, pad))

    while i < len(pattern):
        if pattern[i] == '"':
            j = pattern.find('"', i + 1)
            j = len(pattern) if j < 0 else j
            add(pattern[i + 1 : j].replace("%", "%%"))
            i = j + 1
            continue
        if pattern[i] == "\\" and i + 1 < len(pattern):
            add(pattern[i + 1].replace("%", "%%"))
            i += 2
            continue
        fill_mode = pattern.startswith(("FM", "fm"), i)
        start = i + 2 if fill_mode else i
        key = next((k for k in _KEYS if pattern.startswith(k, start)), None)
        if key is None:
            if fill_mode:
                raise NotSupportedError(f"The format modifier FM before '{pattern[start:start + 4]}' is not supported")
            add(pattern[i].replace("%", "%%"))
            i += 1
            continue
        name = _LOWER_ALIASES.get(key, key)
        if fill_mode and f"FM{name}" in _PATTERNS:
            add(_PATTERNS[f"FM{name}"][0])
        elif name in _PATTERNS:
            if parsing and name == "ID":
                raise NotSupportedError("The format pattern ID is not supported when parsing")
            padded, filled = _PATTERNS[name]
            fmt = filled if fill_mode else padded
            if fmt is None:
                raise NotSupportedError(f"The format pattern FM{name} has no exact translation here")
            add(fmt)
        elif name in _CASED:
            fmt, case, pad = _CASED[name]
            if parsing and case is not None and name not in ("am", "pm"):
                raise NotSupportedError(f"The format pattern {name} is not supported when parsing")
            add(fmt, case, 0 if fill_mode or parsing else pad)
        else:
            raise NotSupportedError(f"The format pattern {key} is not supported here (no exact translation)")
        i = start + len(key)
    return pieces


#: date/time patterns no number format has: a pattern with one of them is a date/time format, its digits
#: printed as written (Tableau's ISO-year truncation sends ``to_char(ts, 'IYYY-01')``)
_DATE_ONLY = re.compile(r"YYYY|YY|MM|DD|HH|IW|ID|AM|PM|US|MS|Mon|Day|Dy", re.IGNORECASE)


def format_expression(value: exp.Expression, pattern: str) -> exp.Expression:
    """``to_char(value, pattern)`` for a date/time ``value``, exactly as PostgreSQL prints it."""
    unquoted = re.sub(r'"[^"]*"', "", pattern)
    if re.search(r"[90]", unquoted) and not _DATE_ONLY.search(unquoted):
        raise NotSupportedError("to_char with a number format is not supported here")
    parts = []
    for fmt, case, pad in _format_pieces(pattern, parsing=False):
        piece: exp.Expression = exp.Anonymous(this="strftime", expressions=[value.copy(), exp.Literal.string(fmt)])
        if case is not None:
            piece = exp.Anonymous(this=case, expressions=[piece])
        if pad:
            piece = exp.Anonymous(this="rpad", expressions=[piece, exp.Literal.number(pad), exp.Literal.string(" ")])
        parts.append(piece)
    if not parts:
        return exp.Literal.string("")
    return parts[0] if len(parts) == 1 else exp.Anonymous(this="concat", expressions=parts)


def parse_format(pattern: str) -> str:
    """``pattern`` as one strptime format (``to_timestamp``/``to_date``); NotSupportedError where inexact."""
    pieces = _format_pieces(pattern, parsing=True)
    return "".join(fmt for fmt, _, _ in pieces)
