"""Where browsing aggregates land: a local folder or an Azure Blob container, behind three verbs.

Both stores write a whole object at once (``put``): a local file appears by an
atomic rename, a blob by a single upload, so a reader (or a process killed
half-way) never sees half an object. Writing the same key twice replaces it,
which is what makes window files idempotent. ``put_many`` uploads a batch
concurrently.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from c360.errors import NotFoundError, SourceUnreachableError
from c360.secrets import redact


class LocalStore:
    """A folder standing in for a container; keys are ``/``-separated paths under ``root``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._folders: set[Path] = set()

    @property
    def location(self) -> str:
        return str(self.root)

    def put(self, key: str, data: bytes) -> None:
        target = self.root / key
        if target.parent not in self._folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(target.parent)
        temporary = target.parent / f".{target.name}.{os.getpid()}.tmp"
        try:
            handle = open(temporary, "wb")
        except FileNotFoundError:  # the folder was removed behind our back: make it again
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = open(temporary, "wb")
        with handle:
            handle.write(data)
        os.replace(temporary, target)

    def put_many(self, items) -> int:
        count = 0
        for key, data in items:
            self.put(key, data)
            count += 1
        return count

    def delete(self, keys) -> None:
        for key in keys:
            (self.root / key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        """Remove every object under ``prefix`` (a folder prefix ending in ``/``)."""
        folder = self.root / prefix
        self._folders.clear()
        if folder.is_dir():
            shutil.rmtree(folder)

    def keys(self, prefix: str = "") -> list[str]:
        start = self.root / prefix
        if not start.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in start.rglob("*")
                      if p.is_file() and not p.name.startswith("."))

    def get(self, key: str) -> bytes:
        return (self.root / key).read_bytes()


class AzureStore:
    """A container in Azure Blob Storage (or Azurite), created on first use."""

    def __init__(self, connection_string: str, container: str, *, workers: int = 8):
        from azure.storage.blob import BlobServiceClient

        self.container_name = container
        self.workers = workers
        try:
            self.service = BlobServiceClient.from_connection_string(connection_string)
        except ValueError as error:
            raise SourceUnreachableError(f"Blob connection string is not valid: {redact(str(error))}") from None
        self.container = self.service.get_container_client(container)
        self._ensured = False

    @property
    def location(self) -> str:
        return f"{self.service.primary_hostname}/{self.container_name}"

    def _ensure(self) -> None:
        if self._ensured:
            return
        from azure.core.exceptions import ResourceExistsError, ServiceRequestError

        try:
            self.container.create_container()
        except ResourceExistsError:
            pass
        except ServiceRequestError as error:
            raise SourceUnreachableError(
                f"Blob storage at {self.service.primary_hostname} is unreachable: {redact(str(error).splitlines()[0])}"
            ) from None
        self._ensured = True

    def put(self, key: str, data: bytes) -> None:
        self._ensure()
        self.container.upload_blob(key, data, overwrite=True)

    def put_many(self, items) -> int:
        """Upload ``(key, bytes)`` pairs concurrently, a few in flight at a time; returns how many."""
        self._ensure()
        count = 0
        with ThreadPoolExecutor(self.workers) as pool:
            pending = []
            for key, data in items:
                pending.append(pool.submit(self.container.upload_blob, key, data, overwrite=True))
                if len(pending) >= 4 * self.workers:
                    pending.pop(0).result()
                count += 1
            for future in pending:
                future.result()
        return count

    def delete(self, keys) -> None:
        keys = list(keys)
        self._ensure()
        for start in range(0, len(keys), 256):
            self.container.delete_blobs(*keys[start : start + 256])

    def delete_prefix(self, prefix: str) -> None:
        self._ensure()
        names = [b.name for b in self.container.list_blobs(name_starts_with=prefix)]
        for start in range(0, len(names), 256):
            self.container.delete_blobs(*names[start : start + 256])

    def keys(self, prefix: str = "") -> list[str]:
        self._ensure()
        return sorted(b.name for b in self.container.list_blobs(name_starts_with=prefix))

    def get(self, key: str) -> bytes:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self.container.download_blob(key).readall()
        except ResourceNotFoundError:
            raise NotFoundError(f"Blob '{key}' does not exist in container '{self.container_name}'") from None


def open_store(target: str, container: str | None = None):
    """A store from a CLI target: a connection string (needs ``container``) or a local folder path."""
    if "AccountName=" in target or "BlobEndpoint=" in target or "UseDevelopmentStorage" in target:
        if not container:
            raise NotFoundError("A blob connection string needs a container (--container)")
        return AzureStore(target, container)
    root = Path(target)
    return LocalStore(root / container if container else root)
