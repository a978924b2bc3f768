"""Reading catalog YAML so that every later complaint can name the file and line."""

from __future__ import annotations

from pathlib import Path

import yaml

from c360.errors import CatalogError


class Located(dict):
    """A mapping that remembers the file and the line of each key (1-based)."""

    file: str = "?"
    line: int = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines: dict[str, int] = {}

    def where(self, key: str | None = None) -> str:
        line = self.lines.get(key, self.line) if key is not None else self.line
        return f"{self.file}:{line}"


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    mapping = Located()
    mapping.file = loader.name
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise CatalogError(f"{loader.name}:{key_node.start_mark.line + 1}: keys must be names, got {key!r}")
        if key in mapping:
            raise CatalogError(f"{loader.name}:{key_node.start_mark.line + 1}: '{key}' is declared twice")
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = key_node.start_mark.line + 1
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load(path: Path) -> Located:
    """Parse one catalog file; a YAML error becomes ``file:line: problem``."""
    text = path.read_text(encoding="utf-8")
    loader = _Loader(text)
    loader.name = str(path)
    try:
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        raise CatalogError(f"{path}:{line}: {error.problem or error.context}") from None
    finally:
        loader.dispose()
    if document is None:
        document = Located()
        document.file = str(path)
        document.line = 1
    if not isinstance(document, Located):
        raise CatalogError(f"{path}:1: a catalog file must be a mapping with a 'sources:' key")
    return document
