"""Which copies a query may read: decided per statement from the session's bound and as-of date.

A copy is *usable* when:

- the session's ``max_staleness`` is not 0 (``SET max_staleness = 0`` forces live sources);
- for a view: its copy was made from the views as they are now (a view edited since is computed live until
  it is refreshed);
- for a view: with ``as_of`` unset, its current copy is younger than the bound (the session's
  ``max_staleness``, else the declaration's); with ``as_of`` set to a date, a dated copy for that
  date exists (``c360 accelerate refresh NAME --as-of DATE``; the past does not change, so its age
  does not matter), or the current copy was computed for that very date and is young enough;
  otherwise the view is computed live;
- for a table: its copy is younger than the bound; with ``live_tail`` the copy is used whatever
  its age, joined with the live rows past its watermark (the answer is then current).

Manifests are re-read only when their file changed (one ``stat`` per declared copy per query).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time
from dataclasses import dataclass

from c360.acceleration.connector import CopyConnector
from c360.acceleration.store import Manifest, Store


@dataclass(frozen=True)
class Chosen:
    """A copy the planner will read for ``name`` (a view, or ``source.table``)."""

    name: str
    connector: CopyConnector
    #: the bound it was chosen under, for EXPLAIN (None: a dated copy, any age)
    bound: float | None
    #: ``(column, watermark)`` when the live rows past the watermark are read too
    tail: tuple | None = None

    @property
    def key(self) -> tuple:
        return (self.name, self.connector.manifest.file, self.tail is not None)


_LOCK = threading.Lock()


def views_digest(views_key) -> str:
    """A short digest of every view's definition (``Engine._views_key``), kept in a view copy's manifest."""
    return hashlib.sha256(repr(views_key).encode("utf-8")).hexdigest()[:16]


class Accelerator:
    """The declared copies of one catalog and their manifests (shared by the catalog's engines)."""

    def __init__(self, catalog):
        self.declarations = catalog.accelerations
        self.store = Store(catalog.project_dir)
        self._cache: dict[str, tuple] = {}
        self._lock = threading.Lock()

    def load(self, copy: str) -> tuple[Manifest, CopyConnector] | None:
        """The manifest of ``copy`` and a connector to its data file; None without a usable copy."""
        path = self.store.manifest_path(copy)
        try:
            stat = os.stat(path)
        except OSError:
            return None
        signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._lock:
            cached = self._cache.get(copy)
            if cached is not None and cached[0] == signature:
                return cached[1]
        manifest = self.store.read(copy)
        loaded = None
        if manifest is not None and manifest.file and manifest.schema and manifest.refreshed_at is not None:
            loaded = (manifest, CopyConnector(copy.split("@")[0], self.store.folder / manifest.file, manifest))
        with self._lock:
            self._cache[copy] = (signature, loaded)
        return loaded

    def choose(self, *, bound: float | None, as_of: dt.date | None, views: str | None = None) -> dict[str, Chosen]:
        """Usable copies by declared name, for a session with ``bound`` (None: declared) and ``as_of``.

        ``views`` is the digest of the project's view definitions (:func:`views_digest`): a view's copy made
        from other definitions (a view edited since) is never used."""
        if bound == 0 or not self.declarations:
            return {}
        now = time.time()
        chosen: dict[str, Chosen] = {}
        for name, declaration in self.declarations.items():
            limit = declaration.max_staleness if bound is None else bound
            if declaration.is_view and as_of is not None:
                dated = self.load(f"{name}@{as_of.isoformat()}")
                if dated is not None and (views is None or dated[0].views == views):
                    chosen[name] = Chosen(name, dated[1], None)
                    continue
            loaded = self.load(name)
            if loaded is None:
                continue
            manifest, connector = loaded
            if declaration.is_view and as_of is not None and manifest.as_of != as_of.isoformat():
                continue
            if declaration.is_view and views is not None and manifest.views != views:
                continue
            if declaration.live_tail and manifest.watermark is not None:
                chosen[name] = Chosen(name, connector, None, (declaration.column, manifest.watermark_value()))
            elif manifest.age(now) <= limit:
                chosen[name] = Chosen(name, connector, limit)
        return chosen




def accelerator(catalog) -> Accelerator:
    """The catalog's :class:`Accelerator` (one per catalog object)."""
    existing = getattr(catalog, "_accelerator", None)
    if existing is None:
        with _LOCK:
            existing = getattr(catalog, "_accelerator", None)
            if existing is None:
                existing = Accelerator(catalog)
                catalog._accelerator = existing
    return existing
