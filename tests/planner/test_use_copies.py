"""The planner reads an accelerated copy when it is fresh enough, and says so; otherwise it goes live."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import duckdb
import pytest

import c360
from c360.acceleration.refresh import refresh
from c360.catalog import Catalog
from c360.errors import ProgrammingError
from tests.acceleration.projects import accelerated_project, shop
from tests.views.world import AS_OF, EARLIER, write_world

REPO = Path(__file__).resolve().parents[2]

SPEND = """
    acceleration:
      spend: {key: [customer_id], max_staleness: 1h}
      shop.orders: {key: [order_id], max_staleness: 1h}
"""


def explain(connection, sql: str) -> str:
    return "\n".join(row[0] for row in connection.execute(f"EXPLAIN {sql}").fetchall())


@pytest.fixture
def project(tmp_path):
    catalog_dir = accelerated_project(tmp_path, SPEND)
    catalog = Catalog(catalog_dir)
    for acceleration in catalog.accelerations.values():
        refresh(catalog, acceleration)
    catalog.close()
    return catalog_dir


def test_a_fresh_copy_serves_the_query_and_explain_names_it_with_its_age(project):
    connection = c360.connect(project)
    shop(project.parent, "INSERT INTO orders VALUES (5, 42, 5.0, '2026-03-05 00:00:00')")  # after the refresh
    assert connection.execute("SELECT total, orders FROM spend WHERE customer_id = 42").fetchall() == [(40.0, 2)]
    text = explain(connection, "SELECT total FROM spend WHERE customer_id = 42")
    assert "acceleration.spend AS spend" in text
    assert 'FROM "data" WHERE "customer_id" = 42' in text  # the filter reaches the copy
    assert "accelerated copy of spend, refreshed " in text and "(age " in text and "bound 1h00m" in text
    assert "shop.orders" not in text  # no source is read
    connection.execute("SET max_staleness = 0")
    assert connection.execute("SELECT total, orders FROM spend WHERE customer_id = 42").fetchall() == [(45.0, 3)]
    live = explain(connection, "SELECT total FROM spend WHERE customer_id = 42")
    assert "acceleration" not in live and "Source 'shop'" in live
    connection.execute("RESET max_staleness")
    assert "acceleration.spend" in explain(connection, "SELECT total FROM spend WHERE customer_id = 42")
    connection.close()


def test_a_copy_older_than_the_bound_is_not_used(project):
    time.sleep(1.2)
    connection = c360.connect(project)
    connection.execute("SET max_staleness = '1s'")
    assert "acceleration" not in explain(connection, "SELECT * FROM shop.orders")
    connection.execute("SET max_staleness = '10 minutes'")
    assert "acceleration.shop.orders" in explain(connection, "SELECT * FROM shop.orders")
    connection.close()


def test_a_cached_plan_reads_the_newest_copy(project):
    connection = c360.connect(project)
    query = "SELECT total FROM spend WHERE customer_id = ?"
    assert connection.execute(query, [42]).fetchall() == [(40.0,)]
    shop(project.parent, "INSERT INTO orders VALUES (5, 42, 5.0, '2026-03-05 00:00:00')")
    catalog = Catalog(project)
    refresh(catalog, catalog.accelerations["spend"])
    catalog.close()
    assert connection.execute(query, [42]).fetchall() == [(45.0,)]
    connection.close()


@pytest.mark.parametrize("value", ["'soon'", "-1", "'5 fortnights'"])
def test_a_wrong_max_staleness_is_refused(project, value):
    connection = c360.connect(project)
    with pytest.raises(ProgrammingError, match="max_staleness"):
        connection.execute(f"SET max_staleness = {value}")
    connection.close()


def test_other_settings_are_still_refused(project):
    connection = c360.connect(project)
    with pytest.raises(c360.NotSupportedError, match="SET threads is not allowed"):
        connection.execute("SET threads = 1")
    connection.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The views' fixed world, with the demo's model, and customer_360 accelerated: a current copy, and a dated
    one for AS_OF."""
    catalog_dir = write_world(tmp_path_factory.mktemp("accelerated-world"))
    shutil.copytree(REPO / "models", catalog_dir.parent / "models")
    with (catalog_dir / "acceleration.yaml").open("w") as out:
        out.write("acceleration:\n  customer_360: {key: [customer_id]}\n  rfm: {key: [customer_id]}\n")
    catalog = Catalog(catalog_dir)
    refresh(catalog, catalog.accelerations["customer_360"])
    refresh(catalog, catalog.accelerations["customer_360"], as_of=AS_OF)
    refresh(catalog, catalog.accelerations["rfm"])
    catalog.close()
    return catalog_dir


def rows(connection, sql: str) -> list:
    return connection.execute(sql).fetchall()


def test_the_copy_of_a_view_equals_the_live_answer_at_the_refresh(world):
    copy, live = c360.connect(world), c360.connect(world)
    live.execute("SET max_staleness = 0")
    predictions = "SELECT customer_id, p_purchase_30d, predicted_category FROM customer_360 ORDER BY 1"
    assert rows(copy, predictions) == rows(live, predictions)  # the copy holds the refresh's predictions
    assert any(p is not None for _, p, _ in rows(copy, predictions))
    for sql in ("SELECT * FROM customer_360 ORDER BY customer_id",
                "SELECT customer_id, segment, monetary FROM customer_360 WHERE customer_id = 2",
                "SELECT segment, count(*), sum(monetary) FROM rfm GROUP BY segment ORDER BY segment"):
        assert "acceleration." in explain(copy, sql) and "acceleration" not in explain(live, sql)
        assert rows(copy, sql) == rows(live, sql)
    copy.close()
    live.close()


def test_as_of_uses_a_copy_for_that_date_and_goes_live_otherwise(world):
    connection, live = c360.connect(world), c360.connect(world)
    live.execute("SET max_staleness = 0")
    sql = "SELECT * FROM customer_360 ORDER BY customer_id"
    for session in (connection, live):
        session.execute(f"SET VARIABLE as_of = DATE '{AS_OF.isoformat()}'")
    text = explain(connection, sql)
    assert "acceleration.customer_360" in text and "accelerated copy of customer_360" in text
    assert rows(connection, sql) == rows(live, sql)  # the dated copy is that date's answer
    connection.execute(f"SET VARIABLE as_of = DATE '{EARLIER.isoformat()}'")
    text = explain(connection, sql)
    assert "acceleration.customer_360" not in text  # no copy for that date: live
    assert "acceleration.rfm" not in text  # rfm's copy is today's, not EARLIER's
    connection.execute(f"SET VARIABLE as_of = DATE '{dt.date.today().isoformat()}'")
    assert "acceleration.customer_360" in explain(connection, sql)  # the current copy is today's
    connection.close()
    live.close()


def test_a_query_of_one_copy_runs_whole_in_the_copy_and_others_take_the_usual_path(project):
    connection, live = c360.connect(project), c360.connect(project)
    live.execute("SET max_staleness = 0")
    sql = "SELECT customer_id, total * 2 AS twice FROM spend WHERE customer_id IN (42, 44) ORDER BY 1"
    cursor = connection.execute(sql)
    assert cursor.fetchall() == live.execute(sql).fetchall() == [(42, 80.0), (44, 80.0)]
    [scan] = cursor.scans
    assert scan.source == "acceleration" and "the whole query ran in the copy's DuckDB" in scan.sent
    # c360_predict is registered on the engine's DuckDB only: the query runs there, over the copy's stream
    predicted = connection.execute("SELECT c360_predict(struct_pack(x := total)) IS NULL FROM spend").fetchall()
    assert predicted == [(True,)] * 3 and "whole query" not in connection.cursor().execute(
        "SELECT c360_predict(struct_pack(x := total)) FROM spend").scans[0].sent
    # two copies joined: one DuckDB attaching both files runs the whole query, every pushed filter kept
    joined = ("SELECT s.customer_id, s.total, o.order_id FROM spend s JOIN shop.orders o "
              "ON o.customer_id = s.customer_id WHERE o.order_id > 1 ORDER BY 3")
    cursor = connection.execute(joined)
    assert cursor.fetchall() == live.execute(joined).fetchall() == [(43, 20.0, 2), (42, 40.0, 3), (44, 40.0, 4)]
    assert [s.source for s in cursor.scans] == ["acceleration", "acceleration"]
    assert all("the whole query ran in one DuckDB attaching the copies" in s.sent for s in cursor.scans)
    # ... and that DuckDB is locked like the engine's: no other file can be read from it
    execution = connection.engine.prepare(joined)
    execution.prepare()
    attached = connection.engine.attached.cursor(tuple(dict.fromkeys(s.path for s in execution.scans)))
    with pytest.raises(duckdb.Error, match="Permission"):
        attached.execute(f"SELECT * FROM read_csv('{project / 'sources.yaml'}')").fetchall()
    attached.close()
    # with a function only the engine's DuckDB has, the copies' streams meet there
    predicted = connection.execute(joined.replace("s.total,", "c360_predict(struct_pack(x := s.total)) IS NULL,"))
    assert len(predicted.fetchall()) == 3 and not any("whole query" in s.sent for s in predicted.scans)
    connection.close()
    live.close()


def test_explain_analyze_of_a_query_run_whole_in_a_copy_reports_the_copy_s_rows_and_time(project):
    connection = c360.connect(project)
    sql = "SELECT customer_id, total FROM spend WHERE customer_id IN (42, 44)"
    text = explain(connection, f"ANALYZE {sql}")
    assert "the whole query ran in the copy's DuckDB" in text
    [analyze] = [line for line in text.splitlines() if line.strip().startswith("analyze:")]
    fields = dict(part.split("=") for part in analyze.split(":", 1)[1].split())
    assert int(fields["rows"]) == 2 and int(fields["bytes"]) > 0 and float(fields["seconds"]) > 0
    assert "result: rows=2 " in text
    cursor = connection.execute(sql)
    assert len(cursor.fetchall()) == 2 and cursor.scans[0].rows == 2  # the DB-API's cursor.scans too
    connection.close()


def test_a_copy_of_a_view_edited_since_is_not_used(project):
    connection = c360.connect(project)
    assert "acceleration.spend" in explain(connection, "SELECT * FROM spend")
    connection.close()
    view = project.parent / "queries" / "spend.sql"
    view.write_text(view.read_text().replace("count(*) AS orders", "count(*) AS orders, max(o.amount) AS top"))
    edited = c360.connect(project)
    text = explain(edited, "SELECT * FROM spend")
    # computed again from the edited view (here over shop.orders' copy, itself still valid)
    assert "acceleration.spend" not in text and "acceleration.shop.orders" in text and "AS top" in text
    assert edited.execute("SELECT top FROM spend WHERE customer_id = 42").fetchall() == [(30.0,)]
    edited.close()
    catalog = Catalog(project)
    refresh(catalog, catalog.accelerations["spend"])
    catalog.close()
    refreshed = c360.connect(project)
    assert "acceleration.spend" in explain(refreshed, "SELECT * FROM spend")
    assert refreshed.execute("SELECT top FROM spend WHERE customer_id = 42").fetchall() == [(30.0,)]
    refreshed.close()
