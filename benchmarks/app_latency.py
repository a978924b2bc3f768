"""``c360 app``: the customer page's time to fully rendered in headless Chromium, live and accelerated.

A script, not a test. It builds a throwaway project like ``customer_360_latency.py`` (the repository's
catalog, views and model copied into ``--workdir``, ``--customers`` generated into it), starts
``c360 app`` over it, and opens ``/customer?id=N`` for ``--runs`` random customers in Debian's headless
Chromium (Selenium, ``/usr/bin/chromedriver``), timing from navigation to every panel ready or failed.
Then it declares an accelerated copy for every panel that can have one (:data:`ACCELERATION`: the views
``customer_360``, ``rfm``, ``browsing_features`` and ``order_history``, the tables ``crm.customers`` and
``partners.enrichment``, and ``clicks.browsing`` with a live tail, so the live panel still reads the
newest hour folders from the stream), refreshes them (``c360 accelerate refresh``), restarts the app and
measures again::

    python benchmarks/app_latency.py --customers 300 --runs 5                 # embedded, a smoke run
    python benchmarks/app_latency.py --customers 100000 --profile servers --runs 20 --browsing-days 35
    python benchmarks/app_latency.py ... --skip-generate --skip-live   # the same data again, accelerated only

Figures are in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.customer_360_latency import generate, percentile, prepare_project  # noqa: E402
from tests.app.conftest import start_app, stop  # noqa: E402 - the tests' own way to start the app

PANELS = ("profile", "rfm", "predictions", "browsing", "enrichment", "orders", "live")
ACCELERATION = """
acceleration:
  customer_360: {key: [customer_id], max_staleness: 1d}
  rfm: {key: [customer_id], max_staleness: 1d}
  browsing_features: {key: [customer_id, category], max_staleness: 1d}
  order_history: {key: [customer_id, order_id], max_staleness: 1d}
  crm.customers: {key: [customer_id], max_staleness: 1d}
  partners.enrichment: {key: [customer_id, partner, updated_at], max_staleness: 1d}
  clicks.browsing: {refresh: append, column: partition_hour, key: [customer_id, window_start, category],
                    live_tail: true, max_staleness: 1d}
"""


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def rendered(driver, url: str) -> tuple[float, dict]:
    """Seconds from navigation to every panel ready or failed (as the page measures it: ``performance.now()``
    when the last panel has answered and been drawn, in ``body[data-rendered]``), and each panel's state.
    The page's own clock, not WebDriver's: polling seven elements every few ms through chromedriver costs
    the 2 cores the app needs, and adds a poll's delay."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    took = WebDriverWait(driver, 300, poll_frequency=0.05).until(
        lambda d: d.execute_script("return document.body.dataset.rendered || false"))
    found = {n: driver.find_element(By.ID, f"panel-{n}").get_attribute("data-state") for n in PANELS}
    return float(took) / 1000, found


def measure(catalog: Path, profile: str, ids: list[int], label: str) -> None:
    process, base = start_app(catalog, "--profile", profile, "--live-seconds", "3600")
    driver = browser()
    try:
        rendered(driver, f"{base}/customer?id={ids[0]}")  # warm-up: model load, plans, connections
        seconds, failed = [], set()
        for customer in ids[1:]:
            took, found = rendered(driver, f"{base}/customer?id={customer}")
            seconds.append(took)
            failed |= {n for n, s in found.items() if s == "error"}
        p50, p95 = percentile(seconds, .5) * 1000, percentile(seconds, .95) * 1000
        failures = f"; failed panels: {', '.join(sorted(failed))}" if failed else ""
        print(f"  {label:<14} p50 {p50:8.0f} ms   p95 {p95:8.0f} ms   ({len(seconds)} pages{failures})", flush=True)
    finally:
        driver.quit()
        stop(process)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", "-n", type=int, default=300)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--profile", "-p", choices=("embedded", "servers"), default="embedded")
    parser.add_argument("--runs", type=int, default=5, help="pages timed (after one warm-up)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/c360-app-benchmark"))
    parser.add_argument("--browsing-days", type=int, default=None)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-generate", action="store_true")
    parser.add_argument("--skip-live", action="store_true", help="measure only with acceleration")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.profile == "servers":
        from c360.settings import apply_demo_values

        apply_demo_values()
    catalog = prepare_project(args.workdir, "appbench" if args.profile == "servers" else None)
    if not args.skip_generate:
        generate(catalog, args.customers, args.days, "embedded" if args.profile == "embedded" else "servers",
                 args.workers, args.browsing_days)
    ids = random.Random(args.seed).sample(range(1, args.customers + 1), min(args.runs + 1, args.customers))
    print(f"customer page, time to fully rendered [{args.profile}, {args.customers:,} customers]")
    if not args.skip_live:
        measure(catalog, args.profile, ids, "live")
    (catalog / "acceleration.yaml").write_text(ACCELERATION)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "c360", "accelerate", "refresh", "--catalog", str(catalog), "--profile",
                    args.profile, "--quiet"], check=True, env=env, cwd=catalog.parent)
    measure(catalog, args.profile, ids, "accelerated")
    print(f"  load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
