"""``${ENV:NAME}`` references: how catalogs carry secrets without holding them.

A catalog value may contain references anywhere in a string
(``Pwd=${ENV:CRM_PASSWORD};``). They stay unresolved in every object c360 keeps,
and are resolved only by :func:`resolve`, at connect time. Whatever was
resolved is remembered process-wide so :func:`redact` can scrub it from any
message that a driver builds out of a connection string.
"""

from __future__ import annotations

import os
import re
import threading

from c360.errors import MissingSecretError

REFERENCE = re.compile(r"\$\{ENV:([A-Za-z_][A-Za-z0-9_]*)\}")

_resolved_values: set[str] = set()
_lock = threading.Lock()


def references(value: str) -> list[str]:
    """The variable names referenced in ``value``."""
    return REFERENCE.findall(value)


def resolve(value, *, source: str):
    """Replace every reference in ``value`` (a string, or a dict/list of them).

    Raises :class:`MissingSecretError` naming the variable and the source when a
    variable is not set; the value itself is never part of a message.
    """
    if isinstance(value, dict):
        return {key: resolve(item, source=source) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, source=source) for item in value]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise MissingSecretError(
                f"Source '{source}' needs the environment variable {name}, which is not set"
            )
        secret = os.environ[name]
        if secret:
            with _lock:
                _resolved_values.add(secret)
        return secret

    return REFERENCE.sub(substitute, value)


def redact(text: str) -> str:
    """``text`` with every secret value c360 has resolved replaced by ``***``."""
    with _lock:
        values = sorted(_resolved_values, key=len, reverse=True)
    for secret in values:
        if len(secret) >= 3:
            text = text.replace(secret, "***")
    return _mask_inline_passwords(text)


_INLINE_PASSWORD = re.compile(r"(?i)\b(pwd|password|accountkey|sharedaccesssignature)=([^;\s]+)")


def _mask_inline_passwords(text: str) -> str:
    """Mask ``PWD=...`` style pairs a driver may echo back, even if not from a reference."""
    return _INLINE_PASSWORD.sub(lambda m: f"{m.group(1)}=***", text)
