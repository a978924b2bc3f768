"""The PEP 249 exception tree, with c360's domain errors as subclasses.

Every message is fixed wording meant for a person at a terminal: it names the
thing that is wrong (table, column, source, file, line) and, where a guess is
possible, what was probably meant. Messages never carry secrets: connector
errors pass through :func:`c360.secrets.redact` before they are raised.
"""

from __future__ import annotations

import difflib


class Warning(Exception):  # noqa: A001 - the name is fixed by PEP 249
    """PEP 249 ``Warning``."""


class Error(Exception):
    """Base of every c360 error (PEP 249 ``Error``)."""

    #: SQLSTATE used when the error crosses the PostgreSQL wire protocol.
    sqlstate = "XX000"


class InterfaceError(Error):
    sqlstate = "08000"


class DatabaseError(Error):
    sqlstate = "XX000"


class DataError(DatabaseError):
    sqlstate = "22000"


class OperationalError(DatabaseError):
    sqlstate = "58000"


class IntegrityError(DatabaseError):
    sqlstate = "23000"


class InternalError(DatabaseError):
    sqlstate = "XX000"


class ProgrammingError(DatabaseError):
    sqlstate = "42000"


class NotSupportedError(DatabaseError):
    sqlstate = "0A000"


# --- domain errors -------------------------------------------------------------------------------


class CatalogError(ProgrammingError):
    """A catalog file is malformed; the message names file and line."""

    sqlstate = "F0000"


class MissingSecretError(CatalogError):
    """A ``${ENV:NAME}`` reference names a variable that is not set."""


class UnknownKindError(CatalogError):
    """A source declares a ``kind`` no connector implements."""


class SqlSyntaxError(ProgrammingError):
    sqlstate = "42601"


class UnknownTableError(ProgrammingError):
    sqlstate = "42P01"


class UnknownColumnError(ProgrammingError):
    sqlstate = "42703"


class ReadOnlyError(NotSupportedError):
    sqlstate = "25006"


class SourceError(OperationalError):
    """A source failed while c360 talked to it; the message names the source."""

    sqlstate = "58030"


class SourceUnreachableError(SourceError):
    sqlstate = "08001"


class SourceTimeoutError(SourceError):
    sqlstate = "57014"


class QueryCancelledError(OperationalError):
    sqlstate = "57014"


class FileFormatError(DataError):
    """A data file does not parse; the message names the file and line."""

    sqlstate = "22P02"


class NotFoundError(SourceError):
    """A container, prefix, folder or file a table points at does not exist."""

    sqlstate = "58P01"


def did_you_mean(name: str, candidates) -> str:
    """Return `` Did you mean 'x'?`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(name.lower(), [c.lower() for c in candidates], n=1, cutoff=0.6)
    if not close:
        return ""
    original = {c.lower(): c for c in candidates}[close[0]]
    return f" Did you mean '{original}'?"
