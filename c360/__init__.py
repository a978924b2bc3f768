"""c360: a federated SQL layer for Customer 360.

``c360.connect(catalog="catalog")`` returns a PEP 249 connection; the module
carries the PEP 249 globals and exception tree.
"""

import logging as _logging

# sqlglot logs a WARNING for every statement it parses as a raw command (EXPLAIN, SHOW, RESET) and an
# INFO line per array index it shifts between dialects; c360 words its own errors, so only sqlglot's
# errors are worth a line.
_logging.getLogger("sqlglot").setLevel(_logging.ERROR)

from c360.dbapi import (  # noqa: E402,F401 - after sqlglot's logging is quietened
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    Binary,
    Connection,
    Cursor,
    Date,
    DateFromTicks,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
    connect,
)
from c360.errors import (  # noqa: E402,F401
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
