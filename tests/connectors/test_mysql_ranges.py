"""Long MySQL statements split into key ranges (connectors/mysql_ranges.py, connectors/parallel.py).

The rule's decisions are checked on statements and a table layout given as data; the scans against the
real MariaDB. Answers of split statements against the DuckDB oracle are in tests/fuzz/test_split_ranges.py.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pyarrow as pa
import pytest
import sqlglot

import connectors.mysql_ranges
from c360.errors import CatalogError, SourceTimeoutError
from connectors.base import Column, ScanRequest, TableSchema
from connectors.mysql import MySQLConnector
from connectors.mysql_lookups import Layout
from connectors.mysql_ranges import split_in_ranges
from connectors.parallel import ParallelScan

PASSWORD_VARIABLE = "C360_TEST_MYSQL_RANGES_PASSWORD"

LAYOUT = {
    "lineitem": Layout(900_000_000, {"PRIMARY": ("l_orderkey", "l_linenumber")}, 6_000_000),
    "orders": Layout(200_000_000, {"PRIMARY": ("o_orderkey",), "o_custkey": ("o_custkey",)}, 1_500_000),
    "nation": Layout(16_384, {"PRIMARY": ("n_nationkey",)}, 25),
}


def split(sql: str, schema: pa.Schema | None = None, parts: int = 2, bounds=(1, 6_000_000)):
    select = sqlglot.parse_one(sql, dialect="duckdb")
    if schema is None:
        schema = pa.schema([(f"c{i}", pa.int64()) for i in range(len(select.expressions))])
    return split_in_ranges(select, schema, parts, LAYOUT.get, lambda table, column: bounds)


def test_an_aggregate_of_the_largest_table_is_split_and_its_groups_combined():
    found = split("SELECT o.o_orderpriority AS k1, COUNT(*) AS a1, SUM(l.l_quantity) AS a2, MIN(l.l_shipdate) AS a3 "
                  "FROM orders AS o JOIN lineitem AS l ON l.l_orderkey = o.o_orderkey GROUP BY o.o_orderpriority",
                  pa.schema([("k1", pa.string()), ("a1", pa.int64()), ("a2", pa.decimal128(38, 2)),
                             ("a3", pa.date32())]))
    assert found.combine == ("key", "sum", "sum", "min")
    assert "lineitem.l_orderkey" in found.note
    low, high = (s.sql() for s in found.statements)
    assert low.endswith('"l"."l_orderkey" < 3000001 GROUP BY o.o_orderpriority')
    assert '"l"."l_orderkey" >= 3000001' in high


def test_three_parts_have_a_closed_middle_range_and_open_ends():
    found = split("SELECT o.o_orderkey AS c0 FROM orders AS o", parts=3, bounds=(1, 300))
    assert [s.args["where"].sql() for s in found.statements] == [
        'WHERE "o"."o_orderkey" < 101',
        'WHERE "o"."o_orderkey" >= 101 AND "o"."o_orderkey" < 201',
        'WHERE "o"."o_orderkey" >= 201',
    ]
    assert found.combine is None


@pytest.mark.parametrize("sql, why", [
    ("SELECT n.n_name AS c0 FROM nation AS n", "a small table"),
    ("SELECT o.o_totalprice AS c0 FROM orders AS o WHERE o.o_custkey = 7", "a lookup by an index"),
    ("SELECT o.o_totalprice AS c0 FROM orders AS o WHERE o.o_custkey IN (1, 2, 3)", "a short IN list on an index"),
    ("SELECT o.o_orderkey AS c0 FROM orders AS o ORDER BY o.o_totalprice LIMIT 10", "top-N"),
    ("SELECT o.o_orderkey AS c0, ROW_NUMBER() OVER (ORDER BY o.o_orderdate) AS c1 FROM orders AS o", "a window"),
    ("SELECT COUNT(*) AS c0 FROM orders AS o GROUP BY o.o_orderpriority", "a group not in the output"),
    ("SELECT o.o_orderpriority AS c0, COUNT(DISTINCT o.o_custkey) AS c1 FROM orders AS o "
     "GROUP BY o.o_orderpriority", "a DISTINCT aggregate"),
    ("SELECT o.o_orderpriority AS c0, COUNT(*) AS c1 FROM orders AS o GROUP BY o.o_orderpriority "
     "HAVING COUNT(*) > 5", "HAVING over groups in several ranges"),
    ("SELECT o.o_orderpriority AS c0, SUM(o.o_totalprice) / COUNT(*) AS c1 FROM orders AS o "
     "GROUP BY o.o_orderpriority", "an expression of aggregates"),
    ("SELECT o.o_orderkey AS c0 FROM orders AS o WHERE o.o_totalprice > (SELECT AVG(l.l_tax) FROM lineitem AS l)",
     "an uncorrelated subquery, which every range would run again"),
    ("SELECT o.o_orderkey AS c0 FROM orders AS o WHERE o.o_orderkey IN (SELECT o.o_orderkey FROM orders AS o "
     "GROUP BY o.o_orderkey HAVING COUNT(*) > 1)", "a subquery with its own table of the same alias"),
    ("SELECT d.c AS c0 FROM (SELECT o.o_orderkey AS c FROM orders AS o) AS d", "a derived table"),
    ("SELECT n.n_name AS c0 FROM nation AS n RIGHT JOIN orders AS o ON o.o_custkey = n.n_nationkey", "a RIGHT JOIN"),
])
def test_statements_kept_whole(sql, why):
    assert split(sql) is None, why


LONG_LIST = ", ".join(str(k) for k in range(1, 1_202))


def test_a_long_in_list_splits_only_where_the_ranges_divide_its_work():
    # through the secondary index, each range would search every key again
    assert split(f"SELECT o.o_orderkey AS c0 FROM orders AS o WHERE o.o_custkey IN ({LONG_LIST})") is None
    # hinted to scan instead (connectors/mysql_lookups.py), the ranges divide the scan
    hinted = sqlglot.parse_one(f"SELECT o.o_orderkey AS c0 FROM orders AS o IGNORE INDEX (o_custkey) "
                               f"WHERE o.o_custkey IN ({LONG_LIST})", dialect="mysql")
    found = split_in_ranges(hinted, pa.schema([("c0", pa.int64())]), 2, LAYOUT.get, lambda t, c: (1, 6_000_000))
    assert found is not None and "IGNORE INDEX" in found.statements[0].sql(dialect="mysql")
    # on the key itself, the ranges divide the keys
    assert split(f"SELECT o.o_orderpriority AS c0 FROM orders AS o WHERE o.o_orderkey IN ({LONG_LIST})") is not None
    assert split("SELECT o.o_orderpriority AS c0 FROM orders AS o WHERE o.o_orderkey IN (1, 2, 3)") is None


def test_a_floating_sum_is_not_added_up_in_another_order():
    sql = "SELECT o.o_orderpriority AS k1, SUM(o.o_ratio) AS a1 FROM orders AS o GROUP BY o.o_orderpriority"
    assert split(sql, pa.schema([("k1", pa.string()), ("a1", pa.float64())])) is None
    assert split(sql, pa.schema([("k1", pa.string()), ("a1", pa.decimal128(38, 2))])) is not None


def test_the_null_extended_side_of_a_left_join_is_never_split():
    found = split("SELECT n.n_name AS c0, o.o_orderkey AS c1 FROM nation AS n LEFT JOIN orders AS o "
                  "ON o.o_custkey = n.n_nationkey")
    assert found is None  # nation is the only table a range may restrict, and it is small
    found = split("SELECT o.o_orderkey AS c0, n.n_name AS c1 FROM orders AS o LEFT JOIN nation AS n "
                  "ON o.o_custkey = n.n_nationkey")
    assert "orders.o_orderkey" in found.note


def test_a_key_that_is_not_an_integer_or_too_narrow_keeps_the_statement_whole():
    sql = "SELECT o.o_orderkey AS c0 FROM orders AS o"
    assert split(sql, bounds=None) is None
    assert split(sql, bounds=(5, 6)) is None
    assert split(sql, parts=1) is None


def test_combined_adds_up_partial_groups():
    from connectors.parallel import combined

    schema = pa.schema([("k", pa.string()), ("s", pa.decimal128(38, 2)), ("n", pa.int64()), ("lo", pa.int64())])
    parts = [pa.record_batch([["A", None], [Decimal("10.50"), None], [3, 1], [4, 9]], schema=schema),
             pa.record_batch([["A", "B"], [Decimal("4.00"), Decimal("1.00")], [1, 1], [2, 1]], schema=schema)]
    rows = combined(parts, schema, ("key", "sum", "sum", "min")).to_pylist()
    assert sorted(rows, key=lambda r: r["k"] or "") == [
        {"k": None, "s": None, "n": 1, "lo": 9},
        {"k": "A", "s": Decimal("14.50"), "n": 4, "lo": 2},
        {"k": "B", "s": Decimal("1.00"), "n": 1, "lo": 1},
    ]


# --- against MariaDB ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ranges_db(mariadb):
    mariadb = mariadb.child("mysql_ranges")
    mariadb.execute(
        "CREATE TABLE sales (id BIGINT NOT NULL PRIMARY KEY, region VARCHAR(10) NOT NULL, amount DECIMAL(10,2))",
        "INSERT INTO sales SELECT seq, CONCAT('r', seq % 3), (seq % 100) / 4 FROM seq_1_to_3000",
        "ANALYZE TABLE sales",
    )
    return mariadb


@pytest.fixture
def connector(ranges_db, monkeypatch):
    monkeypatch.setenv(PASSWORD_VARIABLE, ranges_db.password)
    monkeypatch.setattr(connectors.mysql_ranges, "SPLIT_ROWS", 1_000)
    connector = MySQLConnector("shop", {**ranges_db.options("${ENV:%s}" % PASSWORD_VARIABLE), "parallel": 3})
    yield connector
    connector.close()


SALES = TableSchema("sales", (Column("id", pa.int64()), Column("region", pa.string()),
                              Column("amount", pa.decimal128(10, 2))), primary_key=("id",))


def statement_request(sql: str, schema: TableSchema, **options) -> ScanRequest:
    return ScanRequest(table=schema, columns=tuple(c.name for c in schema.columns),
                       statement=sqlglot.parse_one(sql, dialect="duckdb"), **options)


def test_rows_added_past_the_known_largest_key_are_still_read(connector, ranges_db):
    request = ScanRequest(table=SALES, columns=("id", "region", "amount"))
    first = connector.scan(request)
    assert isinstance(first, ParallelScan) and len(first.parts) == 3
    assert sum(batch.num_rows for batch in first.batches()) == 3000
    ranges_db.execute("INSERT INTO sales VALUES (1000000, 'late', 1.00)")
    try:
        again = connector.scan(request)  # the bounds were asked once: 1..3000
        ids = [i for batch in again.batches() for i in batch.column(0).to_pylist()]
        assert len(ids) == 3001 and 1_000_000 in ids
    finally:
        ranges_db.execute("DELETE FROM sales WHERE id = 1000000")


def test_a_grouped_statement_comes_back_one_row_per_group(connector):
    totals = TableSchema("totals", (Column("k1", pa.string()), Column("a1", pa.decimal128(38, 2)),
                                    Column("a2", pa.int64())))
    scan = connector.scan(statement_request(
        "SELECT s.region AS k1, SUM(s.amount) AS a1, COUNT(*) AS a2 FROM sales AS s GROUP BY s.region", totals))
    assert isinstance(scan, ParallelScan) and scan.combine == ("key", "sum", "sum")
    rows = sorted(pa.Table.from_batches(list(scan.batches())).to_pylist(), key=lambda r: r["k1"])
    expected = {f"r{r}": (sum(Decimal(i % 100) / 4 for i in range(1, 3001) if i % 3 == r),
                          sum(1 for i in range(1, 3001) if i % 3 == r)) for r in range(3)}
    assert [(r["k1"], r["a1"], r["a2"]) for r in rows] == [(k, *v) for k, v in sorted(expected.items())]


def test_a_timeout_stops_every_range_on_the_server(connector, ranges_db):
    slow = TableSchema("slow", (Column("n", pa.int64()),))
    scan = connector.scan(statement_request("SELECT COUNT(*) AS n FROM sales AS s WHERE SLEEP(0.01) = 0", slow,
                                            timeout=1.0))
    assert isinstance(scan, ParallelScan)
    started = time.monotonic()
    with pytest.raises(SourceTimeoutError):
        list(scan.batches())
    assert time.monotonic() - started < 10

    def running():
        sql = ("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s AND COMMAND = 'Query' "
               "AND INFO LIKE '%%SLEEP%%' AND ID <> CONNECTION_ID()")
        return ranges_db.query(sql, (ranges_db.database,))[0][0]

    deadline = time.monotonic() + 5
    while running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running() == 0


def test_parallel_is_a_whole_number_of_statements(ranges_db):
    with pytest.raises(CatalogError, match="'parallel' must be a whole number"):
        MySQLConnector("shop", {**ranges_db.options("x"), "parallel": "many"})
    with pytest.raises(CatalogError, match="'parallel'"):
        MySQLConnector("shop", {**ranges_db.options("x"), "parallel": 0})


def test_a_request_for_one_statement_is_not_split(connector):
    """Spark reads a pushed statement in ranges itself (c360/spark/pushdown.py): it asks for one statement."""
    scan = connector.scan(ScanRequest(table=SALES, columns=("id",), parallel=False))
    assert not isinstance(scan, ParallelScan) and " ; " not in scan.sent


def test_parallel_1_never_splits(ranges_db, monkeypatch):
    monkeypatch.setenv(PASSWORD_VARIABLE, ranges_db.password)
    monkeypatch.setattr(connectors.mysql_ranges, "SPLIT_ROWS", 1_000)
    connector = MySQLConnector("shop", {**ranges_db.options("${ENV:%s}" % PASSWORD_VARIABLE), "parallel": 1})
    try:
        scan = connector.scan(ScanRequest(table=SALES, columns=("id",)))
        assert not isinstance(scan, ParallelScan)
    finally:
        connector.close()


def test_a_login_that_may_not_read_the_key_gets_its_statement_whole(ranges_db, monkeypatch):
    """Column grants: the login reads region and amount of sales, not id, so the server does not show it
    the primary key; the statement runs as one, and answers."""
    user, password = f"{ranges_db.user}_cols", "ranges-columns-secret"
    hosts = ("127.0.0.1", "localhost", "%")
    with ranges_db._root.cursor() as cursor:
        for host in hosts:
            cursor.execute("CREATE USER %s@%s IDENTIFIED BY %s", (user, host, password))
            cursor.execute(f"GRANT SELECT (region, amount) ON `{ranges_db.database}`.sales TO %s@%s", (user, host))
    monkeypatch.setenv(PASSWORD_VARIABLE, password)
    monkeypatch.setattr(connectors.mysql_ranges, "SPLIT_ROWS", 1_000)
    connector = MySQLConnector("shop", {**ranges_db.options("${ENV:%s}" % PASSWORD_VARIABLE), "user": user})
    try:
        totals = TableSchema("totals", (Column("k1", pa.string()), Column("a2", pa.int64())))
        scan = connector.scan(statement_request(
            "SELECT s.region AS k1, COUNT(*) AS a2 FROM sales AS s GROUP BY s.region", totals))
        assert not isinstance(scan, ParallelScan)
        assert connector._layout("sales").primary == ()  # the server does not show it the key
        assert sorted(r["a2"] for r in pa.Table.from_batches(list(scan.batches())).to_pylist()) == [1000, 1000, 1000]
    finally:
        connector.close()
        with ranges_db._root.cursor() as cursor:
            for host in hosts:
                cursor.execute("DROP USER IF EXISTS %s@%s", (user, host))
