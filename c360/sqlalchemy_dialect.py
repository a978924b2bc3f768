"""A SQLAlchemy dialect for c360 in-process: ``create_engine("c360:///path/to/project")``.

It runs over the DB-API (:func:`c360.connect`), so ``pandas.read_sql``, SQLAlchemy Core,
jupysql's ``%sql`` and other SQLAlchemy-based tools query a project without ``c360 serve``.
The DB-API reads DuckDB's SQL; SQLAlchemy's PostgreSQL compiler writes SQL DuckDB reads
the same way (double-quoted identifiers, ``LIMIT``/``OFFSET``, ``ILIKE``, ``CAST``), so
statements are compiled with it and parameters travel as ``:name`` (bound as literals in the
syntax tree by the DB-API, never formatted into the text).

Reflection answers from the catalog, named as ``c360 serve`` names them: each source is a
schema holding its tables, and the project's views are schema ``c360`` (also the default
schema: an unqualified name is a view). Nothing is written: c360 is read-only.

The URL names a project folder (the one holding ``catalog/``) or a catalog folder or file;
like SQLite's, ``c360:///relative/path`` is relative and ``c360:////absolute/path`` absolute,
and ``c360://`` is the current folder. ``?profile=NAME`` picks the catalog profile.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects.postgresql.base import PGCompiler, PGIdentifierPreparer, PGTypeCompiler
from sqlalchemy.engine import default, reflection

from c360.planner.resolve_tables import VIEW_SCHEMA


class C360Compiler(PGCompiler):
    """PostgreSQL's compiler, with a table named through its schema aliased ``"schema.table"`` and its
    columns named through that alias: SQLAlchemy writes ``shop.orders.status``, which DuckDB binds at the
    top of a query but not from a correlated subquery; the alias, unlike the bare table name, cannot
    clash with a table of the same name in another source."""

    def visit_table(self, table, asfrom=False, use_schema=True, enclosing_alias=None, **kw):
        text = super().visit_table(table, asfrom=asfrom, use_schema=use_schema, enclosing_alias=enclosing_alias, **kw)
        schema = self.preparer.schema_for_object(table)
        if asfrom and use_schema and schema and (enclosing_alias is None or enclosing_alias.element is not table):
            text += self.get_render_as_alias_suffix(self.preparer.quote_identifier(f"{schema}.{table.name}"))
        return text

    def visit_column(self, column, add_to_result_map=None, include_table=True, **kw):
        table = column.table
        schema = self.preparer.schema_for_object(table) if table is not None else None
        if not schema or not include_table or not table.named_with_column or column.is_literal:
            return super().visit_column(column, add_to_result_map=add_to_result_map, include_table=include_table, **kw)
        name = super().visit_column(column, add_to_result_map=add_to_result_map, include_table=False, **kw)
        return f"{self.preparer.quote_identifier(f'{schema}.{table.name}')}.{name}"


class C360Dialect(default.DefaultDialect):
    name = "c360"
    driver = "c360"
    supports_statement_cache = True

    statement_compiler = C360Compiler
    type_compiler_cls = PGTypeCompiler
    preparer = PGIdentifierPreparer

    supports_native_boolean = True
    supports_native_decimal = True
    supports_sane_rowcount = False
    supports_sane_multi_rowcount = False
    supports_alter = False
    postfetch_lastrowid = False
    max_identifier_length = 63  # PostgreSQL's; DuckDB has no limit
    # read by PGCompiler
    _backslash_escapes = False
    _supports_jsonb_subscripting = False

    @classmethod
    def import_dbapi(cls):
        import c360

        return c360

    def create_connect_args(self, url):
        from sqlalchemy.exc import ArgumentError

        options = dict(url.query)
        profile = options.pop("profile", None)
        dialect = options.pop("dialect", "duckdb")
        if options:
            raise ArgumentError(f"Unknown c360 URL option(s): {', '.join(sorted(options))} (known: profile, dialect)")
        if dialect not in ("duckdb", "postgres"):
            raise ArgumentError(f"Unknown c360 dialect '{dialect}': use duckdb or postgres")
        if dialect == "postgres":  # the DB-API then takes PostgreSQL's $1, $2 parameters
            self.paramstyle, self.positional = "numeric_dollar", True
        return [], {"catalog": _catalog_path(url.database or "."), "profile": profile, "dialect": dialect}

    # --- what a server would be asked on connect -------------------------------------------------

    def _get_server_version_info(self, connection):
        import c360

        return tuple(int(part) for part in c360.__version__.split("."))

    def _get_default_schema_name(self, connection):
        return VIEW_SCHEMA

    def get_isolation_level(self, dbapi_connection):
        return "SERIALIZABLE"  # reads only; each statement sees the sources as they answer

    def do_ping(self, dbapi_connection):
        return True

    # --- reflection, from the catalog -------------------------------------------------------------

    @reflection.cache
    def get_schema_names(self, connection, **kw):
        names = sorted(_engine(connection).catalog.sources)
        if _engine(connection).views:
            names.append(VIEW_SCHEMA)
        return names

    def _relations(self, connection, schema, kind):
        from c360.introspect import list_relations

        engine = _engine(connection)
        schema = (schema or self.default_schema_name).lower()
        if schema == VIEW_SCHEMA:
            return sorted(view.name for view in engine.views.values()) if kind == "view" else []
        if schema not in engine.catalog.sources or kind != "table":
            return []
        return [name for _, name, _ in list_relations(engine.catalog, {}, schema)]

    @reflection.cache
    def get_table_names(self, connection, schema=None, **kw):
        return self._relations(connection, schema, "table")

    @reflection.cache
    def get_view_names(self, connection, schema=None, **kw):
        return self._relations(connection, schema, "view")

    def has_table(self, connection, table_name, schema=None, **kw):
        return table_name in self._relations(connection, schema, "table") + self._relations(connection, schema, "view")

    @reflection.cache
    def get_view_definition(self, connection, view_name, schema=None, **kw):
        from sqlalchemy.exc import NoSuchTableError

        view = _engine(connection).views.get(view_name) if (schema or VIEW_SCHEMA).lower() == VIEW_SCHEMA else None
        if view is None:
            raise NoSuchTableError(f"{schema}.{view_name}" if schema else view_name)
        return view.sql.strip()

    @reflection.cache
    def get_columns(self, connection, table_name, schema=None, **kw):
        from sqlalchemy.exc import NoSuchTableError

        from c360.dbapi import _select_all
        from c360.errors import Error

        engine, schema = _engine(connection), schema or self.default_schema_name
        if not self.has_table(connection, table_name, schema):
            raise NoSuchTableError(f"{schema}.{table_name}")
        try:
            if schema.lower() == VIEW_SCHEMA:
                fields = engine.schema_of(_select_all(VIEW_SCHEMA, table_name))
            else:
                fields = engine.catalog.table(schema, table_name).arrow_schema()
        except Error as error:
            raise NoSuchTableError(f"{schema}.{table_name}: {error}") from error
        return [{"name": f.name, "type": sqlalchemy_type(f.type), "nullable": f.nullable, "default": None}
                for f in fields]

    def _table_schema(self, connection, table_name, schema):
        """The source's table (its keys and indexes as discovered), or None for a view or an unknown name."""
        schema = schema or self.default_schema_name
        if schema.lower() == VIEW_SCHEMA or table_name not in self._relations(connection, schema, "table"):
            return None
        return _engine(connection).catalog.table(schema, table_name)

    @reflection.cache
    def get_pk_constraint(self, connection, table_name, schema=None, **kw):
        """The primary key as the source declares it, named as ``c360 serve`` names it (``<table>_pkey``)."""
        table = self._table_schema(connection, table_name, schema)
        if table is None or not table.primary_key:
            return {"constrained_columns": [], "name": None}
        return {"constrained_columns": list(table.primary_key), "name": f"{table_name}_pkey"}

    def get_foreign_keys(self, connection, table_name, schema=None, **kw):
        return []

    @reflection.cache
    def get_indexes(self, connection, table_name, schema=None, **kw):
        """The source's other indexes (``<table>_<columns>_idx``, as ``c360 serve`` names them); the primary
        key's is not repeated."""
        table = self._table_schema(connection, table_name, schema)
        if table is None:
            return []
        seen, found = {tuple(c.lower() for c in table.primary_key)}, []
        for columns in table.indexes or ():
            key = tuple(c.lower() for c in columns)
            if columns and key not in seen:
                seen.add(key)
                found.append({"name": f"{table_name}_{'_'.join(columns)}_idx"[:63], "column_names": list(columns),
                              "unique": False})
        return found


def _engine(connection):
    """The c360 engine behind a SQLAlchemy connection."""
    return connection.connection.dbapi_connection.engine


def _catalog_path(database: str) -> str:
    path = Path(database).expanduser()
    return str(path / "catalog") if (path / "catalog").is_dir() else str(path)


def sqlalchemy_type(arrow: pa.DataType) -> sqltypes.TypeEngine:
    """The SQLAlchemy type of an Arrow column type (``NullType`` for what SQLAlchemy has no type for)."""
    if pa.types.is_boolean(arrow):
        return sqltypes.Boolean()
    if pa.types.is_integer(arrow):
        width = arrow.bit_width
        return sqltypes.SmallInteger() if width <= 16 else sqltypes.Integer() if width == 32 else sqltypes.BigInteger()
    if pa.types.is_floating(arrow):
        return sqltypes.Double() if arrow.bit_width == 64 else sqltypes.Float()
    if pa.types.is_decimal(arrow):
        return sqltypes.Numeric(arrow.precision, arrow.scale)
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow) or pa.types.is_string_view(arrow):
        return sqltypes.String()
    if pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow):
        return sqltypes.LargeBinary()
    if pa.types.is_timestamp(arrow):
        return sqltypes.DateTime(timezone=arrow.tz is not None)
    if pa.types.is_date(arrow):
        return sqltypes.Date()
    if pa.types.is_time(arrow):
        return sqltypes.Time()
    if pa.types.is_duration(arrow) or pa.types.is_interval(arrow):
        return sqltypes.Interval()
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow):
        return sqltypes.ARRAY(sqlalchemy_type(arrow.value_type))
    return sqltypes.NullType()
