"""What a statement is, before anything runs: the server's own commands versus queries.

:func:`classify` returns a :class:`Command`: ``kind`` is one of ``empty``,
``transaction``, ``set``, ``show``, ``noop``, ``declare``, ``fetch``,
``close``, ``copy``, ``catalog`` (answered from the emulated system catalogs)
or ``query`` (sent to the engine). The parsers here only read text; the
session acts on what they return.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from c360.errors import NotSupportedError, ProgrammingError
from c360.server import statements
from c360.server.catalog_emulation import is_catalog_query

_TRANSACTION = {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE"}
_NOOP = {"DISCARD": "DISCARD ALL", "DEALLOCATE": "DEALLOCATE", "LISTEN": "LISTEN", "UNLISTEN": "UNLISTEN",
         "NOTIFY": "NOTIFY", "CHECKPOINT": "CHECKPOINT", "VACUUM": "VACUUM", "ANALYZE": "ANALYZE"}

_SET = re.compile(
    r"^SET\s+(?:SESSION\s+|LOCAL\s+)?(?:(?P<tz>TIME\s+ZONE)\s+(?P<tzvalue>.+)|(?P<names>NAMES)\s+(?P<namesvalue>.+)|"
    r"(?P<name>[\w.\"]+)\s*(?:=|\bTO\b)\s*(?P<value>.+))$",
    re.IGNORECASE | re.DOTALL,
)
_SET_TRANSACTION = re.compile(r"^SET\s+(?:SESSION\s+CHARACTERISTICS\s+AS\s+)?TRANSACTION\b", re.IGNORECASE)
_RESET = re.compile(r"^RESET\s+(?P<name>ALL|[\w.\"]+)$", re.IGNORECASE)
_SHOW = re.compile(r"^SHOW\s+(?P<name>.+)$", re.IGNORECASE | re.DOTALL)
_DECLARE = re.compile(
    r"^DECLARE\s+(?P<name>\"(?:[^\"]|\"\")+\"|\w+)\s+(?P<options>(?:BINARY|INSENSITIVE|ASENSITIVE|NO\s+SCROLL|SCROLL|\s)*)"
    r"CURSOR\s+(?:(?P<hold>WITH|WITHOUT)\s+HOLD\s+)?FOR\s+(?P<query>.+)$",
    re.IGNORECASE | re.DOTALL,
)
_FETCH = re.compile(
    r"^(?P<verb>FETCH|MOVE)\s+(?:(?P<direction>NEXT|ALL|FORWARD\s+ALL|FORWARD\s+\d+|FORWARD|\d+|PRIOR|BACKWARD.*?|FIRST|LAST|"
    r"ABSOLUTE\s+-?\d+|RELATIVE\s+-?\d+)\s+)?(?:(?:FROM|IN)\s+)?(?P<name>\"(?:[^\"]|\"\")+\"|\w+)$",
    re.IGNORECASE | re.DOTALL,
)
_CLOSE = re.compile(r"^CLOSE\s+(?P<name>ALL|\"(?:[^\"]|\"\")+\"|\w+)$", re.IGNORECASE)
_COPY = re.compile(
    r"^COPY\s+(?:\((?P<query>.+)\)|(?P<table>(?:\"(?:[^\"]|\"\")+\"|[\w$]+)(?:\.(?:\"(?:[^\"]|\"\")+\"|[\w$]+))*)"
    r"(?:\s*\((?P<columns>[^)]*)\))?)\s+(?P<direction>TO|FROM)\s+(?P<target>STDOUT|STDIN|'[^']*'|\S+)(?P<options>.*)$",
    re.IGNORECASE | re.DOTALL,
)

#: SHOW forms about the catalog (not PostgreSQL settings): the engine answers them
_SHOW_CATALOG = re.compile(r"^SHOW\s+(ALL\s+TABLES|TABLES(\s+(FROM|IN)\s+\S+)?|SCHEMAS|SOURCES|COLUMNS\s+(FROM|IN)\s+\S+)$",
                           re.IGNORECASE)

#: SHOW names that are spelled with spaces
_SHOW_ALIASES = {
    "transaction isolation level": "transaction_isolation",
    "time zone": "timezone",
    "session authorization": "session_authorization",
}


@dataclass
class Command:
    kind: str
    sql: str
    tag: str = ""
    name: str = ""  # setting, cursor or portal name
    value: str | None = None
    count: int | None = None  # FETCH/MOVE rows (None = all)
    binary: bool = False
    copy: dict = field(default_factory=dict)


def identifier(text: str) -> str:
    """A SQL identifier as PostgreSQL folds it: quoted keeps case, unquoted is lower-cased."""
    text = text.strip()
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()


def _setting_value(text: str) -> str:
    text = text.strip().rstrip(";").strip()
    parts = [p.strip() for p in text.split(",")]
    cleaned = []
    for part in parts:
        if len(part) >= 2 and part[0] == part[-1] == "'":
            part = part[1:-1].replace("''", "'")
        cleaned.append(part)
    return ", ".join(cleaned)


def _engine_setting(text: str) -> bool:
    """Whether ``SET``/``RESET`` names one of c360's own session settings (:data:`c360.policy.SESSION_SETTINGS`)."""
    from c360.policy import SESSION_SETTINGS

    match = _SET.match(text) or _RESET.match(text)
    return match is not None and bool(match.group("name")) and identifier(match.group("name")) in SESSION_SETTINGS


def _is_engine_setting(name: str) -> bool:
    from c360.policy import SESSION_SETTINGS

    return identifier(name.strip()) in SESSION_SETTINGS


def classify(sql: str) -> Command:
    text = statements.strip_comments(sql).rstrip(";").strip()
    if not text:
        return Command("empty", sql)
    words = statements.first_words(text, 2)
    verb = words[0] if words else ""
    if verb in _TRANSACTION:
        if verb in ("BEGIN", "START"):
            tag = "BEGIN" if verb == "BEGIN" else "START TRANSACTION"
        elif verb in ("COMMIT", "END"):
            tag = "COMMIT"
        elif verb in ("ROLLBACK", "ABORT"):
            tag = "ROLLBACK"
        else:
            tag = verb
        return Command("transaction", text, tag=tag, name=verb)
    if verb in ("SET", "RESET") and words[1:] == ["VARIABLE"]:
        return Command("query", text)  # the engine keeps connection variables (views read them)
    if verb in ("SET", "RESET") and _engine_setting(text):
        return Command("query", text)  # c360's own settings (max_staleness): kept by the engine
    if verb == "SET":
        if _SET_TRANSACTION.match(text):
            return Command("set", text, tag="SET")
        match = _SET.match(text)
        if not match:
            raise ProgrammingError(f"Cannot read this SET statement: {text[:80]}")
        if match.group("tz"):
            return Command("set", text, tag="SET", name="timezone", value=_setting_value(match.group("tzvalue")))
        if match.group("names"):
            return Command("set", text, tag="SET", name="client_encoding", value=_setting_value(match.group("namesvalue")))
        return Command("set", text, tag="SET", name=identifier(match.group("name")), value=_setting_value(match.group("value")))
    if verb == "RESET":
        match = _RESET.match(text)
        if not match:
            raise ProgrammingError(f"Cannot read this RESET statement: {text[:80]}")
        return Command("set", text, tag="RESET", name=identifier(match.group("name")), value=None)
    if verb == "SHOW":
        if _SHOW_CATALOG.match(text):
            return Command("query", text)  # c360's own SHOW, answered from the catalog (c360.introspect)
        match = _SHOW.match(text)
        if match and _is_engine_setting(match.group("name")):
            return Command("query", text)  # c360's own settings (max_staleness): shown by the engine
        name = " ".join(match.group("name").lower().split())
        return Command("show", text, tag="SHOW", name=_SHOW_ALIASES.get(name, identifier(name)))
    if verb in _NOOP:
        return Command("noop", text, tag=_NOOP[verb] if verb != "DISCARD" else f"DISCARD {' '.join(words[1:]) or 'ALL'}")
    if verb == "DECLARE":
        match = _DECLARE.match(text)
        if not match:
            raise ProgrammingError(f"Cannot read this DECLARE statement: {text[:80]}")
        return Command("declare", match.group("query"), tag="DECLARE CURSOR", name=identifier(match.group("name")),
                       binary="BINARY" in match.group("options").upper(), value=(match.group("hold") or "").upper())
    if verb in ("FETCH", "MOVE"):
        match = _FETCH.match(text)
        if not match:
            raise ProgrammingError(f"Cannot read this {verb} statement: {text[:80]}")
        direction = " ".join((match.group("direction") or "NEXT").upper().split())
        if direction in ("NEXT", "FORWARD"):
            count = 1
        elif direction in ("ALL", "FORWARD ALL"):
            count = None
        elif direction.isdigit():
            count = int(direction)
        elif direction.startswith("FORWARD "):
            count = int(direction.split()[1])
        else:
            raise NotSupportedError(f"Cursors here move forward only: {direction} is not supported")
        return Command("fetch", text, tag=verb, name=identifier(match.group("name")), count=count)
    if verb == "CLOSE":
        match = _CLOSE.match(text)
        if not match:
            raise ProgrammingError(f"Cannot read this CLOSE statement: {text[:80]}")
        name = match.group("name")
        return Command("close", text, tag="CLOSE CURSOR", name="" if name.upper() == "ALL" else identifier(name),
                       value="ALL" if name.upper() == "ALL" else None)
    if verb == "COPY":
        return _copy(text)
    if is_catalog_query(text):
        return Command("catalog", text)
    return Command("query", text)


def _copy(text: str) -> Command:
    match = _COPY.match(text)
    if not match:
        raise ProgrammingError(f"Cannot read this COPY statement: {text[:80]}")
    if match.group("direction").upper() == "FROM":
        raise NotSupportedError("c360 is read-only: COPY FROM is not allowed")
    if match.group("target").upper() != "STDOUT":
        raise NotSupportedError("COPY writes only TO STDOUT here (the server does not write files)")
    if match.group("query"):
        query = match.group("query")
    else:
        columns = match.group("columns")
        query = f"SELECT {columns if columns else '*'} FROM {match.group('table')}"
    options = match.group("options")
    csv = re.search(r"\bFORMAT\s+'?csv'?|\bCSV\b", options, re.IGNORECASE) is not None
    if re.search(r"\bFORMAT\s+'?binary'?|\bBINARY\b", options, re.IGNORECASE):
        raise NotSupportedError("COPY in binary format is not supported; use FORMAT text or csv")
    header = re.search(r"\bHEADER\b(?!\s*(?:false|off|0)\b)", options, re.IGNORECASE) is not None
    delimiter = re.search(r"\bDELIMITER\s+(?:AS\s+)?'((?:[^']|'')+)'", options, re.IGNORECASE)
    null = re.search(r"\bNULL\s+(?:AS\s+)?'((?:[^']|'')*)'", options, re.IGNORECASE)
    return Command(
        "copy",
        query,
        tag="COPY",
        copy={
            "csv": csv,
            "header": header and csv,
            "delimiter": delimiter.group(1).replace("''", "'") if delimiter else ("," if csv else "\t"),
            "null": null.group(1).replace("''", "'") if null else ("" if csv else "\\N"),
        },
    )
