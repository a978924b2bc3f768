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


def test_an_in_subquery_reduces_the_outer_table_by_the_column_it_selects(catalog):
    """``x IN (SELECT y FROM t …)``: outer rows whose x is none of t's y never pass, whatever else the
    subquery filters, groups or limits; NOT IN, a computed value or an IN under OR reduce nothing."""
    reduced = {"c": [], "o": [("c", "customer_id", "customer_id")]}
    for subquery in ("SELECT c.customer_id FROM shop.customers c WHERE c.name = 'Ann'",
                     "SELECT c.customer_id FROM shop.customers c WHERE c.name = 'Ann' GROUP BY c.customer_id "
                     "HAVING count(*) > 1"):
        assert reductions(catalog, f"SELECT o.order_id FROM shop.orders o WHERE o.customer_id IN ({subquery})"
                          ) == reduced
    for condition in ("o.customer_id NOT IN (SELECT c.customer_id FROM shop.customers c WHERE c.name = 'Ann')",
                      "o.customer_id IN (SELECT c.customer_id + 1 FROM shop.customers c WHERE c.name = 'Ann')",
                      "o.status = 'paid' OR o.customer_id IN (SELECT c.customer_id FROM shop.customers c "
                      "WHERE c.name = 'Ann')"):
        assert reductions(catalog, f"SELECT o.order_id FROM shop.orders o WHERE {condition}") == \
            {"o": [], "c": []}, condition


def test_a_side_reduced_through_an_in_subquery_reduces_its_correlated_subquery(world, monkeypatch):
    """TPC-H Q20's shape: the parts named ``forest%`` reduce partsupp, whose keys (a reduced side counts as
    small as what reduces it keeps) reduce the lineitem a correlated subquery sums: 9,741 lines leave MariaDB
    instead of 909,455. Here: enrichment rows reduce the customers, whose keys reduce their orders."""
    import importlib

    from tests.oracle import check

    monkeypatch.setattr(importlib.import_module("c360.planner.reduce_joins"), "SMALL", 200)  # this world's 400
    scans = check(world, "SELECT c.customer_id, c.city FROM crm.customers c WHERE c.customer_id IN "
                         "(SELECT p.customer_id FROM partners.enrichment p WHERE p.nps > 3) AND c.customer_id < "
                         "(SELECT sum(o.total) FROM shop.orders o WHERE o.customer_id = c.customer_id)")
    by_source = {s.source: s for s in scans}
    assert any(n.startswith("reduced: ") and "values of partners.enrichment" in n for n in by_source["crm"].notes)
    assert any(n.startswith("reduced: ") and "values of crm.customers" in n for n in by_source["shop"].notes), \
        by_source["shop"].notes
    assert "`customer_id` IN (" in by_source["shop"].sent


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
    partners = next(s for s in alone if s.source == "partners")  # for its own sake only when big (below)
    assert partners.rows == 30 and partners.notes[-1].startswith("not reduced: its files hold 0.0 MB, less than 16 MB")


def test_a_file_waits_for_no_producer_when_what_it_would_reduce_is_small_or_it_is_read_twice(world, monkeypatch):
    """This world's orders (a few dozen rows) are not worth a wait, nor are its small files reduced for their own
    sake; a file read twice, reduced otherwise, is shared instead.
    (Not the statement of the test above: the world's connection caches plans by statement.)"""
    import importlib

    from tests.oracle import check

    chain = ("SELECT p.nps, o.order_id FROM crm.customers c JOIN partners.enrichment p "
             "ON p.customer_id = c.customer_id JOIN shop.orders o ON o.customer_id = p.customer_id "
             "WHERE c.city = 'Austin'")
    partners = [s for s in check(world, chain) if s.source == "partners"]
    assert len(partners) == 1 and partners[0].rows == 30  # planned for its own sake, its files too small
    assert not any(note.startswith("reduced:") for note in partners[0].notes)
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


def test_a_big_file_is_reduced_for_its_own_sake_by_a_very_selective_side(world, monkeypatch):
    """TPC-H Q2: the 747 parts of one size and type reduce partsupp (177 MB of JSON) to 2,988 rows, which
    DuckDB parses on all the scan's threads. The world's files are small: the size it takes is lowered here,
    and the planner decides by what the other side's filters keep (:func:`keeps`)."""
    import importlib

    from tests.oracle import check

    module = importlib.import_module("c360.planner.reduce_joins")
    monkeypatch.setattr(module, "FILE_BYTES", 1)
    chosen = check(world, "SELECT p.nps FROM crm.customers c JOIN partners.enrichment p "
                          "ON p.customer_id = c.customer_id WHERE c.city = 'Austin' AND c.customer_id > 1")
    partners = next(s for s in chosen if s.source == "partners")
    assert partners.notes[-1].startswith("reduced: 7 c_customer_id values of crm.customers sent as customer_id IN")
    assert partners.rows < 30
    broad = check(world, "SELECT p.nps FROM crm.customers c JOIN partners.enrichment p "
                         "ON p.customer_id = c.customer_id WHERE c.city <> 'Austin' AND c.customer_id > 1")
    assert next(s for s in broad if s.source == "partners").notes == ()


def test_what_a_side_keeps_is_estimated_from_its_filters():
    import importlib

    from c360.planner.context import ScanPlan
    from c360.planner.parse import parse

    keeps = importlib.import_module("c360.planner.reduce_joins").keeps

    def scan(name, where="", reductions=()):
        filters = [parse(f"SELECT 1 WHERE {w}").args["where"].this for w in where.split(" AND ") if w]
        return ScanPlan(name, "s", None, name, None, filters=filters, reductions=list(reductions))

    q2 = scan("part", "p_size = 15 AND p_type LIKE '%BRASS'")
    q16 = scan("part", "p_brand <> 'Brand#45' AND p_type NOT LIKE 'MEDIUM%' AND p_size IN (49, 14, 23, 45, 19, 3, 36)")
    assert keeps(q2, {}) == pytest.approx(0.01)
    assert keeps(q16, {}) == pytest.approx(0.9 * 0.9 * 0.35)
    from c360.planner.reduce_joins import Reduction

    nation = scan("nation", "n_name = 'GERMANY'")
    supplier = scan("supplier", reductions=[Reduction("nation", "n_nationkey", "s_nationkey")])
    assert keeps(supplier, {"nation": nation, "supplier": supplier}) == pytest.approx(0.05)


def test_a_file_read_twice_reduced_alike_is_read_once(world, monkeypatch):
    """TPC-H Q2 and Q11 read partsupp twice, each reference reduced by the same other side: one scan, reduced,
    serves both."""
    import importlib

    from tests.oracle import check

    monkeypatch.setattr(importlib.import_module("c360.planner.reduce_joins"), "FILE_BYTES", 1)
    scans = check(world, "SELECT p.nps FROM crm.customers c JOIN partners.enrichment p "
                         "ON p.customer_id = c.customer_id WHERE c.city = 'Austin' AND c.customer_id > 2 AND EXISTS "
                         "(SELECT 1 FROM partners.enrichment q WHERE q.customer_id = c.customer_id)")
    partners = [s for s in scans if s.source == "partners"]
    assert len(partners) == 1
    assert any(note.startswith("read once for 2 references") for note in partners[0].notes)
    assert partners[0].notes[-1].startswith("reduced: ")


@pytest.fixture
def timed(monkeypatch):
    """Each scan's start time (name -> perf_counter) and each producer's read, slowed by 0.3 s, as (began, ended)."""
    import time

    from c360 import engine, reductions

    starts, reads = {}, []
    original_start, original_prefetch = engine.Execution._start_scan, reductions._prefetch

    def start(self, index, batches):
        starts.setdefault(self.plan.scans[index].qualified_name, []).append(time.perf_counter())
        return original_start(self, index, batches)

    def prefetch(scan):
        began = time.perf_counter()
        time.sleep(0.3)
        try:
            return original_prefetch(scan)
        finally:
            reads.append((began, time.perf_counter()))

    monkeypatch.setattr(engine.Execution, "_start_scan", start)
    monkeypatch.setattr(reductions, "_prefetch", prefetch)
    return starts, reads


def test_scans_no_reduction_involves_start_before_the_producers_are_read(world, timed):
    """TPC-H Q2 read its part and partsupp files only once the supplier file (a producer for nation) was read."""
    from tests.oracle import check

    starts, reads = timed
    check(world, "SELECT o.order_id, (SELECT count(*) FROM partners.enrichment) AS n FROM crm.customers c "
                 "JOIN shop.orders o ON o.customer_id = c.customer_id WHERE c.city = 'Austin'")
    [(began, ended)] = reads
    assert starts["partners.enrichment"][0] <= began
    assert starts["shop.orders"][0] >= ended


def test_producers_that_wait_for_nothing_are_read_together(world, timed):
    from tests.oracle import check

    starts, reads = timed
    check(world, "SELECT o.order_id FROM crm.customers c JOIN shop.orders o ON o.customer_id = c.customer_id "
                 "WHERE c.customer_id IN (1, 2, 3) UNION ALL SELECT o.order_id FROM crm.customers c JOIN shop.orders o "
                 "ON o.customer_id = c.customer_id WHERE c.city = 'Austin'")
    [(first_began, first_ended), (second_began, second_ended)] = sorted(reads)
    assert second_began < first_ended
