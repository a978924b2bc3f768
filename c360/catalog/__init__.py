"""The catalog: named sources declared in ``catalog/*.yaml``, described in place.

A catalog file looks like::

    sources:
      shop:
        description: orders and products
        profiles:                      # optional: one block per profile
          embedded: {kind: sqlite, path: ../demo-data/shop.sqlite}
          servers:
            kind: mysql
            host: 127.0.0.1
            user: c360
            password: ${ENV:C360_SHOP_PASSWORD}
            database: c360_shop
        timeout: 30                    # seconds; cancels the remote query
        tables:                        # optional: declared tables, else discovered
          orders:
            columns: {order_id: BIGINT, customer_id: BIGINT}

A top-level ``acceleration:`` block declares refreshed local copies of tables and views
(:mod:`c360.acceleration.declaration`; docs/acceleration.md).

Loading reads only the YAML: no source is contacted until a query needs it.
Connectors are created lazily, one per source, and schemas are discovered on
first use and cached under ``.c360/schema-cache`` next to the catalog folder.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from c360.catalog import yamlfile
from c360.catalog.schema_cache import SchemaCache, config_hash
from c360.errors import CatalogError, Error, UnknownKindError, UnknownTableError, did_you_mean
from connectors import KINDS, connector_class
from connectors.base import TableSchema
from connectors.declared import declared_columns, where_of

#: Keys every source may have, whatever its kind.
COMMON_KEYS = {
    "kind": "the connector: " + ", ".join(sorted(KINDS)),
    "description": "free text shown by `c360 sources`",
    "profiles": "per-profile settings (embedded, servers, ...) merged over the source's own",
    "tables": "declared tables: columns, and for files the path and partitioning",
    "timeout": "seconds a query may run in this source before it is cancelled there",
    "optional": "true: a missing folder or table without files reads as an empty table of its declared columns",
}

DEFAULT_PROFILE = "embedded"

#: Top-level keys of a catalog file.
TOP_LEVEL_KEYS = ("sources", "engine", "acceleration")

#: Keys of the catalog's optional top-level ``engine:`` block: how the local DuckDB runs.
ENGINE_KEYS = {
    "memory_limit": "most memory DuckDB may use, e.g. 4GB (default: DuckDB's, 80% of RAM)",
    "temp_directory": "where DuckDB spills what does not fit in memory, relative to the project"
                      " (default .c360/tmp)",
    "threads": "DuckDB worker threads (default: one per core)",
}


@dataclass
class Source:
    name: str
    kind: str
    options: dict
    declared_tables: dict
    timeout: float | None
    description: str
    where: str  # file:line of the declaration
    connector_cls: type = field(repr=False)
    #: absent data reads as empty tables of the declared columns (:mod:`connectors.optional`)
    optional: bool = False

    def label(self, connector=None) -> str:
        place = getattr(connector, "location", None) if connector is not None else None
        return f"{self.kind} at {place}" if place else self.kind


class Catalog:
    """Sources by name, their connectors, and their table schemas."""

    def __init__(self, path: str | Path = "catalog", *, profile: str | None = None):
        self.path = Path(path)
        self.profile = profile or DEFAULT_PROFILE
        self.sources: dict[str, Source] = {}
        #: the ``engine:`` block (ENGINE_KEYS), temp_directory made absolute
        self.engine_settings: dict = {}
        #: declared copies (:class:`c360.acceleration.declaration.Acceleration`) by lower-case name
        self.accelerations: dict = {}
        self._connectors: dict[str, object] = {}
        self._lock = threading.RLock()
        self._load()
        self.cache = SchemaCache(self.project_dir / ".c360" / "schema-cache")
        temp = Path(self.engine_settings.get("temp_directory") or ".c360/tmp")
        self.engine_settings["temp_directory"] = str(temp if temp.is_absolute() else self.project_dir / temp)
        self._memory: dict[str, dict] = {}

    @property
    def project_dir(self) -> Path:
        return self.path.parent if self.path.is_file() else self.path.resolve().parent

    # --- loading --------------------------------------------------------------------------------

    def _files(self) -> list[Path]:
        if self.path.is_file():
            return [self.path]
        if not self.path.is_dir():
            raise CatalogError(f"Catalog '{self.path}' does not exist (expected a folder of .yaml files)")
        return sorted([*self.path.glob("*.yaml"), *self.path.glob("*.yml")])

    def _load(self) -> None:
        for file in self._files():
            document = yamlfile.load(file)
            for key in document:
                if key not in TOP_LEVEL_KEYS:
                    raise CatalogError(
                        f"{document.where(key)}: unknown top-level key '{key}'."
                        f"{did_you_mean(key, TOP_LEVEL_KEYS)}"
                    )
            if "engine" in document:
                self._engine(document, file)
            if "acceleration" in document:
                self._acceleration(document)
            sources = document.get("sources") or {}
            if not isinstance(sources, dict):
                raise CatalogError(f"{document.where('sources')}: 'sources' must be a mapping of names")
            for name, declaration in sources.items():
                if name in self.sources:
                    raise CatalogError(f"{sources.where(name)}: source '{name}' is declared twice")
                self.sources[name] = self._source(name, declaration, sources.where(name), file)
        for acceleration in self.accelerations.values():
            if acceleration.source is not None and acceleration.source not in self.sources:
                raise CatalogError(f"{acceleration.where}: acceleration of '{acceleration.name}': there is no source "
                                   f"'{acceleration.source}'.{did_you_mean(acceleration.source, self.sources)}")

    def _acceleration(self, document) -> None:
        from c360.acceleration.declaration import parse_block

        block = document.get("acceleration") or {}
        for name, acceleration in parse_block(block, where=lambda key: document.where("acceleration")).items():
            if name in self.accelerations:
                raise CatalogError(f"{acceleration.where}: acceleration of '{name}' is declared twice")
            self.accelerations[name] = acceleration

    def _engine(self, document, file: Path) -> None:
        block = document.get("engine") or {}
        if self.engine_settings:
            raise CatalogError(f"{document.where('engine')}: 'engine' is declared in more than one catalog file")
        if not isinstance(block, dict):
            raise CatalogError(f"{document.where('engine')}: 'engine' must be a mapping ({', '.join(ENGINE_KEYS)})")
        for key, value in block.items():
            if key not in ENGINE_KEYS:
                raise CatalogError(
                    f"{block.where(key)}: unknown engine setting '{key}'.{did_you_mean(key, ENGINE_KEYS)}"
                )
            if key == "threads" and (not isinstance(value, int) or value < 1):
                raise CatalogError(f"{block.where(key)}: 'threads' must be a positive whole number")
            if key == "memory_limit" and not (isinstance(value, str) and value.strip()[:1].isdigit()):
                raise CatalogError(f"{block.where(key)}: 'memory_limit' must be a size such as 4GB or 512MB")
        self.engine_settings = dict(block)

    def _source(self, name: str, declaration, where: str, file: Path) -> Source:
        if not isinstance(declaration, dict):
            raise CatalogError(f"{where}: source '{name}' must be a mapping")
        merged = yamlfile.Located(declaration)
        merged.lines = dict(getattr(declaration, "lines", {}))
        merged.file, merged.line = file, getattr(declaration, "line", 0)
        profiles = declaration.get("profiles") or {}
        if profiles:
            chosen = profiles.get(self.profile)
            if chosen is None:
                raise CatalogError(
                    f"{declaration.where('profiles')}: source '{name}' has no profile '{self.profile}' "
                    f"(it has: {', '.join(profiles)})"
                )
            for key, value in chosen.items():
                merged[key] = value
                merged.lines[key] = chosen.lines.get(key, 0)
        merged.pop("profiles", None)
        kind = merged.get("kind")
        if kind is None:
            raise CatalogError(f"{merged.where()}: source '{name}' has no 'kind' (one of {', '.join(sorted(KINDS))})")
        if kind not in KINDS:
            raise UnknownKindError(
                f"{merged.where('kind')}: source '{name}' has unknown kind '{kind}'.{did_you_mean(kind, KINDS)} "
                f"Known kinds: {', '.join(sorted(KINDS))}"
            )
        cls = connector_class(kind)
        allowed = {**COMMON_KEYS, **cls.OPTIONS}
        for key in merged:
            if key not in allowed:
                raise CatalogError(
                    f"{merged.where(key)}: source '{name}' ({kind}) has unknown setting '{key}'."
                    f"{did_you_mean(key, allowed)}"
                )
        for key in getattr(cls, "REQUIRED", ()):
            if key not in merged:
                raise CatalogError(f"{merged.where()}: source '{name}' ({kind}) needs '{key}'")
        timeout = merged.get("timeout")
        if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
            raise CatalogError(f"{merged.where('timeout')}: 'timeout' must be a positive number of seconds")
        tables = merged.get("tables") or {}
        if not isinstance(tables, dict):
            raise CatalogError(f"{merged.where('tables')}: 'tables' must be a mapping of table names")
        optional = merged.get("optional", False)
        if not isinstance(optional, bool):
            raise CatalogError(f"{merged.where('optional')}: 'optional' must be true or false")
        if optional:
            undeclared = [t for t, d in tables.items() if not isinstance(d, dict) or "columns" not in d]
            if not tables or undeclared:
                raise CatalogError(
                    f"{merged.where('optional')}: optional source '{name}' must declare its tables' columns "
                    f"(an absent table is read as an empty table of them)"
                    + (f"; without columns: {', '.join(undeclared)}" if undeclared else "; it declares no tables")
                )
        options = {k: v for k, v in merged.items() if k in cls.OPTIONS}
        options["tables"] = tables
        return Source(
            name=name,
            kind=kind,
            options=options,
            declared_tables=tables,
            timeout=float(timeout) if timeout else None,
            description=str(merged.get("description", "")),
            where=where,
            connector_cls=cls,
            optional=optional,
        )

    # --- connectors -----------------------------------------------------------------------------

    def source(self, name: str) -> Source:
        try:
            return self.sources[name]
        except KeyError:
            raise UnknownTableError(f"Unknown source '{name}'.{did_you_mean(name, self.sources)}") from None

    def connector(self, name: str):
        with self._lock:
            if name not in self._connectors:
                source = self.source(name)
                connector = source.connector_cls(
                    name, dict(source.options), base_dir=self.path if self.path.is_dir() else self.path.parent
                )
                if source.optional:
                    from connectors.optional import OptionalConnector

                    connector = OptionalConnector(connector, source.declared_tables)
                self._connectors[name] = connector
            return self._connectors[name]

    def describe_source(self, name: str) -> str:
        """``Source 'shop' (mysql at 127.0.0.1:3306)``: how errors name a source."""
        source = self.source(name)
        return f"Source '{name}' ({source.label(self.connector(name))})"

    # --- tables and schemas ---------------------------------------------------------------------

    def _state(self, name: str) -> dict:
        with self._lock:
            if name not in self._memory:
                source = self.source(name)
                digest = config_hash({"kind": source.kind, **source.options})
                state = self.cache.load(name, digest)
                state["digest"] = digest
                self._memory[name] = state
            return self._memory[name]

    def tables(self, name: str) -> list[str]:
        """Table names of source ``name`` (declared ones first, then discovered)."""
        state = self._state(name)
        if state["tables"] is None:
            connector = self.connector(name)
            discovered = list(connector.tables())
            declared = list(self.source(name).declared_tables)
            state["tables"] = declared + [t for t in discovered if t not in declared]
            self.cache.store(name, state["digest"], state["tables"], state["schemas"])
        return state["tables"]

    def every_table(self, sources: list[str] | None = None, *,
                    asking=None) -> tuple[list[tuple[str, str]], list[Error]]:
        """Every ``(source, table)`` of ``sources`` (default: all, in catalog order), and the error of
        each source that could not list its tables: a source that is down hides only its own tables.

        An unknown source name is raised, not collected. ``asking(name)``, if given, is called before each
        source is asked (a progress line names the source being waited for).
        """
        found, failures = [], []
        for name in list(self.sources) if sources is None else sources:
            self.source(name)
            if asking is not None:
                asking(name)
            try:
                found += [(name, table) for table in self.tables(name)]
            except Error as error:
                failures.append(error)
        return found, failures

    def table(self, source_name: str, table_name: str) -> TableSchema:
        """The schema of ``source.table``, matched case-insensitively; did-you-mean when unknown."""
        state = self._state(source_name)
        key = table_name.lower()
        if key in state["schemas"]:
            return state["schemas"][key]
        declared = {t.lower(): t for t in self.source(source_name).declared_tables}
        names = [declared[key]] if key in declared else self.tables(source_name)
        match = next((t for t in names if t.lower() == key), None)
        if match is None:
            qualified = [f"{source_name}.{t}" for t in names]
            raise UnknownTableError(
                f"Unknown table '{source_name}.{table_name}'.{did_you_mean(f'{source_name}.{table_name}', qualified)}"
            )
        schema = self._declared_schema(source_name, match)
        if schema is None:
            schema = self.connector(source_name).schema(match)
        state["schemas"][key] = schema
        self.cache.store(source_name, state["digest"], state["tables"], state["schemas"])
        return schema

    def _declared_schema(self, source_name: str, table: str) -> TableSchema | None:
        declared = self.source(source_name).declared_tables.get(table)
        if not declared or "columns" not in declared:
            return None
        connector = self.connector(source_name)
        if hasattr(connector, "declared_schema"):
            return connector.declared_schema(table, declared)
        columns = declared_columns(declared["columns"], where=where_of(declared, "columns"))
        return TableSchema(table, tuple(columns), tuple(declared.get("remote_name", ()) or ()))

    def refresh(self, source_name: str | None = None) -> list[str]:
        """Forget cached schemas (all sources, or one) and rediscover; returns the sources refreshed."""
        names = [source_name] if source_name else list(self.sources)
        for name in names:
            self.source(name)
            self.cache.drop(name)
            with self._lock:
                self._memory.pop(name, None)
        for name in names:
            self.tables(name)
        return names

    def close(self) -> None:
        with self._lock:
            for connector in self._connectors.values():
                close = getattr(connector, "close", None)
                if close:
                    close()
            self._connectors.clear()
