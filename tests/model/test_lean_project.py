"""A project with only a CRM and a shop (no partners, no browsing, one category) trains with a
45-day horizon, scores every customer and writes a card that makes sense for it."""

from __future__ import annotations

import sqlite3

import pyarrow.parquet as pq

from c360.cli import main
from c360.model import card as cards
from c360.model.features import INPUTS


def test_features_without_data_are_dropped_as_constant_and_the_card_says_so(lean):
    card = cards.read(lean / "models")
    browsing = {name for name, _ in INPUTS if name.startswith(("browse", "page_views", "browsed", "top_browsed"))}
    partners = {"social_sentiment", "survey_nps", "interests"}
    assert browsing | partners <= set(card.dropped)
    assert not set(card.dropped) & {f.name for f in card.features}
    assert {"recency_days", "frequency", "monetary"} <= {f.name for f in card.features}
    assert "constant in the training set" in (lean / "models" / cards.MARKDOWN_FILE).read_text()
    said = (lean / "train.out").read_text()
    assert f"dropped {len(card.dropped)} feature(s) constant in the training set: {', '.join(card.dropped)}" in said


def test_the_horizon_is_the_label_window_the_card_and_the_column_name(lean):
    card = cards.read(lean / "models")
    assert card.horizon_days == 45 and "45 days" in card.label
    assert all((cards_date(card.evaluation_cutoff) - cards_date(c)).days >= 45 for c in card.training_cutoffs)
    view = (lean / "queries" / "customer_360.sql").read_text()
    assert "AS p_purchase_45d" in view and "AS p_purchase_30d" not in view


def cards_date(text):
    import datetime as dt

    return dt.date.fromisoformat(text)


def test_one_category_gives_binary_metrics_only_with_intervals_and_no_nan(lean):
    card = cards.read(lean / "models")
    assert card.classes == ["none", "Home"]
    for scores in [card.metrics["model"], *card.metrics["baselines"].values()]:
        assert "macro_auc_category" not in scores and "accuracy_category" not in scores
    assert set(card.metrics["beats"]) == set(card.metrics["comparisons"]) == {"auc_any", "log_loss", "lift_top_decile"}
    for per in card.metrics["comparisons"].values():
        for c in per.values():
            assert c["low"] <= c["difference"] <= c["high"] or c["low"] == c["high"]
    text = (lean / "models" / cards.MARKDOWN_FILE).read_text()
    assert "nan" not in text.lower().replace("nans", "") and "category (buyers)" not in text
    assert "95% paired bootstrap" in text and "a single category: a binary model" in text
    assert card.metrics["beats"]["auc_any"]["majority_class"]  # the one baseline that cannot rank anybody


def test_every_customer_is_scored(lean, tmp_path):
    out = tmp_path / "scores.parquet"
    assert main(["score", "--catalog", str(lean / "catalog"), "--as-of", "2026-10-01", "-o", str(out)]) == 0
    table = pq.read_table(out)
    assert table.column_names[:3] == ["customer_id", "p_purchase_45d", "p_home"]
    customers = sqlite3.connect(lean / "demo-data" / "crm.sqlite").execute(
        "SELECT count(*) FROM customers WHERE signup_date IS NULL OR signup_date < '2026-10-01'").fetchone()[0]
    assert table.num_rows == customers
    assert all(0 < p < 1 for p in table.column("p_purchase_45d").to_pylist())
    assert set(table.column("predicted_category").to_pylist()) == {"Home"}


def test_training_twice_on_the_same_data_writes_a_byte_identical_model(lean, tmp_path):
    again = tmp_path / "models"
    assert main(["train", "--catalog", str(lean / "catalog"), "--horizon", "45d", "--rounds", "30", "-q",
                 "--models", str(again), "--no-update-view"]) == 0
    assert (again / cards.MODEL_FILE).read_bytes() == (lean / "models" / cards.MODEL_FILE).read_bytes()
    assert cards.read(again).version == cards.read(lean / "models").version


def test_customer_360_without_partner_files_or_browsing_has_null_and_zero_columns_for_them(lean):
    import c360

    connection = c360.connect(str(lean / "catalog"))
    try:
        connection.execute("SET VARIABLE as_of = DATE '2026-09-01'")
        rows = connection.execute(
            "SELECT count(*), count(partners), count(interests), count(survey_nps), count(top_browsed_category_30d), "
            "max(browse_seconds_30d), max(page_views_30d), count(segment), count(days_since_signup) "
            "FROM customer_360").fetchone()
    finally:
        connection.close()
    customers, *rest = rows
    assert customers > 400 and rest == [0, 0, 0, 0, 0, 0, customers, customers]
