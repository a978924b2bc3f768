"""JSON files in a local folder as tables, read in place by DuckDB's built-in ``read_json``.

Catalog::

    partners:
      kind: json
      path: ../demo-data/partners            # relative to the catalog folder
      tables:
        enrichment:
          files: "enrichment/*.jsonl"        # glob(s) under path
          columns: {customer_id: BIGINT, social: "STRUCT(followers BIGINT, sentiment DOUBLE)"}
          partitioning: {style: hive}        # optional, as for blob tables

Each file may be newline-delimited JSON or one JSON array (or value). Files may
drift: a field missing from a file reads as NULL, a field not in the schema is
ignored. Undeclared columns are discovered by sampling a few files. A table
without ``files`` reads ``<table>.json``/``.jsonl``/``.ndjson`` and
``<table>/**/*.json*``; an undeclared table is any such top-level file or folder.

Everything is exact because DuckDB evaluates it: projection, every filter
operation, limit and top-N are pushed into the per-file SELECT, and filters on
partition columns also choose which files are opened at all
(:mod:`connectors.files` does the reading).
"""

from __future__ import annotations

from pathlib import Path

from c360.errors import CatalogError, NotFoundError
from connectors.base import source_label
from connectors.declared import where_of
from connectors.files.connector import SOURCE_OPTIONS, TABLE_OPTIONS, FileConnector
from connectors.files.layout import Layout, literal_prefix
from connectors.files.partitions import Partitioning
from connectors.files.store import LocalFolder

EXTENSIONS = (".json", ".jsonl", ".ndjson")


class JsonConnector(FileConnector):
    """Tables of JSON files under one local folder."""

    kind = "json"
    OPTIONS = {"path": "the folder holding the files, relative to the catalog folder", **SOURCE_OPTIONS}
    REQUIRED = ("path",)
    TABLE_OPTIONS = {
        "files": "glob or list of globs under the source's path (default: <table>.json*, <table>/**/*.json*)",
        **TABLE_OPTIONS,
    }

    def __init__(self, name: str, options: dict, *, base_dir: Path):
        super().__init__(name, options)
        self.folder = (Path(base_dir) / str(options["path"])).resolve()
        self.location = str(self.folder)

    def open_store(self) -> LocalFolder:
        return LocalFolder(self.folder)

    def check_root(self) -> None:
        if not self.folder.is_dir():
            raise NotFoundError(f"{source_label(self)}: folder '{self.folder}' does not exist")

    def tables(self) -> list[str]:
        """Declared tables, then top-level JSON files (by stem) and folders holding JSON files."""
        self.check_root()
        names = list(self.declared)
        for child in sorted(self.folder.iterdir()):
            if child.name.startswith((".", "_")):
                continue
            if child.is_file() and child.suffix in EXTENSIONS:
                stem = child.name[: -len(child.suffix)]
            elif child.is_dir() and any(p.suffix in EXTENSIONS for p in child.rglob("*") if p.is_file()):
                stem = child.name
            else:
                continue
            if stem not in names:
                names.append(stem)
        return names

    def layout(self, table: str) -> Layout:
        declaration = self.declared.get(table) or {}
        files = declaration.get("files")
        if files is None:
            patterns = [f"{table}{ext}" for ext in EXTENSIONS] + [f"{table}/**/*{ext}" for ext in EXTENSIONS]
            prefix = f"{table}/"
        else:
            patterns = [files] if isinstance(files, str) else list(files)
            if not patterns or not all(isinstance(p, str) for p in patterns):
                raise CatalogError(f"{where_of(declaration, 'files')}: 'files' must be a glob or a list of globs")
            prefixes = {literal_prefix(p) for p in patterns}
            prefix = prefixes.pop() if len(prefixes) == 1 else ""
        partitioning = Partitioning.from_declaration(
            declaration.get("partitioning"), where=where_of(declaration, "partitioning")
        )
        return Layout(prefix=prefix, format="json", patterns=tuple(patterns), partitioning=partitioning)

    def no_files(self, table: str, layout: Layout) -> str:
        return f"table '{table}' matches no files ({layout.describe()} under {self.folder})"
