"""c360 on Apache Spark: the same catalog, views and model, for jobs that outgrow one machine.

``session`` starts the SparkSession; ``sources`` compiles catalog tables into JDBC and file reads;
``views`` translates c360's SQL to Spark SQL; ``scoring`` adds customer_360's predictions on
executors; ``project`` ties them together for one as-of date (docs/spark.md).
"""
