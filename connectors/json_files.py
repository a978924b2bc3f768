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
partition columns also choose which files are opened at all.
"""

from __future__ import annotations

from pathlib import Path

from c360.errors import CatalogError, NotFoundError, UnknownTableError, did_you_mean
from connectors.base import ScanRequest, source_label
from connectors.files import (
    FILE_CAPABILITIES,
    GROUP_FILES,
    FileScan,
    FileTables,
    Layout,
    LocalFolder,
    check_keys,
    describe_scan,
    literal_prefix,
    where_of,
)
from connectors.partitions import Partitioning, prune

TABLE_OPTIONS = {
    "files": "glob or list of globs under the source's path (default: <table>.json*, <table>/**/*.json*)",
    "columns": "declared columns {name: TYPE}; otherwise discovered by sampling files",
    "partitioning": "{template: '{yyyy}/{MM}/{dd}/{HH}/', column: name} or {style: hive}",
    "description": "free text",
}

EXTENSIONS = (".json", ".jsonl", ".ndjson")


class JsonConnector(FileTables):
    """Tables of JSON files under one local folder."""

    kind = "json"
    dialect = "duckdb"
    OPTIONS = {"path": "the folder holding the files, relative to the catalog folder"}
    REQUIRED = ("path",)
    capabilities = FILE_CAPABILITIES

    #: Most files one DuckDB query reads (see :class:`connectors.files.FileScan`).
    group_files = GROUP_FILES

    def __init__(self, name: str, options: dict, *, base_dir: Path):
        self.name = name
        self.folder = (Path(base_dir) / str(options["path"])).resolve()
        self.location = str(self.folder)
        self.store = LocalFolder(self.folder)
        self.declared = dict(options.get("tables") or {})
        for table, declaration in self.declared.items():
            check_keys(declaration or {}, TABLE_OPTIONS, what=f"table '{name}.{table}'")

    # --- discovery -------------------------------------------------------------------------------

    def _check_folder(self) -> None:
        if not self.folder.is_dir():
            raise NotFoundError(f"{source_label(self)}: folder '{self.folder}' does not exist")

    def tables(self) -> list[str]:
        """Declared tables, then top-level JSON files (by stem) and folders holding JSON files."""
        self._check_folder()
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

    def _entries(self, table: str, layout: Layout, request: ScanRequest | None = None):
        """The table's files; only the matching periods' folders are listed when ``request`` bounds them.

        No files at all is an error; no files in the periods asked for is an empty table.
        """
        self._check_folder()
        store = self.store
        prefixes = layout.prefixes(request.filters, request.table, store) if request else layout.prefixes()
        entries = layout.entries(store, prefixes)
        if not entries and prefixes == layout.prefixes():
            raise NotFoundError(
                f"{source_label(self)}: table '{table}' matches no files ({layout.describe()} under {self.folder})"
            )
        return entries

    def _known(self, table: str) -> str:
        if table in self.declared:
            return table
        names = self.tables()
        match = next((t for t in names if t.lower() == table.lower()), None)
        if match is None:
            raise UnknownTableError(f"Unknown table '{self.name}.{table}'.{did_you_mean(table, names)}")
        return match


    # --- scanning --------------------------------------------------------------------------------

    def scan(self, request: ScanRequest) -> FileScan:
        """List and prune the table's files and build the per-file SELECT; no data is read yet."""
        table = self._known(request.table.name)
        layout = self.layout(table)
        entries = prune(self._entries(table, layout, request), request.filters, request.table)
        sent = describe_scan(entries, request, "json", self.group_files)
        return FileScan(request, sent, store=self.store, layout=layout, entries=entries,
                        source=source_label(self), group_files=self.group_files)

    def close(self) -> None:
        """Nothing to release: files are opened per scan."""
