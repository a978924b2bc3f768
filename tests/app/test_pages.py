"""The customer and segments pages in a real headless Chromium, every value checked against the same SQL
through the DB-API (the oracle), plus the live panel, CSV export, a source down and hostile input."""

from __future__ import annotations

import collections
import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

import c360
from c360.app import panels, queries
from tests.app.conftest import (
    ACCENTED,
    CUSTOMER_PANELS,
    REPO,
    SEGMENT_PANELS,
    field,
    get,
    get_json,
    settled,
    start_app,
    stop,
)


def screenshot(browser, name: str, tmp_path: Path) -> None:
    """Every run takes it; ``C360_UPDATE_SCREENSHOTS=1`` also writes it to docs/ (README, docs/app.md)."""
    browser.execute_script("window.scrollTo(0, 0)")
    path = tmp_path / name
    browser.save_full_page_screenshot(path) if hasattr(browser, "save_full_page_screenshot") else None
    if not path.exists():
        height = browser.execute_script("return document.body.scrollHeight")
        browser.set_window_size(1280, max(1000, min(height + 40, 2600)))
        browser.save_screenshot(str(path))
        browser.set_window_size(1280, 1000)
    assert path.stat().st_size > 10_000
    if os.environ.get("C360_UPDATE_SCREENSHOTS") == "1":
        shutil.copy(path, REPO / "docs" / name)


@pytest.fixture(scope="module")
def busy(sql) -> int:
    """A customer with orders, browsing in the last 30 days and partner records: every panel has rows."""
    rows = sql("SELECT v.customer_id FROM customer_360 AS v JOIN (SELECT DISTINCT pe.customer_id FROM "
               "partners.enrichment AS pe) AS e ON e.customer_id = v.customer_id "
               "WHERE v.frequency > 1 AND v.browse_seconds_30d > 0 ORDER BY v.monetary DESC LIMIT 1")
    return rows[0]["customer_id"]


def test_the_app_loads_the_model_and_plans_predictions_at_start_up(server):
    deadline = time.monotonic() + 90
    while (state := get_json(server + "/api/config")["warm_up"]) == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert state == "done"


def test_search_is_case_and_accent_blind_ranked_and_marks_lookalikes(server, browser):
    browser.get(server + "/customer")
    box = WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "search"))
    box.send_keys("ZOE ANGSTROM", Keys.ENTER)
    settled(browser, ["search"])
    hits = browser.find_elements(By.CSS_SELECTOR, "#panel-search li[data-customer-id]")
    assert hits[0].get_attribute("data-customer-id") == str(ACCENTED[0]) and "Zoë Ångström" in hits[0].text
    # the twin of customer 1 (same name and birth date) is shown as duplicate-looking, next to customer 1
    first = get_json(server + "/api/customer/1/profile")["rows"][0]
    box.clear()
    box.send_keys(f"{first['first_name'].lower()} {first['last_name'].upper()}", Keys.ENTER)
    WebDriverWait(browser, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#panel-search li[data-customer-id='9002']"))
    twins = {li.get_attribute("data-customer-id"): li.text for li in
             browser.find_elements(By.CSS_SELECTOR, "#panel-search li[data-customer-id]")}
    assert "looks like" in twins["1"] and "looks like" in twins["9002"]
    # an id ranks first, then an exact email
    ranked = get_json(server + "/api/search?q=1")["rows"]
    assert ranked[0]["customer_id"] == 1 and ranked[0]["score"] == 100
    by_email = get_json(server + "/api/search?q=" + ACCENTED[3].upper())["rows"]
    assert by_email[0]["customer_id"] == ACCENTED[0] and by_email[0]["score"] == 90
    by_phone = get_json(server + "/api/search?q=555%20010%202030")["rows"]
    assert by_phone[0]["customer_id"] == ACCENTED[0]


def test_customer_page_shows_what_the_same_sql_returns(server, browser, sql, busy, tmp_path):
    browser.get(f"{server}/customer?id={busy}")
    states = settled(browser, CUSTOMER_PANELS)
    assert set(states.values()) == {"ready"}, states
    # once every panel has answered, the page notes when (ms since navigation; benchmarks/app_latency.py reads it)
    rendered = WebDriverWait(browser, 10).until(lambda d: d.execute_script("return document.body.dataset.rendered"))
    assert 0 < float(rendered) < 90_000
    # every panel came from one request (the browser's six connections per host would queue a seventh), asked
    # for by the page's head; the polls of the live panel come after it
    asked = browser.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)"
                                   ".filter((n) => n.includes('/api/customer/'))")
    assert [n.split("/api/customer/", 1)[1] for n in asked][0] == f"{busy}?"
    assert all(n.split("/api/customer/", 1)[1].startswith(f"{busy}/live") for n in asked[1:]), asked
    assert set(browser.execute_script("return Object.keys(C360.arrived)")) == set(CUSTOMER_PANELS)
    profile = sql("SELECT * FROM crm.customers WHERE customer_id = ?", [busy])[0]
    for name in ("email", "phone", "city", "income_band"):
        assert field(browser, "profile", name).get_attribute("data-value") == str(profile[name])
    rfm = sql("SELECT segment, monetary, frequency FROM rfm WHERE customer_id = ?", [busy])[0]
    assert field(browser, "rfm", "segment").text == rfm["segment"]
    assert field(browser, "rfm", "segment_meaning").text == panels.SEGMENT_MEANINGS[rfm["segment"]]
    assert float(field(browser, "rfm", "monetary").get_attribute("data-value")) == pytest.approx(float(rfm["monetary"]))
    prediction = sql("SELECT * FROM customer_360 WHERE customer_id = ?", [busy])[0]
    shown = float(field(browser, "predictions", "p_purchase_30d").get_attribute("data-value"))
    assert shown == pytest.approx(prediction["p_purchase_30d"], abs=1e-9)
    assert field(browser, "predictions", "p_purchase_30d").text == f"{100 * prediction['p_purchase_30d']:.1f}%"
    assert field(browser, "predictions", "predicted_category").text == prediction["predicted_category"]
    for category in ("apparel", "cosmetics", "home", "sports", "technology"):
        value = float(field(browser, "predictions", f"p_{category}").get_attribute("data-value"))
        assert value == pytest.approx(prediction[f"p_{category}"], abs=1e-9)
    assert browser.find_elements(By.CSS_SELECTOR, "#reasons-purchase li") and browser.find_elements(
        By.CSS_SELECTOR, "#reasons-category li")
    assert browser.find_element(By.ID, "offer-text").text == panels.next_best_offer(prediction)["offer"]
    # the reasons are the model's own contributions: they add up to the probability the view returns
    reasons = get_json(f"{server}/api/customer/{busy}/predictions")["reasons"]
    assert reasons["p_purchase_30d"] == pytest.approx(prediction["p_purchase_30d"], abs=1e-5)
    assert reasons["predicted"] == prediction["predicted_category"]
    orders = sql("SELECT order_id, status FROM shop.orders WHERE customer_id = ? AND order_ts < current_date "
                 "ORDER BY order_ts DESC, order_id DESC", [busy])
    rows = browser.find_elements(By.CSS_SELECTOR, "#orders-table tr[data-order-id]")
    assert [(int(r.get_attribute("data-order-id")), r.get_attribute("data-status")) for r in rows] == [
        (o["order_id"], o["status"]) for o in orders[:50]]
    # amounts: the order_history view against the shop's own tables
    amounts = {r["order_id"]: r["amount"] for r in sql(
        "SELECT o.order_id, sum(i.quantity * i.unit_price) AS amount FROM shop.orders AS o LEFT JOIN shop.order_items "
        "AS i ON i.order_id = o.order_id WHERE o.customer_id = ? GROUP BY o.order_id", [busy])}
    for row in rows:
        shown = row.find_element(By.CSS_SELECTOR, "[data-value]").get_attribute("data-value")
        expected = amounts[int(row.get_attribute("data-order-id"))]
        assert (float(shown) if shown else None) == (pytest.approx(float(expected)) if expected is not None else None)
    browsing = sql("SELECT category, seconds_30d FROM browsing_features WHERE customer_id = ? "
                   "ORDER BY seconds_30d DESC, category", [busy])
    cells = browser.find_elements(By.CSS_SELECTOR, "#browsing-table tr[data-category]")
    assert [(c.get_attribute("data-category"), float(c.find_element(By.CSS_SELECTOR, "[data-value]")
                                                     .get_attribute("data-value"))) for c in cells] == [
        (b["category"], pytest.approx(float(b["seconds_30d"]))) for b in browsing]
    # every panel shows its SQL and per-source timings
    details = browser.find_element(By.CSS_SELECTOR, "#panel-orders details.sql")
    assert "FROM order_history" in details.get_attribute("textContent")
    assert "shop.orders" in details.find_element(By.CSS_SELECTOR, "table.timings").get_attribute("textContent")
    screenshot(browser, "app-customer.png", tmp_path)
    # on a phone (Chromium's device emulation, 390 x 844): one column, nothing wider than the screen
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    try:
        WebDriverWait(browser, 10).until(lambda d: d.execute_script("return window.innerWidth") < 760)
        lefts = {browser.find_element(By.ID, f"panel-{n}").rect["x"] for n in CUSTOMER_PANELS}
        assert len(lefts) == 1, lefts
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_one_request_answers_every_panel_a_line_each_as_the_panel_endpoints_do(server, busy):
    status, headers, body = get(f"{server}/api/customer/{busy}")
    assert status == 200 and headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert sorted(line["panel"] for line in lines) == sorted(CUSTOMER_PANELS)
    for line in lines:
        if line["panel"] == "live":
            continue  # its window of time moves between the two requests
        alone = get_json(f"{server}/api/customer/{busy}/{line['panel']}")
        assert line["error"] is None and line["sql"] == alone["sql"] and len(line["rows"]) == len(alone["rows"])
        for mine, theirs in zip(line["rows"], alone["rows"]):  # sums of doubles: equal up to their last bits
            assert mine.keys() == theirs.keys(), line["panel"]
            for key, value in mine.items():
                if isinstance(value, float):
                    assert value == pytest.approx(theirs[key], rel=1e-12), (line["panel"], key)
                else:
                    assert value == theirs[key], (line["panel"], key)
    by_panel = {line["panel"]: line for line in lines}
    assert by_panel["rfm"]["meaning"] == panels.SEGMENT_MEANINGS[by_panel["rfm"]["rows"][0]["segment"]]
    assert by_panel["predictions"]["reasons"]["category"] and by_panel["predictions"]["offer"]
    some = [json.loads(line) for line in get(f"{server}/api/customer/{busy}?panels=rfm,profile")[2].decode()
            .splitlines()]
    assert sorted(line["panel"] for line in some) == ["profile", "rfm"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        get(f"{server}/api/customer/{busy}?panels=rfm,secrets")
    assert refused.value.code == 400 and "no panel 'secrets'" in json.loads(refused.value.read())["error"]


def test_the_reasons_run_on_one_thread_and_are_the_models_own_contributions(project, sql, busy):
    import numpy as np
    import xgboost as xgb

    from c360.model.matrix import matrix
    from c360.model.scorer import scorer

    model = scorer(project / "models")
    single = panels.one_thread(model)
    assert json.loads(single.save_config())["learner"]["generic_param"]["nthread"] == "1"
    assert panels.one_thread(model) is single  # copied once per loaded model
    connection = c360.connect(project / "catalog")
    cursor = connection.cursor()
    cursor.execute(queries.predictions(model.card.categories, [f.name for f in model.inputs]), [busy])
    table = cursor.fetch_arrow()
    connection.close()
    reasons = panels.reasons(project / "models", table)
    rows = xgb.DMatrix(np.ascontiguousarray(matrix(table.select([f.name for f in model.inputs]), model.card.features,
                                                   unread=model.unread)), feature_names=model.card.columns)
    margins = model.booster.predict(rows, pred_contribs=True)[0].sum(axis=1)  # the scorer's own booster, threads
    probabilities = np.exp(margins - margins.max()) / np.exp(margins - margins.max()).sum()
    assert reasons["p_purchase_30d"] == pytest.approx(float(1 - probabilities[0]), abs=1e-6)


def test_live_panel_shows_a_window_stream_aggregate_just_wrote(server, browser, project, busy, tmp_path):
    browser.get(f"{server}/customer?id={busy}")
    settled(browser, ["live"])
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=2)
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps({
        "event_id": f"app-{i}", "customer_id": busy, "ts": (now + dt.timedelta(seconds=5 * i)).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z"), "category": "Sports", "page": "/sports/p/1", "action": "view",
        "dwell_seconds": 7}) + "\n" for i in range(3)))
    start = now.replace(tzinfo=None).isoformat()
    assert not browser.find_elements(By.CSS_SELECTOR, f"#live-windows tr[data-window-start='{start}']")
    done = subprocess.run([sys.executable, "-m", "c360", "stream", "aggregate", "--input", str(events),
                           "--out", str(project / "demo-data" / "blob"), "--customers", "1-10000",
                           "--checkpoint", str(tmp_path / "checkpoint")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    row = WebDriverWait(browser, 30, poll_frequency=0.3).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f"#live-windows tr[data-window-start='{start}']"))[0]
    assert row.get_attribute("data-category") == "Sports" and "3" in row.text and "21" in row.text


def test_segments_page_numbers_equal_sql_and_csv_export(server, browser, sql, tmp_path):
    browser.get(f"{server}/segments?segment=Lost")
    states = settled(browser, SEGMENT_PANELS)
    assert set(states.values()) == {"ready"}, states
    expected = {r["segment"]: r for r in sql("SELECT segment, count(*) AS customers, sum(monetary) AS revenue "
                                             "FROM rfm GROUP BY segment")}
    shown = {row.get_attribute("data-segment"): row for row in
             browser.find_elements(By.CSS_SELECTOR, "#summary-table tr[data-segment]")}
    assert set(shown) == set(expected)
    for segment, row in shown.items():
        assert int(row.find_element(By.CSS_SELECTOR, "[data-field='customers']").text) == expected[segment]["customers"]
        revenue = float(row.find_element(By.CSS_SELECTOR, "[data-field='revenue']").get_attribute("data-value"))
        assert revenue == pytest.approx(float(expected[segment]["revenue"]))
    # one scoring pass for the oracle: every customer's row of customer_360, counted and ranked here
    everyone = sql("SELECT customer_id, email, segment, predicted_category, p_purchase_30d FROM customer_360")
    counted = collections.Counter((e["segment"], e["predicted_category"]) for e in everyone)
    cells = [{"segment": s, "predicted_category": c, "n": n} for (s, c), n in counted.items()]
    for cell in cells:
        td = browser.find_element(By.CSS_SELECTOR, f"#heatmap-table tr[data-segment=\"{cell['segment']}\"] "
                                                   f"td[data-category='{cell['predicted_category']}']")
        assert int(td.text) == cell["n"]
    today = dt.date.today()
    before = {r["customer_id"]: r["segment"] for r in sql("SELECT customer_id, segment FROM rfm",
                                                            as_of=today - dt.timedelta(days=30))}
    after = {r["customer_id"]: r["segment"] for r in sql("SELECT customer_id, segment FROM rfm", as_of=today)}
    stayed = sum(1 for c, s in after.items() if before.get(c) == s)
    assert int(browser.find_element(By.ID, "movement-stayed").text) == stayed
    every = sorted((e for e in everyone if e["segment"] == "Lost"), key=lambda e: (-e["p_purchase_30d"],
                                                                                   e["customer_id"]))
    top = every[:50]
    rows = browser.find_elements(By.CSS_SELECTOR, "#top-table tr[data-customer-id]")
    assert [int(r.get_attribute("data-customer-id")) for r in rows] == [t["customer_id"] for t in top]
    screenshot(browser, "app-segments.png", tmp_path)
    link = browser.find_element(By.ID, "top-csv").get_attribute("href")
    status, headers, body = get(link)
    assert status == 200 and headers["content-type"].startswith("text/csv")
    assert 'filename="top-lost.csv"' in headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(body.decode())))
    assert [(int(r["customer_id"]), r["email"], float(r["p_purchase_30d"])) for r in table] == [
        (e["customer_id"], e["email"] or "", pytest.approx(e["p_purchase_30d"])) for e in every]


def test_hostile_search_text_is_data_not_markup_or_sql(server, browser, sql):
    browser.get(server + "/customer")
    box = WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "search"))
    hostile = "x'); DROP TABLE customers; -- \" % _ <script>window.pwned=1</script><img src=x onerror=window.pwned=2>"
    box.send_keys(hostile, Keys.ENTER)
    settled(browser, ["search"])
    assert browser.execute_script("return window.pwned === undefined")
    assert not browser.find_elements(By.CSS_SELECTOR, "#panel-search li[data-customer-id]")
    assert browser.find_element(By.ID, "panel-search").get_attribute("data-state") == "ready"
    with pytest.raises(urllib.error.HTTPError) as refused:  # a date that is not one: 400, with the reason
        get_json(server + "/api/segments?as_of=%3Cscript%3E")
    assert refused.value.code == 400 and "not a date" in json.loads(refused.value.read())["error"]
    assert get_json(server + "/api/search?q=%25")["rows"] == []  # '%' is a character here, not a wildcard
    assert get_json(server + "/api/search?q=_")["rows"] == []
    assert sql("SELECT count(*) AS n FROM crm.customers")[0]["n"] == 302  # nothing dropped


def test_a_source_down_fails_only_the_panels_that_read_it(project, browser, busy, tmp_path):
    broken = tmp_path / "catalog"
    shutil.copytree(project / "catalog", broken)
    data = project / "demo-data"
    for path in broken.glob("*.yaml"):
        text = path.read_text().replace("../demo-data", str(data))
        if path.name == "shop.yaml":
            text = text.replace(str(data / "shop.sqlite"), str(tmp_path / "gone" / "shop.sqlite"))
        path.write_text(text)
    shutil.copytree(project / "queries", tmp_path / "queries")
    shutil.copytree(project / "models", tmp_path / "models")
    process, base = start_app(broken)
    try:
        browser.get(f"{base}/customer?id={busy}")
        states = settled(browser, CUSTOMER_PANELS)
        assert states["orders"] == "error" and states["rfm"] == "error" and states["predictions"] == "error"
        assert "shop" in browser.find_element(By.CSS_SELECTOR, "#panel-orders .error").text
        assert states["profile"] == states["browsing"] == states["enrichment"] == states["live"] == "ready"
        assert field(browser, "profile", "customer_id").get_attribute("data-value") == str(busy)
    finally:
        stop(process)
