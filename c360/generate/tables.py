"""The generated tables' columns and their types per target.

Types are written once, as data, in the portable names the SQLite connector maps
to Arrow (``BIGINT``, ``VARCHAR(n)``, ``DECIMAL(12,2)``, ``DATE``, ``TIMESTAMP``,
``BOOLEAN``); :func:`ddl` renders them for SQLite, MariaDB or PostgreSQL.
"""

from __future__ import annotations

TABLES = {
    "customers": (
        ("customer_id", "BIGINT"), ("first_name", "VARCHAR(50)"), ("last_name", "VARCHAR(50)"),
        ("email", "VARCHAR(120)"), ("phone", "VARCHAR(30)"), ("gender", "VARCHAR(1)"), ("birth_date", "DATE"),
        ("income_band", "VARCHAR(10)"), ("household_size", "INTEGER"), ("head_of_household", "BOOLEAN"),
        ("city", "VARCHAR(60)"), ("state", "VARCHAR(2)"), ("country", "VARCHAR(2)"), ("signup_date", "DATE"),
        ("marketing_opt_in", "BOOLEAN"),
    ),
    "products": (("product_id", "INTEGER"), ("name", "VARCHAR(100)"), ("category", "VARCHAR(30)"),
                 ("list_price", "DECIMAL(12,2)")),
    "orders": (("order_id", "BIGINT"), ("customer_id", "BIGINT"), ("order_ts", "TIMESTAMP"),
               ("channel", "VARCHAR(10)"), ("status", "VARCHAR(10)")),
    "order_items": (("order_id", "BIGINT"), ("line_no", "INTEGER"), ("product_id", "INTEGER"),
                    ("quantity", "INTEGER"), ("unit_price", "DECIMAL(12,2)")),
}
KEYS = {"customers": ("customer_id",), "products": ("product_id",), "orders": ("order_id",),
        "order_items": ("order_id", "line_no")}
INDEXES = {"orders": ("customer_id", "order_ts"), "order_items": ("product_id",)}

_MYSQL = {"TIMESTAMP": "DATETIME", "BOOLEAN": "BOOLEAN"}
_POSTGRES = {"DECIMAL(12,2)": "NUMERIC(12,2)"}


def ddl(table: str, dialect: str) -> list[str]:
    """CREATE TABLE (and index) statements for ``table`` in ``sqlite``, ``mysql`` or ``postgres``."""
    mapping = {"mysql": _MYSQL, "postgres": _POSTGRES}.get(dialect, {})
    quote = "`" if dialect == "mysql" else '"'
    columns = ", ".join(f"{quote}{name}{quote} {mapping.get(kind, kind)}" for name, kind in TABLES[table])
    key = ", ".join(f"{quote}{k}{quote}" for k in KEYS[table])
    statements = [f"CREATE TABLE {quote}{table}{quote} ({columns}, PRIMARY KEY ({key}))"]
    for column in INDEXES.get(table, ()):
        statements.append(
            f"CREATE INDEX {quote}{table}_{column}{quote} ON {quote}{table}{quote} ({quote}{column}{quote})"
        )
    return statements
