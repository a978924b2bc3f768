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
``prefix``), optionally narrowed by ``files`` globs. Listing moves no data;
filters on partition columns prune the listing exactly, and only the chosen
blobs are downloaded: a group at a time (a few in parallel), each streamed in
chunks to a temporary file that DuckDB reads and that is deleted right after
the group is read. Data-column filters are not accepted: DuckDB applies them
after the rows arrive.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import deque
from pathlib import Path, PurePosixPath
from typing import Iterator
from urllib.parse import urlparse

from c360.errors import (
    CatalogError,
    NotFoundError,
    SourceError,
    SourceUnreachableError,
    UnknownTableError,
    did_you_mean,
)
from c360.secrets import redact, resolve
from connectors.base import ScanRequest, source_label
from connectors.files import (
    FILE_CAPABILITIES,
    GROUP_FILES,
    HISTORY,
    FileScan,
    FileTables,
    Layout,
    LocalFolder,
    check_keys,
    describe_scan,
    temporary_copy,
    where_of,
)
from connectors.partitions import Partitioning, prune

TABLE_OPTIONS = {
    "format": "jsonl (default), json, csv or parquet",
    "prefix": "a further prefix under the source's prefix",
    "files": "glob or list of globs, relative to the table's prefix, that files must match",
    "columns": "declared columns {name: TYPE}; otherwise discovered by sampling files",
    "partitioning": "{template: '{yyyy}/{MM}/{dd}/{HH}/', column: name} or {style: hive}",
    "description": "free text",
}

#: Seconds to wait for a connection, and how often to retry a failed request.
CONNECT_TIMEOUT = 10
RETRIES = 1


class AzureContainer:
    """One blob container as a store: lists blob names, downloads blobs as a stream of chunks."""

    #: Blobs downloaded at the same time when a scan fetches a group of files.
    parallel = 4

    def __init__(self, client, *, source: str, host: str, container: str, prefix: str):
        self.client = client
        self.source, self.host, self.container, self.prefix = source, host, container, prefix
        #: The latest prefixes listed and blobs downloaded, in order (what pruning is judged by).
        self.listed: deque[str] = deque(maxlen=HISTORY)
        self.downloaded: deque[str] = deque(maxlen=HISTORY)
        self.downloaded_bytes = 0
        self._lock = threading.Lock()

    def list(self, prefix: str) -> Iterator[tuple[str, int]]:
        with self._lock:
            self.listed.append(prefix)
        try:
            for blob in self.client.list_blobs(name_starts_with=prefix or None):
                yield blob.name, blob.size
        except Exception as error:  # noqa: BLE001 - translated into a named source error
            raise self.translate(error) from None

    def folders(self, prefix: str) -> tuple[list[str], bool]:
        """The visible virtual folders right under ``prefix`` (``name/``), and whether blobs sit there too."""
        names, has_files = [], False
        try:
            for item in self.client.walk_blobs(name_starts_with=prefix or None, delimiter="/"):
                name = item.name[len(prefix) :]
                if name.startswith(("_", ".")):
                    continue
                if name.endswith("/"):
                    names.append(name)
                elif getattr(item, "size", 0):
                    has_files = True
        except Exception as error:  # noqa: BLE001 - translated into a named source error
            raise self.translate(error) from None
        return sorted(names), has_files

    @contextlib.contextmanager
    def fetch(self, key: str, cancelled: threading.Event, head: int | None = None) -> Iterator[Path]:
        """Stream the blob into a temporary file, yield its path, delete it afterwards.

        With ``head``, only the first ``head`` bytes are downloaded, cut after the
        last complete line (enough to sample a newline-delimited file's columns).
        """
        try:
            if head is None:
                chunks = self.client.download_blob(key).chunks()
            else:
                data = self.client.download_blob(key, offset=0, length=head).readall()
                chunks = iter([data[: data.rfind(b"\n") + 1] or data])
        except Exception as error:  # noqa: BLE001 - translated into a named source error
            raise self.translate(error) from None
        with self._lock:
            self.downloaded.append(key)
        suffix = PurePosixPath(key).suffix
        with temporary_copy(self._counted(_translated(chunks, self)), cancelled, suffix=suffix) as path:
            yield path

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            with self._lock:
                self.downloaded_bytes += len(chunk)
            yield chunk

    def translate(self, error: Exception) -> Exception:
        """The c360 error for an Azure SDK ``error``: unreachable, not found, or a named source error."""
        from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError, ServiceRequestError

        if isinstance(error, SourceError):
            return error
        if isinstance(error, ServiceRequestError):
            return SourceUnreachableError(f"{self.source} is unreachable: cannot connect to {self.host}")
        if isinstance(error, ResourceNotFoundError):
            code = getattr(error, "error_code", None)
            if code == "ContainerNotFound":
                return NotFoundError(
                    f"{self.source}: container '{self.container}' does not exist at {self.host} "
                    f"(looking for prefix '{self.prefix}')"
                )
            return NotFoundError(
                f"{self.source}: blob not found in container '{self.container}' ({code or 'not found'})"
            )
        if isinstance(error, ClientAuthenticationError) or getattr(error, "status_code", None) in (401, 403):
            return SourceError(
                f"{self.source}: access to container '{self.container}' was refused (check the credential)"
            )
        text = str(error)
        first = _SAS_SIGNATURE.sub(r"\1=***", redact(text)).splitlines()[0] if text else type(error).__name__
        return SourceError(f"{self.source}: {type(error).__name__}: {first}")


#: A SAS token's signature in a URL an SDK error may quote.
_SAS_SIGNATURE = re.compile(r"(?i)\b(sig)=[^&\s'\"]+")


def _folder(prefix) -> str:
    """``aggregates`` and ``/aggregates/`` both mean the folder ``aggregates/``; none means the root."""
    text = str(prefix or "").strip("/")
    return f"{text}/" if text else ""


def _credential(account_url: str, credential):
    """A SAS token (``sv=...&sig=...``) as is; anything else is the account key of the URL's account.

    The account name is the host's first label (``https://acme.blob.core.windows.net``) or, for an
    emulator or IP address (``http://127.0.0.1:10000/devstoreaccount1``), the first path segment.
    """
    if not credential or not isinstance(credential, str) or "sig=" in credential:
        return credential
    from azure.core.credentials import AzureNamedKeyCredential

    parsed = urlparse(account_url)
    host = parsed.hostname or ""
    if host.replace(".", "").isdigit() or host == "localhost" or "." not in host:
        account = parsed.path.strip("/").split("/")[0]
    else:
        account = host.split(".")[0]
    return AzureNamedKeyCredential(account, credential)


def _translated(chunks, store: AzureContainer) -> Iterator[bytes]:
    try:
        yield from chunks
    except Exception as error:  # noqa: BLE001 - translated into a named source error
        raise store.translate(error) from None


class BlobConnector(FileTables):
    """Tables of jsonl/csv/parquet files in one blob container (or a local stand-in folder)."""

    kind = "blob"
    dialect = None
    OPTIONS = {
        "connection_string": "an Azure Storage connection string (use ${ENV:NAME}: it holds the key)",
        "account_url": "https://<account>.blob.core.windows.net, instead of a connection string",
        "credential": "account key or SAS token for account_url (use ${ENV:NAME}); omit for public containers",
        "container": "the blob container",
        "prefix": "the folder inside the container where the tables' files start",
        "path": "a local folder standing for the storage account (<path>/<container>/<prefix>...), instead of Azure",
    }
    REQUIRED = ("container",)
    #: Blobs are read by DuckDB (read_json/read_csv/read_parquet), which evaluates the pushed
    #: filters, limit and top-N with DuckDB's own meaning; rows that fail them never become Arrow.
    dialect = "duckdb"
    capabilities = FILE_CAPABILITIES

    #: Most files one DuckDB query reads (see :class:`connectors.files.FileScan`).
    group_files = GROUP_FILES

    def __init__(self, name: str, options: dict, *, base_dir: Path):
        self.name = name
        self.container = str(options["container"])
        self.prefix = _folder(options.get("prefix"))
        self.options = options
        self.declared = dict(options.get("tables") or {})
        for table, declaration in self.declared.items():
            check_keys(declaration or {}, TABLE_OPTIONS, what=f"table '{name}.{table}'")
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
        self._store = None
        self._lock = threading.Lock()

    # --- the store -------------------------------------------------------------------------------

    @property
    def store(self):
        """The local folder or the Azure container client, created on first use."""
        with self._lock:
            if self._store is None:
                self._store = self._connect()
            return self._store

    def _connect(self):
        if self.folder is not None:
            return LocalFolder(self.folder)
        from azure.storage.blob import BlobServiceClient, LinearRetry

        settings = dict(
            retry_policy=LinearRetry(backoff=1, retry_total=RETRIES, random_jitter_range=0),
            connection_timeout=CONNECT_TIMEOUT,
        )
        try:
            if self.options.get("connection_string"):
                text = resolve(self.options["connection_string"], source=self.name)
                service = BlobServiceClient.from_connection_string(text, **settings)
            else:
                url = resolve(self.options["account_url"], source=self.name)
                credential = _credential(url, resolve(self.options.get("credential"), source=self.name))
                service = BlobServiceClient(url, credential=credential, **settings)
        except ValueError as error:
            raise CatalogError(
                f"Source '{self.name}' (blob): invalid connection settings: {redact(str(error))}"
            ) from None
        host = urlparse(service.url).netloc or service.url
        return AzureContainer(
            service.get_container_client(self.container),
            source=source_label(self),
            host=host,
            container=self.container,
            prefix=self.prefix,
        )

    # --- tables ----------------------------------------------------------------------------------

    def tables(self) -> list[str]:
        """The declared tables (blob tables are never guessed from a listing)."""
        return list(self.declared)

    def layout(self, table: str) -> Layout:
        declaration = self.declared.get(table)
        if declaration is None:
            raise UnknownTableError(f"Unknown table '{self.name}.{table}'.{did_you_mean(table, self.declared)}")
        prefix = self.prefix + _folder(declaration.get("prefix"))
        files = declaration.get("files")
        patterns = () if files is None else tuple(prefix + p for p in ([files] if isinstance(files, str) else files))
        partitioning = Partitioning.from_declaration(
            declaration.get("partitioning"), where=where_of(declaration, "partitioning")
        )
        return Layout(prefix=prefix, format=str(declaration.get("format", "jsonl")), patterns=patterns,
                      partitioning=partitioning)

    def _entries(self, table: str, layout: Layout, request: ScanRequest | None = None):
        """The table's blobs; only the matching periods' folders are listed when ``request`` bounds them.

        No blobs at all is an error; no blobs in the periods asked for is an empty table.
        """
        store = self.store
        if isinstance(store, LocalFolder) and not self.folder.is_dir():
            raise NotFoundError(
                f"{source_label(self)}: folder '{self.folder}' (container '{self.container}') does not exist"
            )
        prefixes = layout.prefixes(request.filters, request.table, store) if request else layout.prefixes()
        entries = layout.entries(store, prefixes)
        if not entries and prefixes == layout.prefixes():
            raise NotFoundError(
                f"{source_label(self)}: no files for table '{table}' under prefix '{layout.prefix}' "
                f"in container '{self.container}'"
                + (f" matching {', '.join(layout.patterns)}" if layout.patterns else "")
            )
        return entries

    def _known(self, table: str) -> str:
        match = next((t for t in self.declared if t.lower() == table.lower()), None)
        if match is None:
            raise UnknownTableError(f"Unknown table '{self.name}.{table}'.{did_you_mean(table, self.declared)}")
        return match


    # --- scanning --------------------------------------------------------------------------------

    def scan(self, request: ScanRequest) -> FileScan:
        """List the table's blobs and prune them by the partition filters; downloads nothing yet."""
        table = self._known(request.table.name)
        layout = self.layout(table)
        entries = prune(self._entries(table, layout, request), request.filters, request.table)
        sent = describe_scan(entries, request, layout.format, self.group_files)
        return FileScan(request, sent, store=self.store, layout=layout, entries=entries,
                        source=source_label(self), group_files=self.group_files)

    def close(self) -> None:
        store = self._store
        if store is not None and hasattr(store, "client"):
            with contextlib.suppress(Exception):
                store.client.close()
