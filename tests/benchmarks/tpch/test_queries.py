"""The 22 queries with every table named by its source (benchmarks/tpch/queries.py)."""

from benchmarks.tpch import queries


def test_queries_name_every_tpch_table_by_its_source_and_leave_ctes_alone():
    q15 = queries.query(15)
    assert "shop.lineitem" in q15 and "vendors.supplier" in q15
    assert "FROM revenue" in q15 and "shop.revenue" not in q15
    assert queries.references(queries.query(2), "partners") == {"partsupp": 2, "part": 1}
    assert queries.ordered(queries.query(1)) and not queries.ordered(queries.query(6))
