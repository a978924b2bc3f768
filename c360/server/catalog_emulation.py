"""``pg_catalog`` and ``information_schema`` as PostgreSQL clients expect them, over c360's catalog.

Clients and BI tools discover tables by querying PostgreSQL's system catalogs.
:class:`SystemCatalog` keeps the private in-memory DuckDB that
:mod:`c360.server.catalog_tables` builds (``pg_namespace``, ``pg_class``,
``pg_attribute``, ``pg_type``, ... filled from the c360 catalog) and rebuilds it
when it is older than its refresh interval.

:func:`is_catalog_query` decides which statements are answered here (those
that read only system tables or session functions such as ``version()``);
:meth:`SystemCatalog.rewrite` parses the statement as PostgreSQL with sqlglot,
points system tables at the emulation, turns session functions into literals
and PostgreSQL-only functions into macros, and generates DuckDB SQL. Tables and
functions it does not know are left alone, so DuckDB's own error names them.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

import duckdb
import sqlglot
from sqlglot import exp

from c360 import policy, postgres
from c360.server.catalog_tables import (
    DEFAULT_SETTINGS,
    EMULATION,
    INFO,
    INFO_TABLES,
    MACROS,
    OWNER,
    PG_TABLES,
    PG_VERSION,
    PG_VIEWS,
    Relation,
    build,
)

_CATALOG_HINT = re.compile(
    r"pg_|information_schema|version\s*\(|current_schema|current_database|current_user|session_user|"
    r"current_setting|format_type|_privilege|::\s*reg|obj_description|current_role|set_config",
    re.IGNORECASE,
)

# type names PostgreSQL clients cast to, as DuckDB types
_CAST_TYPES = {
    "text": "VARCHAR", "name": "VARCHAR", "varchar": "VARCHAR", "bpchar": "VARCHAR", "char": "VARCHAR",
    "oid": "BIGINT", "int2": "SMALLINT", "int4": "INTEGER", "int8": "BIGINT",
    "xid": "BIGINT", "bool": "BOOLEAN", "float4": "REAL", "float8": "DOUBLE", "regrole": "VARCHAR",
    "int2vector": "SMALLINT[]", "oidvector": "BIGINT[]",
}

@dataclass
class SessionValues:
    """What session functions return, substituted as literals when a statement is rewritten."""

    user: str = OWNER
    database: str = "c360"
    search_path: list[str] = field(default_factory=lambda: ["public"])
    settings: dict[str, str] = field(default_factory=dict)
    pid: int = 0


def is_catalog_query(sql: str, statement: exp.Expression | None = None) -> bool:
    """True when ``sql`` reads only system catalogs and session functions (never a source table)."""
    if not _CATALOG_HINT.search(sql):
        return False
    tree = statement if statement is not None else _parse(sql)
    if tree is None:
        return False
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        name, db = table.name.lower(), table.db.lower()
        if db in ("pg_catalog", "information_schema"):
            continue
        if not db and (name.startswith("pg_") or name in ctes or isinstance(table.this, exp.Func)):
            continue
        if not name and isinstance(table.this, (exp.Func, exp.Anonymous)):
            continue
        return False
    return True


def _type_schema(relations: list[Relation]) -> dict:
    from c360.types import duckdb_type

    schema: dict = {}
    for rel in relations:
        schema.setdefault(rel.schema, {})[rel.name] = {f.name: duckdb_type(f.type) for f in rel.arrow_schema}
    return schema


def _parse(sql: str) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(_psql_isms(sql), read="postgres")
    except sqlglot.errors.SqlglotError:
        return None


def _psql_isms(sql: str) -> str:
    """Spellings psql uses that sqlglot does not parse: ``OPERATOR(pg_catalog.~)``, ``COLLATE pg_catalog.default``."""
    sql = re.sub(r"OPERATOR\(pg_catalog\.([~!=<>*]+)\)", r"\1", sql)
    return re.sub(r"COLLATE\s+pg_catalog\.\"?default\"?", "", sql)


def _type_name(to: exp.DataType) -> str:
    if isinstance(to, exp.ObjectIdentifier):
        return to.name.lower()
    if to.this == exp.DataType.Type.USERDEFINED:
        kind = to.args.get("kind")
        if isinstance(kind, exp.Dot):
            return kind.expression.name.lower()
        return (kind.name if kind is not None else to.sql("postgres")).lower()
    return ""


class SystemCatalog:
    """The emulated system catalogs for one server, rebuilt from c360's catalog on demand."""

    def __init__(self, relations_provider, *, refresh_seconds: float = 60.0):
        #: a callable returning the relations to show (sources' tables and views)
        self._relations_provider = relations_provider
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._db: duckdb.DuckDBPyConnection | None = None
        self._built_at = 0.0
        self._types: dict = {}

    def connection(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the emulation database, (re)built if it is missing or stale."""
        with self._lock:
            if self._db is None or time.monotonic() - self._built_at > self._refresh_seconds:
                relations = self._relations_provider()
                self._db = build(relations)
                self._types = _type_schema(relations)
                self._built_at = time.monotonic()
            return self._db.cursor()

    def type_schema(self) -> dict:
        """``{schema: {table: {column: DuckDB type}}}`` of every relation, for typing wire queries
        (:func:`c360.postgres.translate`); built with the emulation."""
        self.connection().close()
        return self._types

    def invalidate(self) -> None:
        with self._lock:
            self._built_at = 0.0

    # --- building ---------------------------------------------------------------------------------

    # --- rewriting --------------------------------------------------------------------------------

    def rewrite(self, sql: str, session: SessionValues, params: list | None = None) -> str:
        """``sql`` (PostgreSQL) as DuckDB SQL over the emulation; ``$n`` placeholders are kept. A list
        parameter in ``= ANY($n)`` is spread into more parameters, appended to ``params`` (in place)."""
        tree = _parse(sql)
        if tree is None:
            raise sqlglot.errors.ParseError(f"Cannot parse catalog query: {sql[:200]}")
        policy.check_query(tree)
        tree = postgres.spell_out_arrays(tree, params if params is not None else [])
        version = f"PostgreSQL {PG_VERSION} (c360 {_c360_version()}) on x86_64-pc-linux-gnu, 64-bit"

        def literal(value):
            return exp.Literal.string(value) if isinstance(value, str) else value

        def transform(node: exp.Expression):
            if isinstance(node, exp.Table):
                if isinstance(node.this, exp.Func):
                    # a set-returning function aliased `s` is also the column `s`, as in PostgreSQL
                    node.set("db", None)
                    alias = node.args.get("alias")
                    if isinstance(alias, exp.TableAlias) and alias.this and not alias.columns:
                        alias.set("columns", [exp.to_identifier(alias.name)])
                    return node
                db, name = node.db.lower(), node.name.lower()
                if (db == "pg_catalog" or (not db and name.startswith("pg_"))) and (name in PG_TABLES or name in PG_VIEWS):
                    node.set("db", exp.to_identifier(EMULATION))
                    node.set("catalog", None)
                elif db == "information_schema" and name in INFO_TABLES:
                    node.set("db", exp.to_identifier(INFO))
                return node
            if isinstance(node, exp.Column) and node.db.lower() == "pg_catalog":
                node.set("db", exp.to_identifier(EMULATION))
                return node
            if isinstance(node, exp.CurrentVersion):
                return literal(version)
            if isinstance(node, exp.CurrentSchema):
                return literal(session.search_path[0] if session.search_path else "public")
            if isinstance(node, exp.CurrentUser) or type(node).__name__ in ("SessionUser", "CurrentRole"):
                return literal(session.user)
            if type(node).__name__ in ("CurrentDatabase", "CurrentCatalog"):
                return literal(session.database)
            if isinstance(node, exp.Anonymous):
                name = node.name.lower()
                if name in ("current_database", "current_catalog"):
                    return literal(session.database)
                if name in ("session_user", "current_role", "user"):
                    return literal(session.user)
                if name == "version":
                    return literal(version)
                if name == "current_schema":
                    return literal(session.search_path[0] if session.search_path else "public")
                if name == "current_schemas":
                    return exp.Array(expressions=[literal(s) for s in ["pg_catalog", *session.search_path]])
                if name == "pg_backend_pid":
                    return exp.Literal.number(session.pid)
                if name == "current_setting" and node.expressions and isinstance(node.expressions[0], exp.Literal):
                    key = node.expressions[0].name.lower()
                    value = session.settings.get(key, DEFAULT_SETTINGS.get(key))
                    return literal(value) if value is not None else exp.null()
                if name == "set_config" and len(node.expressions) >= 2:
                    return node.expressions[1]
                if name == "json_build_object":
                    return exp.Anonymous(this="json_object", expressions=node.expressions)
                if name in MACROS and MACROS[name]:
                    return exp.Anonymous(this=f"{EMULATION}_{name}", expressions=node.expressions)
            if isinstance(node, exp.Column) and not node.table and node.name.lower() in ("session_user", "current_role", "user", "current_catalog"):
                return literal(session.user if node.name.lower() != "current_catalog" else session.database)
            return node

        # PostgreSQL names an unaliased function column after the function (version, format_type)
        names = []
        if isinstance(tree, exp.Select):
            for projection in tree.expressions:
                target = projection.expression if isinstance(projection, exp.Dot) else projection
                is_function = isinstance(target, exp.Func) and not isinstance(projection, (exp.Alias, exp.Column))
                names.append(_function_name(target) if is_function else None)
        for dot in list(tree.find_all(exp.Dot)):
            if isinstance(dot.this, exp.Identifier) and dot.this.name.lower() == "pg_catalog" and isinstance(dot.expression, exp.Func):
                dot.replace(dot.expression)
        for cast in reversed(list(tree.find_all(exp.Cast, bfs=False))):
            replacement = self._cast(cast)
            if replacement is not cast:
                cast.replace(replacement)
        for node in list(tree.walk()):
            replacement = transform(node)
            if replacement is not node:
                node.replace(replacement)
        for projection, name in zip(list(tree.expressions) if names else [], names):
            if name and not isinstance(projection, exp.Alias):
                projection.replace(exp.alias_(projection.copy(), name, quoted=True))
        return tree.sql(dialect="duckdb")

    @staticmethod
    def _cast(node: exp.Cast) -> exp.Expression:
        name = _type_name(node.to)
        inner = node.this
        stringy = isinstance(inner, exp.Literal) and inner.is_string or isinstance(inner, (exp.Anonymous, exp.Placeholder, exp.Parameter)) or (
            isinstance(inner, exp.Cast) and inner.to.is_type("text", "varchar")
        )
        if name == "regproc":
            return exp.Anonymous(this=f"{EMULATION}_regproc_{'oid' if stringy else 'name'}", expressions=[inner])
        if name in ("regclass", "regtype", "regnamespace"):
            if name == "regclass":
                return exp.Anonymous(this=f"{EMULATION}_regclass_{'oid' if stringy else 'name'}", expressions=[inner])
            if name == "regtype":
                return exp.Anonymous(this=f"{EMULATION}_regtype_{'oid' if stringy else 'name'}", expressions=[inner])
            return exp.Anonymous(this=f"{EMULATION}_regnamespace_name", expressions=[inner])
        if node.to.is_type(exp.DataType.Type.ARRAY) and node.to.expressions:
            element = _type_name(node.to.expressions[0])
            if element in _CAST_TYPES:
                return exp.Cast(this=inner, to=exp.DataType.build(f"{_CAST_TYPES[element]}[]", dialect="duckdb"))
        if name in _CAST_TYPES:
            return exp.Cast(this=inner, to=exp.DataType.build(_CAST_TYPES[name], dialect="duckdb"))
        return node


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Cast):
        if isinstance(node.this, exp.Column):
            return node.this.name
        return _type_name(node.to) or node.to.sql("postgres").lower()
    names = {"CurrentVersion": "version", "CurrentSchema": "current_schema", "CurrentUser": "current_user",
             "CurrentDatabase": "current_database", "SessionUser": "session_user"}
    return names.get(type(node).__name__, node.sql_name().lower())


def _c360_version() -> str:
    try:
        from importlib.metadata import version

        return version("c360")
    except Exception:  # noqa: BLE001 - a source checkout without metadata
        return "dev"
