"""Where generated data goes: the embedded files, and the parts both targets share.

A target has three methods: ``begin(config, products)``, ``write(chunk)`` and
``finish()``. Every target is idempotent: a rerun replaces what an earlier run
wrote (SQLite files are built aside and renamed over the old ones; the partner
folder and the browsing prefix are emptied first), it never appends.
"""

from __future__ import annotations

import json
import os
import sqlite3
from array import array
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from c360.browsing import encode_browsing, partition_path
from c360.generate.tables import TABLES, ddl

EPOCH = datetime(1970, 1, 1)
#: Browsing rows held before they are flushed as one file per hour folder.
BROWSING_BUFFER_ROWS = 2_000_000

#: The demo layout under the output folder (the embedded catalog points here).
CRM_FILE = "crm.sqlite"
SHOP_FILE = "shop.sqlite"
PARTNERS_DIR = "partners"
PARTNER_TABLE_DIR = "enrichment"
BLOB_DIR = "blob"
CLICKS_CONTAINER = "clicks"
BROWSING_PREFIX = "browsing/"


class BrowsingBuffer:
    """Collects browsing rows in compact column arrays, keyed by hour, and flushes them as files.

    Each flush writes one file per hour folder, named ``history-<flush>.<fmt>``
    (so a later flush never replaces an earlier one's file); :meth:`compact`
    then merges each folder's parts into ``history-0000.<fmt>``, one hour at a
    time. Memory is bounded by ``limit`` rows of about 40 bytes each.
    """

    def __init__(self, store, prefix: str, fmt: str, categories, *, limit: int = BROWSING_BUFFER_ROWS):
        self.store, self.prefix, self.fmt = store, prefix, fmt
        self.categories = list(categories)
        self.index = {c: i for i, c in enumerate(self.categories)}
        self.limit = limit
        self.hours: dict[int, tuple] = {}
        self.held = 0
        self.flushes = 0
        self.files = 0
        self.parts: dict[str, list[str]] = {}  # hour folder -> keys written there

    def add(self, rows) -> None:
        for start, end, customer_id, category, views, seconds in rows:
            epoch = int((start - EPOCH).total_seconds())
            hour = epoch - epoch % 3600
            columns = self.hours.get(hour)
            if columns is None:
                columns = self.hours[hour] = (array("q"), array("q"), array("q"), array("H"), array("q"), array("d"))
            columns[0].append(epoch)
            columns[1].append(int((end - start).total_seconds()))
            columns[2].append(customer_id)
            code = self.index.get(category)
            if code is None:
                code = self.index[category] = len(self.categories)
                self.categories.append(category)
            columns[3].append(code)
            columns[4].append(views)
            columns[5].append(seconds)
            self.held += 1
        if self.held >= self.limit:
            self.flush()

    def flush(self) -> None:
        if not self.held:
            return
        def files():
            for hour in sorted(self.hours):
                starts, lengths, customers, categories, views, seconds = self.hours[hour]
                rows = []
                for i in range(len(starts)):
                    begin = EPOCH + timedelta(seconds=starts[i])
                    rows.append((begin, begin + timedelta(seconds=lengths[i]), customers[i],
                                 self.categories[categories[i]], views[i], seconds[i]))
                rows.sort(key=lambda r: (r[0], r[2], r[3]))
                folder = f"{self.prefix}{partition_path(EPOCH + timedelta(seconds=hour))}"
                key = f"{folder}history-{self.flushes:04d}.{self.fmt}"
                self.parts.setdefault(folder, []).append(key)
                yield key, encode_browsing(rows, self.fmt)
        self.files += self.store.put_many(files())
        self.hours.clear()
        self.held = 0
        self.flushes += 1

    def compact(self) -> None:
        """Merge every hour folder's parts into its first file, so large runs leave one file per hour.

        Folders are merged 64 at a time, their parts read by 8 threads (against blob storage each
        read is a round trip; one at a time, a year of hourly folders took half an hour)."""
        folders = [(folder, keys) for folder, keys in sorted(self.parts.items()) if len(keys) > 1]
        with ThreadPoolExecutor(8) as pool:
            for start in range(0, len(folders), 64):
                batch = folders[start:start + 64]
                self.store.put_many(pool.map(lambda item: (item[1][0], self._merge(item[1])), batch))
                self.store.delete([key for _, keys in batch for key in keys[1:]])
                for folder, keys in batch:
                    self.parts[folder] = keys[:1]

    def _merge(self, keys: list[str]) -> bytes:
        if self.fmt == "jsonl":
            return b"".join(self.store.get(key) for key in keys)
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.concat_tables(pq.read_table(io.BytesIO(self.store.get(key))) for key in keys)
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        return sink.getvalue()


class PartnerFiles:
    """Partner enrichment as newline-delimited JSON files, one per partner per chunk."""

    def __init__(self, folder: Path):
        self.folder = folder

    def begin(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.json"):
            old.unlink()

    def write(self, index: int, records: list[dict]) -> None:
        by_partner: dict[str, list[dict]] = {}
        for record in records:
            by_partner.setdefault(record["partner"], []).append(record)
        for partner, items in sorted(by_partner.items()):
            path = self.folder / f"{partner}-{index:05d}.json"
            path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in items))


def _sqlite_value(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class SqliteDatabase:
    """A SQLite file built under a temporary name and renamed into place by :meth:`commit`."""

    def __init__(self, path: Path, tables):
        self.path = path
        self.building = path.with_name(f".{path.name}.{os.getpid()}.building")
        self.building.unlink(missing_ok=True)
        self.connection = sqlite3.connect(self.building)
        self.connection.execute("PRAGMA journal_mode=OFF")
        self.connection.execute("PRAGMA synchronous=OFF")
        self.tables = tables
        for table in tables:
            for statement in ddl(table, "sqlite"):
                self.connection.execute(statement)

    def insert(self, table: str, rows) -> None:
        marks = ", ".join("?" for _ in TABLES[table])
        self.connection.executemany(
            f'INSERT INTO "{table}" VALUES ({marks})', ([_sqlite_value(v) for v in row] for row in rows)
        )

    def commit(self) -> None:
        self.connection.commit()
        self.connection.close()
        os.replace(self.building, self.path)


class EmbeddedTarget:
    """SQLite files for crm and shop, JSON files for partners, a local folder for clicks.

    ``EmbeddedTarget(out)`` uses the demo layout under ``out``;
    :meth:`from_catalog` takes every location from the catalog's ``embedded`` profile instead.
    """

    def __init__(self, out: Path, *, browsing_buffer_rows: int = BROWSING_BUFFER_ROWS, crm: Path | None = None,
                 shop: Path | None = None, partners: Path | None = None, clicks: Path | None = None,
                 prefix: str = BROWSING_PREFIX):
        self.out = Path(out)
        self.buffer_rows = browsing_buffer_rows
        self.crm_path = crm or self.out / CRM_FILE
        self.shop_path = shop or self.out / SHOP_FILE
        self.partners_dir = partners or self.out / PARTNERS_DIR / PARTNER_TABLE_DIR
        self.clicks_root = clicks or self.out / BLOB_DIR / CLICKS_CONTAINER
        self.prefix = prefix

    @classmethod
    def from_catalog(cls, catalog_path: Path, out: Path, **options) -> EmbeddedTarget:
        """Where the ``embedded`` profile of sources crm, shop, partners and clicks says the files are."""
        from c360.catalog import Catalog
        from c360.errors import CatalogError

        catalog = Catalog(catalog_path, profile="embedded")
        base = catalog.path if catalog.path.is_dir() else catalog.path.parent
        needed = {"crm": "sqlite", "shop": "sqlite", "partners": "json", "clicks": "blob"}
        for name, kind in needed.items():
            source = catalog.source(name)
            if source.kind != kind or (name == "clicks" and source.options.get("path") is None):
                raise CatalogError(f"{source.where}: the embedded profile of '{name}' must be kind {kind}"
                                   + (" with a local 'path'" if name == "clicks" else ""))
        partners = catalog.source("partners")
        files = (partners.declared_tables.get("enrichment") or {}).get("files", f"{PARTNER_TABLE_DIR}/*.json")
        folder = str(files[0] if isinstance(files, list) else files).rsplit("/", 1)[0] if "/" in str(files) else ""
        clicks = catalog.source("clicks").options
        return cls(
            out, crm=(base / catalog.source("crm").options["path"]).resolve(),
            shop=(base / catalog.source("shop").options["path"]).resolve(),
            partners=(base / partners.options["path"] / folder).resolve(),
            clicks=(base / clicks["path"] / clicks["container"]).resolve(),
            prefix=str(clicks.get("prefix") or ""), **options,
        )

    def begin(self, config, products) -> None:
        from connectors.files.store import LocalFolder

        self.out.mkdir(parents=True, exist_ok=True)
        for path in (self.crm_path, self.shop_path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self.crm = SqliteDatabase(self.crm_path, ["customers"])
        self.shop = SqliteDatabase(self.shop_path, ["products", "orders", "order_items"])
        self.shop.insert("products", products)
        self.partners = PartnerFiles(self.partners_dir)
        self.partners.begin()
        store = LocalFolder(self.clicks_root)
        if self.prefix:
            store.delete_prefix(self.prefix)
        self.browsing = BrowsingBuffer(store, self.prefix, config.browsing_format, config.categories,
                                       limit=self.buffer_rows)

    def write(self, chunk) -> None:
        self.crm.insert("customers", chunk.customers)
        self.shop.insert("orders", chunk.orders)
        self.shop.insert("order_items", chunk.order_items)
        self.partners.write(chunk.index, chunk.partners)
        self.browsing.add(chunk.browsing)

    def finish(self) -> None:
        self.browsing.flush()
        self.browsing.compact()
        self.crm.commit()
        self.shop.commit()
