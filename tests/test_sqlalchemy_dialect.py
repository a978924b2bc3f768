"""The SQLAlchemy dialect (``c360:///project``) over the DB-API: reflection from the catalog, Core
statements compared with the same statements run by SQLAlchemy on the SQLite file itself, pandas
and jupysql's ``%sql`` in-process."""

from __future__ import annotations

import datetime
import decimal

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, NoSuchTableError

from tests.projects import project, shop_project, sqlite_file

VIEWS = {"big_orders": "-- orders over 10\nSELECT order_id, customer_id, amount FROM shop.orders WHERE amount > 10\n"}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("sqla")
    shop_project(root, views=VIEWS)
    return root


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def engine(request, root):
    engine = sa.create_engine(f"c360:///{root}?dialect={request.param}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def sqlite(root):
    engine = sa.create_engine(f"sqlite:///{root}/shop.sqlite")
    yield engine
    engine.dispose()


META = sa.MetaData()
ORDERS = sa.Table(
    "orders", META, sa.Column("order_id", sa.Integer), sa.Column("customer_id", sa.BigInteger),
    sa.Column("amount", sa.Numeric(12, 2)), sa.Column("order_ts", sa.DateTime), sa.Column("status", sa.String),
    schema="shop",
)
CUSTOMERS = sa.Table(
    "customers", META, sa.Column("customer_id", sa.BigInteger), sa.Column("name", sa.String),
    sa.Column("signup", sa.Date), schema="shop",
)
OC, CC = ORDERS.c, CUSTOMERS.c


def _per_customer():
    counts = sa.select(OC.customer_id, sa.func.count().label("n")).group_by(OC.customer_id).cte("counts")
    return sa.select(counts.c.customer_id, counts.c.n).where(counts.c.n > 1)


#: Core statements whose meaning is the same in SQLite and PostgreSQL (SQLite's LIKE ignores case
#: and sorts NULL first: those are left out)
STATEMENTS = {
    "where and order": sa.select(OC.order_id, OC.amount).where(OC.amount > 10).order_by(OC.order_id.desc()),
    "group by with a label": sa.select(OC.status, sa.func.count().label("n"))
    .where(OC.status.is_not(None)).group_by(OC.status).order_by(sa.desc("n"), OC.status),
    "ilike": sa.select(OC.order_id).where(OC.status.ilike("PAID")).order_by(OC.order_id),
    "in list": sa.select(OC.order_id).where(OC.customer_id.in_([42, 44])).order_by(OC.order_id),
    "not in": sa.select(OC.order_id).where(OC.customer_id.not_in([42])).order_by(OC.order_id),
    "empty in": sa.select(OC.order_id).where(OC.customer_id.in_([])),
    "between datetimes": sa.select(OC.order_id)
    .where(OC.order_ts.between(datetime.datetime(2026, 1, 15), datetime.datetime(2026, 3, 1, 12)))
    .order_by(OC.order_id),
    "date parameter": sa.select(CC.name).where(CC.signup >= datetime.date(2025, 6, 1)).order_by(CC.name),
    "decimal parameter": sa.select(OC.order_id).where(OC.amount == decimal.Decimal("12.99")),
    "outer join": sa.select(CC.name, sa.func.sum(OC.amount).label("spent"))
    .join_from(CUSTOMERS, ORDERS, CC.customer_id == OC.customer_id, isouter=True).group_by(CC.name).order_by(CC.name),
    "limit offset": sa.select(OC.order_id).order_by(OC.order_id).limit(2).offset(1),
    "case": sa.select(OC.order_id, sa.case((OC.amount > 10, "big"), else_="small").label("size")).order_by(OC.order_id),
    "coalesce": sa.select(sa.func.coalesce(OC.status, "none")).order_by(OC.order_id),
    "concat and cast": sa.select((CC.name + "-" + sa.cast(CC.customer_id, sa.String)).label("x"))
    .order_by(CC.customer_id),
    "cte": _per_customer(),
    "union all": sa.union_all(sa.select(OC.customer_id), sa.select(CC.customer_id)).order_by("customer_id"),
    "is null": sa.select(OC.order_id).where(OC.status.is_(None)),
    "is distinct from": sa.select(OC.order_id).where(OC.status.is_distinct_from("paid")).order_by(OC.order_id),
    "contains with escape": sa.select(OC.order_id).where(OC.status.contains("ai", autoescape=True))
    .order_by(OC.order_id),
    "startswith": sa.select(OC.order_id).where(OC.status.startswith("p")).order_by(OC.order_id),
    "exists": sa.select(CC.name).where(sa.exists().where(OC.customer_id == CC.customer_id)).order_by(CC.name),
    "window": sa.select(OC.order_id, sa.func.row_number().over(partition_by=OC.customer_id, order_by=OC.order_id)
                        .label("rn")).order_by(OC.order_id),
    "literal with a quote": sa.select(sa.literal("x'y").label("q")),
    "an aliased table joined to itself": (lambda a, b: sa.select(a.c.order_id, b.c.order_id)
                                          .join_from(a, b, sa.and_(a.c.customer_id == b.c.customer_id,
                                                                   a.c.order_id < b.c.order_id)))
    (ORDERS.alias("a"), ORDERS.alias("b")),
}


@pytest.mark.parametrize("name", STATEMENTS)
def test_core_statements_answer_as_sqlalchemy_on_the_source_itself(engine, sqlite, name):
    statement = STATEMENTS[name]
    with engine.connect() as connection:
        got = [tuple(row) for row in connection.execute(statement)]
    with sqlite.connect().execution_options(schema_translate_map={"shop": None}) as connection:
        want = [tuple(row) for row in connection.execute(statement)]
    assert got == want


def test_a_correlated_subquery_names_the_outer_table_through_its_alias(engine):
    """PostgreSQL's compiler writes ``shop.customers.customer_id`` inside the scalar subquery, which DuckDB
    cannot bind; the dialect aliases ``shop.customers AS "shop.customers"`` and names columns through it."""
    count = sa.select(sa.func.count()).where(OC.customer_id == CC.customer_id).scalar_subquery()
    with engine.connect() as connection:
        rows = connection.execute(sa.select(CC.name, count.label("n")).order_by(CC.name)).all()
    assert [tuple(r) for r in rows] == [("Ann", 2), ("Bob", 1), ("Cy", 1), ("Dee", 0)]


def test_the_inspector_reads_the_catalog_sources_as_schemas_and_views_under_c360(engine):
    inspector = sa.inspect(engine)
    assert inspector.get_schema_names() == ["shop", "c360"]
    assert inspector.default_schema_name == "c360"
    assert inspector.get_table_names("shop") == ["customers", "orders"]
    assert inspector.get_view_names("shop") == []
    assert inspector.get_view_names("c360") == inspector.get_view_names() == ["big_orders"]
    assert inspector.get_table_names("c360") == [] and inspector.get_table_names("nowhere") == []
    columns = {c["name"]: c for c in inspector.get_columns("orders", schema="shop")}
    assert list(columns) == ["order_id", "customer_id", "amount", "order_ts", "status"]
    assert isinstance(columns["customer_id"]["type"], sa.BigInteger)
    assert isinstance(columns["order_ts"]["type"], sa.DateTime)
    assert isinstance(columns["status"]["type"], sa.String)
    view = {c["name"]: c["type"] for c in inspector.get_columns("big_orders", schema="c360")}
    assert list(view) == ["order_id", "customer_id", "amount"]
    assert "amount > 10" in inspector.get_view_definition("big_orders", schema="c360")
    assert inspector.has_table("orders", schema="shop") and not inspector.has_table("orders")
    assert inspector.get_pk_constraint("orders", schema="shop")["constrained_columns"] == []  # SQLite declares none
    assert inspector.get_indexes("orders", schema="shop") == [] and inspector.get_foreign_keys("orders", "shop") == []
    with pytest.raises(NoSuchTableError):
        inspector.get_columns("nope", schema="shop")


def test_keys_and_indexes_are_the_sources_own(tmp_path):
    sqlite_file(tmp_path / "shop.sqlite", "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id BIGINT, "
                                          "order_ts TIMESTAMP); CREATE INDEX by_customer ON orders (customer_id);")
    project(tmp_path, "sources:\n  shop:\n    kind: sqlite\n    path: ../shop.sqlite\n")
    inspector = sa.inspect(sa.create_engine(f"c360:///{tmp_path}"))
    assert inspector.get_pk_constraint("orders", schema="shop") == {"constrained_columns": ["order_id"],
                                                                     "name": "orders_pkey"}
    assert inspector.get_indexes("orders", schema="shop") == [
        {"name": "orders_customer_id_idx", "column_names": ["customer_id"], "unique": False}]
    table = sa.Table("orders", sa.MetaData(), autoload_with=inspector.bind, schema="shop")
    assert [c.name for c in table.primary_key] == ["order_id"]


def test_tables_reflect_and_pandas_reads_them(engine):
    metadata = sa.MetaData()
    metadata.reflect(engine, schema="shop")
    assert sorted(metadata.tables) == ["shop.customers", "shop.orders"]
    orders = sa.Table("orders", sa.MetaData(), autoload_with=engine, schema="shop")
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.sum(orders.c.amount))).scalar() == decimal.Decimal("118.49")
    frame = pd.read_sql_table("customers", engine, schema="shop")
    assert frame["name"].tolist() == ["Ann", "Bob", "Cy", "Dee"]
    assert pd.read_sql_table("big_orders", engine)["order_id"].tolist() == [1, 4]


def test_pandas_read_sql_with_a_parameter(root):
    engine = sa.create_engine(f"c360:///{root}")
    frame = pd.read_sql(sa.text("SELECT name FROM shop.customers WHERE customer_id >= :low ORDER BY name"),
                        engine, params={"low": 44})
    assert frame["name"].tolist() == ["Cy", "Dee"]


def test_the_url_names_a_project_or_a_catalog_folder_and_rejects_unknown_options(root):
    for url in (f"c360:///{root}", f"c360:///{root}/catalog", f"c360:///{root}?profile=embedded"):
        with sa.create_engine(url).connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM shop.orders")).scalar() == 4
    with pytest.raises(ArgumentError, match="Unknown c360 URL option.*colour"):
        sa.create_engine(f"c360:///{root}?colour=red").connect()
    with pytest.raises(ArgumentError, match="Unknown c360 dialect 'mysql'"):
        sa.create_engine(f"c360:///{root}?dialect=mysql").connect()


def test_errors_come_back_as_sqlalchemy_errors_carrying_c360s_message(root):
    engine = sa.create_engine(f"c360:///{root}")
    with pytest.raises(sa.exc.ProgrammingError, match="nope"), engine.connect() as connection:
        connection.execute(sa.text("SELECT * FROM shop.nope"))


def test_jupysql_sql_magic_runs_against_a_project_without_a_server(root):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "sql")
    shell.run_line_magic("config", "SqlMagic.autopandas = True")
    shell.run_line_magic("sql", f"c360:///{root}")
    frame = shell.run_cell_magic("sql", "", "SELECT status, count(*) AS n FROM shop.orders\n"
                                             "WHERE status IS NOT NULL GROUP BY status ORDER BY n DESC")
    assert frame.to_dict("records") == [{"status": "paid", "n": 2}, {"status": "CANCELLED", "n": 1}]
    assert shell.run_line_magic("sql", "SELECT order_id FROM big_orders ORDER BY 1")["order_id"].tolist() == [1, 4]
    assert "customers" in str(shell.run_line_magic("sqlcmd", "tables --schema shop"))
    assert "NUMERIC(12, 2)" in str(shell.run_line_magic("sqlcmd", "columns --table big_orders --schema c360"))
    shell.run_line_magic("sql", "SET VARIABLE as_of = DATE '2026-02-01'")  # holds: jupysql keeps one connection
    assert str(shell.run_line_magic("sql", "SELECT getvariable('as_of') AS as_of")["as_of"][0]) == "2026-02-01"
