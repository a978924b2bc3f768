"""``c360 app``: the customer page's time to fully rendered in headless Chromium, live and accelerated.

A script, not a test. It builds a throwaway project like ``customer_360_latency.py`` (the repository's
catalog, views and model copied into ``--workdir``, ``--customers`` generated into it), starts
``c360 app`` over it, and opens ``/customer?id=N`` for ``--runs`` random customers in Debian's headless
Chromium (Selenium, ``/usr/bin/chromedriver``), timing from navigation to every panel ready or failed.
Then it declares an accelerated copy for every panel that can have one (:data:`ACCELERATION`: the views
``customer_360``, ``rfm``, ``browsing_features`` and ``order_history``, the tables ``crm.customers`` and
``partners.enrichment``, and ``clicks.browsing`` with a live tail, so the live panel still reads the
newest hour folders from the stream), refreshes them (``c360 accelerate refresh``), restarts the app and
measures again. Each line gives the page's p50/p95 and each panel's (when its answer arrived, in ms since
navigation: the line of the page's one streamed request, or the end of its own request for an app that asks
per panel), with ``/proc/loadavg`` before and after. ``--baseline CHECKOUT`` runs a second app from
another checkout (``/work/main``) at the same time, live and accelerated (``--live-runs`` pages live), the two
taken in turns page by page, so both see the same load and data; ``--stream-minutes`` writes browsing windows
into the live tail first and more while measuring, as a running ``c360 stream aggregate`` would::

    python benchmarks/app_latency.py --customers 300 --runs 5                 # embedded, a smoke run
    python benchmarks/app_latency.py --customers 100000 --profile servers --runs 20 --browsing-days 35
    python benchmarks/app_latency.py ... --skip-generate --skip-live   # the same data again, accelerated only
    python benchmarks/app_latency.py ... --skip-generate --skip-refresh --skip-live --stream-minutes 90 \
        --baseline /work/main                                          # this checkout against main, side by side

On servers the data goes to databases and a container named by ``--names`` (``c360_shop_NAMES``, ``c360_crm_NAMES``,
``clicks-NAMES``), so several people's data can sit on one machine.

Figures are in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import subprocess
import sys
import time
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


def rendered(driver, url: str) -> tuple[float, dict, dict]:
    """Seconds from navigation to every panel ready or failed (as the page measures it: ``performance.now()``
    when the last panel has answered and been drawn, in ``body[data-rendered]``), each panel's state, and when each
    panel's answer arrived, in seconds since navigation (the page's ``C360.arrived``, or for an app whose page asks
    per panel, that request's end from the browser's resource timings): the panel that arrives last is the critical
    path.
    The page's own clock, not WebDriver's: polling seven elements every few ms through chromedriver costs
    the 2 cores the app needs, and adds a poll's delay."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    took = WebDriverWait(driver, 300, poll_frequency=0.05).until(
        lambda d: d.execute_script("return document.body.dataset.rendered || false"))
    found = {n: driver.find_element(By.ID, f"panel-{n}").get_attribute("data-state") for n in PANELS}
    timings = driver.execute_script(
        "if (typeof C360 !== 'undefined' && C360.arrived && Object.keys(C360.arrived).length) return C360.arrived;"
        " const out = {}; for (const e of performance.getEntriesByType('resource')) {"
        " const m = e.name.match(/\\/api\\/customer\\/[^/]+\\/([a-z]+)/);"
        " if (m && !(m[1] in out)) out[m[1]] = e.responseEnd; } return out;")
    return float(took) / 1000, found, {n: float(v) / 1000 for n, v in timings.items()}


class Stream:
    """What ``c360 stream aggregate`` would be writing while agents look: ``minutes`` one-minute windows up to now
    (about ``per_window`` customers each, three of the measured customers among them) put into the browsing
    container first, then one more window every ``every`` seconds while :meth:`running` (each a new file, the
    next minute's: faster than a real stream's one a minute, and running ahead of the clock). File names are the
    stream's with this run's prefix, so no file of an earlier run is rewritten (the stream never rewrites one).
    On servers only (the container named in the benchmark's catalog)."""

    def __init__(self, catalog: Path, ids: list[int], customers: int, minutes: int, every: float, per_window: int = 20):
        import threading

        from c360.generate.model import DEFAULT_CATEGORIES
        from connectors.files.store import open_store

        text = (catalog / "clicks.yaml").read_text()
        container = next(line.split(":", 1)[1].strip() for line in text.splitlines() if "container:" in line)
        self.store = open_store(os.environ["C360_BLOB_CONNECTION_STRING"], container)
        self.ids, self.customers, self.every, self.per_window = ids, customers, every, per_window
        self.categories, self.rng = DEFAULT_CATEGORIES, random.Random(11)
        self.stop = threading.Event()
        now = int(time.time()) // 60 * 60
        self.next = now - 60 * minutes
        self.written = 0
        self.run = f"{int(time.time()):x}"
        self.write_until(now)

    def write_until(self, end: int) -> None:
        from c360.browsing import encode_browsing
        from c360.stream.aggregate import window_key

        files = []
        while self.next < end:
            begin = dt.datetime.fromtimestamp(self.next, dt.UTC).replace(tzinfo=None)
            who = set(self.rng.sample(self.ids, min(3, len(self.ids))))
            who |= {self.rng.randint(1, self.customers) for _ in range(self.per_window)}
            rows = [(begin, begin + dt.timedelta(minutes=1), c, self.rng.choice(self.categories),
                     self.rng.randint(1, 5), round(self.rng.uniform(5, 120), 3)) for c in sorted(who)]
            key = window_key("browsing/", self.next, 60, "jsonl")  # a run's own names: a window file never changes
            folder, name = key.rsplit("/", 1)
            files.append((f"{folder}/bench-{self.run}-{name}", encode_browsing(rows, "jsonl")))
            self.next += 60
        if files:
            self.store.put_many(files)
            self.written += len(files)

    def running(self):
        """A context in which a thread writes one more window every ``every`` seconds."""
        import contextlib
        import threading

        @contextlib.contextmanager
        def context():
            def loop():
                while not self.stop.wait(self.every):
                    self.write_until(self.next + 60)
            thread = threading.Thread(target=loop, daemon=True)
            self.stop.clear()
            thread.start()
            try:
                yield self
            finally:
                self.stop.set()
                thread.join()
        return context()


def code_env(code: Path) -> dict:
    """The environment that runs ``code``'s c360: its checkout on ``PYTHONPATH``, and ``PYTHONSAFEPATH`` so that
    ``python -m c360`` does not put the working folder first on ``sys.path`` (run from another checkout, that
    checkout's c360 would be imported instead, whatever ``PYTHONPATH`` says)."""
    return {"PYTHONPATH": str(code), "PYTHONSAFEPATH": "1"}


def checkout(code: Path) -> str:
    """Where the c360 that ``code_env(code)`` runs comes from, and its commit; fails if it is not ``code``'s."""
    found = subprocess.run([sys.executable, "-c", "import c360; print(c360.__file__)"], capture_output=True,
                           text=True, check=True, env={**os.environ, **code_env(code)}).stdout.strip()
    if not Path(found).resolve().is_relative_to(code.resolve()):
        raise SystemExit(f"{code}: python -m c360 would run {found}, not this checkout's")
    commit = subprocess.run(["git", "-C", str(code), "log", "-1", "--format=%h %s"], capture_output=True,
                            text=True).stdout.strip()
    return f"{found} ({commit[:60] or 'no git'})"


def loadavg() -> str:
    """``/proc/loadavg``'s three load averages."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measure(catalog: Path, profile: str, ids: list[int], codes: dict[str, Path], stream=None) -> None:
    """Time the page for ``ids[1:]`` (after a warm-up on ``ids[0]``) in one app per entry of ``codes`` (label ->
    checkout whose code it runs), all started at once and taken in turns page by page (the first app first on
    odd pages, last on even ones), while ``stream`` writes windows if given: the apps see the same load, the same
    data and the same live tail growing. Prints p50/p95 of the page and of each panel, per app."""
    before = loadavg()
    for label, code in codes.items():
        print(f"  {label}: {checkout(code)}", flush=True)
    apps = {label: start_app(catalog, "--profile", profile, "--live-seconds", "3600", env=code_env(code))
            for label, code in codes.items()}
    driver = browser()
    try:
        seconds = {label: {"page": []} for label in apps}
        failed = {label: set() for label in apps}
        with stream.running() if stream is not None else contextlib.nullcontext():
            for label, (_, base) in apps.items():
                rendered(driver, f"{base}/customer?id={ids[0]}")  # warm-up: model load, plans, connections
            for turn, customer in enumerate(ids[1:]):
                order = list(apps.items()) if turn % 2 == 0 else list(reversed(apps.items()))
                for label, (_, base) in order:
                    took, found, panels = rendered(driver, f"{base}/customer?id={customer}")
                    seconds[label]["page"].append(took)
                    for name, value in panels.items():
                        seconds[label].setdefault(name, []).append(value)
                    failed[label] |= {n for n, s in found.items() if s == "error"}
        print(f"  {len(ids) - 1} pages per app, in turns; load average before {before}, after {loadavg()}",
              flush=True)
        labels = list(apps)
        print("    " + " " * 12 + "".join(f"{label:>34}" for label in labels), flush=True)
        for name in ("page", *PANELS):
            cells = []
            for label in labels:
                values = seconds[label].get(name)
                p50, p95 = (percentile(values, .5) * 1000, percentile(values, .95) * 1000) if values else (0, 0)
                cells.append(f"p50 {p50:6.0f} ms  p95 {p95:6.0f} ms" if values else "")
            print(f"    {name:<12}" + "".join(f"{cell:>34}" for cell in cells), flush=True)
        for label in labels:
            if failed[label]:
                print(f"    {label}: failed panels: {', '.join(sorted(failed[label]))}", flush=True)
    finally:
        driver.quit()
        for process, _ in apps.values():
            stop(process)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", "-n", type=int, default=300)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--profile", "-p", choices=("embedded", "servers"), default="embedded")
    parser.add_argument("--runs", type=int, default=5, help="pages timed (after one warm-up)")
    parser.add_argument("--live-runs", type=int, default=None,
                        help="pages timed without acceleration (default: --runs; each takes seconds at scale)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/c360-app-benchmark"))
    parser.add_argument("--names", default="appbench",
                        help="servers: the suffix of the benchmark's databases and container (c360_shop_NAMES, "
                             "c360_crm_NAMES, clicks-NAMES), so several people's data can sit on one machine "
                             "(default appbench)")
    parser.add_argument("--browsing-days", type=int, default=None)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-generate", action="store_true")
    parser.add_argument("--skip-refresh", action="store_true",
                        help="keep the accelerated copies of an earlier run (with --skip-generate)")
    parser.add_argument("--skip-live", action="store_true", help="measure only with acceleration")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stream-minutes", type=int, default=0,
                        help="servers: before the accelerated runs, write this many one-minute browsing windows up to "
                             "now (the live panel's tail past the copy), and one more every --stream-every seconds "
                             "while measuring, as a running `c360 stream aggregate` would (default 0: none)")
    parser.add_argument("--stream-every", type=float, default=3.0)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a checkout of c360 (e.g. /work/main) whose app is measured too, live and accelerated, "
                             "over the same data and customers, page by page in turns with this one's")
    args = parser.parse_args(argv)
    args.live_runs = args.runs if args.live_runs is None else min(args.live_runs, args.runs)
    if args.profile == "servers":
        from c360.settings import apply_demo_values

        apply_demo_values()
    catalog = prepare_project(args.workdir, args.names if args.profile == "servers" else None)
    if not args.skip_generate:
        generate(catalog, args.customers, args.days, "embedded" if args.profile == "embedded" else "servers",
                 args.workers, args.browsing_days)
    ids = random.Random(args.seed).sample(range(1, args.customers + 1), min(args.runs + 1, args.customers))
    print(f"customer page, time to fully rendered [{args.profile}, {args.customers:,} customers]")
    baseline = {} if args.baseline is None else {f"baseline {args.baseline.name or args.baseline}": args.baseline}
    if not args.skip_live:
        measure(catalog, args.profile, ids[:args.live_runs + 1], {**{f"{k}, live": v for k, v in baseline.items()},
                                                                   "live": REPO})
    (catalog / "acceleration.yaml").write_text(ACCELERATION)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if not args.skip_refresh:
        subprocess.run([sys.executable, "-m", "c360", "accelerate", "refresh", "--catalog", str(catalog), "--profile",
                        args.profile, "--quiet"], check=True, env=env, cwd=catalog.parent)
    stream = None
    if args.stream_minutes and args.profile == "servers":
        stream = Stream(catalog, ids, args.customers, args.stream_minutes, args.stream_every)
        print(f"  {stream.written} windows written up to now into the live tail; one more every "
              f"{args.stream_every:g} s while measuring", flush=True)
    measure(catalog, args.profile, ids, {**baseline, "accelerated": REPO}, stream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
