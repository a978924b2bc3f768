"""customer_360's prediction columns on Spark without a model: NULL, as the engine's UDF answers before training
(with a model, tests/spark/test_views.py compares every prediction with the engine's)."""

from __future__ import annotations

from c360.spark.scoring import with_predictions


def test_without_a_model_the_views_prediction_columns_are_null(spark, tmp_path):
    base = spark.createDataFrame([(1, 3.0), (2, None)], "customer_id bigint, monetary double")
    scored = with_predictions(base, tmp_path / "models", view_names=["p_purchase_30d", "predicted_category"])
    assert scored.dtypes == [("customer_id", "bigint"), ("monetary", "double"), ("p_purchase_30d", "double"),
                             ("predicted_category", "string")]
    assert [tuple(r) for r in scored.orderBy("customer_id").collect()] == [(1, 3.0, None, None), (2, None, None, None)]
