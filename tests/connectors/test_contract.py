"""The connector contract, run against every connector on its real server.

For each filter operation, LIMIT and top-N: if the connector claims it, the SQL
(or file list) the source received shows it; if it does not, the source
received nothing of it. Either way the answer equals the oracle's. The real
connectors claim everything they can, so the ``timid`` source (SQLite behind a
connector that claims nothing, :class:`tests.oracle.TimidConnector`) is what
runs the unclaimed branch. Every source receives only the columns a query uses.
"""

from __future__ import annotations

import pytest

from tests.oracle import check

# source -> (table, integer column, string column, temporal column or None, exact-string column?)
SOURCES = {
    "shop": ("shop.orders", "order_id", "status", "order_ts"),
    "crm": ("crm.customers", "customer_id", "city", "birth_date"),
    "local": ("local.regions", "population", "city", "founded"),
    "timid": ("timid.regions", "population", "city", "founded"),
    "partners": ("partners.enrichment", "customer_id", None, None),
    "clicks": ("clicks.browsing", "page_views", "category", "window_start"),
}

OPERATIONS = {
    "compare": "{i} >= 10",
    "in": "{i} IN (3, 5, 700, 737)",
    "between": "{i} BETWEEN 5 AND 900",
    "is_null": "{i} IS NOT NULL",
    "boolean": "({i} < 5 OR {i} > 20) AND NOT {i} = 30",
    "like_prefix": "{s} LIKE 'Te%'",
    "like_any": "{s} LIKE '%e_h%'",
    "compare_temporal": "{t} >= DATE '1990-01-01'",
}


def cases():
    for source, (table, integer, string, temporal) in SOURCES.items():
        for operation, template in OPERATIONS.items():
            if "{s}" in template and string is None or "{t}" in template and temporal is None:
                continue
            yield pytest.param(source, table, operation, template.format(i=integer, s=string, t=temporal),
                               id=f"{source}-{operation}")


def connector(world, source):
    return world.connection.catalog.connector(source)


@pytest.mark.parametrize("source, table, operation, predicate", list(cases()))
def test_filters_appear_in_what_the_source_received_exactly_when_claimed(world, source, table, operation, predicate):
    scans = check(world, f"SELECT * FROM {table} WHERE {predicate}")
    caps = connector(world, source).capabilities
    claimed = caps.can_filter("compare" if operation == "compare_temporal" else operation)
    if operation == "like_any" and caps.statements:  # a SQL source's statement says any LIKE it can say exactly
        claimed = True
    [scan] = scans
    if claimed:
        assert "WHERE" in scan.sent, scan.sent
    else:
        assert "WHERE" not in scan.sent and not any(n.startswith("pushed") for n in scan.notes)


@pytest.mark.parametrize("source", SOURCES)
def test_limit_is_sent_exactly_when_claimed(world, source):
    table, integer, _, _ = SOURCES[source]
    scans = check(world, f"SELECT count(*) FROM (SELECT * FROM {table} WHERE {integer} > 0 LIMIT 3)")
    [scan] = scans
    if connector(world, source).capabilities.limit:
        assert "LIMIT 3" in scan.sent or "TOP 3" in scan.sent
        assert scan.rows <= 3
    else:
        assert "LIMIT" not in scan.sent


@pytest.mark.parametrize("source", SOURCES)
def test_top_n_is_sent_exactly_when_claimed(world, source):
    table, integer, _, _ = SOURCES[source]
    scans = check(world, f"SELECT {integer} FROM {table} WHERE {integer} IS NOT NULL ORDER BY {integer} DESC LIMIT 2")
    [scan] = scans
    if connector(world, source).capabilities.top_n:
        assert "ORDER BY" in scan.sent and ("LIMIT 2" in scan.sent or "TOP 2" in scan.sent)
    else:
        assert "ORDER BY" not in scan.sent


@pytest.mark.parametrize("source", ["shop", "crm", "local", "timid", "partners"])
def test_projection_sends_only_the_columns_used(world, source):
    table, integer, _, _ = SOURCES[source]
    scans = check(world, f"SELECT {integer} FROM {table}")
    [scan] = scans
    select_list = scan.sent[scan.sent.index("SELECT"):].split(" FROM ")[0]
    assert integer in select_list and "," not in select_list, scan.sent


def test_partition_predicates_prune_files_where_claimed(world):
    scans = check(world, "SELECT count(*) FROM clicks.browsing WHERE partition_hour = TIMESTAMP '2026-11-01 09:00:00'")
    [scan] = scans
    assert connector(world, "clicks").capabilities.partitions
    assert scan.sent.startswith("1 file")


def test_case_insensitive_sources_receive_string_ranges_only_under_a_binary_collation(world):
    scans = check(world, "SELECT order_id FROM shop.orders WHERE status > 'P' AND status <> 'paid'")
    [scan] = scans
    where = scan.sent.split(" WHERE ")[1]
    assert where.count("`status`") == where.count("`status` COLLATE utf8mb4_nopad_bin") == 2


def test_the_timid_source_claims_nothing_so_the_unclaimed_branches_run(world):
    caps = connector(world, "timid").capabilities
    assert not (caps.filters or caps.limit or caps.top_n or caps.partitions or caps.statements or caps.windows)
    scans = check(world, "SELECT city FROM timid.regions WHERE population > 700 ORDER BY city LIMIT 1")
    [scan] = scans
    assert not any(word in scan.sent for word in (" WHERE ", " ORDER BY ", " LIMIT ")), scan.sent


def test_file_sources_evaluate_any_like_pattern_themselves(world):
    """Files and blobs are read by DuckDB, so any LIKE means there what it means locally (``like_any``)."""
    assert connector(world, "clicks").capabilities.can_filter("like_any")
    assert not connector(world, "shop").capabilities.can_filter("like_any")
    scans = check(world, "SELECT category, page_views FROM clicks.browsing "
                         "WHERE category NOT LIKE '%e_h%' AND category LIKE '_p%'")
    [scan] = scans
    assert "\"category\" NOT LIKE '%e_h%'" in scan.sent and "LIKE '_p%'" in scan.sent, scan.sent
