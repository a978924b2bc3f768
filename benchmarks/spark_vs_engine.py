"""``customer_360`` for every customer: c360's engine against Spark ``local[1]`` and ``local[2]``.

A script, not a test. It generates ``--customers`` customers (the demo generator) into MariaDB
(``shop``), PostgreSQL (``crm``, through ODBC for the engine and JDBC for Spark), JSON files
(``partners``) and a local blob folder (``clicks``), under a project of its own in ``--workdir``
with the repository's ``queries/`` and ``models/``; then, as of ``--as-of``, it times::

    engine   SELECT * FROM customer_360   (EXPLAIN ANALYZE: seconds, bytes per source)
    spark    c360 spark build customer_360 (to parquet), on local[1] and local[2], a new JVM each

and prints seconds, customers/s, the JDBC partitions per table, and bytes per source: for the engine,
the Arrow bytes each source sent (EXPLAIN ANALYZE); for Spark, MariaDB's BYTES_SENT to the benchmark's
login (``information_schema.USER_STATISTICS``, with ``userstat`` on while Spark runs), the files' sizes
for JSON and blob (the blob's day folders of ``browsing_features``' 30 days, which is all Spark reads of it),
and nothing for PostgreSQL (it counts no bytes per login)::

    .venv/bin/python benchmarks/spark_vs_engine.py --customers 2000 --days 120         # a few minutes
    .venv/bin/python benchmarks/spark_vs_engine.py --customers 1000000 --days 120 --browsing-days 35 \
        --masters 'local[2],local[2]:no-pushdown,local[1]'
    .venv/bin/python benchmarks/spark_vs_engine.py --skip-generate --rows-per-partition 50000 --masters 'local[2]'
    .venv/bin/python benchmarks/spark_vs_engine.py --customers 1000000 --days 120 --browsing-days 35 --generate-only

Figures are in docs/spark.md. The databases ``c360_shop_sparkbench`` / ``c360_crm_sparkbench`` and
the login ``c360sparkbench`` are (re)created on every run that generates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import c360  # noqa: E402 - after the sys.path line, so the script runs from anywhere
from c360.generate import Config, generate  # noqa: E402
from c360.generate.files import file_sources_yaml  # noqa: E402
from c360.generate.servers import ServersTarget, mysql_admin  # noqa: E402

USER = "c360sparkbench"
PASSWORD_ENV = "C360_SPARKBENCH_PASSWORD"
CATALOG = """\
sources:
  shop:
    kind: mysql
    host: 127.0.0.1
    port: 3306
    user: {user}
    password: ${{ENV:{env}}}
    database: c360_shop_sparkbench
  crm:
    kind: odbc
    dialect: postgres
    connection_string: "Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port=5432;Database=c360_crm_sparkbench;\
Uid={user};Pwd=${{ENV:{env}}};BoolsAsChar=0;"
{files}"""


def prepare(workdir: Path, customers: int, days: int, browsing_days: int | None, end: dt.date) -> Path:
    """The benchmark's project in ``workdir``, its data generated and loaded; returns the catalog folder."""
    workdir.mkdir(parents=True, exist_ok=True)
    for folder in ("queries", "models"):
        shutil.rmtree(workdir / folder, ignore_errors=True)
        shutil.copytree(REPO / folder, workdir / folder)
    (workdir / "catalog").mkdir(exist_ok=True)
    (workdir / "catalog" / "sources.yaml").write_text(
        CATALOG.format(user=USER, env=PASSWORD_ENV, files=file_sources_yaml("../demo-data")))
    started = time.perf_counter()
    config = Config(customers=customers, days=days, seed=42, end=end, browsing_days=browsing_days)
    data, login = workdir / "demo-data", dict(host="127.0.0.1", user=USER, password=os.environ[PASSWORD_ENV])
    target = ServersTarget(out=data, mysql=dict(login, port=3306, database="c360_shop_sparkbench"),
                           postgres=dict(login, port=5432, database="c360_crm_sparkbench"), blob={},
                           partners_dir=data / "partners", local_blob=data)
    generate(config, target, workers=1)
    print(f"generated and loaded {customers:,} customers ({days} days) in {time.perf_counter() - started:.1f}s",
          flush=True)
    return workdir / "catalog"


def engine_run(catalog: Path, as_of: dt.date) -> dict:
    """customer_360 for every customer on c360's engine, with EXPLAIN ANALYZE's bytes per source."""
    connection = c360.connect(str(catalog))
    try:
        cursor = connection.cursor()
        cursor.execute(f"SET VARIABLE as_of = DATE '{as_of.isoformat()}'")
        started = time.perf_counter()
        cursor.execute("EXPLAIN ANALYZE SELECT * FROM customer_360")
        text = "\n".join(str(row[0]) for row in cursor.fetchall())
        seconds = time.perf_counter() - started
    finally:
        connection.close()
    rows = int(re.search(r"^result: rows=(\d+)", text, re.MULTILINE).group(1))
    by_source: dict[str, int] = {}
    source = None
    for line in text.splitlines():
        found = re.match(r"^(\S+) AS \S+ -> \S+: ", line)
        if found:
            source = found.group(1).split(".")[0]
        found = re.search(r"analyze: rows=\d+ bytes=(\d+)", line)
        if found and source:
            by_source[source] = by_source.get(source, 0) + int(found.group(1))
    return {"seconds": seconds, "rows": rows, "bytes": by_source}


def spark_run(catalog: Path, as_of: dt.date, master: str, out: Path, *, pushdown: bool = True,
              rows_per_partition: int | None = None) -> dict:
    """``c360 spark build customer_360`` in a new process (a new JVM) on ``master``; MariaDB's bytes sent."""
    admin = mysql_admin("127.0.0.1", 3306)
    with admin.cursor() as cursor:
        cursor.execute("SELECT @@global.userstat")
        userstat = cursor.fetchone()[0]
        cursor.execute("SET GLOBAL userstat = 1")
        cursor.execute("FLUSH USER_STATISTICS")
    command = [sys.executable, "-m", "c360", "spark", "build", "customer_360", "--as-of", as_of.isoformat(),
               "-o", str(out), "--master", master, "--catalog", str(catalog)]
    command += [] if pushdown else ["--no-pushdown"]
    command += ["--rows-per-partition", str(rows_per_partition)] if rows_per_partition else []
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    seconds = time.perf_counter() - started
    with admin.cursor() as cursor:
        cursor.execute("SELECT BYTES_SENT FROM information_schema.USER_STATISTICS WHERE USER = %s", (USER,))
        found = cursor.fetchone()
        cursor.execute("SET GLOBAL userstat = %s", (int(userstat),))
    admin.close()
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    partitions = dict(re.findall(r"^  (.+?): (.+)$", done.stdout, re.MULTILINE))
    rows = int(re.search(r"wrote ([\d,]+) rows", done.stdout).group(1).replace(",", ""))
    data = catalog.parent / "demo-data"
    first = as_of - dt.timedelta(days=30)  # browsing_features' window: Spark reads its day folders only

    def in_window(path: Path) -> bool:
        day = re.search(r"/(\d{4})/(\d{2})/(\d{2})/\d{2}/[^/]*$", path.as_posix())
        return day is not None and first <= dt.date(*map(int, day.groups())) <= as_of

    files = {"partners": sum(p.stat().st_size for p in (data / "partners").rglob("*") if p.is_file()),
             "clicks": sum(p.stat().st_size for p in (data / "blob").rglob("*") if p.is_file() and in_window(p))}
    return {"seconds": seconds, "rows": rows, "partitions": partitions,
            "bytes": {"shop": int(found[0]) if found else 0, **files}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--browsing-days", type=int, default=None)
    parser.add_argument("--end", default="2026-12-01", help="where the data ends; the query's as-of date")
    parser.add_argument("--workdir", type=Path, default=REPO / ".bench" / "spark_vs_engine")
    parser.add_argument("--skip-generate", action="store_true", help="reuse the data of an earlier run")
    parser.add_argument("--masters", default="local[1],local[2]",
                        help="Spark runs, in order; MASTER:no-pushdown runs one without sending single-source "
                             "GROUP BYs, joins and windows to MariaDB (local[2],local[2]:no-pushdown)")
    parser.add_argument("--rows-per-partition", type=int, default=None,
                        help="rows per JDBC range partition, passed to c360 spark build [its default: 250000]")
    parser.add_argument("--skip-engine", action="store_true", help="time Spark only")
    parser.add_argument("--generate-only", action="store_true",
                        help="generate and load the data, time nothing (then --skip-generate times every run "
                             "in one invocation)")
    args = parser.parse_args(argv)
    os.environ.setdefault(PASSWORD_ENV, "sparkbench-" + USER)
    end = dt.date.fromisoformat(args.end)
    catalog = args.workdir / "catalog"
    if not args.skip_generate:
        catalog = prepare(args.workdir, args.customers, args.days, args.browsing_days, end)
    if args.generate_only:
        return 0
    engine = None if args.skip_engine else engine_run(catalog, end)
    if engine is not None:
        print(f"engine        {engine['seconds']:8.1f} s  {engine['rows'] / engine['seconds']:>10,.0f} customers/s  "
              "bytes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(engine["bytes"].items())), flush=True)
    for run_name in args.masters.split(","):
        master, _, mode = run_name.partition(":")
        folder = args.workdir / f"out-{master.strip('[]').replace('[', '')}{'-' + mode if mode else ''}"
        run = spark_run(catalog, end, master, folder, pushdown=mode != "no-pushdown",
                        rows_per_partition=args.rows_per_partition)
        assert engine is None or run["rows"] == engine["rows"], (run["rows"], engine["rows"])
        print(f"spark {run_name:8s}{run['seconds']:8.1f} s  {run['rows'] / run['seconds']:>10,.0f} customers/s  "
              "bytes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(run["bytes"].items())) + ", crm n/a", flush=True)
        print("  reads: " + "; ".join(f"{k}: {v}" for k, v in run["partitions"].items()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
