"""``schema.table.column`` references: each such table gets an alias, and its columns name the alias.

DuckDB and PostgreSQL both accept ``SELECT shop.orders.status FROM shop.orders``; the planner replaces
tables by scans, after which a three-part name inside a correlated subquery no longer resolves
(``Referenced table "shop" not found``). Read once after parsing, in either dialect::

    SELECT shop.customers.name, (SELECT count(*) FROM shop.orders
        WHERE shop.orders.customer_id = shop.customers.customer_id) FROM shop.customers
    -> SELECT "customers".name, (SELECT count(*) FROM shop.orders AS "orders"
        WHERE "orders".customer_id = "customers".customer_id) FROM shop.customers AS "customers"

``missing(column)`` gives the error for a three-part name whose table is not in FROM (PostgreSQL's wording
in :mod:`c360.postgres`); without it such a column is left to DuckDB's binder.
"""

from __future__ import annotations

from sqlglot import exp


def qualified_columns(tree: exp.Expression, *, missing=None) -> exp.Expression:
    """``schema.table.column`` references: the table gets an alias (its name) and the column names it (a
    table named without its schema, found on the search path, is named by its name or alias)."""
    columns = [c for c in tree.find_all(exp.Column) if c.args.get("db")]
    if not columns:
        return tree
    aliases: dict[tuple[str, str, str], str] = {}
    used: set[str] = set()
    for table in tree.find_all(exp.Table):
        if table.alias:
            used.add(table.alias.lower())
    for table in tree.find_all(exp.Table):
        if not table.args.get("db") or table.alias or not isinstance(table.this, exp.Identifier):
            continue
        key = (table.catalog.lower(), table.db.lower(), table.name.lower())
        if key in aliases:
            continue
        alias, n = table.name, 1
        while alias.lower() in used:
            n += 1
            alias = f"{table.name}_{n}"
        used.add(alias.lower())
        aliases[key] = alias
    renamed = set()
    for column in columns:
        key = (column.catalog.lower(), column.db.lower(), column.table.lower())
        alias = aliases.get(key)
        if alias is None:
            # pg_catalog.pg_class.oid over FROM pg_class: the table found on the search path
            unqualified = [t for t in tree.find_all(exp.Table) if not t.args.get("db") and t.name.lower() == key[2]]
            if unqualified:
                alias = unqualified[0].alias_or_name
                key = None
        if alias is None:
            if missing is not None:
                raise missing(column)
            continue  # DuckDB says what it cannot find
        column.set("catalog", None)
        column.set("db", None)
        column.set("table", exp.to_identifier(alias, quoted=True))
        if key is not None:
            renamed.add(key)
    for table in tree.find_all(exp.Table):
        key = (table.catalog.lower(), table.db.lower(), table.name.lower())
        if key in renamed and not table.alias and table.args.get("db"):
            table.set("alias", exp.TableAlias(this=exp.to_identifier(aliases[key], quoted=True)))
    return tree
