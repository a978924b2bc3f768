"""The statement policy every front door shares: read queries over the catalog, nothing else.

c360 answers questions; it is not a shell on the host. :func:`check` is called
on every parsed statement (the CLI, ``c360.connect()`` and ``c360 serve`` all
parse through :func:`c360.planner.parse.parse`) before anything runs, and
raises :class:`~c360.errors.NotSupportedError` naming what was refused.

Allowed at the top: ``SELECT`` / ``WITH`` / ``VALUES`` and set operations of
them, ``EXPLAIN [ANALYZE]`` of those (checked by the engine after it strips the
prefix), ``SET VARIABLE`` / ``RESET VARIABLE``, ``SET`` / ``RESET`` of
:data:`SESSION_SETTINGS` (``max_staleness``), ``SHOW`` and ``DESCRIBE``
(answered from the catalog). Inside a query, every node must be one a read
query is made of: writes, ``COPY``, ``ATTACH``, ``INSTALL``/``LOAD``,
``PRAGMA``, ``CALL``, ``USE`` and raw commands are refused wherever they
appear, and table functions only from :data:`TABLE_FUNCTIONS` (no file or URL
readers: files are read only through catalog sources).

This is the first wall. The second is the engine's DuckDB connection, opened
with external access off, extension install and autoload off and its
configuration locked (:func:`c360.lockdown.locked_config`), so a statement that slipped past
this module still cannot open a file or the network.
"""

from __future__ import annotations

from sqlglot import exp

from c360.errors import NotSupportedError, ReadOnlyError
from c360.lockdown import lock, locked_config  # noqa: F401 - the second wall, kept apart so it loads without sqlglot

#: Table functions a query may call: they compute rows, they read nothing.
TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest", "generate_subscripts"})

#: c360's own session settings (``SET name = value``, ``RESET name``), answered by the engine, never by DuckDB.
SESSION_SETTINGS = frozenset({"max_staleness"})

#: Scalar functions refused anywhere: they reveal the host or the engine's configuration.
SCALAR_FUNCTIONS_REFUSED = frozenset({"getenv", "current_setting", "duckdb_secrets"})

_QUERY = (exp.Select, exp.SetOperation, exp.Values, exp.Subquery)

#: Statement kinds refused anywhere in a tree, with the words used to name them.
_REFUSED_NODES = {
    exp.Copy: "COPY",
    exp.Attach: "ATTACH",
    exp.Detach: "DETACH",
    exp.Install: "INSTALL",
    exp.Pragma: "PRAGMA",
    exp.Use: "USE",
    exp.Command: "this statement",
}

_WRITES = {
    exp.Insert: "INSERT",
    exp.Update: "UPDATE",
    exp.Delete: "DELETE",
    exp.Merge: "MERGE",
    exp.Create: "CREATE",
    exp.Drop: "DROP",
    exp.Alter: "ALTER",
    exp.TruncateTable: "TRUNCATE",
}

_TYPED_TABLE_FUNCTIONS = {exp.GenerateSeries: "generate_series", exp.Unnest: "unnest"}


def check(statement: exp.Expression) -> None:
    """Raise NotSupportedError (or ReadOnlyError for writes) unless ``statement`` is a read statement."""
    refuse_writes(statement)
    if isinstance(statement, exp.Set):
        for item in statement.expressions:
            if (item.text("kind") or "").upper() != "VARIABLE" and _setting_name(item).lower() not in SESSION_SETTINGS:
                raise NotSupportedError(
                    f"SET {_setting_name(item)} is not allowed: only SET VARIABLE name = value "
                    f"(c360's own session variables) and SET {' / '.join(sorted(SESSION_SETTINGS))} can be set"
                )
        check_query(statement)
        return
    if isinstance(statement, (exp.Show, exp.Describe)):
        check_query(statement)
        return
    if isinstance(statement, exp.Command):
        verb = statement.name.upper()
        if verb == "RESET" and (statement.expression.name.upper().startswith("VARIABLE ")
                                or statement.expression.name.strip().lower() in SESSION_SETTINGS):
            return
        if verb == "SHOW":
            return  # answered from the catalog (c360.introspect), never by DuckDB
        raise NotSupportedError(f"{verb} statements are not allowed: c360 runs read queries only")
    if not isinstance(statement, _QUERY):
        raise NotSupportedError(f"{_kind(statement)} statements are not allowed: c360 runs read queries only")
    check_query(statement)


def check_query(statement: exp.Expression, *, table_functions: frozenset[str] = TABLE_FUNCTIONS) -> None:
    """Refuse statements nested anywhere in a query, table functions outside ``table_functions``
    (file and URL readers above all), and host-revealing functions."""
    for node in statement.walk():
        for kind, verb in _WRITES.items():
            if isinstance(node, kind):
                raise ReadOnlyError(f"c360 is read-only: {verb} is not allowed")
        for kind, verb in _REFUSED_NODES.items():
            if isinstance(node, kind):
                name = node.name.upper() if isinstance(node, exp.Command) else verb
                raise NotSupportedError(f"{name} is not allowed: c360 runs read queries only")
        if isinstance(node, exp.Table):
            _check_table(node, table_functions)
        elif isinstance(node, exp.Lateral) and isinstance(node.this, (exp.Func, exp.Anonymous)):
            _check_table_function(node.this, table_functions)
        elif isinstance(node, exp.Func) and _function_name(node) in SCALAR_FUNCTIONS_REFUSED:
            raise NotSupportedError(f"The function {_function_name(node)}() is not allowed")


def _check_table(table: exp.Table, table_functions: frozenset[str]) -> None:
    target = table.this
    if isinstance(target, (exp.Func, exp.Anonymous)):
        _check_table_function(target, table_functions)
        return
    single = not table.args.get("db") and not table.args.get("catalog")
    named_path = single and isinstance(target, exp.Identifier) and _looks_like_path(target.name)
    if isinstance(target, exp.Literal) or named_path:
        raise NotSupportedError(
            f"Reading '{target.name}' directly is not allowed: files are read only through catalog sources"
        )


def _check_table_function(function: exp.Expression, table_functions: frozenset[str]) -> None:
    name = _function_name(function)
    if name not in table_functions:
        raise NotSupportedError(
            f"The table function {name}() is not allowed: files and URLs are read only through catalog sources"
            f" (allowed: {', '.join(sorted(table_functions))})"
        )


def _function_name(function: exp.Expression) -> str:
    for kind, name in _TYPED_TABLE_FUNCTIONS.items():
        if isinstance(function, kind):
            return name
    if isinstance(function, exp.Anonymous):
        return str(function.name).lower()
    return function.sql_name().lower() if isinstance(function, exp.Func) else type(function).__name__.lower()


def _looks_like_path(name: str) -> bool:
    """A one-part table name DuckDB would read as a file (``FROM '/etc/passwd'``, ``FROM 'x.csv'``)."""
    return any(mark in name for mark in ("/", "\\", ":")) or "." in name


def refuse_writes(statement: exp.Expression) -> None:
    """Raise ReadOnlyError for INSERT/UPDATE/DELETE/DDL, naming the source when the target is one."""
    for kind, verb in _WRITES.items():
        if isinstance(statement, kind):
            target = statement.this if isinstance(statement.this, exp.Table) else statement.find(exp.Table)
            if isinstance(target, exp.Schema):
                target = target.this
            source = None
            if isinstance(target, exp.Table):
                source = target.catalog or target.db or None
            if source:
                raise ReadOnlyError(f"Source '{source}' is read-only: {verb} is not allowed")
            raise ReadOnlyError(f"c360 is read-only: {verb} is not allowed")


def _kind(statement: exp.Expression) -> str:
    return {exp.Summarize: "SUMMARIZE", exp.Pivot: "PIVOT"}.get(type(statement), type(statement).__name__.upper())


def _setting_name(item: exp.Expression) -> str:
    target = item.this.this if isinstance(item.this, exp.EQ) else item.this
    return target.sql(dialect="duckdb") if isinstance(target, exp.Expression) else str(target)
