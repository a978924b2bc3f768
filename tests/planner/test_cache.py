"""The plan cache: a statement shape planned once, its parameters bound late, trusted only once verified."""

import pytest

import c360
from c360.planner import cache as plan_cache
from tests.projects import shop_project


@pytest.fixture
def connection(tmp_path):
    with c360.connect(shop_project(tmp_path)) as connection:
        yield connection


def sent(connection, sql, params):
    plan = connection.engine.plan(sql, params)
    return [s.statement.sql("sqlite") if s.statement is not None else "" for s in plan.scans], plan


def test_a_rebound_plan_sends_what_full_planning_sends_and_the_entry_becomes_trusted(connection):
    sql = ("SELECT customer_id, count(*) FROM shop.orders WHERE customer_id = ? "
           "AND order_ts >= CAST(? AS DATE) - INTERVAL 30 DAY GROUP BY 1")
    engine = connection.engine
    for customer, day in [(42, "2026-03-20"), (43, "2026-02-10"), (44, "2026-03-31"), (42, "2026-01-15")]:
        rows = connection.execute(sql, [customer, day]).fetchall()
        full = c360.planner.plan(sql, [customer, day], catalog=engine.catalog)
        cached, _ = sent(connection, sql, [customer, day])
        assert cached == [s.statement.sql("sqlite") for s in full.scans]
        assert f'"customer_id" = {customer}' in cached[0]
        fresh = c360.connect(engine.catalog.path)
        assert rows == fresh.execute(sql, [customer, day]).fetchall()
        fresh.close()
    [entry] = engine.plan_cache._entries.values()
    assert entry.verified == {("p", 0), ("p", 1)} and not entry.broken


def test_a_folded_date_is_recomputed_for_each_value(connection):
    sql = "SELECT order_id FROM shop.orders WHERE order_ts >= CAST(? AS DATE) - INTERVAL 30 DAY"
    for day in ("2026-03-31", "2026-03-30", "2026-03-31"):
        connection.execute(sql, [day]).fetchall()
    [entry] = connection.engine.plan_cache._entries.values()
    assert entry.verified == {("p", 0)}  # a changed date was planned in full once, and matched
    statements, plan = sent(connection, sql, ["2026-02-01"])
    assert "'2026-01-02 00:00:00'" in statements[0]


def test_a_variable_is_a_late_bound_value_too(connection):
    sql = "SELECT order_id FROM shop.orders WHERE order_ts < CAST(getvariable('cutoff') AS TIMESTAMP)"
    for day in ("2026-02-15", "2026-03-01", "2026-03-02", "2026-01-01"):
        connection.execute(f"SET VARIABLE cutoff = DATE '{day}'")
        rows = sorted(connection.execute(sql).fetchall())
        statements, _ = sent(connection, sql, None)
        assert f"'{day} 00:00:00'" in statements[0]
    assert rows == []


def test_a_limit_from_a_parameter_is_not_cached(connection):
    for n in (1, 2, 3):
        rows = connection.execute("SELECT order_id FROM shop.orders ORDER BY order_id LIMIT ?", [n]).fetchall()
        assert len(rows) == n
    assert not connection.engine.plan_cache._entries


def test_equal_and_different_parameter_values_are_different_shapes():
    first = plan_cache.shape("SELECT 1 WHERE a = ? OR a = ?", [1, 1], {}, ())
    second = plan_cache.shape("SELECT 1 WHERE a = ? OR a = ?", [1, 2], {}, ())
    assert first != second


def test_a_nul_in_a_string_is_a_shape_of_its_own():
    assert plan_cache.shape("SELECT ?", ["a"], {}, ()) != plan_cache.shape("SELECT ?", ["a\x00"], {}, ())


def test_a_shape_whose_rebound_plan_differs_is_never_served(connection, monkeypatch):
    monkeypatch.setattr(plan_cache, "same", lambda a, b: False)
    sql = "SELECT order_id FROM shop.orders WHERE customer_id = ?"
    for customer in (42, 43, 44, 42):
        assert connection.execute(sql, [customer]).fetchall() is not None
    [entry] = connection.engine.plan_cache._entries.values()
    assert entry.broken and not entry.verified
