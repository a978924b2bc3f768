"""The customer and segments pages over the ``servers`` profile: MariaDB (shop), PostgreSQL through ODBC
(CRM) and Azurite (browsing windows), values checked against the same SQL through the DB-API."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import subprocess
import sys

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

import c360
from c360.generate import Config, generate
from c360.generate.servers import ServersTarget, mysql_admin, pg_admin
from tests.app.conftest import CUSTOMER_PANELS, REPO, field, get_json, settled, start_app, stop


@pytest.fixture(scope="module")
def servers_project(tmp_path_factory, azurite, mariadb, postgres_odbc):
    """The demo catalog with this module's own databases, login and container, 150 customers loaded."""
    root = tmp_path_factory.mktemp("app-servers")
    tag = f"{os.getpid()}_{secrets.token_hex(3)}"
    names = dict(shop=f"c360_shop_a{tag}", crm=f"c360_crm_a{tag}", user=f"c360a{tag}",
                 container=azurite.new_container("clicks"))
    for folder in ("catalog", "queries", "models"):
        shutil.copytree(REPO / folder, root / folder)
    replacements = {"c360_shop": names["shop"], "c360_crm": names["crm"], "user: c360\n": f"user: {names['user']}\n",
                    "Uid=c360;": f"Uid={names['user']};", "container: clicks": f"container: {names['container']}"}
    for path in (root / "catalog").glob("*.yaml"):
        text = path.read_text()
        for old, new in replacements.items():
            text = text.replace(old, new)
        path.write_text(text)
    env = {"C360_SHOP_PASSWORD": "shop-" + secrets.token_hex(6), "C360_CRM_PASSWORD": "crm-" + secrets.token_hex(6),
           "C360_BLOB_CONNECTION_STRING": azurite.connection_string}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    config = Config(customers=150, days=90, seed=3, end=dt.date.today())
    generate(config, ServersTarget.from_catalog(root / "catalog", root / "demo-data"))
    yield root, names, azurite.connection_string
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    admin = mysql_admin("127.0.0.1", 3306)
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{names['shop']}`")
        cursor.execute(f"DROP USER IF EXISTS '{names['user']}'@'%', '{names['user']}'@'localhost'")
    admin.close()
    pg = pg_admin("127.0.0.1", 5432)
    pg.execute(f'DROP DATABASE IF EXISTS "{names["crm"]}" WITH (FORCE)')
    pg.execute(f'DROP ROLE IF EXISTS "{names["user"]}"')
    pg.close()


def test_customer_page_live_panel_and_segments_on_the_servers(servers_project, browser, tmp_path):
    root, names, blob = servers_project
    connection = c360.connect(root / "catalog", profile="servers")
    cursor = connection.cursor()

    def sql(statement, params=None):
        cursor.execute("SET VARIABLE as_of = ?", [dt.date.today()])
        cursor.execute(statement, params)
        return cursor.fetch_arrow().to_pylist()

    try:
        busy = sql("SELECT customer_id FROM rfm WHERE frequency > 0 ORDER BY monetary DESC, customer_id "
                   "LIMIT 1")[0]["customer_id"]
        process, base = start_app(root / "catalog", "--profile", "servers")
        try:
            browser.get(f"{base}/customer?id={busy}")
            states = settled(browser, CUSTOMER_PANELS)
            assert set(states.values()) == {"ready"}, states
            expected = sql("SELECT email, segment, p_purchase_30d, predicted_category FROM customer_360 "
                           "WHERE customer_id = ?", [busy])[0]
            assert field(browser, "profile", "email").get_attribute("data-value") == str(expected["email"])
            assert field(browser, "rfm", "segment").text == expected["segment"]
            shown = float(field(browser, "predictions", "p_purchase_30d").get_attribute("data-value"))
            assert shown == pytest.approx(expected["p_purchase_30d"], abs=1e-9)
            orders = sql("SELECT count(*) AS n FROM shop.orders WHERE customer_id = ? AND order_ts < current_date",
                         [busy])[0]["n"]
            assert len(browser.find_elements(By.CSS_SELECTOR, "#orders-table tr[data-order-id]")) == min(orders, 50)
            # a window written to Azurite by c360 stream aggregate appears in the open page
            start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0, tzinfo=None) - dt.timedelta(minutes=2)
            events = tmp_path / "events.jsonl"
            events.write_text("".join(json.dumps({
                "event_id": f"srv-{i}", "customer_id": busy, "ts": (start + dt.timedelta(seconds=10 * i)).strftime(
                    "%Y-%m-%dT%H:%M:%S.000Z"), "category": "Home", "page": "/home/p/2", "action": "view",
                "dwell_seconds": 4}) + "\n" for i in range(2)))
            done = subprocess.run([sys.executable, "-m", "c360", "stream", "aggregate", "--input", str(events), "--out",
                                   blob, "--container", names["container"], "--customers", "1-10000", "--checkpoint",
                                   str(tmp_path / "checkpoint")], capture_output=True, text=True, timeout=120,
                                  env={**os.environ, "PYTHONPATH": str(REPO)})
            assert done.returncode == 0, done.stderr
            row = WebDriverWait(browser, 30, poll_frequency=0.3).until(lambda d: d.find_elements(
                By.CSS_SELECTOR, f"#live-windows tr[data-window-start='{start.isoformat()}']"))[0]
            assert row.get_attribute("data-category") == "Home"
            browser.get(f"{base}/segments")
            settled(browser, ["summary"])
            counts = {r["segment"]: r["n"] for r in sql("SELECT segment, count(*) AS n FROM rfm GROUP BY segment")}
            shown = {r.get_attribute("data-segment"):
                     int(r.find_element(By.CSS_SELECTOR, "[data-field='customers']").text)
                     for r in browser.find_elements(By.CSS_SELECTOR, "#summary-table tr[data-segment]")}
            assert shown == counts
        finally:
            stop(process)
    finally:
        connection.close()


def test_with_an_accelerated_live_tail_the_open_page_shows_a_window_written_after_it_opened(servers_project, browser,
                                                                                             tmp_path):
    """The live panel over a copy of ``clicks.browsing`` with ``live_tail``: its rows past the copy are the
    process's live tail (each window file read once, kept in memory), and a window the stream writes while the
    page is open still appears at a later poll."""
    root, names, blob = servers_project
    catalog = root / "catalog"
    (catalog / "acceleration.yaml").write_text(
        "acceleration:\n  clicks.browsing: {refresh: append, column: partition_hour, "
        "key: [customer_id, window_start, category], live_tail: true, max_staleness: 1d}\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run([sys.executable, "-m", "c360", "accelerate", "refresh", "--catalog", str(catalog),
                               "--profile", "servers", "--quiet"], capture_output=True, text=True, timeout=300, env=env,
                              cwd=root)
        assert done.returncode == 0, done.stderr
        customer = 7
        process, base = start_app(catalog, "--profile", "servers")
        try:
            browser.get(f"{base}/customer?id={customer}")
            settled(browser, ["live"])
            answer = get_json(f"{base}/api/customer/{customer}/live")
            assert answer["error"] is None
            assert any("live tail:" in s["sent"] for s in answer["sources"]), answer["sources"]
            start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0, tzinfo=None) - dt.timedelta(minutes=4)
            events = tmp_path / "events.jsonl"
            events.write_text("".join(json.dumps({
                "event_id": f"tail-{i}", "customer_id": customer, "ts": (start + dt.timedelta(seconds=10 * i))
                .strftime("%Y-%m-%dT%H:%M:%S.000Z"), "category": "Cosmetics", "page": "/c/p/3", "action": "view",
                "dwell_seconds": 6}) + "\n" for i in range(2)))
            shown = f"#live-windows tr[data-window-start='{start.isoformat()}']"
            assert not browser.find_elements(By.CSS_SELECTOR, shown)
            done = subprocess.run([sys.executable, "-m", "c360", "stream", "aggregate", "--input", str(events), "--out",
                                   blob, "--container", names["container"], "--customers", "1-10000", "--checkpoint",
                                   str(tmp_path / "checkpoint")], capture_output=True, text=True, timeout=120, env=env)
            assert done.returncode == 0, done.stderr
            row = WebDriverWait(browser, 30, poll_frequency=0.3).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, shown))[0]
            assert row.get_attribute("data-category") == "Cosmetics"
        finally:
            stop(process)
    finally:
        (catalog / "acceleration.yaml").unlink()
