"""``c360 train --engine spark``: the training sets computed on Spark, the model trained by c360's trainer.

Design (docs/spark.md): the heavy part of training is evaluating ``customer_360``, ``purchase_features``
and the label's join of the shop tables for every customer at every cutoff; the boosting itself runs
on a matrix of a few columns per customer. So Spark computes the tables and the driver trains:
:class:`SparkTrainingConnection` is the small part of a DB-API connection that
:func:`c360.model.training.train` uses (``execute`` then ``fetchone``/``fetchall``/``fetch_arrow``),
answering on Spark. Each statement is c360's SQL, translated like ``c360 spark query``; ``SET VARIABLE
as_of = DATE '...'`` switches to that date's :class:`~c360.spark.project.SparkProject` (one per date,
sharing the tables' reads); ``?`` parameters become literals built by sqlglot. Results come to the
driver as Arrow (``DataFrame.toArrow``), in the order the statement asks for, so the trainer, its
matrix, XGBoost's seed and the written files are exactly those of ``c360 train``: the same data gives
the same model files.

``customer_360`` is read without its prediction columns (the model being replaced is not run while
its successor trains). The collected training set must fit in the driver's memory: about 30 numbers
per customer and cutoff (tens of millions of customers: a driver with tens of GB).
"""

from __future__ import annotations

import datetime as dt
import re

import sqlglot
from sqlglot import exp

from c360.errors import ProgrammingError
from c360.spark.project import SparkProject
from c360.spark.sources import SparkSources
from c360.spark.views import DuckDBAsWritten

_SET_AS_OF = re.compile(r"\s*SET\s+VARIABLE\s+as_of\s*=\s*DATE\s+'(\d{4}-\d{2}-\d{2})'\s*;?\s*", re.IGNORECASE)


class SparkResult:
    """One statement's answer on the driver, as Arrow."""

    def __init__(self, table):
        self.table = table

    def fetch_arrow(self):
        return self.table

    def fetchall(self) -> list[tuple]:
        columns = [column.to_pylist() for column in self.table.columns]
        return list(zip(*columns))

    def fetchone(self):
        rows = self.fetchall()
        return rows[0] if rows else None


class SparkTrainingConnection:
    """What :func:`c360.model.training.train` asks of a connection, answered by Spark.

    ``sources`` is shared by every as-of date's project; with ``cache=True`` (what ``c360 train
    --engine spark`` uses) each table is read from its source once for all the cutoffs.
    """

    def __init__(self, spark, catalog, *, sources: SparkSources | None = None, **partitioning):
        self.spark = spark
        self.catalog = catalog
        self.sources = sources or SparkSources(spark, catalog, cache=True, **partitioning)
        self.as_of: dt.date | None = None
        self._projects: dict[dt.date | None, SparkProject] = {}

    def project(self) -> SparkProject:
        """The project for the current as-of date (``customer_360`` without prediction columns)."""
        if self.as_of not in self._projects:
            self._projects[self.as_of] = SparkProject(self.spark, self.catalog, as_of=self.as_of,
                                                      sources=self.sources, predictions=False)
        return self._projects[self.as_of]

    def execute(self, sql: str, parameters=None) -> SparkResult | None:
        """Run one statement: ``SET VARIABLE as_of = DATE '...'`` or a query (``?`` bound to ``parameters``)."""
        found = _SET_AS_OF.fullmatch(sql)
        if found:
            self.as_of = dt.date.fromisoformat(found.group(1))
            return None
        if parameters:
            sql = bind(sql, parameters)
        return SparkResult(self.project().query(sql).toArrow())

    def close(self) -> None:
        self.sources.unpersist()


def bind(sql: str, parameters) -> str:
    """``sql`` (c360's SQL) with each ``?`` replaced, in order, by its value as a sqlglot literal."""
    values = list(parameters)
    tree = sqlglot.parse_one(sql, read=DuckDBAsWritten)
    marks = [node for node in tree.find_all(exp.Placeholder, bfs=False) if not node.this]
    if len(marks) != len(values):
        raise ProgrammingError(f"the statement has {len(marks)} parameter(s), {len(values)} given")
    for mark, value in zip(marks, values):
        mark.replace(exp.convert(value))
    return tree.sql(dialect=DuckDBAsWritten)


def train(spark, catalog, out_dir, *, partitioning=None, reads=None, **options):
    """:func:`c360.model.training.train` with its tables computed on Spark; returns the model card.
    ``partitioning``: :class:`SparkSources`' JDBC options; ``reads(sources)`` is called once the sets are built."""
    from c360.model import training

    connection = SparkTrainingConnection(spark, catalog, **(partitioning or {}))
    try:
        card = training.train(connection, out_dir, **options)
        if reads is not None:
            reads(connection.sources)
        return card
    finally:
        connection.close()
