"""Wire statements translated once per shape: a client's repeated lookup skips sqlglot in the server.

:func:`c360.postgres.translate` parses and rewrites every statement a client sends; for a
lookup repeated with new parameters (``SELECT * FROM customer_360 WHERE customer_id = $1``)
that is most of the server's work before the engine. The DuckDB SQL depends on the
statement, on the *types* of its values (a list parameter in ``= ANY($1)`` is spread, a
NULL changes the rewrite, operand types are read from the values) and on the catalog's
column types. So a translation is kept under ``(sql, types of the values, catalog types
version)`` and reused only when it took the values through unchanged (nothing spread,
nothing inlined) -- and, as the plan cache does, only once a translation with *other*
values of the same types gave the same SQL, value by value (a parameter whose value differs
from the first one's is trusted after one such check): a rule that read a value's content
would show there, and the shape is then never served from the cache. NULLs and lists are
never cached.
"""

from __future__ import annotations

import datetime as dt
import decimal
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from c360 import postgres

SIZE = 512
#: value types whose translation may be reused (a None or a list changes the rewrite itself)
SCALARS = (bool, int, float, str, bytes, decimal.Decimal, dt.date, dt.datetime, dt.time, dt.timedelta, uuid.UUID)


@dataclass
class _Entry:
    sql: str
    values: list
    #: the positions whose change was checked against a full translation
    verified: set = field(default_factory=set)
    broken: bool = False

    def changed(self, params: list) -> set:
        return {i for i, (a, b) in enumerate(zip(params, self.values)) if type(a) is not type(b) or a != b}


class TranslationCache:
    """Translations by ``(sql, value types, catalog version)``; thread-safe, shared by a server's sessions."""

    def __init__(self, size: int = SIZE):
        self.size = size
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def translate(self, sql: str, params: list, *, schema, version) -> postgres.Translation:
        """:func:`c360.postgres.translate` of ``sql`` with ``params``, from the cache when trusted."""
        params = list(params or [])
        if not all(type(value) in SCALARS for value in params):
            return postgres.translate(sql, params, schema=schema)
        key = (sql, tuple(type(value) for value in params), version)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        changed = entry.changed(params) if entry is not None else set()
        if entry is not None and not entry.broken and changed <= entry.verified:
            return postgres.Translation(entry.sql, params)
        full = postgres.translate(sql, params, schema=schema)
        through = len(full.params) == len(params) and all(a is b for a, b in zip(full.params, params))
        if entry is None:
            if through:
                with self._lock:
                    self._entries[key] = _Entry(full.sql, params)
                    while len(self._entries) > self.size:
                        self._entries.popitem(last=False)
        elif not entry.broken:
            if through and full.sql == entry.sql:
                entry.verified |= changed
            else:
                entry.broken = True
        return full
