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

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from c360 import policy, postgres
from c360.server.catalog_tables import (
    EMULATION,
    INFO,
    INFO_TABLES,
    MACROS,
    PG_TABLES,
    PG_VERSION,
    PG_VIEWS,
    Relation,
    build,
)
from c360.server.session_settings import SessionValues, UnknownSetting

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
    """Spellings psql and drivers use that sqlglot does not parse: ``OPERATOR(pg_catalog.~)``, ``COLLATE
    pg_catalog.default``, ``::oid[]``."""
    sql = re.sub(r"OPERATOR\(pg_catalog\.([~!=<>*]+)\)", r"\1", sql)
    sql = re.sub(r"COLLATE\s+pg_catalog\.\"?default\"?", "", sql)
    # ``$1::oid[]`` (asyncpg's type introspection): arrays of the oid-like types are BIGINT[] here
    return _OID_ARRAY_CAST.sub(lambda m: "::BIGINT[]" if m.group(1).lower() != "name" else "::TEXT[]", sql)


_OID_ARRAY_CAST = re.compile(
    r"::\s*(?:pg_catalog\.)?(oid|regtype|regclass|regproc|regprocedure|regnamespace|regrole|name)\s*\[\s*\]", re.IGNORECASE
)


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
        #: counts the rebuilds: translations typed with the catalog's column types are kept per version
        self.types_version = 0

    def connection(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the emulation database, (re)built if it is missing or stale."""
        with self._lock:
            if self._db is None or time.monotonic() - self._built_at > self._refresh_seconds:
                relations = self._relations_provider()
                self._db = build(relations)
                self._types = _type_schema(relations)
                self.types_version += 1
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
        """``sql`` (PostgreSQL) as DuckDB SQL over the emulation, with ``$n`` placeholders. ``params``, when
        given, is updated in place to the values the rewritten statement takes (a list parameter in
        ``= ANY($n)`` spread into one per element, values answered here dropped)."""
        tree = _parse(sql)
        if tree is None:
            raise sqlglot.errors.ParseError(f"Cannot parse catalog query: {sql[:200]}")
        names = postgres.column_names(tree, _psql_isms(sql)) if isinstance(tree, exp.Select) else []
        for i, projection in enumerate(tree.expressions if names else []):
            target = projection.expression if isinstance(projection, exp.Dot) else projection
            if isinstance(target, exp.Func) and not isinstance(projection, (exp.Alias, exp.Column)):
                names[i] = _function_name(target)
        tree = normalize_identifiers(tree, dialect="postgres")  # unquoted names fold to lower case, as in PostgreSQL
        _settings(tree, session, params or [])  # PostgreSQL's current_setting(), answered here before the policy
        _scalar_functions_in_from(tree)
        policy.check_query(tree, table_functions=CATALOG_TABLE_FUNCTIONS)
        tree = postgres.spell_out_arrays(tree, params if params is not None else [])
        tree = postgres.schema_qualified_columns(tree, None)
        _vectors_as_text(tree)
        _vector_subscripts(tree)
        version = f"PostgreSQL {PG_VERSION} (c360 {_c360_version()}) on x86_64-pc-linux-gnu, 64-bit"

        def transform(node: exp.Expression) -> exp.Expression:
            handler = _NODE_HANDLERS.get(type(node))
            if handler is None and isinstance(node, exp.Anonymous):
                handler = _FUNCTION_HANDLERS.get(node.name.lower()) or (_macro if MACROS.get(node.name.lower()) else None)
            if handler is None and type(node).__name__ in _SESSION_NODES:
                handler = _FUNCTION_HANDLERS[_SESSION_NODES[type(node).__name__]]
            return handler(node, session, version) if handler is not None else node

        # PostgreSQL names an unaliased function column after the function (version, format_type)
        for dot in list(tree.find_all(exp.Dot)):
            if not (isinstance(dot.this, exp.Identifier) and isinstance(dot.expression, exp.Func)):
                continue
            schema = dot.this.name.lower()
            if schema == "pg_catalog":
                dot.replace(dot.expression)
            elif schema == "information_schema" and dot.expression.name.lower() == "_pg_expandarray":
                # a set-returning function of (x, n) records: DuckDB unnests a list of structs alike
                dot.replace(exp.Unnest(expressions=[
                    exp.Anonymous(this=f"{EMULATION}__pg_expandarray", expressions=dot.expression.expressions)
                ]))
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
        if params is not None:
            _compact_parameters(tree, params)
        return tree.sql(dialect="duckdb")

    @staticmethod
    def _cast(node: exp.Cast) -> exp.Expression:
        name = _type_name(node.to)
        inner = node.this
        stringy = isinstance(inner, exp.Literal) and inner.is_string or isinstance(inner, (exp.Anonymous, exp.Placeholder, exp.Parameter)) or (
            isinstance(inner, exp.Cast) and inner.to.is_type("text", "varchar")
        )
        if name in _REG_TYPES:  # 'name'::regclass is an OID, an OID::regclass a name: one macro each way
            return exp.Anonymous(this=f"{EMULATION}_{name}_{'oid' if stringy else 'name'}", expressions=[inner])
        if node.to.is_type(exp.DataType.Type.ARRAY) and node.to.expressions:
            element = _type_name(node.to.expressions[0])
            if element in _CAST_TYPES:
                return exp.Cast(this=inner, to=exp.DataType.build(f"{_CAST_TYPES[element]}[]", dialect="duckdb"))
        if node.to.is_type("text", "varchar") and isinstance(inner, exp.Column) and inner.name.lower() in _VECTORS:
            return exp.Anonymous(this="array_to_string", expressions=[inner, exp.Literal.string(" ")])
        if name in _CAST_TYPES:
            return exp.Cast(this=inner, to=exp.DataType.build(_CAST_TYPES[name], dialect="duckdb"))
        return node


# --- what rewrite() does to each node: dispatch tables ----------------------------------------------------------
# A handler takes (node, the session's values, the version string) and returns the node's replacement (or the
# node itself). rewrite() looks a node up by its class, then an unknown function by its name (a PostgreSQL
# session function, or one of MACROS: renamed to its emulation macro), then sqlglot's typed session functions.

def _literal(value) -> exp.Expression:
    return exp.Literal.string(value) if isinstance(value, str) else value


def _current_schema(session: SessionValues) -> str:
    return session.search_path[0] if session.search_path else "public"


def _table(node: exp.Table, _session: SessionValues, _version: str) -> exp.Expression:
    """A system catalog read from the emulation's schema; a set-returning function aliased ``s`` is also the
    column ``s``, as in PostgreSQL."""
    if isinstance(node.this, exp.Func):
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


#: bare names PostgreSQL reads as session functions (``SELECT user``, ``current_catalog``)
_SESSION_COLUMNS = ("session_user", "current_role", "user", "current_catalog")


def _column(node: exp.Column, session: SessionValues, _version: str) -> exp.Expression:
    if node.db.lower() == "pg_catalog":
        node.set("db", exp.to_identifier(EMULATION))
        return node
    if not node.table and node.name.lower() in _SESSION_COLUMNS:
        return _literal(session.user if node.name.lower() != "current_catalog" else session.database)
    return node


def _set_config(node: exp.Anonymous, _session: SessionValues, _version: str) -> exp.Expression:
    return node.expressions[1] if len(node.expressions) >= 2 else node  # set_config(name, value, local): value


def _macro(node: exp.Anonymous, _session: SessionValues, _version: str) -> exp.Expression:
    return exp.Anonymous(this=f"{EMULATION}_{node.name.lower()}", expressions=node.expressions)


#: the OID alias types a cast goes through an emulation macro for (MACROS' regclass_oid, regclass_name, ...)
_REG_TYPES = frozenset({"regproc", "regclass", "regtype", "regnamespace"})

_NODE_HANDLERS = {exp.Table: _table, exp.Column: _column}

#: PostgreSQL functions answered here (from the session) or renamed: name -> handler
_FUNCTION_HANDLERS = {
    "current_database": lambda _node, session, _version: _literal(session.database),
    "current_catalog": lambda _node, session, _version: _literal(session.database),
    "session_user": lambda _node, session, _version: _literal(session.user),
    "current_role": lambda _node, session, _version: _literal(session.user),
    "user": lambda _node, session, _version: _literal(session.user),
    "version": lambda _node, _session, version: _literal(version),
    "current_schema": lambda _node, session, _version: _literal(_current_schema(session)),
    "current_schemas": lambda _node, session, _version: exp.Array(
        expressions=[_literal(s) for s in ["pg_catalog", *session.search_path]]),
    "pg_backend_pid": lambda _node, session, _version: exp.Literal.number(session.pid),
    "set_config": _set_config,
    "json_build_object": lambda node, _session, _version: exp.Anonymous(this="json_object", expressions=node.expressions),
}

#: sqlglot's typed nodes for the same session functions: class name -> the name handled above
_SESSION_NODES = {
    "CurrentVersion": "version", "CurrentSchema": "current_schema", "CurrentUser": "session_user",
    "SessionUser": "session_user", "CurrentRole": "session_user", "CurrentDatabase": "current_database",
    "CurrentCatalog": "current_database",
}


#: set-returning functions a catalog query may call: the policy's, and PostgreSQL's catalog functions emulated here
CATALOG_TABLE_FUNCTIONS = policy.TABLE_FUNCTIONS | {"pg_get_keywords"}


#: functions returning one value (an array) that PostgreSQL also accepts in FROM, as a one-row table
_SCALAR_IN_FROM = (exp.StringToArray, exp.Split, exp.RegexpSplit)
_SCALAR_IN_FROM_NAMES = frozenset({"string_to_array", "regexp_split_to_array", "current_schemas", "parse_ident"})


def _scalar_functions_in_from(tree: exp.Expression) -> None:
    """``FROM string_to_array(...) s`` (Grafana's search_path walk): PostgreSQL reads a function that returns one
    value as a one-row table whose column is named after the alias; DuckDB only takes table functions there, so
    it becomes ``(SELECT string_to_array(...) AS s) AS s``."""
    for table in list(tree.find_all(exp.Table)):
        function = table.this
        if not (isinstance(function, _SCALAR_IN_FROM)
                or isinstance(function, exp.Anonymous) and function.name.lower() in _SCALAR_IN_FROM_NAMES):
            continue
        alias = table.args.get("alias")
        name = alias.name if isinstance(alias, exp.TableAlias) and alias.name else _function_name(function)
        column = alias.columns[0].name if isinstance(alias, exp.TableAlias) and alias.columns else name
        table.replace(exp.select(exp.alias_(function.copy(), column, quoted=True)).subquery(name))


def _compact_parameters(tree: exp.Expression, params: list) -> None:
    """Renumber ``$n`` so the statement uses every value of ``params`` (DuckDB refuses unused ones, and
    rewriting answers some, such as ``current_setting($1)``, itself); ``params`` is updated in place."""
    numbers: dict[int, int] = {}
    for node in tree.find_all(exp.Parameter):
        if node.name.isdigit():
            old = int(node.name)
            new = numbers.setdefault(old, len(numbers) + 1)
            node.set("this", exp.Literal.number(new))
    values = list(params)
    params[:] = [values[old - 1] if 0 < old <= len(values) else None for old, _ in sorted(numbers.items(), key=lambda x: x[1])]


def _settings(tree: exp.Expression, session: SessionValues, params: list) -> None:
    """``current_setting('name')`` (or ``$n``) becomes the session's value of the setting. An unknown one is
    an error, as in PostgreSQL (NULL with ``missing_ok``): the engine's own settings are never read."""
    for node in list(tree.find_all(exp.Anonymous)):
        if node.name.lower() != "current_setting" or not node.expressions:
            continue
        key = node.expressions[0]
        while isinstance(key, exp.Cast):
            key = key.this
        if isinstance(key, exp.Literal):
            name = key.name.lower()
        elif isinstance(key, exp.Parameter) and key.name.isdigit() and 0 < int(key.name) <= len(params):
            name = str(params[int(key.name) - 1]).lower()
        else:
            continue  # left for the policy to refuse
        value = session.get(name)
        missing_ok = len(node.expressions) > 1 and isinstance(node.expressions[1], exp.Boolean) and node.expressions[1].this
        if value is None and not missing_ok:
            raise UnknownSetting(f'unrecognized configuration parameter "{name}"')
        node.replace(exp.Literal.string(value) if value is not None else exp.null())


#: int2vector (22) and oidvector (30) columns: arrays inside a query (unnest, subscripts), text such as ``1 2``
#: typed int2vector/oidvector when a client reads them (SQLAlchemy splits ``indoption`` on spaces, psqlODBC
#: converts an int2vector into a C array of shorts)
_VECTORS = {"indkey": 22, "indoption": 22, "stxkeys": 22, "tgattr": 22, "indclass": 30, "indcollation": 30,
            "proargtypes": 30}
#: Arrow field metadata key: the PostgreSQL type OID a column is sent as, when its Arrow type does not say it
PG_OID = b"c360.pg_oid"


def _catalog_oid(field: pa.Field) -> int | None:
    """The type OID a catalog result column is sent as when its Arrow type does not say it: int2vector/oidvector
    text columns, and ``oid``/``oid[]`` for the emulation's UINTEGER oid columns (``pg_attribute.atttypid``:
    asyncpg aggregates it into an ``oid[]`` when it introspects a type, and loops for ever on an ``int8[]``)."""
    if field.name in _VECTORS and not pa.types.is_list(field.type):
        return _VECTORS[field.name]
    if pa.types.is_uint32(field.type):
        return OID_TYPE
    if pa.types.is_list(field.type) and pa.types.is_uint32(field.type.value_type):
        return OID_ARRAY
    return None


OID_TYPE, OID_ARRAY = 26, 1028


def vector_types(table: pa.Table) -> pa.Table:
    """``table`` with the columns :func:`_catalog_oid` types marked with their type OID (see :data:`PG_OID`)."""
    oids = [_catalog_oid(f) for f in table.schema]
    if not any(oids):
        return table
    fields = [f.with_metadata({PG_OID: str(oid).encode()}) if oid else f for f, oid in zip(table.schema, oids)]
    return table.cast(pa.schema(fields))


def _vector_subscripts(tree: exp.Expression) -> None:
    """``indkey[0]`` is the first key column: int2vector and oidvector count from 0, DuckDB's lists from 1."""
    for bracket in list(tree.find_all(exp.Bracket)):
        if isinstance(bracket.this, exp.Column) and bracket.this.name.lower() in _VECTORS and len(bracket.expressions) == 1:
            index = bracket.expressions[0]
            bracket.set("expressions", [exp.Add(this=exp.Paren(this=index.copy()), expression=exp.Literal.number(1))])


def _vectors_as_text(tree: exp.Expression) -> None:
    if not isinstance(tree, exp.Select):
        return
    for projection in list(tree.expressions):
        column = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(column, exp.Column) and column.name.lower() in _VECTORS:
            text = exp.Anonymous(this="array_to_string", expressions=[column.copy(), exp.Literal.string(" ")])
            if isinstance(projection, exp.Alias):
                projection.set("this", text)
            else:
                projection.replace(exp.alias_(text, column.name, quoted=True))


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
