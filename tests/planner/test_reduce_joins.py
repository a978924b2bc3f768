"""Join reductions: planned only where the reduced side's unmatched rows can never reach the result."""

import pytest

import c360
from c360.catalog import Catalog
from c360.planner import plan
from tests.projects import shop_project


@pytest.fixture
def catalog(tmp_path):
    return Catalog(shop_project(tmp_path))


def reductions(catalog, sql):
    result = plan(sql, catalog=catalog, fragments=False)
    names = {s.name: s.alias for s in result.scans}
    return {s.alias: [(names[r.producer], r.producer_column, r.column) for r in s.reductions] for s in result.scans}


def test_a_selective_side_reduces_the_other_side_of_an_inner_join(catalog):
    assert reductions(catalog, "SELECT * FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.customer_id "
                               "WHERE c.name = 'Ann'") == {"c": [], "o": [("c", "customer_id", "customer_id")]}


def test_only_the_nullable_side_of_a_left_join_is_reduced(catalog):
    assert reductions(catalog, "SELECT * FROM shop.orders o LEFT JOIN shop.customers c "
                               "ON c.customer_id = o.customer_id WHERE o.status = 'paid'") == \
        {"o": [], "c": [("o", "customer_id", "customer_id")]}
    assert reductions(catalog, "SELECT * FROM shop.customers c LEFT JOIN shop.orders o "
                               "ON o.customer_id = c.customer_id AND o.status = 'paid'") == {"c": [], "o": []}


def test_no_reduction_when_no_side_is_restricted(catalog):
    """A whole table's keys reduce nothing along a foreign key."""
    assert reductions(catalog, "SELECT * FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.customer_id"
                      ) == {"c": [], "o": []}


def test_a_restricted_side_of_unknown_size_is_tried_first(catalog):
    """SQLite keeps no row counts: a filtered side is read first; the reducer gives up past its limit."""
    assert reductions(catalog, "SELECT * FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.customer_id "
                               "WHERE c.customer_id > 40") == {"c": [], "o": [("c", "customer_id", "customer_id")]}


def test_a_correlated_subquery_is_reduced_by_its_outer_table(world):
    from tests.oracle import check

    scans = check(world, "SELECT c.customer_id FROM crm.customers c WHERE c.city = 'Austin' AND EXISTS "
                         "(SELECT 1 FROM shop.orders o WHERE o.customer_id = c.customer_id AND o.total > 10)")
    shop = next(s for s in scans if s.source == "shop")
    assert "`customer_id` IN (" in shop.sent


def run(tmp_path, sql):
    """Run ``sql`` on a project with two sources over one SQLite file (``crm`` and ``shop``): a join across
    sources, so each side is its own scan and the reduction happens at run time."""
    shop_project(tmp_path)
    (tmp_path / "catalog" / "crm.yaml").write_text("sources:\n  crm:\n    kind: sqlite\n    path: ../shop.sqlite\n")
    with c360.connect(tmp_path / "catalog") as connection:
        cursor = connection.execute(sql)
        return sorted(cursor.fetchall()), {s.table: s for s in cursor.scans}


def test_the_reduced_side_receives_the_keys_and_the_answer_is_unchanged(tmp_path):
    rows, scans = run(tmp_path, "SELECT c.name, o.order_id FROM crm.customers c JOIN shop.orders o "
                                "ON o.customer_id = c.customer_id WHERE c.name = 'Ann'")
    assert rows == [("Ann", 1), ("Ann", 3)]
    assert '"o"."customer_id" IN (42)' in scans["orders"].sent
    assert scans["orders"].rows == 2


def test_an_empty_selective_side_means_the_other_side_is_not_read(tmp_path):
    rows, scans = run(tmp_path, "SELECT c.name, o.order_id FROM crm.customers c JOIN shop.orders o "
                                "ON o.customer_id = c.customer_id WHERE c.name = 'Nobody'")
    assert rows == []
    assert scans["orders"].sent.startswith("nothing") and scans["orders"].rows == 0


# --- reductions that scale (issue #13) ----------------------------------------------------------------


def test_a_reduction_chain_pins_each_next_side(world):
    """regions (one region) -> customers (by city) -> orders (by customer): each side reduced by the last."""
    from tests.oracle import check

    scans = check(world, "SELECT o.order_id, c.customer_id FROM local.regions r "
                         "JOIN crm.customers c ON c.city = r.city JOIN shop.orders o ON o.customer_id = c.customer_id "
                         "WHERE r.region = 'South'")
    by_source = {s.source: s for s in scans}
    assert "\"c\".\"city\" IN ('Austin')" in by_source["crm"].sent
    assert "`customer_id` IN (" in by_source["shop"].sent


def test_many_keys_go_in_several_statements(world, monkeypatch):
    from c360 import reductions
    from tests.oracle import check

    monkeypatch.setattr(reductions, "KEYS_PER_LONG_STATEMENT", 7)  # shop is MariaDB
    scans = check(world, "SELECT o.order_id FROM crm.customers c JOIN shop.orders o ON o.customer_id = c.customer_id "
                         "WHERE c.customer_id IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)")
    shop = next(s for s in scans if s.source == "shop")
    assert shop.sent.count(" ; ") == 2  # 18 keys, 7 at a time
    assert "`o`.`customer_id` IN (15, 16, 17, 18)" in shop.sent.split(" ; ")[2]
    assert any("in 3 statements" in note for note in shop.notes)


def test_mariadb_and_postgres_take_more_keys_a_statement_than_sql_server():
    from c360 import reductions

    class Source:
        def __init__(self, kind, dialect_name=None):
            self.kind, self.dialect_name = kind, dialect_name

    assert reductions._keys_per_statement(Source("mysql")) == reductions.KEYS_PER_LONG_STATEMENT
    assert reductions._keys_per_statement(Source("odbc", "postgres")) == reductions.KEYS_PER_LONG_STATEMENT
    assert reductions._keys_per_statement(Source("odbc", "tsql")) == reductions.KEYS_PER_STATEMENT < 20_000
    assert reductions._keys_per_statement(Source("sqlite")) == reductions.KEYS_PER_STATEMENT


def test_a_file_is_reduced_when_its_remaining_keys_reduce_the_next_side(world, monkeypatch):
    """TPC-H Q5: nation reduces the supplier file, whose remaining keys reduce lineitem. A file reads its
    bytes whole either way, so it is reduced only to become a producer of a big enough SQL source (this
    world's orders count as big here): not when nothing follows it."""
    import importlib

    from tests.oracle import check

    monkeypatch.setattr(importlib.import_module("c360.planner.reduce_joins"), "FILE_FEEDS", 1)

    scans = check(world, "SELECT o.order_id, p.nps FROM crm.customers c JOIN partners.enrichment p "
                         "ON p.customer_id = c.customer_id JOIN shop.orders o ON o.customer_id = p.customer_id "
                         "WHERE c.city = 'Austin'")
    by_source = {s.source: s for s in scans}
    assert any(note.startswith("reduced: 7 c_customer_id values of crm.customers")
               for note in by_source["partners"].notes)
    assert "`o`.`customer_id` IN (10, 22, 34)" in by_source["shop"].sent  # the Austin customers with partner rows
    assert any(note.startswith("reduced: 3 customer_id values of partners.enrichment")
               for note in by_source["shop"].notes)
    alone = check(world, "SELECT p.nps FROM crm.customers c JOIN partners.enrichment p "
                         "ON p.customer_id = c.customer_id WHERE c.city = 'Austin'")
    partners = next(s for s in alone if s.source == "partners")
    assert partners.notes == () and partners.rows == 30


def test_a_file_waits_for_no_producer_when_what_it_would_reduce_is_small_or_it_is_read_twice(world, monkeypatch):
    """This world's orders (a few dozen rows) are not worth a wait; a file read twice is shared instead.
    (Not the statement of the test above: the world's connection caches plans by statement.)"""
    import importlib

    from tests.oracle import check

    chain = ("SELECT p.nps, o.order_id FROM crm.customers c JOIN partners.enrichment p "
             "ON p.customer_id = c.customer_id JOIN shop.orders o ON o.customer_id = p.customer_id "
             "WHERE c.city = 'Austin'")
    partners = [s for s in check(world, chain) if s.source == "partners"]
    assert [s.notes for s in partners] == [()]
    monkeypatch.setattr(importlib.import_module("c360.planner.reduce_joins"), "FILE_FEEDS", 1)
    twice = chain + " AND p.customer_id IN (SELECT customer_id FROM partners.enrichment)"
    partners = [s for s in check(world, twice) if s.source == "partners"]
    assert len(partners) == 1 and partners[0].notes[0].startswith("read once for 2 references")


def test_a_long_list_of_integer_keys_travels_as_one_node_and_answers_the_same(world, monkeypatch):
    """Tens of thousands of keys as one sqlglot node each cost seconds to copy and generate (Q22: 42,015);
    past COMPACT_KEYS integer keys are one node of text, checked by the shape of two of them."""
    from c360 import reductions
    from tests.oracle import check

    monkeypatch.setattr(reductions, "COMPACT_KEYS", 3)
    seen = []
    original = reductions.integer_keys
    monkeypatch.setattr(reductions, "integer_keys", lambda values: seen.append(len(values)) or original(values))
    scans = check(world, "SELECT o.order_id FROM crm.customers c JOIN shop.orders o ON o.customer_id = c.customer_id "
                         "WHERE c.customer_id IN (3, 5, 8, 13, 21, 34) AND o.channel <> 'store'")
    shop = next(s for s in scans if s.source == "shop")
    assert seen == [6] and "IN (3, 5, 8, 13, 21, 34)" in shop.sent
