"""A session's settings: what ``SET``/``RESET``/``SHOW``/``DISCARD ALL`` and ``current_setting()`` read and
write, the ones a client is told about when they change (ParameterStatus), and ``statement_timeout``'s units.

:class:`SessionValues` is the per-connection state session functions answer from (``current_user``,
``current_schema()``, ``current_setting()``); the protocol (:mod:`c360.server.session`) owns one and the
catalog rewriting (:mod:`c360.server.catalog_emulation`) reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyarrow as pa

from c360.errors import InterfaceError, ProgrammingError
from c360.server.catalog_tables import DEFAULT_SETTINGS, OWNER

#: settings a client is told about (ParameterStatus) at start-up and when it changes them
REPORTED = {
    "application_name": "application_name", "client_encoding": "client_encoding", "datestyle": "DateStyle",
    "intervalstyle": "IntervalStyle", "timezone": "TimeZone", "standard_conforming_strings": "standard_conforming_strings",
}

#: settings a client may give at start-up (a start-up parameter, or ``-c name=value`` in ``options``), as
#: asyncpg's ``server_settings``, libpq's ``options`` and JDBC's ``options`` property send them; the others a
#: driver sends there (client_encoding, DateStyle, extra_float_digits...) keep the values c360 reports
STARTUP_SETTINGS = ("statement_timeout", "search_path")

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


class UnknownSetting(ProgrammingError):
    sqlstate = "42704"


@dataclass
class SessionValues:
    """What session functions return, substituted as literals when a statement is rewritten."""

    user: str = OWNER
    database: str = "c360"
    search_path: list[str] = field(default_factory=lambda: ["public"])
    settings: dict[str, str] = field(default_factory=dict)
    pid: int = 0

    def get(self, name: str) -> str | None:
        """The setting's value in this session (its default when never set); None when there is no such one."""
        return self.settings.get(name, DEFAULT_SETTINGS.get(name))

    def set(self, name: str, value: str | None) -> tuple[str, str] | None:
        """``SET name = value`` (``value`` None: ``RESET name``/``SET name TO DEFAULT``). Returns the
        ParameterStatus the client is sent, (its name, the new value), for a setting clients are told about."""
        if not name:
            return None
        if name == "all" and value is None:
            self.settings.clear()
            return None
        if value is None:
            self.settings.pop(name, None)
            value = DEFAULT_SETTINGS.get(name, "")
        else:
            if name == "search_path":
                self.search_path = [s.strip().strip('"') for s in value.split(",") if s.strip() and s.strip() != '"$user"']
            if name == "statement_timeout":
                timeout_seconds(value)  # refused now when it cannot be read
            if name == "client_encoding" and value.upper().replace("-", "") not in ("UTF8", "UNICODE"):
                raise InterfaceError(f"c360 speaks UTF8 only; client_encoding {value} is not supported")
            self.settings[name] = value
        return (REPORTED[name], value) if name in REPORTED else None

    def show(self, name: str) -> pa.Table:
        """``SHOW name`` (``SHOW ALL``) as a result table."""
        settings = {**DEFAULT_SETTINGS, **self.settings}
        if name == "all":
            names = sorted(settings)
            return pa.table({"name": names, "setting": [settings[n] for n in names], "description": [""] * len(names)})
        if name == "session_authorization":
            return pa.table({name: [self.user]})
        if name not in settings:
            raise UnknownSetting(f'unrecognized configuration parameter "{name}"')
        return pa.table({name: [settings[name]]})

    def discard(self) -> None:
        """``DISCARD ALL``: every setting back to its default but the start-up ``application_name``."""
        application = self.settings.get("application_name", "")
        self.settings.clear()
        self.settings["application_name"] = application  # PostgreSQL keeps the start-up value
        self.search_path = ["public"]

    def statement_timeout(self) -> float:
        """``statement_timeout`` in seconds; 0 is none."""
        return timeout_seconds(self.settings.get("statement_timeout", "0"))


def startup_settings(params: dict[str, str]) -> list[tuple[str, str]]:
    """The :data:`STARTUP_SETTINGS` among a start-up packet's parameters, ``options`` (``-c name=value`` or
    ``--name=value``, backslash escaping a space as in PostgreSQL) last, so it wins as it does there."""
    found = [(name.lower(), value) for name, value in params.items() if name.lower() in STARTUP_SETTINGS]
    words = re.findall(r"(?:\\.|\S)+", params.get("options", ""))
    words = [re.sub(r"\\(.)", r"\1", word) for word in words]
    for index, word in enumerate(words):
        if word == "-c" and index + 1 < len(words):
            word = "--" + words[index + 1]
        elif word.startswith("-c"):
            word = "--" + word[2:]
        if word.startswith("--") and "=" in word:
            name, _, value = word[2:].partition("=")
            name = name.replace("-", "_").lower()
            if name in STARTUP_SETTINGS:
                found.append((name, value))
    return found


def timeout_seconds(value: str) -> float:
    """A PostgreSQL duration setting (``5000`` milliseconds, ``'5s'``, ``'1min'``) in seconds; 0 is none."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*", str(value))
    if match is None:
        raise ProgrammingError(f'invalid value for parameter "statement_timeout": "{value}"')
    return float(match.group(1)) * _UNITS[match.group(2) or "ms"]
