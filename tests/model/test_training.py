"""Leak-free snapshots, hand-checked labels, out-of-time cutoffs, and the trained model's card."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

import c360
from c360.cli import main
from c360.errors import ProgrammingError
from c360.model import card as cards
from c360.model.features import CATEGORY, NUMBER, TAGS, Feature
from c360.model.training import constant_features, parse_horizon, plan_cutoffs, snapshot

CUTOFF = date(2026, 8, 1)
CLASSES = ["none", "Apparel", "Cosmetics", "Home", "Sports", "Technology"]


def _snapshot(catalog, cutoff=CUTOFF):
    connection = c360.connect(str(catalog))
    try:
        return snapshot(connection, cutoff, CLASSES)
    finally:
        connection.close()


def _erase_from(root, cutoff: date) -> None:
    """Delete every fact at or after ``cutoff`` from a project's generated data."""
    stamp = cutoff.isoformat()
    shop = sqlite3.connect(root / "demo-data" / "shop.sqlite")
    shop.execute("DELETE FROM order_items WHERE order_id IN (SELECT order_id FROM orders WHERE order_ts >= ?)", [stamp])
    shop.execute("DELETE FROM orders WHERE order_ts >= ?", [stamp])
    shop.commit()
    shop.close()
    for hour in (root / "demo-data" / "blob").glob("*/*/*/*/*/*"):
        yyyy, mm, dd, hh = hour.parts[-4:]
        if datetime(int(yyyy), int(mm), int(dd), int(hh)) >= datetime.combine(cutoff, datetime.min.time()):
            shutil.rmtree(hour)
    for path in (root / "demo-data" / "partners").rglob("*.json"):
        kept = [line for line in path.read_text().splitlines() if json.loads(line)["updated_at"] < stamp]
        # an empty file is no part of the table: keep a record of a customer who does not exist
        kept = kept or ['{"customer_id": -1, "partner": "nobody", "updated_at": "2000-01-01T00:00:00"}']
        path.write_text("".join(line + "\n" for line in kept))


def test_features_as_of_a_cutoff_do_not_change_when_everything_after_it_is_deleted(project, tmp_path):
    copy = tmp_path / "erased"
    shutil.copytree(project, copy)
    _erase_from(copy, CUTOFF)
    full = _snapshot(project / "catalog").drop_columns(["label"]).sort_by("customer_id")
    erased = _snapshot(copy / "catalog").drop_columns(["label"]).sort_by("customer_id")
    assert full.num_rows > 1000
    assert full.column_names == erased.column_names
    for name in full.column_names:
        if pa.types.is_floating(full.schema.field(name).type):  # sums of the same values, in another order
            assert np.allclose(full.column(name).to_numpy(zero_copy_only=False),
                               erased.column(name).to_numpy(zero_copy_only=False), rtol=1e-12, equal_nan=True), name
        else:
            assert full.column(name).equals(erased.column(name)), name


def test_the_label_is_the_top_spend_category_of_the_30_days_from_the_cutoff(project):
    table = _snapshot(project / "catalog")
    labels = dict(zip(table.column("customer_id").to_pylist(), table.column("label").to_pylist()))
    shop = sqlite3.connect(project / "demo-data" / "shop.sqlite")
    spend: dict = {}
    end = (CUTOFF + timedelta(days=30)).isoformat()
    for customer_id, category, amount in shop.execute(
            "SELECT o.customer_id, p.category, i.quantity * i.unit_price FROM orders o "
            "JOIN order_items i ON i.order_id = o.order_id JOIN products p ON p.product_id = i.product_id "
            "WHERE o.order_ts >= ? AND o.order_ts < ? AND o.status <> 'cancelled'", [CUTOFF.isoformat(), end]):
        spend.setdefault(customer_id, {}).setdefault(category, 0.0)
        spend[customer_id][category] += float(amount)
    shop.close()
    assert spend, "the window has purchases"
    for customer_id, label in labels.items():
        if customer_id in spend:
            best = min(spend[customer_id], key=lambda c: (-round(spend[customer_id][c], 6), c))
            assert CLASSES[label] == best, customer_id
        else:
            assert label == 0, customer_id


def test_training_windows_end_before_the_evaluation_window_starts():
    plan = plan_cutoffs(date(2026, 10, 1), cutoffs=4, every=14)
    assert plan.evaluation_cutoff == date(2026, 9, 1)
    assert plan.training_cutoffs == [date(2026, 6, 21), date(2026, 7, 5), date(2026, 7, 19), date(2026, 8, 2)]
    assert all(c + timedelta(days=30) <= plan.evaluation_cutoff for c in plan.training_cutoffs)


def test_the_card_records_features_label_cutoffs_rows_metrics_and_version(trained):
    card = cards.read(trained / "models")
    assert [f.name for f in card.features][:3] == ["recency_days", "frequency", "monetary"]
    assert card.classes == CLASSES and "30 days" in card.label
    assert len(card.training_cutoffs) == 4 and card.evaluation_cutoff == "2026-09-01"
    assert card.rows["training"] > 4000 and card.rows["evaluation"] > 1000
    assert len(card.version) == 12
    for name in ("model", "baselines", "comparisons", "beats"):
        assert name in card.metrics
    assert set(card.metrics["baselines"]) == {"rfm_segment", "recency", "last_category", "majority_class"}
    assert len(card.metrics["model"]["calibration"]) == 10
    assert (trained / "models" / cards.MARKDOWN_FILE).read_text().startswith("# Model card")


def test_the_card_lists_exactly_the_features_some_tree_splits_on(trained):
    import json

    import xgboost as xgb

    card = cards.read(trained / "models")
    booster = xgb.Booster()
    booster.load_model(str(trained / "models" / cards.MODEL_FILE))
    split_on = set()
    for text in booster.get_dump(dump_format="json"):
        stack = [json.loads(text)]
        while stack:
            node = stack.pop()
            if "split" in node:
                split_on.add(node["split"])
            stack.extend(node.get("children", ()))
    expected = [f.name for f in card.features if set(f.columns()) & split_on]
    assert card.reads == expected and 0 < len(expected) <= len(card.features)
    view = (trained / "queries" / "customer_360.sql").read_text()
    given = view.split("c360_predict(struct_pack(", 1)[1].split("))", 1)[0]
    assert [pair.split(" := ")[0] for pair in given.split(", ")] == expected


def test_on_a_small_project_the_model_clearly_beats_the_baselines_the_data_can_tell_apart(trained):
    # 1,500 customers: the bootstrap intervals are wide, so only the clear wins are claimed here (the README's
    # table, on 10,000 customers, is where every baseline is beaten)
    metrics = cards.read(trained / "models").metrics
    beats = metrics["beats"]
    assert all(beats[metric]["majority_class"] for metric in ("auc_any", "macro_auc_category", "log_loss"))
    for baseline in ("rfm_segment", "recency"):
        for metric in ("macro_auc_category", "accuracy_category", "log_loss"):
            assert beats[metric][baseline], (metric, baseline, metrics["comparisons"][metric][baseline])
    for metric, per in metrics["comparisons"].items():
        for name, c in per.items():
            assert c["low"] <= c["high"] and beats[metric][name] == (
                c["low"] > 0 if metric != "log_loss" else c["high"] < 0)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_score_writes_every_customers_predictions_as_of_a_date(trained, tmp_path, suffix):
    out = tmp_path / f"scores{suffix}"
    assert main(["score", "--catalog", str(trained / "catalog"), "--as-of", "2026-09-15", "-o", str(out)]) == 0
    table = pq.read_table(out) if suffix == ".parquet" else pcsv.read_csv(out)
    assert table.column_names[:3] == ["customer_id", "p_purchase_30d", "p_apparel"]
    customers = sqlite3.connect(trained / "demo-data" / "crm.sqlite").execute(
        "SELECT count(*) FROM customers WHERE signup_date IS NULL OR signup_date < '2026-09-15'").fetchone()[0]
    assert table.num_rows == customers
    assert all(0 < p < 1 for p in table.column("p_purchase_30d").to_pylist())


def test_cutoffs_fit_the_span_of_the_data_and_the_horizon():
    plan = plan_cutoffs(date(2026, 10, 1), horizon=90, start=date(2025, 10, 1))
    # 365 days: the evaluation cutoff 90 days before the end, the last training cutoff 90 before that,
    # 90 days of history before the first (from 2025-12-30 on); every 45 days (half the horizon) back
    # from 2026-04-04: 04-04, 02-18, 01-04 (the next, 2025-11-20, would have 50 days of history)
    assert plan.evaluation_cutoff == date(2026, 7, 3)
    assert plan.training_cutoffs == [date(2026, 1, 4), date(2026, 2, 18), date(2026, 4, 4)]
    assert (plan.training_cutoffs[0] - date(2025, 10, 1)).days >= 90
    six = plan_cutoffs(date(2026, 10, 1), start=date(2024, 10, 1))
    assert len(six.training_cutoffs) == 6 and six.training_cutoffs[1] - six.training_cutoffs[0] == timedelta(days=15)


def test_a_history_too_short_for_the_horizon_says_how_much_is_needed():
    with pytest.raises(ProgrammingError, match=r"too short for a 90-day horizon: one training cutoff need at least "
                                               r"270 days of orders .* the data spans 200 "):
        plan_cutoffs(date(2026, 10, 1), horizon=90, start=date(2026, 3, 15))
    with pytest.raises(ProgrammingError, match=r"4 training cutoffs 45 days apart need at least 405 days"):
        plan_cutoffs(date(2026, 10, 1), horizon=90, cutoffs=4, start=date(2025, 10, 1))


@pytest.mark.parametrize(("text", "days"), [("30d", 30), ("90d", 90), ("12w", 84), ("7", 7), (" 45D ", 45)])
def test_horizons_are_read_in_days_or_weeks(text, days):
    assert parse_horizon(text) == days


@pytest.mark.parametrize("text", ["0d", "30m", "d", "-5d", "1.5d"])
def test_a_horizon_that_is_not_days_or_weeks_is_refused(text):
    with pytest.raises(ProgrammingError, match="--horizon must be a number of days or weeks"):
        parse_horizon(text)


def test_train_refuses_a_history_too_short_without_a_traceback(project, capsys):
    code = main(["train", "--catalog", str(project / "catalog"), "--horizon", "90d", "--models",
                 str(project / "unused-models"), "-q"])
    assert code != 0
    assert "too short for a 90-day horizon" in capsys.readouterr().err


def test_constant_features_are_those_with_one_value_or_nothing_in_every_row():
    table = pa.table({"a": [1.0, 1.0, 1.0], "b": [None, None, None], "c": [1.0, None, 1.0], "d": [1.0, 2.0, 1.0],
                      "e": ["x", "x", "x"], "f": ["x", "y", None], "g": [["t"], [], None]})
    features = [Feature(n, NUMBER) for n in "abcd"] + [Feature("e", CATEGORY, ("x",)),
                                                       Feature("f", CATEGORY, ("x", "y")), Feature("g", TAGS, ())]
    assert constant_features(table, features) == ["a", "b", "e", "g"]


def test_snapshot_rows_come_in_customer_id_order_so_row_subsampling_is_reproducible(project):
    ids = _snapshot(project / "catalog").column("customer_id").to_pylist()
    assert len(ids) > 1000 and ids == sorted(ids)
