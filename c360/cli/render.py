"""Results drawn for people: a box table that fits the terminal, or one record per block.

:func:`render` is pure (a table, a width, a row limit in; lines out) so what a person sees is
golden-tested at any width. The rules, in the order they apply:

- Cells are one line: control characters are shown escaped (``\\n``), NULL is ``NULL`` (dim on a
  terminal; an empty string stays empty), lists and structs are compact (``[a, b]``,
  ``{nps: 9, source: web}``), floats keep 10 significant digits. Numbers are right-aligned.
- A column is as wide as its header or its widest shown value, at most :data:`MAX_CELL` characters;
  longer values end in ``…``. Headers are never broken over lines.
- Columns that do not fit the width are elided in the middle, behind one ``…`` column; the footer
  says how many are hidden. If even two columns do not fit, a lone first column is cut to the width.
- Past ``max_rows`` rows, the first and last halves are shown around a ``·`` row; the footer gives
  the total; the footer says how many rows and columns there are and how many are hidden
  (``--vertical`` draws every column).
- One row whose columns do not all fit is drawn vertically (``vertical=None`` decides; True or False
  forces it): ``column │ value`` per line, values cut to the width.

``width=None`` means unlimited (piped output: every column, every value whole); ``style=False`` means
no ANSI codes at all (piped output is never decorated).
"""

from __future__ import annotations

import datetime as dt
import decimal
import unicodedata

MAX_CELL = 40
ELLIPSIS = "…"
NULL = "NULL"
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def text_width(text: str) -> int:
    """Terminal cells ``text`` takes: wide East Asian characters count 2, combining marks 0."""
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def truncate(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells, ending in ``…`` when it was cut."""
    if text_width(text) <= width:
        return text
    if width <= 0:
        return ""
    kept, used = [], 0
    for char in text:
        size = text_width(char)
        if used + size > width - 1:
            break
        kept.append(char)
        used += size
    return "".join(kept) + ELLIPSIS


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - text_width(text))
    return gap + text if right else text + gap


def cell(value, *, nested: bool = False) -> str:
    """One value as one line of text (None is :data:`NULL`)."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, (decimal.Decimal, int)):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {cell(v, nested=True)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(item, tuple) and len(item) == 2 for item in value):  # an Arrow map
            return "{" + ", ".join(f"{cell(k, nested=True)}={cell(v, nested=True)}" for k, v in value) + "}"
        return "[" + ", ".join(cell(item, nested=True) for item in value) + "]"
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    text = str(value)
    if any(char in _ESCAPES or ord(char) < 32 for char in text):
        text = "".join(_ESCAPES.get(char, f"\\x{ord(char):02x}" if ord(char) < 32 else char) for char in text)
    return text


def _is_number(arrow_type) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


class _Style:
    def __init__(self, on: bool):
        self.on = on

    def bold(self, text: str) -> str:
        return f"{_BOLD}{text}{_RESET}" if self.on else text

    def dim(self, text: str) -> str:
        return f"{_DIM}{text}{_RESET}" if self.on else text


class Rows:
    """A result as Python rows, drawn like an Arrow table without loading pyarrow (:mod:`c360.cli.constant`'s
    answers): the column names, the rows as tuples, and which columns hold numbers (right-aligned)."""

    def __init__(self, names: list[str], rows: list[tuple], numeric: list[bool]):
        self.column_names, self.rows, self.numeric = list(names), list(rows), list(numeric)

    @property
    def num_rows(self) -> int:
        return len(self.rows)

    @property
    def num_columns(self) -> int:
        return len(self.column_names)

    def slice(self, offset: int, length: int) -> "Rows":
        return Rows(self.column_names, self.rows[offset:offset + length], self.numeric)


def render(table, *, width: int | None = None, max_rows: int | None = 40, vertical: bool | None = None,
           style: bool = False) -> list[str]:
    """The lines that show ``table`` (a ``pyarrow.Table``, or :class:`Rows`) to a person; see the module
    docstring."""
    names = list(table.column_names)
    total = table.num_rows
    look = _Style(style)
    if max_rows is None or total <= max_rows:
        parts = [table]
    else:
        top = (max_rows + 1) // 2
        parts = [table.slice(0, top), table.slice(total - (max_rows - top), max_rows - top)]
    values = [_rows(part) for part in parts]
    head, tail = values[0], values[1] if len(values) > 1 else []
    rows = [[cell(value) for value in row] for row in head + tail]
    shown_rows = len(rows)
    numeric = table.numeric if isinstance(table, Rows) else [_is_number(field.type) for field in table.schema]
    nulls = {(r, i) for r, row in enumerate(head + tail) for i, value in enumerate(row) if value is None}
    if not names:
        return [f"{_plural(total, 'row')}, no columns"]
    if vertical is None:
        vertical = total == 1 and width is not None and not _fits_all(names, rows, width)
    if vertical:
        footer = _footer(total, shown_rows, len(names), len(names))
        return _vertical(names, rows, nulls, width, look) + _fit(footer, width)
    natural = [
        min(MAX_CELL, max([text_width(name)] + [text_width(row[i]) for row in rows])) if width is not None
        else max([text_width(name)] + [text_width(row[i]) for row in rows])
        for i, name in enumerate(names)
    ]
    chosen = _choose_columns(natural, width)
    widths = [natural[i] if i is not None else 1 for i in chosen]
    if width is not None and len(chosen) == 1 and chosen[0] is not None:
        widths[0] = max(1, min(widths[0], width - 4))
    lines = [_rule("┌", "┬", "┐", widths)]
    header = []
    for i, size in zip(chosen, widths):
        label = ELLIPSIS if i is None else truncate(names[i], size)
        header.append(look.bold(_pad(label, size, i is not None and numeric[i])))
    lines.append("│ " + " │ ".join(header) + " │")
    lines.append(_rule("├", "┼", "┤", widths))

    def draw(r):
        parts = []
        for i, size in zip(chosen, widths):
            if i is None:
                parts.append(ELLIPSIS)
                continue
            text = _pad(truncate(rows[r][i], size), size, numeric[i])
            parts.append(look.dim(text) if (r, i) in nulls else text)
        return "│ " + " │ ".join(parts) + " │"

    for r in range(len(head)):
        lines.append(draw(r))
    if tail:
        dots = [_pad("·", size, i is not None and numeric[i]) for i, size in zip(chosen, widths)]
        lines.append("│ " + " │ ".join(dots) + " │")
        for r in range(len(head), len(rows)):
            lines.append(draw(r))
    lines.append(_rule("└", "┴", "┘", widths))
    shown_columns = sum(1 for i in chosen if i is not None)
    lines += _fit(_footer(total, shown_rows, len(names), shown_columns), width)
    return lines


def _rows(table) -> list[tuple]:
    """Rows as tuples of Python values (column names may repeat, so not dicts)."""
    if isinstance(table, Rows):
        return list(table.rows)
    return list(zip(*(column.to_pylist() for column in table.columns))) if table.num_columns else []


def _fit(footer: str, width: int | None) -> list[str]:
    """The footer on one line, or one clause a line when the width is too narrow for it."""
    if width is None or text_width(footer) <= width:
        return [footer]
    return [truncate(part, width) for part in footer.split(", ")]


def _rule(left: str, middle: str, right: str, widths: list[int]) -> str:
    return left + middle.join("─" * (size + 2) for size in widths) + right


def _table_width(widths: list[int]) -> int:
    return sum(widths) + 3 * len(widths) + 1


def _fits_all(names, rows, width) -> bool:
    widths = [min(MAX_CELL, max([text_width(n)] + [text_width(row[i]) for row in rows])) for i, n in enumerate(names)]
    return _table_width(widths) <= width


def _choose_columns(natural: list[int], width: int | None) -> list[int | None]:
    """Indexes of the columns drawn, ``None`` standing for the elided middle."""
    count = len(natural)
    if width is None or _table_width(natural) <= width:
        return list(range(count))
    budget = width - _table_width([1])  # room left once the "…" column is drawn
    left, right = [], []
    used, low, high = 0, 0, count - 1
    stuck = {True: False, False: False}  # a side whose next column no longer fits
    take_left = True
    while low <= high and not (stuck[True] and stuck[False]):
        if stuck[take_left]:
            take_left = not take_left
        index = low if take_left else high
        cost = natural[index] + 3
        if used + cost > budget:
            stuck[take_left] = True
        else:
            used += cost
            if take_left:
                left.append(index)
                low += 1
            else:
                right.insert(0, index)
                high -= 1
        take_left = not take_left
    if not left and not right:
        return [0]
    return left + [None] + right


def _footer(total: int, shown_rows: int, columns: int, shown_columns: int) -> str:
    text = _plural(total, "row")
    if shown_rows < total:
        text += f" ({shown_rows:,} shown)"
    if shown_columns < columns:
        text += f", {_plural(columns, 'column')} ({columns - shown_columns:,} hidden)"
    return text


def _vertical(names, rows, nulls, width, look) -> list[str]:
    label = max(text_width(name) for name in names)
    room = None if width is None else max(8, width - label - 3)
    lines = []
    rule = label + 3 + min(room or MAX_CELL, MAX_CELL)
    for r, row in enumerate(rows):
        title = f"─[ record {r + 1} ]"
        lines.append(title + "─" * max(0, rule - text_width(title)))
        for i, name in enumerate(names):
            value = row[i] if room is None else truncate(row[i], room)
            lines.append(f"{look.bold(_pad(name, label, False))} │ {look.dim(value) if (r, i) in nulls else value}")
    return lines
