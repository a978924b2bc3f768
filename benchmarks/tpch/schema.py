"""The eight TPC-H tables: columns, keys, indexes, and which source each one lives in.

Types are those DuckDB's ``dbgen`` produces (BIGINT keys, INTEGER nation and
region keys, DECIMAL(15,2) money and quantities, DATE), with the TPC-H
specification's VARCHAR lengths for the servers (VARCHAR, never CHAR: a
PostgreSQL CHAR(n) comes back space-padded and a MariaDB CHAR(n) trimmed, and
``c_address`` values end in spaces). Primary keys are the specification's; the
secondary indexes are on its foreign keys (added after the bulk load).

The DDL is built as sqlglot trees and generated per dialect.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

#: Source name -> (its kind in the c360 catalog, what it is here).
SOURCES = {
    "crm": ("odbc", "PostgreSQL through ODBC (psqlODBC 'PostgreSQL Unicode'), standing in for SQL Server"),
    "shop": ("mysql", "MariaDB"),
    "partners": ("json", "newline-delimited JSON files"),
    "vendors": ("blob", "parquet in Azure Blob Storage (Azurite)"),
}


@dataclass(frozen=True)
class Table:
    name: str
    source: str
    columns: tuple[tuple[str, str], ...]  # (name, type as PostgreSQL/MySQL spell it)
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def duckdb_columns(self) -> dict[str, str]:
        """``{column: DuckDB type}``: VARCHAR without a length (DuckDB ignores it anyway)."""
        return {name: ("VARCHAR" if kind.startswith("VARCHAR") else kind) for name, kind in self.columns}

    def create(self, dialect: str) -> str:
        """``CREATE TABLE`` with NOT NULL columns and the primary key, in ``dialect``."""
        definitions = [
            exp.ColumnDef(
                this=exp.to_identifier(name),
                kind=exp.DataType.build(kind, dialect="postgres"),
                constraints=[exp.ColumnConstraint(kind=exp.NotNullColumnConstraint())],
            )
            for name, kind in self.columns
        ]
        primary = exp.PrimaryKey(expressions=[exp.to_identifier(c) for c in self.key])
        return exp.Create(
            kind="TABLE", this=exp.Schema(this=exp.to_table(self.name), expressions=[*definitions, primary])
        ).sql(dialect)

    def create_indexes(self, dialect: str) -> list[str]:
        """One ``CREATE INDEX <table>_<columns>`` per secondary index, in ``dialect``."""
        return [
            exp.Create(
                kind="INDEX",
                this=exp.Index(
                    this=exp.to_identifier("_".join((self.name, *columns))),
                    table=exp.to_table(self.name),
                    params=exp.IndexParameters(columns=[exp.column(c) for c in columns]),
                ),
            ).sql(dialect)
            for columns in self.indexes
        ]

    def drop(self, dialect: str) -> str:
        return exp.Drop(kind="TABLE", tables=[exp.to_table(self.name)], exists=True).sql(dialect)


def _columns(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(tuple(part.strip().split(" ", 1)) for part in text.split(";"))  # type: ignore[misc]


MONEY = "DECIMAL(15,2)"

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "region",
            "crm",
            _columns("r_regionkey INTEGER; r_name VARCHAR(25); r_comment VARCHAR(152)"),
            key=("r_regionkey",),
        ),
        Table(
            "nation",
            "crm",
            _columns("n_nationkey INTEGER; n_name VARCHAR(25); n_regionkey INTEGER; n_comment VARCHAR(152)"),
            key=("n_nationkey",),
            indexes=(("n_regionkey",),),
        ),
        Table(
            "customer",
            "crm",
            _columns(
                "c_custkey BIGINT; c_name VARCHAR(25); c_address VARCHAR(40); c_nationkey INTEGER; "
                "c_phone VARCHAR(15); "
                f"c_acctbal {MONEY}; c_mktsegment VARCHAR(10); c_comment VARCHAR(117)"
            ),
            key=("c_custkey",),
            indexes=(("c_nationkey",),),
        ),
        Table(
            "orders",
            "shop",
            _columns(
                f"o_orderkey BIGINT; o_custkey BIGINT; o_orderstatus VARCHAR(1); o_totalprice {MONEY}; "
                "o_orderdate DATE; "
                "o_orderpriority VARCHAR(15); o_clerk VARCHAR(15); o_shippriority INTEGER; o_comment VARCHAR(79)"
            ),
            key=("o_orderkey",),
            indexes=(("o_custkey",),),
        ),
        Table(
            "lineitem",
            "shop",
            _columns(
                f"l_orderkey BIGINT; l_partkey BIGINT; l_suppkey BIGINT; l_linenumber BIGINT; l_quantity {MONEY}; "
                f"l_extendedprice {MONEY}; l_discount {MONEY}; l_tax {MONEY}; l_returnflag VARCHAR(1); "
                "l_linestatus VARCHAR(1); l_shipdate DATE; l_commitdate DATE; l_receiptdate DATE; "
                "l_shipinstruct VARCHAR(25); l_shipmode VARCHAR(10); "
                "l_comment VARCHAR(44)"
            ),
            key=("l_orderkey", "l_linenumber"),
            indexes=(("l_partkey", "l_suppkey"), ("l_suppkey",)),
        ),
        Table(
            "part",
            "partners",
            _columns(
                "p_partkey BIGINT; p_name VARCHAR(55); p_mfgr VARCHAR(25); p_brand VARCHAR(10); "
                "p_type VARCHAR(25); "
                f"p_size INTEGER; p_container VARCHAR(10); p_retailprice {MONEY}; p_comment VARCHAR(23)"
            ),
            key=("p_partkey",),
        ),
        Table(
            "partsupp",
            "partners",
            _columns(
                f"ps_partkey BIGINT; ps_suppkey BIGINT; ps_availqty BIGINT; ps_supplycost {MONEY}; "
                "ps_comment VARCHAR(199)"
            ),
            key=("ps_partkey", "ps_suppkey"),
        ),
        Table(
            "supplier",
            "vendors",
            _columns(
                "s_suppkey BIGINT; s_name VARCHAR(25); s_address VARCHAR(40); s_nationkey INTEGER; "
                "s_phone VARCHAR(15); "
                f"s_acctbal {MONEY}; s_comment VARCHAR(101)"
            ),
            key=("s_suppkey",),
        ),
    )
}


def tables_of(source: str) -> list[Table]:
    return [t for t in TABLES.values() if t.source == source]
