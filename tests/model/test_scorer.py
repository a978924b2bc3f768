"""The c360_predict UDF behind customer_360's prediction columns: computed only when referenced,
only on surviving rows, usable in WHERE/ORDER BY, and strict about its inputs."""

from __future__ import annotations

import json
import shutil

import pytest

import c360
from c360.cli import main
from c360.model import card as cards
from c360.model.scorer import STATS, Scorer


def scored(run):
    """Rows the UDF scored while ``run()`` ran, and its result."""
    before = STATS["rows"]
    result = run()
    return STATS["rows"] - before, result


def test_predictions_are_not_computed_when_no_prediction_column_is_referenced(connect):
    connection = connect()
    rows, result = scored(lambda: connection.execute(
        "SELECT customer_id, segment, recency_days FROM customer_360 WHERE customer_id <= 300").fetchall())
    assert len(result) > 100
    assert rows == 0


def test_predictions_are_computed_only_for_rows_that_survive_the_other_filters(connect):
    connection = connect()
    rows, result = scored(lambda: connection.execute(
        "SELECT customer_id, p_purchase_30d, p_technology, predicted_category, model_version "
        "FROM customer_360 WHERE customer_id BETWEEN 100 AND 119").fetchall())
    assert len(result) == rows and 0 < rows <= 20
    version = cards.read(_models(connection)).version
    for customer_id, p_any, p_tech, category, model_version in result:
        assert 0.0 < p_any < 1.0 and 0.0 < p_tech < p_any + 1e-12
        assert category in ("Technology", "Apparel", "Cosmetics", "Home", "Sports")
        assert model_version == version


def _models(connection):
    return connection.engine.catalog.project_dir / "models"


def test_category_probabilities_add_up_to_the_purchase_probability(connect):
    result = connect().execute(
        "SELECT p_purchase_30d, p_technology + p_apparel + p_cosmetics + p_home + p_sports "
        "FROM customer_360 WHERE customer_id <= 50").fetchall()
    assert result and all(abs(total - p_any) < 1e-9 for p_any, total in result)


def test_the_predicted_category_is_the_one_with_the_highest_probability(connect):
    columns = ["p_apparel", "p_cosmetics", "p_home", "p_sports", "p_technology"]
    result = connect().execute(f"SELECT predicted_category, {', '.join(columns)} FROM customer_360").fetchall()
    assert len(result) > 100
    names = ["Apparel", "Cosmetics", "Home", "Sports", "Technology"]
    for category, *probabilities in result:
        assert category == names[probabilities.index(max(probabilities))]


def test_prediction_filter_order_and_limit_work_together(connect):
    connection = connect()
    threshold = connection.execute("SELECT quantile_cont(p_purchase_30d, 0.8) FROM customer_360").fetchone()[0]
    result = connection.execute(
        f"SELECT customer_id, p_purchase_30d FROM customer_360 WHERE p_purchase_30d > {threshold} "
        "ORDER BY p_purchase_30d DESC LIMIT 100").fetchall()
    assert 0 < len(result) <= 100
    values = [p for _, p in result]
    assert values == sorted(values, reverse=True) and min(values) > threshold
    everyone = dict(connection.execute("SELECT customer_id, p_purchase_30d FROM customer_360").fetchall())
    expected = sorted((p for p in everyone.values() if p > threshold), reverse=True)[:100]
    assert values == pytest.approx(expected)


def test_scores_are_the_same_whatever_rows_a_query_keeps(connect):
    connection = connect()
    whole = dict(connection.execute("SELECT customer_id, p_purchase_30d FROM customer_360").fetchall())
    one = connection.execute("SELECT customer_id, p_purchase_30d FROM customer_360 WHERE customer_id = 77").fetchall()
    assert one == [(77, pytest.approx(whole[77], abs=1e-12))]


def test_a_missing_feature_is_an_error_naming_it(connect):
    connection = connect()
    with pytest.raises(c360.Error, match="missing feature.*recency_days"):
        connection.execute("SELECT c360_predict(struct_pack(frequency := 3)) FROM crm.customers LIMIT 1").fetchall()


def _first_round_project(trained, root):
    """A copy of the trained project (its data linked) whose model is the first boosting round alone:
    a few trees, so some features are read by none (training drops the constant ones, so in the full
    model every feature is read)."""
    from c360.model.view_sql import update_view

    for folder in ("catalog", "queries"):
        shutil.copytree(trained / folder, root / folder)
    (root / "demo-data").symlink_to(trained / "demo-data")
    full = Scorer.load(trained / "models")
    first = full.booster[0:1]
    card = cards.read(trained / "models")
    card.reads = [f.name for f in Scorer(first, cards.ModelCard(card.features, card.classes)).inputs]
    cards.write(root / "models", bytes(first.save_raw("json")), card)
    update_view(root / "queries" / "customer_360.sql", card)
    return root / "catalog"


def test_features_no_tree_reads_may_be_left_out_or_given_without_changing_a_score(trained, tmp_path):
    connection = c360.connect(str(_first_round_project(trained, tmp_path)))
    scorer = Scorer.load(_models(connection))
    assert scorer.unread and scorer.inputs
    base = "SELECT customer_id, c360_predict(struct_pack({})).p_purchase_30d FROM customer_360 ORDER BY 1"
    read = ", ".join(f"{f.name} := {f.name}" for f in scorer.inputs)
    every = ", ".join(f"{f.name} := {f.name}" for f in scorer.card.features)
    nulls_for_unread = read + ", " + ", ".join(f"{name} := NULL" for name in sorted(scorer.unread))
    scores = connection.execute(base.format(read)).fetchall()
    assert len(scores) > 100
    assert connection.execute(base.format(every)).fetchall() == scores
    assert connection.execute(base.format(nulls_for_unread)).fetchall() == scores
    connection.close()


def test_a_card_that_misstates_which_features_the_trees_read_is_refused_at_load(trained, tmp_path):
    shutil.copytree(trained / "models", tmp_path / "models")
    card_path = tmp_path / "models" / cards.CARD_FILE
    data = json.loads(card_path.read_text())
    first, second = data["reads"][:2]
    data["reads"] = data["reads"][1:]
    card_path.write_text(json.dumps(data))
    with pytest.raises(c360.ProgrammingError, match=f"card says its trees read {second}, .*; they read {first}, "):
        Scorer.load(tmp_path / "models")


def test_a_feature_of_the_wrong_type_is_an_error_naming_it(trained):
    scorer = Scorer.load(trained / "models")
    fields = {f.name: _good_type(f.kind) for f in scorer.card.features}
    fields["recency_days"] = __import__("pyarrow").string()
    with pytest.raises(c360.ProgrammingError, match=r"wrong type: recency_days \(model: number, given: string\)"):
        scorer.check(fields)


def _good_type(kind):
    import pyarrow as pa

    return {"number": pa.float64(), "year": pa.date32(), "category": pa.string(), "tags": pa.list_(pa.string())}[kind]


def test_a_model_whose_card_does_not_match_the_view_is_refused_with_the_differences(trained, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(trained, project)
    view = project / "queries" / "customer_360.sql"
    text = view.read_text()
    read = cards.read(project / "models").reads[1]  # a feature the trees read, not the first of the struct
    assert f"{read} := base.{read}, " in text
    view.write_text(text.replace(f"{read} := base.{read}, ", "loyalty_points := 1, "))
    connection = c360.connect(str(project / "catalog"))
    try:
        with pytest.raises(c360.Error) as raised:
            connection.execute("SELECT p_purchase_30d FROM customer_360 WHERE customer_id = 5").fetchall()
    finally:
        connection.close()
    message = str(raised.value)
    assert "does not match" in message
    assert f"missing feature(s): {read}" in message and "not in the model card: loyalty_points" in message


def test_a_model_file_that_does_not_match_its_card_is_refused_at_load(trained, tmp_path):
    shutil.copytree(trained / "models", tmp_path / "models")
    card_path = tmp_path / "models" / cards.CARD_FILE
    data = json.loads(card_path.read_text())
    data["features"] = [f for f in data["features"] if f["name"] != "frequency"]
    card_path.write_text(json.dumps(data))
    with pytest.raises(c360.ProgrammingError, match="does not match its card.*frequency"):
        Scorer.load(tmp_path / "models")


def test_a_view_generated_for_an_older_answer_is_an_error_that_says_how_to_regenerate_it(trained, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(trained, project)
    view = project / "queries" / "customer_360.sql"
    text = view.read_text()
    line = next(line for line in text.splitlines() if " AS predicted_category" in line)
    view.write_text(text.replace(line, "    scored.c360_prediction.predicted_category AS predicted_category,"))  # old
    connection = c360.connect(str(project / "catalog"))
    try:
        for sql in ("SELECT predicted_category FROM customer_360", "SELECT count(*) FROM customer_360"):
            with pytest.raises(c360.ProgrammingError, match=r"generated for an older c360_predict, which answered "
                                                            r"'predicted_category'.*c360 model view-columns --write"):
                connection.execute(sql).fetchall()
    finally:
        connection.close()
    assert main(["model", "view-columns", "--write", "--catalog", str(project / "catalog")]) == 0
    assert view.read_text() == text


def test_without_a_model_the_prediction_columns_are_null(trained, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(trained, project)
    shutil.rmtree(project / "models")
    connection = c360.connect(str(project / "catalog"))
    try:
        result = connection.execute(
            "SELECT customer_id, p_purchase_30d, model_version FROM customer_360 WHERE customer_id = 5").fetchall()
    finally:
        connection.close()
    assert result == [(5, None, None)]
