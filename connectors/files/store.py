"""Where files live: a local folder or an Azure Blob container, behind the same read and write verbs.

Keys are ``/``-separated names under the store's root (a folder, or a
container). Readers — the json and blob connectors — use

* ``list(prefix)``: every ``(key, size)`` whose key starts with ``prefix``, in key order;
* ``folders(prefix)``: the visible subfolders right under ``prefix``, and whether files sit there too;
* ``fetch(key, cancelled, head=None)``: a local path for the key while the context is open
  (the file itself, or a temporary copy streamed in chunks and deleted afterwards);
* ``keys(prefix)`` and ``get(key)``: names and whole contents, for small reads.

Writers — ``c360 stream aggregate`` and ``c360 generate`` — use ``put(key, data)``,
``put_many(pairs)``, ``delete(keys)`` and ``delete_prefix(prefix)``. A ``put`` writes
a whole object at once (a local file appears by an atomic rename, a blob by a
single upload), so a reader, or a process killed half-way, never sees half an
object; writing a key again replaces it, which is what makes window files
idempotent. Every Azure SDK failure becomes one c360 error naming the store
(:meth:`AzureContainer.translate`), with no key or SAS signature in it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator
from urllib.parse import unquote, urlparse

from c360.errors import CatalogError, NotFoundError, SourceError, SourceUnreachableError
from c360.secrets import redact

#: How many listed prefixes and downloaded keys a store remembers (for tests and diagnostics).
HISTORY = 10_000
#: Seconds to wait for a connection to Azure, and how often to retry a failed request: once when a
#: query reads (an answer, or the error, comes quickly), three times when a writer uploads many blobs.
CONNECT_TIMEOUT = 10
RETRIES = 1
WRITE_RETRIES = 3
#: Blobs deleted per batch request (the service's limit is 256).
DELETE_BATCH = 256
#: A local file being written: ``.{name}.{pid}.tmp``, renamed over ``name`` once whole.
PARTIAL = re.compile(r"^\..+\.(?P<pid>[0-9]+)\.tmp$")


def running(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (one we may not signal counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_partial_writes(folder: Path) -> None:
    """Delete the ``.{name}.{pid}.tmp`` files in ``folder`` whose writer is gone (killed half-way).

    A restarted writer writes the same keys again under its own pid, so without
    this, what a killed one left would stay beside the key for good (hidden from
    readers, but litter in the store). A writer still running keeps its file.
    """
    for child in folder.glob(".*.tmp"):
        match = PARTIAL.match(child.name)
        if match and not running(int(match["pid"])):
            child.unlink(missing_ok=True)


class LocalFolder:
    """A folder as a store: keys are paths relative to ``root``; nothing is copied to read a file."""

    #: Files fetched at the same time by a scan (a local file needs no download).
    parallel = 1

    def __init__(self, root: str | Path):
        self.root = Path(root)
        #: The latest prefixes listed, in order (what listing pruning is judged by).
        self.listed: deque[str] = deque(maxlen=HISTORY)
        self._made: set[Path] = set()  # folders put() already created

    @property
    def location(self) -> str:
        return str(self.root)

    # --- reading ---------------------------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        """Every file whose key starts with ``prefix``, in key order."""
        self.listed.append(prefix)
        directory, _, _stem = prefix.rpartition("/")
        start = self.root / directory if directory else self.root
        if not start.is_dir():
            return
        for folder, subfolders, names in os.walk(start):
            subfolders.sort()
            for name in sorted(names):
                full = Path(folder, name)
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key, full.stat().st_size

    def folders(self, prefix: str) -> tuple[list[str], bool]:
        """The visible subfolders right under ``prefix`` (``name/``), and whether files sit there too."""
        start = self.root / prefix
        if not start.is_dir():
            return [], False
        names, has_files = [], False
        for child in sorted(start.iterdir()):
            if child.name.startswith(("_", ".")):
                continue
            if child.is_dir():
                names.append(child.name + "/")
            elif child.stat().st_size > 0:
                has_files = True
        return names, has_files

    @contextlib.contextmanager
    def fetch(self, key: str, cancelled: threading.Event, head: int | None = None) -> Iterator[Path]:
        """The file itself (nothing is copied, so ``head`` does not matter)."""
        yield self.root / key

    def keys(self, prefix: str = "") -> list[str]:
        """The keys under ``prefix``, in order, without files being written (``.name.pid.tmp``)."""
        return [key for key, _size in self.list(prefix) if not PurePosixPath(key).name.startswith(".")]

    def get(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    # --- writing ---------------------------------------------------------------------------------

    def put(self, key: str, data: bytes) -> None:
        """Write ``key`` whole: into a hidden temporary file, then renamed over the key atomically.

        The first write into a folder also removes what writers killed half-way left there
        (:func:`remove_partial_writes`).
        """
        target = self.root / key
        if target.parent not in self._made:
            target.parent.mkdir(parents=True, exist_ok=True)
            remove_partial_writes(target.parent)
            self._made.add(target.parent)
        temporary = target.parent / f".{target.name}.{os.getpid()}.tmp"
        try:
            handle = open(temporary, "wb")
        except FileNotFoundError:  # the folder was removed behind our back: make it again
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = open(temporary, "wb")
        with handle:
            handle.write(data)
        os.replace(temporary, target)

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> int:
        """:meth:`put` each ``(key, bytes)`` pair; returns how many."""
        count = 0
        for key, data in items:
            self.put(key, data)
            count += 1
        return count

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            (self.root / key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        """Remove every file under ``prefix`` (a folder prefix ending in ``/``)."""
        folder = self.root / prefix
        self._made.clear()
        if folder.is_dir():
            shutil.rmtree(folder)

    def close(self) -> None:
        """Nothing to release: files are opened per read."""


#: Blobs per page of a listing (the service's most).
LIST_PAGE = 5000


def _blob_name(node) -> str:
    """A listed blob's name from its ``<Name>`` element: percent-encoded when ``Encoded="true"`` (names with
    characters XML cannot carry), as the SDK reads it."""
    text = node.text or ""
    return unquote(text) if node.get("Encoded") == "true" else text


class AzureContainer:
    """One blob container as a store: lists blob names, streams downloads in chunks, uploads whole blobs.

    ``source`` is how errors name the store (``Source 'clicks' (blob at ...)``
    for a connector). Writing creates the container if it does not exist;
    reading a missing container is a NotFoundError.
    """

    #: Blobs downloaded at the same time when a scan fetches a group of files.
    parallel = 4
    #: Blobs uploaded at the same time by :meth:`put_many`.
    upload_workers = 8

    def __init__(self, client, *, source: str, host: str, container: str, prefix: str = ""):
        self.client = client
        self.source, self.host, self.container, self.prefix = source, host, container, prefix
        #: The latest prefixes listed and blobs downloaded, in order (what pruning is judged by).
        self.listed: deque[str] = deque(maxlen=HISTORY)
        self.downloaded: deque[str] = deque(maxlen=HISTORY)
        self.downloaded_bytes = 0
        self._lock = threading.Lock()
        self._created = False

    @classmethod
    def connect(cls, *, container: str, source: str, connection_string: str | None = None,
                account_url: str | None = None, credential=None, prefix: str = "",
                retries: int = RETRIES) -> "AzureContainer":
        """The container of an account given by a connection string, or by its URL and a key or SAS token.

        Invalid settings are a CatalogError naming ``source`` (redacted: no key in it).
        """
        from azure.storage.blob import BlobServiceClient, LinearRetry

        settings = dict(
            retry_policy=LinearRetry(backoff=1, retry_total=retries, random_jitter_range=0),
            connection_timeout=CONNECT_TIMEOUT,
        )
        try:
            if connection_string:
                service = BlobServiceClient.from_connection_string(connection_string, **settings)
            else:
                service = BlobServiceClient(account_url, credential=account_credential(account_url, credential),
                                            **settings)
        except ValueError as error:
            raise CatalogError(f"{source}: invalid connection settings: {redact(str(error))}") from None
        host = urlparse(service.url).netloc or service.url
        return cls(service.get_container_client(container), source=source, host=host, container=container,
                   prefix=prefix)

    @property
    def location(self) -> str:
        return f"{self.host}/{self.container}"

    # --- reading ---------------------------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        """Every blob whose name starts with ``prefix``, in name order, with its size.

        Each page of the service's answer is read for names and sizes only: the SDK's ``list_blob_names`` pages
        (its XML kept as an element tree, not turned into a ``BlobProperties`` of ~20 fields per blob, which
        cost ~0.3 ms a blob, most of a listing's CPU), their ``Content-Length`` read beside each ``Name``. A
        live tail lists its newest folders every second or two, on the interpreter that answers the pages.
        """
        with self._lock:
            self.listed.append(prefix)
        try:
            pages = self.client.list_blob_names(name_starts_with=prefix or None,
                                                results_per_page=LIST_PAGE).by_page()
            for _names in pages:
                page = getattr(pages, "_response", None)  # the page's XML, as the SDK's names-only pager keeps it
                if page is None:  # an SDK that keeps it elsewhere: every blob's properties, as before
                    yield from ((blob.name, blob.size) for blob in self.client.list_blobs(name_starts_with=prefix
                                                                                           or None))
                    return
                blobs = page.find("Blobs")
                for blob in () if blobs is None else blobs.findall("Blob"):
                    yield _blob_name(blob.find("Name")), int(blob.findtext("Properties/Content-Length") or 0)
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
        Cancelling stops the download between chunks.
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
        with temporary_copy(self._counted(self._translated(chunks)), cancelled, suffix=suffix) as path:
            yield path

    def keys(self, prefix: str = "") -> list[str]:
        return [key for key, _size in self.list(prefix)]

    def get(self, key: str) -> bytes:
        try:
            return self.client.download_blob(key).readall()
        except Exception as error:  # noqa: BLE001 - translated into a named source error
            raise self.translate(error) from None

    # --- writing ---------------------------------------------------------------------------------

    def put(self, key: str, data: bytes) -> None:
        """Upload ``key`` whole, replacing it if it exists."""
        self._create()
        try:
            self.client.upload_blob(key, data, overwrite=True)
        except Exception as error:  # noqa: BLE001 - translated into a named source error
            raise self.translate(error) from None

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> int:
        """Upload ``(key, bytes)`` pairs concurrently, a few in flight at a time; returns how many."""
        self._create()
        count = 0
        with ThreadPoolExecutor(self.upload_workers) as pool:
            pending = []
            for key, data in items:
                pending.append(pool.submit(self.put, key, data))
                if len(pending) >= 4 * self.upload_workers:
                    pending.pop(0).result()
                count += 1
            for future in pending:
                future.result()
        return count

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        try:
            for start in range(0, len(keys), DELETE_BATCH):
                self.client.delete_blobs(*keys[start : start + DELETE_BATCH])
        except Exception as error:  # noqa: BLE001 - translated into a named source error
            raise self.translate(error) from None

    def delete_prefix(self, prefix: str) -> None:
        """Delete every blob whose name starts with ``prefix`` (nothing to do in a missing container)."""
        try:
            self.delete(self.keys(prefix))
        except NotFoundError:
            if self.client.exists():
                raise

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()

    # --- errors ----------------------------------------------------------------------------------

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

    def _create(self) -> None:
        """Create the container on the first write (it may exist already)."""
        if self._created:
            return
        from azure.core.exceptions import ResourceExistsError

        try:
            self.client.create_container()
        except ResourceExistsError:
            pass
        except Exception as error:  # noqa: BLE001 - translated into a named source error
            raise self.translate(error) from None
        self._created = True

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            with self._lock:
                self.downloaded_bytes += len(chunk)
            yield chunk

    def _translated(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        try:
            yield from chunks
        except Exception as error:  # noqa: BLE001 - translated into a named source error
            raise self.translate(error) from None


#: A SAS token's signature in a URL an SDK error may quote.
_SAS_SIGNATURE = re.compile(r"(?i)\b(sig)=[^&\s'\"]+")


def account_credential(account_url: str, credential):
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


def open_store(target: str, container: str | None = None) -> LocalFolder | AzureContainer:
    """A store from a command line's target: a connection string (needs ``container``) or a local folder.

    A folder stands for the storage account: the container is its subfolder.
    """
    if "AccountName=" in target or "BlobEndpoint=" in target or "UseDevelopmentStorage" in target:
        if not container:
            raise NotFoundError("A blob connection string needs a container (--container)")
        return AzureContainer.connect(connection_string=target, container=container,
                                      source=f"Blob container '{container}'", retries=WRITE_RETRIES)
    root = Path(target)
    return LocalFolder(root / container if container else root)


@contextlib.contextmanager
def temporary_copy(chunks: Iterator[bytes], cancelled: threading.Event, suffix: str = "") -> Iterator[Path]:
    """Write ``chunks`` to a temporary file (stopping if cancelled), yield its path, then delete it."""
    handle = tempfile.NamedTemporaryFile(prefix="c360-", suffix=suffix, delete=False)
    try:
        with handle:
            for chunk in chunks:
                if cancelled.is_set():
                    break
                handle.write(chunk)
        yield Path(handle.name)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
