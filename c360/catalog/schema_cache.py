"""The on-disk cache of discovered table schemas (``.c360/schema-cache/``).

Discovery asks a source for its tables' columns once; later runs read the cache.
``c360 refresh`` (or :meth:`Catalog.refresh`) drops a source's entries. An entry
is keyed by the source's name and a hash of its configuration, so editing the
catalog invalidates it by itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pyarrow as pa

from connectors.base import Column, TableSchema


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _encode(schema: TableSchema) -> dict:
    arrow = pa.schema([pa.field(c.name, c.type, c.nullable) for c in schema.columns])
    return {
        "name": schema.name,
        "remote_name": list(schema.remote_name),
        "arrow": base64.b64encode(arrow.serialize().to_pybytes()).decode(),
        "columns": [
            {"collation": c.collation, "exact_strings": c.exact_strings, "partition": c.partition}
            for c in schema.columns
        ],
        "primary_key": list(schema.primary_key),
        "indexes": None if schema.indexes is None else [list(index) for index in schema.indexes],
        "row_count": schema.row_count,
    }


def _decode(entry: dict) -> TableSchema:
    arrow = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(entry["arrow"])))
    columns = tuple(
        Column(field.name, field.type, field.nullable, **extra)
        for field, extra in zip(arrow, entry["columns"])
    )
    indexes = entry.get("indexes")
    return TableSchema(
        entry["name"], columns, tuple(entry["remote_name"]),
        primary_key=tuple(entry.get("primary_key") or ()),
        indexes=None if indexes is None else tuple(tuple(index) for index in indexes),
        row_count=entry.get("row_count"),
    )


class SchemaCache:
    def __init__(self, directory: Path):
        self.directory = directory

    def _file(self, source: str, digest: str) -> Path:
        return self.directory / f"{source}-{digest}.json"

    def load(self, source: str, digest: str) -> dict:
        path = self._file(source, digest)
        if not path.exists():
            return {"tables": None, "schemas": {}}
        try:
            data = json.loads(path.read_text())
            data["schemas"] = {k: _decode(v) for k, v in data.get("schemas", {}).items()}
            return data
        except (ValueError, KeyError, pa.ArrowInvalid):
            return {"tables": None, "schemas": {}}

    def store(self, source: str, digest: str, tables: list[str] | None, schemas: dict[str, TableSchema]):
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            data = {"tables": tables, "schemas": {k: _encode(v) for k, v in schemas.items()}}
            path = self._file(source, digest)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps(data))
            temporary.replace(path)
        except OSError:
            pass  # a read-only project still works; it just discovers again next time

    def drop(self, source: str | None = None) -> int:
        if not self.directory.exists():
            return 0
        pattern = f"{source}-*.json" if source else "*.json"
        dropped = 0
        for path in self.directory.glob(pattern):
            path.unlink(missing_ok=True)
            dropped += 1
        return dropped
