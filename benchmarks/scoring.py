"""Scoring benchmark (not a test): UDF throughput, and end-to-end SELECT p_purchase_30d.

    .venv/bin/python benchmarks/scoring.py                       # UDF throughput only
    .venv/bin/python benchmarks/scoring.py --catalog /path/to/catalog   # + end to end on that project

1. Throughput of ``c360_predict`` inside DuckDB on one core (``SET threads = 1``, XGBoost
   nthread 1): the committed model scores N customers whose features are already a DuckDB
   table, so feature computation is excluded.
2. End to end: ``SELECT customer_id, p_purchase_30d FROM customer_360`` through c360 on a
   project (e.g. one made by ``c360 generate -n 100000``), features included.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from c360.model import scorer as scoring  # noqa: E402
from c360.model.features import CATEGORY, NUMBER, TAGS, YEAR  # noqa: E402


def synthetic_features(card, rows: int, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    columns = {}
    for feature in card.features:
        if feature.kind == NUMBER:
            values = rng.gamma(1.5, 40.0, rows)
            values[rng.random(rows) < 0.2] = np.nan
            columns[feature.name] = pa.array(values, from_pandas=True)
        elif feature.kind == YEAR:
            columns[feature.name] = pa.array(
                (rng.integers(-20000, 5000, rows)).astype("datetime64[D]"), pa.date32())
        elif feature.kind == CATEGORY:
            vocabulary = np.asarray(list(feature.vocabulary) + [None], dtype=object)
            columns[feature.name] = pa.array(vocabulary[rng.integers(0, len(vocabulary), rows)], pa.string())
        elif feature.kind == TAGS:
            vocabulary = np.asarray(list(feature.vocabulary) or ["none"], dtype=object)
            lengths = rng.integers(0, 4, rows)
            offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
            values = pa.array(vocabulary[rng.integers(0, len(vocabulary), offsets[-1])], pa.string())
            columns[feature.name] = pa.ListArray.from_arrays(pa.array(offsets), values)
    return pa.table(columns)


def udf_throughput(rows: int, repeats: int) -> float:
    models = REPO / "models"
    loaded = scoring.Scorer.load(models, nthread=1)
    scoring._LOADED[models.resolve()] = loaded
    connection = duckdb.connect(config={"threads": 1})
    scoring.register(connection, REPO)
    features = synthetic_features(loaded.card, rows)
    connection.register("features_arrow", features)
    connection.execute("CREATE TABLE features AS SELECT * FROM features_arrow")
    struct = ", ".join(f"{f.name} := {f.name}" for f in loaded.card.features)
    sql = f"SELECT sum(c360_predict(struct_pack({struct})).p_purchase_30d) FROM features"
    connection.execute(sql).fetchall()  # warm-up: loads nothing new, checks the schema once
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        connection.execute(sql).fetchall()
        best = min(best, time.perf_counter() - started)
    return rows / best


def end_to_end(catalog: str) -> tuple[int, float]:
    import c360

    connection = c360.connect(catalog)
    try:
        started = time.perf_counter()
        table = connection.execute("SELECT customer_id, p_purchase_30d FROM customer_360").fetch_arrow()
        return table.num_rows, time.perf_counter() - started
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--catalog", help="a project's catalog for the end-to-end query")
    args = parser.parse_args()
    rate = udf_throughput(args.rows, args.repeats)
    print(f"c360_predict on one core: {rate:,.0f} customers/s ({args.rows:,} rows, best of {args.repeats}, "
          f"features precomputed)")
    if args.catalog:
        rows, seconds = end_to_end(args.catalog)
        print(f"SELECT customer_id, p_purchase_30d FROM customer_360: {rows:,} rows in {seconds:.2f}s "
              f"(features computed from the sources)")


if __name__ == "__main__":
    main()
