"""Azure Blob Storage (or a local folder with the same layout) as tables of files.

Catalog::

    clicks:
      kind: blob
      connection_string: ${ENV:C360_BLOB_CONNECTION}   # or account_url (+ credential)
      container: browsing
      prefix: aggregates/
      profiles:
        embedded: {path: ../demo-data/blob}            # a folder standing for the account:
                                                       # <path>/<container>/<prefix>...
      tables:
        browsing:
          format: jsonl                                # jsonl | json | csv | parquet
          partitioning: {template: "{yyyy}/{MM}/{dd}/{HH}/", column: partition_hour}
          # or partitioning: {style: hive}

A table's files are the blobs under ``prefix`` (plus the table's own
``prefix``), optionally narrowed by ``files`` globs; tables are only ever the
declared ones. Listing moves no data; filters on partition columns prune the
listing exactly, and only the chosen blobs are downloaded: a group at a time (a
few in parallel), each streamed in chunks to a temporary file that DuckDB reads
and that is deleted right after the group is read. Every filter, the limit and
the top-N are evaluated by DuckDB in that read, so rows that fail them never
become Arrow (:mod:`connectors.files` does the rest).
"""

from __future__ import annotations

from pathlib import Path

from c360.errors import CatalogError, NotFoundError
from c360.secrets import resolve
from connectors.base import source_label
from connectors.declared import where_of
from connectors.files.connector import SOURCE_OPTIONS, TABLE_OPTIONS, FileConnector
from connectors.files.layout import Layout
from connectors.files.partitions import Partitioning
from connectors.files.store import AzureContainer, LocalFolder


def _folder(prefix) -> str:
    """``aggregates`` and ``/aggregates/`` both mean the folder ``aggregates/``; none means the root."""
    text = str(prefix or "").strip("/")
    return f"{text}/" if text else ""


class BlobConnector(FileConnector):
    """Tables of jsonl/json/csv/parquet files in one blob container (or a local stand-in folder)."""

    kind = "blob"
    OPTIONS = {
        "connection_string": "an Azure Storage connection string (use ${ENV:NAME}: it holds the key)",
        "account_url": "https://<account>.blob.core.windows.net, instead of a connection string",
        "credential": "account key or SAS token for account_url (use ${ENV:NAME}); omit for public containers",
        "container": "the blob container",
        "prefix": "the folder inside the container where the tables' files start",
        "path": "a local folder standing for the storage account (<path>/<container>/<prefix>...), instead of Azure",
        **SOURCE_OPTIONS,
    }
    REQUIRED = ("container",)
    TABLE_OPTIONS = {
        "format": "jsonl (default), json, csv or parquet",
        "prefix": "a further prefix under the source's prefix",
        "files": "glob or list of globs, relative to the table's prefix, that files must match",
        **TABLE_OPTIONS,
    }

    def __init__(self, name: str, options: dict, *, base_dir: Path):
        super().__init__(name, options)
        self.container = str(options["container"])
        self.prefix = _folder(options.get("prefix"))
        self.folder: Path | None = None
        if options.get("path") is not None:
            self.folder = (Path(base_dir) / str(options["path"]) / self.container).resolve()
            self.location = str(self.folder / self.prefix) if self.prefix else str(self.folder)
        else:
            if not options.get("connection_string") and not options.get("account_url"):
                raise CatalogError(
                    f"Source '{name}' (blob) needs 'connection_string', 'account_url' or a local 'path'"
                )
            self.location = f"{self.container}/{self.prefix}"

    def open_store(self):
        """The local folder, or the Azure container (secrets resolved only now)."""
        if self.folder is not None:
            return LocalFolder(self.folder)
        options = self.options
        return AzureContainer.connect(
            container=self.container,
            source=source_label(self),
            prefix=self.prefix,
            connection_string=resolve(options.get("connection_string"), source=self.name),
            account_url=resolve(options.get("account_url"), source=self.name),
            credential=resolve(options.get("credential"), source=self.name),
        )

    def tables(self) -> list[str]:
        """The declared tables (blob tables are never guessed from a listing)."""
        return list(self.declared)

    def layout(self, table: str) -> Layout:
        declaration = self.declared[self.known(table)] or {}
        prefix = self.prefix + _folder(declaration.get("prefix"))
        files = declaration.get("files")
        patterns = () if files is None else tuple(prefix + p for p in ([files] if isinstance(files, str) else files))
        partitioning = Partitioning.from_declaration(
            declaration.get("partitioning"), where=where_of(declaration, "partitioning")
        )
        return Layout(prefix=prefix, format=str(declaration.get("format", "jsonl")), patterns=patterns,
                      partitioning=partitioning)

    def check_root(self) -> None:
        if self.folder is not None and not self.folder.is_dir():
            raise NotFoundError(
                f"{source_label(self)}: folder '{self.folder}' (container '{self.container}') does not exist"
            )

    def no_files(self, table: str, layout: Layout) -> str:
        matching = f" matching {', '.join(layout.patterns)}" if layout.patterns else ""
        return (f"no files for table '{table}' under prefix '{layout.prefix}' "
                f"in container '{self.container}'{matching}")
