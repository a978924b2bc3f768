"""The app's connections: each panel's statement runs as of the page's date, set once per connection and date."""

from __future__ import annotations

import datetime as dt

from c360.app.db import Database

DATE = "SELECT CAST(getvariable('as_of') AS DATE) AS as_of"


def test_the_date_is_set_once_per_connection_and_date_and_every_change_reaches_the_statement(project):
    database = Database(project / "catalog", size=1)
    try:
        earlier, today = dt.date(2026, 1, 15), dt.date.today()
        assert database.run(DATE, as_of=earlier).rows == [{"as_of": earlier.isoformat()}]
        assert database.run(DATE, as_of=earlier).rows == [{"as_of": earlier.isoformat()}]
        assert database.dates_set == 1  # the second panel of the same page sends no SET
        assert database.run(DATE).rows == [{"as_of": today.isoformat()}]  # None: today
        assert database.run(DATE, as_of=earlier).rows == [{"as_of": earlier.isoformat()}]
        assert database.dates_set == 3
    finally:
        database.close()


def test_an_answer_read_only_from_copies_is_kept_until_a_refresh_and_a_live_one_never(tmp_path):
    from c360.acceleration.refresh import refresh
    from c360.catalog import Catalog
    from tests.acceleration.projects import accelerated_project, shop

    catalog_dir = accelerated_project(tmp_path, "\nacceleration:\n  spend: {key: [customer_id], max_staleness: 1h}\n")

    def refreshed():
        catalog = Catalog(catalog_dir)
        refresh(catalog, catalog.accelerations["spend"])
        catalog.close()

    refreshed()
    database = Database(catalog_dir, size=1)
    lookup = "SELECT customer_id, total, orders FROM spend WHERE customer_id = ?"
    live = "SELECT order_id FROM shop.orders WHERE customer_id = ? ORDER BY order_id"
    try:
        first = database.run(lookup, [42])
        assert not first.cached and first.rows == [{"customer_id": 42, "total": 40.0, "orders": 2}]
        again = database.run(lookup, [42])
        assert again.cached and again.rows == first.rows and again.sources == first.sources
        assert not database.run(lookup, [43]).cached  # other values, another answer
        assert not database.run(lookup, [42], as_of=dt.date(2026, 3, 1)).cached  # another date
        assert [r["order_id"] for r in database.run(live, [42]).rows] == [1, 3]
        shop(tmp_path, "INSERT INTO orders VALUES (5, 42, 5.0, '2026-03-05 00:00:00')")
        after_insert = database.run(live, [42])  # read live: never kept
        assert not after_insert.cached and [r["order_id"] for r in after_insert.rows] == [1, 3, 5]
        assert database.run(lookup, [42]).rows == first.rows  # the copy's answer until its next refresh
        refreshed()
        fresh = database.run(lookup, [42])  # a new copy file: a new key
        assert not fresh.cached and fresh.rows == [{"customer_id": 42, "total": 45.0, "orders": 3}]
    finally:
        database.close()


def test_a_statement_planned_on_one_connection_is_not_planned_again_on_another(project, monkeypatch):
    import c360.engine
    from c360.app import queries

    planned = []
    real = c360.engine.Engine._plan_fully
    monkeypatch.setattr(c360.engine.Engine, "_plan_fully",
                        lambda self, *args, **kwargs: planned.append(id(self)) or real(self, *args, **kwargs))
    database = Database(project / "catalog", size=2)
    try:
        for customer in (1, 2, 3):  # planned, then a new value verified against a full plan, then trusted
            assert database.run(queries.PROFILE, [customer]).rows[0]["customer_id"] == customer
        first = len(planned)
        assert first == 2 and database.run(queries.PROFILE, [4]).rows[0]["customer_id"] == 4 and len(planned) == 2
        held = database._take()  # the first connection busy: the next statement opens the second
        try:
            assert database.run(queries.PROFILE, [5]).rows[0]["customer_id"] == 5
        finally:
            database._idle.put(held)
        assert len(database._opened) == 2
        assert len(planned) == first  # the second connection used the plan the first one made and verified
    finally:
        database.close()
