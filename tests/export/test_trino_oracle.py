"""The meaning of the exported Trino views, checked without a Trino server: each exported view, parsed
with sqlglot's Trino dialect and translated back to DuckDB's, runs through c360 over the fixed world of
:mod:`tests.views.world` and must give c360's own answer for the view (the oracle), as of two dates.

The views it reads are the exported ones too (inlined as subqueries), so ``customer_360`` is the exported
base view joined to the exported model-as-SQL, compared with c360's view scored by its UDF. Only the
source tables are c360's: ``shop.c360_shop.orders`` is read as ``shop.orders``. This proves the
translation keeps the meaning as far as DuckDB can tell; that Trino itself gives the same answers is
not proven here (no Trino server can be installed; docs/trino.md).
"""

from __future__ import annotations

import functools
import math
import shutil
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

import c360
from c360.catalog import Catalog
from c360.export.trino import export_trino
from tests.views.world import AS_OF, EARLIER, write_world

REPO = Path(__file__).resolve().parents[2]
RAISE = sqlglot.ErrorLevel.RAISE


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """The fixed world's catalog folder, with the repository's model next to it."""
    catalog = write_world(tmp_path_factory.mktemp("world"))
    shutil.copytree(REPO / "models", catalog.parent / "models")
    return catalog


@functools.cache
def _exported(as_of) -> dict[str, exp.Expression]:
    """The demo project's exported views (``as_of`` baked in), as SELECT trees parsed with Trino's dialect."""
    files = export_trino(Catalog(REPO / "catalog", profile="servers"), as_of=as_of, storage_account="acct").files
    return {s.this.name: s.expression for s in sqlglot.parse(files["views.sql"], read="trino")
            if s.args.get("kind") == "VIEW"}


def _inlined(name: str, views: dict[str, exp.Expression], *, kept: str = "") -> exp.Expression:
    """View ``name`` with every exported view it reads inlined (but ``kept``, left as a plain table name), and
    source tables named as c360 names them."""
    tree = views[name].copy()
    for table in list(tree.find_all(exp.Table)):
        alias = table.args.get("alias")
        if table.catalog == "c360" and table.db == "views" and table.name == kept:
            table.set("catalog", None)
            table.set("db", None)
        elif table.catalog == "c360" and table.db == "views":
            inner = _inlined(table.name, views, kept=kept)
            table.replace(exp.Subquery(this=inner, alias=alias.copy() if alias else None))
        else:
            renamed = exp.table_(table.name, db=table.catalog)
            if alias:
                renamed.set("alias", alias.copy())
            table.replace(renamed)
    return tree


def _answer(connection, sql: str):
    cursor = connection.cursor()
    cursor.execute(sql)
    return [d[0] for d in cursor.description], cursor.fetchall()


def _exported_answer(connection, view: str, views: dict[str, exp.Expression]):
    """The exported view's answer. ``customer_360``: its exported base through c360, then the exported model
    and join in a plain DuckDB over that base (c360's planner would spend a minute on the model's CASEs)."""
    if view != "customer_360":
        return _answer(connection, _inlined(view, views).sql(dialect="duckdb", unsupported_level=RAISE))
    cursor = connection.cursor()
    cursor.execute(_inlined("customer_360_base", views).sql(dialect="duckdb", unsupported_level=RAISE))
    local = duckdb.connect()
    local.register("customer_360_base", cursor.fetch_arrow())
    result = local.execute(_inlined(view, views, kept="customer_360_base").sql(dialect="duckdb",
                                                                                 unsupported_level=RAISE))
    return [d[0] for d in result.description], result.fetchall()


def _same(got, expected, tolerance: float = 1e-12) -> bool:
    """Equal; floats within ``tolerance`` (the model as SQL sums its leaves in another order than the UDF:
    within 1e-6, as tests/model/test_export_sql.py holds it)."""
    if isinstance(got, float) and isinstance(expected, float):
        return math.isclose(got, expected, rel_tol=1e-9, abs_tol=tolerance)
    if isinstance(got, (list, tuple)) and isinstance(expected, (list, tuple)):
        return len(got) == len(expected) and all(_same(g, e, tolerance) for g, e in zip(got, expected))
    return got == expected or float(got) == float(expected) if isinstance(got, (int, float)) and isinstance(
        expected, (int, float)) else got == expected


@pytest.mark.parametrize("date", [AS_OF, EARLIER], ids=str)
@pytest.mark.parametrize("view", ["rfm", "purchase_features", "browsing_features", "customer_360", "order_history"])
def test_the_exported_view_translated_back_gives_c360s_answer(world, view, date):
    views = _exported(date)
    connection = c360.connect(world)
    try:
        connection.execute(f"SET VARIABLE as_of = DATE '{date.isoformat()}'")
        got_columns, got = _exported_answer(connection, view, views)
        columns, expected = _answer(connection, f"SELECT * FROM {view}")
    finally:
        connection.close()
    assert got_columns == columns
    assert expected, "the world gives the view rows on this date"
    got, expected = sorted(got, key=repr), sorted(expected, key=repr)
    assert len(got) == len(expected)
    for got_row, expected_row in zip(got, expected):
        assert all(_same(g, e, 1e-6 if c.startswith("p_") else 1e-12)
                   for c, g, e in zip(columns, got_row, expected_row)), (got_row, expected_row)
