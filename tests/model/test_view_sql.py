"""The repository's customer_360 carries the prediction columns of the committed model."""

from __future__ import annotations

from pathlib import Path

from c360.model import card as cards
from c360.model import view_sql
from c360.model.scorer import Scorer

REPO = Path(__file__).resolve().parents[2]


def test_the_repository_view_has_the_committed_models_prediction_columns():
    card = cards.read(REPO / "models")
    text = (REPO / "queries" / "customer_360.sql").read_text()
    assert view_sql.with_predictions(text, card) == text
    for name in ("p_purchase_30d", "p_technology", "predicted_category", "model_version"):
        assert f"AS {name}" in text


def test_the_committed_model_loads_and_beats_every_baseline_on_every_metric():
    scorer = Scorer.load(REPO / "models")
    beats = scorer.card.metrics["beats"]
    assert all(won for per in beats.values() for won in per.values()), beats


def test_regenerating_the_prediction_columns_replaces_them_rather_than_adding_more():
    card = cards.read(REPO / "models")
    text = (REPO / "queries" / "customer_360.sql").read_text()
    again = view_sql.with_predictions(view_sql.with_predictions(text, card), card)
    assert again.count("AS p_purchase_30d") == 1


def test_the_first_layout_with_inline_prediction_columns_is_migrated_to_the_wrapped_one():
    card = cards.read(REPO / "models")
    base = view_sql.base_view((REPO / "queries" / "customer_360.sql").read_text())
    at = base.index("\nFROM ")
    old = (base[:at] + ",\n    " + view_sql.MARKER + "\n    c360_predict(struct_pack(recency_days := rf.recency_days))"
           ".p_purchase_30d AS p_purchase_30d" + base[at:])
    assert view_sql.base_view(old) == base
    assert view_sql.with_predictions(old, card) == view_sql.with_predictions(base, card)


def test_the_scorer_is_called_once_per_row_however_many_prediction_columns_are_read():
    text = (REPO / "queries" / "customer_360.sql").read_text()
    assert text.count("c360_predict(") == 1


def test_view_columns_prints_the_generated_view_and_write_leaves_an_up_to_date_one_alone(trained, capsys):
    from c360.cli import main

    view = trained / "queries" / "customer_360.sql"
    before = view.read_text()
    assert main(["model", "view-columns", "--catalog", str(trained / "catalog")]) == 0
    assert capsys.readouterr().out == before
    assert main(["model", "view-columns", "--write", "--catalog", str(trained / "catalog")]) == 0
    assert "already up to date" in capsys.readouterr().out and view.read_text() == before
