"""One generated demo project, one ``c360 app`` server over it and one headless Chromium, per session.

The server is the real command (``python -m c360 app``) in a subprocess on a free port; the browser
is Debian's Chromium driven by Selenium through ``/usr/bin/chromedriver`` (nothing is downloaded).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

import c360
from c360.generate import Config, generate, write_manifest
from c360.generate.targets import EmbeddedTarget

REPO = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
#: Customers the fixture adds to the CRM: an accented name, and a duplicate-looking twin of customer 1.
ACCENTED = (9001, "Zoë", "Ångström", "zoe.angstrom@example.org", "+1-555-010-2030")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(project, *, warm_up: bool = False, **options):
    """The app in this process (so a test can change its module's settings) on a free port, its address
    yielded; ``options`` go to ``create_app``."""
    import uvicorn

    from c360.app.server import create_app

    port = free_port()
    app = create_app(project / "catalog", warm_up=warm_up, **options)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def get(url: str, *, timeout: float = 60):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.headers, response.read()


def get_json(url: str):
    return json.loads(get(url)[2])


CUSTOMER_PANELS = ("profile", "rfm", "predictions", "browsing", "enrichment", "orders", "live")
SEGMENT_PANELS = ("summary", "heatmap", "movement", "top")


def settled(browser, names, timeout: float = 90) -> dict:
    """Wait until each panel is ready or failed; returns {panel: state}."""
    def states(driver):
        found = {n: driver.find_element(By.ID, f"panel-{n}").get_attribute("data-state") for n in names}
        return found if all(s in ("ready", "error") for s in found.values()) else False

    return WebDriverWait(browser, timeout, poll_frequency=0.2).until(states)


def field(browser, panel: str, name: str):
    return browser.find_element(By.CSS_SELECTOR, f"#panel-{panel} [data-field='{name}']")


@pytest.fixture(scope="session")
def project(tmp_path_factory) -> Path:
    """The repository's catalog, views and model over 300 generated customers whose history ends today."""
    root = tmp_path_factory.mktemp("app-project")
    for folder in ("catalog", "queries", "models"):
        shutil.copytree(REPO / folder, root / folder)
    config = Config(customers=300, days=120, seed=7, end=dt.date.today())
    write_manifest(root / "demo-data", config, generate(config, EmbeddedTarget(root / "demo-data")))
    crm = sqlite3.connect(root / "demo-data" / "crm.sqlite")
    columns = [row[1] for row in crm.execute("PRAGMA table_info(customers)")]
    first = dict(zip(columns, crm.execute("SELECT * FROM customers WHERE customer_id = 1").fetchone()))
    accented = {**first, **dict(zip(("customer_id", "first_name", "last_name", "email", "phone"), ACCENTED))}
    twin = {**first, "customer_id": 9002, "email": None}
    for row in (accented, twin):
        crm.execute(f"INSERT INTO customers ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    [row[c] for c in columns])
    crm.commit()
    crm.close()
    return root


def start_app(catalog: Path, *extra: str, env: dict | None = None, scheme: str = "http", context=None):
    """``c360 app`` on a free port over ``catalog``; returns (process, base URL) once it answers (a 401
    answers too: the app is up and asks for a login)."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    process = subprocess.Popen([sys.executable, "-m", "c360", "app", "--catalog", str(catalog), "--port", str(port),
                                "--live-seconds", "1", *extra], env=env, stderr=subprocess.PIPE, text=True)
    base = f"{scheme}://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/api/config", timeout=2, context=context).close()
            return process, base
        except urllib.error.HTTPError as error:
            if error.code == 401:
                return process, base
            raise
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"c360 app did not start: {process.stderr.read()}", pytrace=False)
            time.sleep(0.2)


def stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def server(project):
    """The base URL of ``c360 app`` over ``project``."""
    process, base = start_app(project / "catalog")
    yield base
    stop(process)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Selenium, 1280x1000."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.fail(f"{path} is missing: run ./scripts/setup (apt packages chromium, chromium-driver)",
                        pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1000", "--disable-extensions"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def sql(project):
    """``sql(statement, params, as_of=today)`` -> rows as dicts, through the DB-API (the oracle of every panel)."""
    connection = c360.connect(project / "catalog")

    def run(statement: str, params=None, as_of: dt.date | None = None) -> list[dict]:
        cursor = connection.cursor()
        cursor.execute("SET VARIABLE as_of = ?", [as_of or dt.date.today()])
        cursor.execute(statement, params)
        return cursor.fetch_arrow().to_pylist()

    yield run
    connection.close()
