"""The project's views on Spark equal the c360 engine's answers, for every customer, as of two dates."""

from __future__ import annotations

import pytest

import c360
from c360.spark.project import SparkProject
from c360.spark.sources import SparkSources
from tests.spark.compare import assert_same_rows
from tests.spark.conftest import AS_OF_DATES

KEYS = {
    "rfm": ["customer_id"],
    "purchase_features": ["customer_id", "category"],
    "browsing_features": ["customer_id", "category"],
    "customer_360": ["customer_id"],
}


@pytest.fixture(scope="module")
def sources(spark, spark_project):
    from c360.catalog import Catalog

    # cached: eight evaluations read the same tables (what is sent to the sources: test_sources.py)
    return SparkSources(spark, Catalog(spark_project.catalog), rows_per_partition=50, cache=True)


@pytest.fixture(scope="module")
def projects(sources):
    """A SparkProject per as-of date, sharing the tables' reads."""
    return {as_of: SparkProject(sources.spark, sources.catalog, as_of=as_of, sources=sources) for as_of in AS_OF_DATES}


def engine_answer(catalog, view: str, as_of):
    connection = c360.connect(str(catalog))
    try:
        cursor = connection.cursor()
        cursor.execute(f"SET VARIABLE as_of = DATE '{as_of.isoformat()}'")
        cursor.execute(f"SELECT * FROM {view}")
        return cursor.fetch_arrow()
    finally:
        connection.close()


@pytest.mark.parametrize("as_of", AS_OF_DATES, ids=str)
@pytest.mark.parametrize("view", list(KEYS))
def test_a_view_on_spark_equals_the_engine_for_every_customer(spark_project, projects, view, as_of):
    engine = engine_answer(spark_project.catalog, view, as_of)
    spark = projects[as_of].frame(view).toArrow()
    assert engine.num_rows > 0
    assert_same_rows(engine, spark, KEYS[view])
    if view == "customer_360":  # the model's columns, scored on executors, for every customer
        for column in ("p_purchase_30d", "p_technology", "predicted_category", "model_version"):
            assert spark.column(column).null_count == 0, column
