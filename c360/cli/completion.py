"""What ``c360 shell`` offers on Tab: keywords, sources, ``source.table``, views and columns, from the catalog.

:class:`Names` gathers the names lazily and keeps them for the session: the sources and views at once
(the catalog and ``queries/`` are already read), a source's tables when a word first needs them (from the
schema cache, or the source), a table's or view's columns when the statement names it. A source that
cannot be reached offers nothing and costs nothing more: its failure is remembered, never shown.

:func:`candidates` is pure (text before the cursor in, ``(word, kind)`` pairs out), so the rules are
tested without a terminal:

- after ``source.`` (or ``c360.`` for views): that source's tables;
- after ``name.`` where ``name`` is a table, view or alias in the statement: its columns;
- otherwise, the word is matched (case-blind prefix) against keywords, sources, views, the columns of
  the tables the statement names, and ``source.table``.
"""

from __future__ import annotations

import re

KEYWORDS = (
    "SELECT", "FROM", "WHERE", "GROUP BY", "ORDER BY", "HAVING", "LIMIT", "OFFSET", "JOIN", "LEFT JOIN",
    "INNER JOIN", "FULL JOIN", "CROSS JOIN", "ON", "USING", "AS", "AND", "OR", "NOT", "IN", "IS", "NULL",
    "LIKE", "ILIKE", "BETWEEN", "CASE", "WHEN", "THEN", "ELSE", "END", "DISTINCT", "WITH", "UNION", "ALL",
    "EXCEPT", "INTERSECT", "EXISTS", "DESC", "ASC", "COUNT", "SUM", "AVG", "MIN", "MAX", "CAST", "DATE",
    "TIMESTAMP", "INTERVAL", "EXPLAIN", "ANALYZE", "DESCRIBE", "SHOW TABLES", "SHOW SOURCES", "SET VARIABLE",
    "RESET VARIABLE", "QUALIFY", "WINDOW", "OVER", "PARTITION BY", "COALESCE", "TRUE", "FALSE",
)
META = (".tables", ".describe", ".explain", ".timing", ".format", ".asof", ".profile", ".help", ".quit")
_WORD = re.compile(r"[\w.]*$")
_RELATION = re.compile(
    r"\b(?:FROM|JOIN)\s+((?:\w+\.)?\w+)(?:\s+(?:AS\s+)?(?!(?:WHERE|ON|USING|JOIN|LEFT|RIGHT|INNER|FULL|CROSS|GROUP|"
    r"ORDER|LIMIT|UNION|HAVING|WINDOW|QUALIFY)\b)(\w+))?",
    re.IGNORECASE,
)


class Names:
    """The catalog's names as a shell session needs them; every lookup is cached, failures included."""

    def __init__(self, catalog, views, describe):
        """``describe(name) -> [column names]`` asks the engine for a view's columns (run on first use)."""
        self.catalog = catalog
        self.views = {view.name.lower(): view.name for view in views.values()}
        self._describe = describe
        self._tables: dict[str, list[str]] = {}
        self._columns: dict[str, list[str]] = {}

    @property
    def sources(self) -> list[str]:
        return list(self.catalog.sources)

    def tables(self, source: str) -> list[str]:
        key = source.lower()
        if key not in self._tables:
            names = []
            for name in self.catalog.sources:
                if name.lower() == key:
                    try:
                        names = list(self.catalog.tables(name))
                    except Exception:  # noqa: BLE001 - a source that is down offers no names
                        names = []
            self._tables[key] = names
        return self._tables[key]

    def columns(self, relation: str) -> list[str]:
        """Columns of ``source.table`` or of a view; [] when unknown or unreachable."""
        key = relation.lower()
        if key not in self._columns:
            found: list[str] = []
            try:
                if "." in key and key.split(".", 1)[0] != "c360":
                    source, table = relation.split(".", 1)
                    if any(t.lower() == table.lower() for t in self.tables(source)):
                        found = [c.name for c in self.catalog.table(_source_name(self.catalog, source), table).columns]
                elif key.removeprefix("c360.") in self.views:
                    found = list(self._describe(self.views[key.removeprefix("c360.")]))
            except Exception:  # noqa: BLE001 - completion never fails the prompt
                found = []
            self._columns[key] = found
        return self._columns[key]


def _source_name(catalog, name: str) -> str:
    return next((s for s in catalog.sources if s.lower() == name.lower()), name)


def relations(text: str) -> dict[str, str]:
    """``{alias or name: relation}`` for the relations after FROM/JOIN in ``text`` (lower-case keys)."""
    found = {}
    for match in _RELATION.finditer(text):
        relation, alias = match.group(1), match.group(2)
        found[relation.lower()] = relation
        found[relation.split(".")[-1].lower()] = relation
        if alias:
            found[alias.lower()] = relation
    return found


def candidates(text: str, names: Names, statement: str | None = None) -> tuple[str, list[tuple[str, str]]]:
    """The word being typed at the end of ``text`` and what may complete it, as ``(completion, kind)``.

    ``statement`` is the whole input (the cursor may be before its FROM); aliases are read from it.
    """
    statement = text if statement is None else statement
    word = _WORD.search(text).group(0)
    stripped = text.lstrip()
    if stripped.startswith(".") and " " not in stripped:
        return word, [(m, "meta") for m in META if m.startswith(stripped.lower())]
    if "." in word:
        head, _, partial = word.rpartition(".")
        lowered = partial.lower()
        if head.lower() == "c360":
            options = [(v, "view") for v in names.views.values()]
        elif head.lower() in {s.lower() for s in names.sources} and "." not in head:
            options = [(t, "table") for t in names.tables(head)]
        else:
            relation = relations(statement).get(head.lower(), head)
            options = [(c, "column") for c in names.columns(relation)]
        return partial, [(name, kind) for name, kind in options if name.lower().startswith(lowered)]
    lowered = word.lower()
    options: list[tuple[str, str]] = []
    for relation in dict.fromkeys(relations(statement).values()):
        options += [(c, "column") for c in names.columns(relation)]
    options += [(v, "view") for v in names.views.values()]
    options += [(f"{s}.", "source") for s in names.sources]
    if lowered:
        for source in names.sources:
            if source.lower().startswith(lowered):
                options += [(f"{source}.{t}", "table") for t in names.tables(source)]
    options += [(k, "keyword") for k in KEYWORDS]
    seen, result = set(), []
    for name, kind in options:
        if name.lower().startswith(lowered) and name not in seen:
            seen.add(name)
            result.append((name, kind))
    return word, result


def completer(names: Names):
    """A prompt_toolkit completer over :func:`candidates` (prompt_toolkit imported here, by the shell only)."""
    from prompt_toolkit.completion import Completer, Completion

    class CatalogCompleter(Completer):
        def get_completions(self, document, complete_event):
            word, found = candidates(document.text_before_cursor, names, document.text)
            for name, kind in found:
                yield Completion(name, start_position=-len(word), display_meta=kind)

    return CatalogCompleter()
