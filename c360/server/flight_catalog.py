"""The catalog commands of the Flight SQL door: what GetCatalogs, GetDbSchemas, GetTables, GetTableTypes,
GetPrimaryKeys, GetImportedKeys, GetExportedKeys, GetCrossReference, GetXdbcTypeInfo and GetSqlInfo answer,
as Arrow tables in the shapes FlightSql.proto fixes.

A primary key is the one its source declares, named ``<table>_pkey`` as the wire door's catalogs name it.
c360 discovers no foreign keys (a source's keys are read for pushdown and reflection, its references are
not), so the three foreign-key commands answer no rows, in their schema: a client that asks gets the truth
instead of an error.

One catalog, ``c360``; a schema per source and ``c360`` for the views (as the
wire server shows them); tables and views from the backend's relations,
cached for ``CATALOG_REFRESH_SECONDS``. Filter patterns use ``%`` and ``_``.
"""

from __future__ import annotations

import re
import threading
import time

import pyarrow as pa

from c360.server import flight_messages as fm
from c360.server.flight_types import xdbc_type_info

CATALOG = "c360"
#: seconds the catalog (sources' tables and views) is cached for GetTables
CATALOG_REFRESH_SECONDS = 60.0


def _like(pattern: str | None):
    """A Flight SQL filter pattern (``%`` and ``_``) as a predicate; None matches everything."""
    if pattern is None:
        return lambda name: True
    regex = re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern), re.S)
    return lambda name: regex.fullmatch(name) is not None


class FlightCatalog:
    """Answers catalog commands from a backend's relations (tables of every source, and the views)."""

    def __init__(self, backend):
        self.backend = backend
        self._relations_cache: tuple[float, list] | None = None
        self._relations_lock = threading.Lock()

    def _relations(self) -> list:
        with self._relations_lock:
            now = time.monotonic()
            if self._relations_cache is None or now - self._relations_cache[0] > CATALOG_REFRESH_SECONDS:
                self._relations_cache = (now, self.backend.relations())
            return self._relations_cache[1]

    def _schemas(self) -> list[str]:
        return sorted({*self.backend.catalog.sources, CATALOG})

    def answer(self, name: str, fields) -> pa.Table | None:
        """The answer to a catalog command, or None when ``name`` is not one."""
        if name == "CommandGetCatalogs":
            return pa.table({"catalog_name": pa.array([CATALOG], pa.utf8())},
                            schema=pa.schema([pa.field("catalog_name", pa.utf8(), nullable=False)]))
        if name == "CommandGetTableTypes":
            return pa.table([pa.array(["TABLE", "VIEW"])],
                            schema=pa.schema([pa.field("table_type", pa.utf8(), nullable=False)]))
        if name == "CommandGetDbSchemas":
            wanted = self._catalog_matches(fm.text(fields, fm.CATALOG))
            match = _like(fm.text(fields, fm.SCHEMA_PATTERN))
            names = [schema for schema in self._schemas() if wanted and match(schema)]
            return pa.table([pa.array([CATALOG] * len(names), pa.utf8()), pa.array(names, pa.utf8())],
                            schema=pa.schema([pa.field("catalog_name", pa.utf8()),
                                              pa.field("db_schema_name", pa.utf8(), nullable=False)]))
        if name == "CommandGetTables":
            return self._tables(fields)
        if name == "CommandGetPrimaryKeys":
            return self._primary_keys(fields)
        if name in ("CommandGetImportedKeys", "CommandGetExportedKeys", "CommandGetCrossReference"):
            return FOREIGN_KEYS_SCHEMA.empty_table()
        if name == "CommandGetXdbcTypeInfo":
            wanted = fm.ints(fields, fm.DATA_TYPE)
            return xdbc_type_info(wanted[-1] if wanted else None)
        if name == "CommandGetSqlInfo":
            return _sql_info(fm.uints(fields, fm.INFO))
        return None

    def type_schema(self) -> dict:
        """``{schema: {table: {column: DuckDB type}}}`` of every relation, for typing ``?`` parameters."""
        from c360.types import duckdb_type

        found: dict = {}
        for relation in self._relations():
            found.setdefault(relation.schema, {})[relation.name] = {
                f.name: duckdb_type(f.type) for f in relation.arrow_schema}
        return found

    def _primary_keys(self, fields) -> pa.Table:
        """The primary key of one table (exact names, not patterns), as its source declares it."""
        wanted = self._catalog_matches(fm.text(fields, fm.CATALOG))
        schema, table = fm.text(fields, fm.SCHEMA), fm.text(fields, fm.TABLE) or ""
        rows = [
            (relation.schema, relation.name, column, sequence)
            for relation in (self._relations() if wanted else [])
            if relation.name == table and schema in (None, relation.schema)
            for sequence, column in enumerate(relation.primary_key, 1)
        ]
        schema_fields = pa.schema([
            pa.field("catalog_name", pa.utf8()), pa.field("db_schema_name", pa.utf8()),
            pa.field("table_name", pa.utf8(), nullable=False), pa.field("column_name", pa.utf8(), nullable=False),
            pa.field("key_name", pa.utf8()), pa.field("key_sequence", pa.int32(), nullable=False),
        ])
        return pa.table([
            pa.array([CATALOG] * len(rows), pa.utf8()), pa.array([r[0] for r in rows], pa.utf8()),
            pa.array([r[1] for r in rows], pa.utf8()), pa.array([r[2] for r in rows], pa.utf8()),
            pa.array([f"{r[1]}_pkey" for r in rows], pa.utf8()), pa.array([r[3] for r in rows], pa.int32()),
        ], schema=schema_fields)

    @staticmethod
    def _catalog_matches(catalog: str | None) -> bool:
        return catalog is None or catalog == CATALOG

    def _tables(self, fields) -> pa.Table:
        wanted = self._catalog_matches(fm.text(fields, fm.CATALOG))
        schema_match = _like(fm.text(fields, fm.SCHEMA_PATTERN))
        table_match = _like(fm.text(fields, fm.TABLE_PATTERN))
        types = set(fm.strings(fields, fm.TABLE_TYPES))
        include_schema = bool(fm.uints(fields, fm.INCLUDE_SCHEMA) and fm.uints(fields, fm.INCLUDE_SCHEMA)[-1])
        rows = []
        for relation in self._relations() if wanted else []:
            kind = "VIEW" if relation.kind == "v" else "TABLE"
            if schema_match(relation.schema) and table_match(relation.name) and (not types or kind in types):
                rows.append((relation.schema, relation.name, kind, relation.arrow_schema))
        rows.sort(key=lambda row: row[:3])
        columns = [pa.array([CATALOG] * len(rows), pa.utf8()), pa.array([r[0] for r in rows], pa.utf8()),
                   pa.array([r[1] for r in rows], pa.utf8()), pa.array([r[2] for r in rows], pa.utf8())]
        schema = [pa.field("catalog_name", pa.utf8()), pa.field("db_schema_name", pa.utf8()),
                  pa.field("table_name", pa.utf8(), nullable=False), pa.field("table_type", pa.utf8(), nullable=False)]
        if include_schema:
            columns.append(pa.array([r[3].serialize().to_pybytes() for r in rows], pa.binary()))
            schema.append(pa.field("table_schema", pa.binary(), nullable=False))
        return pa.table(columns, schema=pa.schema(schema))


#: GetImportedKeys', GetExportedKeys' and GetCrossReference's answer
FOREIGN_KEYS_SCHEMA = pa.schema([
    pa.field("pk_catalog_name", pa.utf8()), pa.field("pk_db_schema_name", pa.utf8()),
    pa.field("pk_table_name", pa.utf8(), nullable=False), pa.field("pk_column_name", pa.utf8(), nullable=False),
    pa.field("fk_catalog_name", pa.utf8()), pa.field("fk_db_schema_name", pa.utf8()),
    pa.field("fk_table_name", pa.utf8(), nullable=False), pa.field("fk_column_name", pa.utf8(), nullable=False),
    pa.field("key_sequence", pa.int32(), nullable=False), pa.field("fk_key_name", pa.utf8()),
    pa.field("pk_key_name", pa.utf8()), pa.field("update_rule", pa.uint8(), nullable=False),
    pa.field("delete_rule", pa.uint8(), nullable=False),
])

#: GetSqlInfo's value union, as FlightSql.proto fixes it
_INFO_VALUE = pa.union([
    pa.field("string_value", pa.utf8()), pa.field("bool_value", pa.bool_()), pa.field("bigint_value", pa.int64()),
    pa.field("int32_bitmask", pa.int32()), pa.field("string_list", pa.list_(pa.utf8())),
    pa.field("int32_to_int32_list_map", pa.map_(pa.int32(), pa.list_(pa.int32()))),
], mode="dense")


def _info_values() -> dict[int, tuple[int, object]]:
    """The SqlInfo ids answered, each with its union member (0 string, 1 bool, 3 int32): 0 server name,
    1 server version, 2 Arrow version, 3 read-only, 4 SQL supported, 8 transactions (0: none; c360 is
    read-only), 9 CancelQuery supported."""
    from importlib.metadata import version

    return {0: (0, "c360"), 1: (0, version("c360")), 2: (0, pa.__version__), 3: (1, True), 4: (1, True),
            8: (3, 0), 9: (1, True)}


def _sql_info(wanted: list[int]) -> pa.Table:
    """GetSqlInfo's answer for the ``wanted`` ids (all when none), unknown ids left out."""
    values = _info_values()
    ids = [i for i in (wanted or sorted(values)) if i in values]
    members: dict[int, list] = {code: [] for code in range(6)}
    type_ids, offsets = [], []
    for i in ids:
        code, value = values[i]
        type_ids.append(code)
        offsets.append(len(members[code]))
        members[code].append(value)
    children = [pa.array(members[code], field.type) for code, field in enumerate(_INFO_VALUE)]
    union = pa.UnionArray.from_dense(pa.array(type_ids, pa.int8()), pa.array(offsets, pa.int32()), children,
                                     [f.name for f in _INFO_VALUE], list(range(6)))
    schema = pa.schema([pa.field("info_name", pa.uint32(), nullable=False), pa.field("value", _INFO_VALUE, nullable=False)])
    return pa.table([pa.array(ids, pa.uint32()), union], schema=schema)
