"""``c360 train --engine spark``: the training sets computed on Spark give the model ``c360 train`` gives."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from c360.cli import app
from c360.model import card as cards
from c360.spark.training import bind


def train(*arguments: str) -> str:
    options = ["--no-update-view", "--quiet", "--rounds", "15", "--cutoffs", "2"]
    result = CliRunner().invoke(app, ["train", *options, *arguments], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_training_on_spark_writes_the_same_model_as_training_on_the_engine(spark, spark_project, tmp_path):
    on_spark, on_engine = tmp_path / "spark", tmp_path / "engine"
    catalog = str(spark_project.catalog)
    spark_output = train("--engine", "spark", "--models", str(on_spark), "--catalog", catalog,
                         "--rows-per-partition", "50")
    engine_output = train("--models", str(on_engine), "--catalog", catalog)
    # the same rows in the same order, the same seed: the same trees, byte for byte
    assert (on_spark / cards.MODEL_FILE).read_bytes() == (on_engine / cards.MODEL_FILE).read_bytes()
    spark_card = json.loads((on_spark / cards.CARD_FILE).read_text())
    engine_card = json.loads((on_engine / cards.CARD_FILE).read_text())
    for key in ("features", "classes", "training_cutoffs", "evaluation_cutoff", "rows", "metrics", "dropped",
                "version"):
        assert spark_card[key] == engine_card[key], key
    assert spark_card["rows"]["training"] > 0 and len(spark_card["training_cutoffs"]) > 1
    assert spark_output.splitlines()[0] == engine_output.splitlines()[0]  # model <version> ... rows
    customers = spark_project.postgres.query("SELECT COUNT(*) FROM customers")[0][0]
    partitions = min(2 * spark.sparkContext.defaultParallelism, -(-customers // 50))
    assert partitions > 1 and f"crm.customers: {partitions} JDBC partitions on customer_id" in spark_output


def test_training_on_spark_reads_the_label_window_it_is_given(spark, spark_project):
    from c360.catalog import Catalog
    from c360.model.training import LABEL_SQL
    from c360.spark.training import SparkTrainingConnection

    connection = SparkTrainingConnection(spark, Catalog(spark_project.catalog))
    try:
        everything = connection.execute(LABEL_SQL, ["2000-01-01", "2100-01-01"]).fetchall()
        none = connection.execute(LABEL_SQL, ["2100-01-01", "2100-02-01"]).fetchall()
    finally:
        connection.close()
    assert len(everything) > 0 and none == []


def test_parameters_are_bound_as_literals_in_order():
    sql = bind("SELECT 1 WHERE a >= CAST(? AS TIMESTAMP) AND b < ? AND c = ?", ["2026-01-01", 5, "it's"])
    assert sql == "SELECT 1 WHERE a >= CAST('2026-01-01' AS TIMESTAMP) AND b < 5 AND c = 'it''s'"


def test_train_refuses_an_unknown_engine(capsys):
    from c360.cli import main

    status = main(["train", "--engine", "hive"])
    assert status == 1
    assert capsys.readouterr().err.strip() == "error: --engine must be c360 or spark, got 'hive'"
