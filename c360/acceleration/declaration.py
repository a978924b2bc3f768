"""What the catalog's ``acceleration:`` block declares: which tables and views are copied, and how.

::

    acceleration:
      customer_360: {refresh: full, every: 5m, key: [customer_id], max_staleness: 15m}
      shop.orders: {refresh: append, every: 1m, column: updated_at, key: [order_id], overlap: 10m}
      clicks.browsing: {refresh: append, column: window_start, key: [window_start, customer_id, category],
                        live_tail: true}

A name with a dot is a source table, a bare name is a view of ``queries/``. ``full``
re-reads everything; ``append`` reads only rows whose ``column`` is at or past the
last watermark minus ``overlap`` (late commits) and replaces rows of the copy that
have the same ``key``. ``live_tail`` (append only) makes queries read the copy
plus the live rows past its watermark, so they see the newest rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from c360.errors import CatalogError, ProgrammingError, did_you_mean

#: Keys of one declaration, with their help (the docs' table is checked against these).
KEYS = {
    "refresh": "full (re-read everything) or append (rows past the watermark); default full",
    "every": "how often `c360 serve` refreshes the copy, e.g. 5m (default: only `c360 accelerate refresh`)",
    "column": "append: the watermark column (a timestamp, date or number that only grows)",
    "key": "the columns that identify a row: append replaces rows with the same key; a copy is sorted by it",
    "max_staleness": "the oldest copy a query uses when its session sets no max_staleness (default 15m)",
    "overlap": "append: how far before the watermark rows are read again, for late commits (default 10m)",
    "live_tail": "append: queries read the copy plus the live rows past its watermark (default false)",
    "timeout": "how long each source query of a refresh may run before it is cancelled, in place of the "
               "source's own timeout, which bounds interactive queries (default 1h)",
    "compress": "false writes the copy uncompressed: a lookup by key reads its row without decoding a block of "
                "values per column (a third less of DuckDB's CPU for a row of 60 columns), in a file about 4x "
                "larger (default true)",
}

DEFAULT_MAX_STALENESS = 15 * 60.0
DEFAULT_OVERLAP = 10 * 60.0
#: a refresh reads everything a view needs (every order of the year at a million customers: minutes), so the
#: sources' own ``timeout`` (seconds, for interactive queries) does not bound it; this does
DEFAULT_REFRESH_TIMEOUT = 3600.0

_UNITS = {"ms": 0.001, "s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "minute": 60,
          "minutes": 60, "h": 3600, "hour": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_duration(value, *, what: str = "duration") -> float:
    """Seconds of ``value``: a number of seconds, or ``'90s'``, ``'5m'``, ``'10 minutes'``, ``'1h'``, ``'2d'``.

    ValueError with a fixed sentence when it is neither (the callers add where it was written).
    """
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a duration such as 30s, 5m, 10 minutes or 1h, not {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{what} cannot be negative")
        return float(value)
    match = _DURATION.match(str(value))
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS and unit != "":
        raise ValueError(f"{what} must be a duration such as 30s, 5m, 10 minutes or 1h, not {value!r}")
    return float(match.group(1)) * (_UNITS[unit] if unit else 1)


def format_duration(seconds: float) -> str:
    """``3m12s``, ``2h05m``, ``1d03h``: an age for people."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


@dataclass(frozen=True)
class Acceleration:
    """One declared copy. ``name`` is ``customer_360`` (a view) or ``shop.orders`` (a source table)."""

    name: str
    refresh: str = "full"
    every: float | None = None
    column: str | None = None
    key: tuple[str, ...] = ()
    max_staleness: float = DEFAULT_MAX_STALENESS
    overlap: float = DEFAULT_OVERLAP
    live_tail: bool = False
    #: seconds each source query of a refresh may run (the sources' own ``timeout`` does not apply)
    timeout: float = DEFAULT_REFRESH_TIMEOUT
    #: False: the copy is written without DuckDB's compression (:func:`c360.acceleration.refresh._write`)
    compress: bool = True
    where: str = ""

    @property
    def is_view(self) -> bool:
        return "." not in self.name

    @property
    def source(self) -> str | None:
        return self.name.split(".", 1)[0] if not self.is_view else None

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[1] if not self.is_view else self.name

    def query(self) -> str:
        """The SELECT a refresh runs through the engine (live sources)."""
        if self.is_view:
            return f'SELECT * FROM "{self.name}"'
        return f'SELECT * FROM "{self.source}"."{self.table}"'


def parse_block(block, *, where) -> dict[str, Acceleration]:
    """The catalog's ``acceleration:`` mapping as :class:`Acceleration` by lower-case name.

    ``where(key)`` names the file and line of a key. CatalogError for anything it cannot read.
    """
    if not isinstance(block, dict):
        raise CatalogError(f"{where(None)}: 'acceleration' must be a mapping of table or view names")
    out: dict[str, Acceleration] = {}
    for name, declaration in block.items():
        place = block.where(name) if hasattr(block, "where") else where(name)
        if declaration is None:
            declaration = {}
        if not isinstance(declaration, dict):
            raise CatalogError(f"{place}: acceleration of '{name}' must be a mapping ({', '.join(KEYS)})")
        out[name.lower()] = _one(name, declaration, place)
    return out


def _one(name: str, declaration: dict, place: str) -> Acceleration:
    def at(key):
        return declaration.where(key) if hasattr(declaration, "where") else place

    if name.count(".") > 1 or not all(name.split(".")):
        raise CatalogError(f"{place}: '{name}' is neither a view (customer_360) nor a source table (shop.orders)")
    for key in declaration:
        if key not in KEYS:
            raise CatalogError(f"{at(key)}: unknown acceleration setting '{key}'.{did_you_mean(key, KEYS)}")
    refresh = str(declaration.get("refresh", "full"))
    if refresh not in ("full", "append"):
        raise CatalogError(f"{at('refresh')}: 'refresh' must be full or append, not '{refresh}'")
    values: dict = {"name": name.lower(), "refresh": refresh, "where": place}
    for key in ("every", "max_staleness", "overlap", "timeout"):
        if key in declaration:
            try:
                values[key] = parse_duration(declaration[key], what=f"'{key}'")
            except ValueError as error:
                raise CatalogError(f"{at(key)}: {error}") from None
    for key in ("every", "timeout"):
        if values.get(key) == 0:
            raise CatalogError(f"{at(key)}: '{key}' must be longer than 0 seconds")
    key = declaration.get("key", ())
    if isinstance(key, str):
        key = (key,)
    if not isinstance(key, (list, tuple)) or not all(isinstance(k, str) and k for k in key):
        raise CatalogError(f"{at('key')}: 'key' must be a column name or a list of them")
    values["key"] = tuple(k.lower() for k in key)
    column = declaration.get("column")
    if column is not None:
        if not isinstance(column, str) or not column:
            raise CatalogError(f"{at('column')}: 'column' must be a column name")
        values["column"] = column.lower()
    tail = declaration.get("live_tail", False)
    if not isinstance(tail, bool):
        raise CatalogError(f"{at('live_tail')}: 'live_tail' must be true or false")
    values["live_tail"] = tail
    compress = declaration.get("compress", True)
    if not isinstance(compress, bool):
        raise CatalogError(f"{at('compress')}: 'compress' must be true or false")
    values["compress"] = compress
    if refresh == "append":
        if "." not in name:
            raise CatalogError(f"{at('refresh')}: view '{name}' can only be refreshed in full (append needs a "
                               "source table whose rows only grow)")
        if column is None:
            raise CatalogError(f"{place}: append refresh of '{name}' needs 'column' (the watermark column)")
        if not values["key"]:
            raise CatalogError(f"{place}: append refresh of '{name}' needs 'key' (to replace rows read again)")
    elif tail:
        raise CatalogError(f"{at('live_tail')}: 'live_tail' needs refresh: append (a watermark to read past)")
    return Acceleration(**values)


def staleness_seconds(value) -> float:
    """A ``max_staleness`` value in seconds: a number of seconds, a duration text (``'10 minutes'``) or an interval."""
    import datetime as dt

    if isinstance(value, dt.timedelta):
        value = value.total_seconds()
    try:
        return parse_duration(value, what="max_staleness")
    except ValueError as error:
        raise ProgrammingError(str(error)) from None
