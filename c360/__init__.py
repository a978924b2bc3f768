"""c360: a federated SQL layer for Customer 360.

``c360.connect(catalog="catalog")`` returns a PEP 249 connection; the module
carries the PEP 249 globals and exception tree.
"""

import logging as _logging

# sqlglot logs a WARNING for every statement it parses as a raw command (EXPLAIN, SHOW, RESET) and an
# INFO line per array index it shifts between dialects; c360 words its own errors, so only sqlglot's
# errors are worth a line.
_logging.getLogger("sqlglot").setLevel(_logging.ERROR)

#: Names of :mod:`c360.dbapi` this package re-exports, imported on first use: ``import c360`` (and so
#: ``c360 --help``) does not load DuckDB, Arrow and the planner until a connection is asked for.
_DBAPI = (
    "BINARY", "DATETIME", "NUMBER", "ROWID", "STRING", "Binary", "Connection", "Cursor", "Date", "DateFromTicks",
    "Time", "TimeFromTicks", "Timestamp", "TimestampFromTicks", "connect",
)


def __getattr__(name: str):
    if name in _DBAPI:
        from c360 import dbapi

        value = getattr(dbapi, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'c360' has no attribute '{name}'")


def __dir__():
    return sorted([*globals(), *_DBAPI])


from c360.errors import (  # noqa: E402,F401 - after sqlglot's logging is quietened
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)

__version__ = "0.1.0"

apilevel = "2.0"
threadsafety = 1
paramstyle = "qmark"  # named (:name) is accepted too
