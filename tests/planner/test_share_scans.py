"""A table read twice with the same request is read once, into a materialized CTE every reference reads."""

from tests.oracle import check


def _explained(world, sql: str) -> str:
    cursor = world.connection.cursor()
    cursor.execute("EXPLAIN " + sql)
    return "\n".join(str(row[0]) for row in cursor.fetchall())


def test_a_json_table_in_the_query_and_its_having_subquery_is_parsed_once(world):
    sql = ("SELECT e.nps, count(*) AS n FROM partners.enrichment e GROUP BY e.nps "
           "HAVING count(*) >= (SELECT count(*) FROM partners.enrichment) / 20")
    scans = check(world, sql)
    assert [s.source for s in scans].count("partners") == 1
    assert "read once for 2 references" in _explained(world, sql)


def test_a_shared_scan_reads_the_columns_of_every_reference(world):
    sql = ("SELECT a.category, (SELECT max(b.seconds) FROM clicks.browsing b) AS most "
           "FROM clicks.browsing a ORDER BY a.category, most")
    scans = check(world, sql)
    clicks = [s for s in scans if s.source == "clicks"]
    assert len(clicks) == 1
    assert '"category"' in clicks[0].sent and '"seconds"' in clicks[0].sent


def test_the_same_pushed_statement_twice_runs_once_in_its_source(world):
    # the same aliases, as a view named twice in one query gives
    sql = ("SELECT o.order_id FROM shop.orders o JOIN crm.customers c ON o.customer_id = c.customer_id "
           "WHERE c.opt_in AND o.total > (SELECT avg(o.total) FROM shop.orders o "
           "JOIN crm.customers c ON o.customer_id = c.customer_id WHERE c.opt_in)")
    scans = check(world, sql)
    crm = [s for s in scans if s.source == "crm"]
    assert len(crm) == 1 and "opt_in" in crm[0].sent
    assert "read once for 2 references" in _explained(world, sql)


def test_scans_with_different_filters_are_read_apart(world):
    sql = ("SELECT b.category FROM clicks.browsing b WHERE b.page_views > 2 AND b.customer_id IN "
           "(SELECT customer_id FROM clicks.browsing WHERE page_views <= 2)")
    scans = check(world, sql)
    assert len([s for s in scans if s.source == "clicks"]) == 2
    assert "read once" not in _explained(world, sql)
