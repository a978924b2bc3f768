"""What Tab offers in ``c360 shell`` (:func:`c360.cli.completion.candidates`), on a real catalog."""

from __future__ import annotations

import pytest

from c360.catalog import Catalog
from c360.cli.completion import Names, candidates, relations
from c360.views import load_views
from tests.projects import shop_project


@pytest.fixture
def names(tmp_path):
    shop_project(tmp_path, views={"paid": "SELECT order_id, amount FROM shop.orders WHERE status = 'paid'\n"})
    catalog = Catalog(tmp_path / "catalog")
    described = []

    def describe(view):
        described.append(view)
        return ["order_id", "amount"]

    names = Names(catalog, load_views(tmp_path / "queries"), describe)
    names.described = described
    return names


def offered(text, names, statement=None):
    return [name for name, _ in candidates(text, names, statement)[1]]


def test_a_source_prefix_offers_the_source_and_its_tables(names):
    assert offered("SELECT * FROM sh", names) == [
        "shop.", "shop.customers", "shop.orders", "SHOW TABLES", "SHOW SOURCES"]


def test_after_a_source_dot_its_tables(names):
    word, found = candidates("SELECT * FROM shop.o", names)
    assert word == "o" and found == [("orders", "table")]


def test_after_an_alias_dot_the_columns_of_its_table(names):
    # the cursor before FROM: the alias is read from the whole statement
    assert offered("SELECT o.a", names, "SELECT o.a FROM shop.orders AS o") == ["amount"]
    assert offered("SELECT * FROM shop.orders o WHERE o.st", names) == ["status"]
    assert offered("SELECT * FROM shop.customers c JOIN shop.orders o USING (customer_id) WHERE c.", names) == [
        "customer_id", "name", "signup"]


def test_columns_of_the_named_tables_and_views_come_before_keywords(names):
    assert offered("SELECT * FROM shop.orders WHERE cu", names)[:1] == ["customer_id"]
    assert offered("SELECT * FROM paid WHERE am", names) == ["amount"]
    assert names.described == ["paid"]
    offered("SELECT * FROM paid WHERE am", names)
    assert names.described == ["paid"]  # asked once per session


def test_keywords_views_and_meta_commands(names):
    assert "SELECT" in offered("sel", names)
    assert offered("SELECT * FROM pa", names) == ["paid", "PARTITION BY"]
    assert offered(".ta", names) == [".tables"]
    assert offered(".", names)[:3] == [".tables", ".describe", ".explain"]


def test_a_source_that_cannot_be_reached_offers_nothing(tmp_path):
    from tests.projects import project

    project(tmp_path, "sources:\n  gone:\n    kind: sqlite\n    path: ../gone.sqlite\n")
    names = Names(Catalog(tmp_path / "catalog"), {}, lambda view: [])
    assert offered("SELECT * FROM gone.", names) == []
    assert offered("SELECT * FROM go", names) == ["gone."]


def test_relations_reads_names_and_aliases():
    found = relations("SELECT * FROM shop.orders AS o JOIN crm.customers c ON true LEFT JOIN paid WHERE x")
    assert found["o"] == "shop.orders" and found["c"] == "crm.customers" and found["paid"] == "paid"
    assert "where" not in found
