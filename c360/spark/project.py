"""A c360 project (catalog, ``queries/``, ``models/``) on one SparkSession, as of one date.

:class:`SparkProject` registers what a statement needs, in order: the catalog tables it reads
(:mod:`c360.spark.sources`), then the views it names, each view's own views first, each a
DataFrame of its translated SQL with ``:as_of`` bound (:mod:`c360.spark.views`), its single-source
subqueries sent to their JDBC source whole where c360's planner can (:mod:`c360.spark.pushdown`); a folder-template
table read within a time window is read from that window's folders only (:mod:`c360.spark.pruning`);
``customer_360`` also gets its prediction columns (:mod:`c360.spark.scoring`). Views are registered once per
project object: a new as-of date is a new :class:`SparkProject` (the tables' reads are shared).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from c360.errors import ProgrammingError
from c360.spark import scoring
from c360.spark.pushdown import Pushdown
from c360.spark.sources import SparkSources
from c360.spark.views import AS_OF, translate_query, translate_view
from c360.views import load_views

#: The view whose prediction columns come from models/.
SCORED_VIEW = "customer_360"


class SparkProject:
    """Runs c360 SQL on Spark for one project and one as-of date (None: today, as in the engine)."""

    def __init__(self, spark, catalog, *, as_of: dt.date | None = None, sources: SparkSources | None = None,
                 predictions: bool = True, pushdown: bool = True, **partitioning):
        self.spark = spark
        self.catalog = catalog
        self.as_of = as_of
        #: False: customer_360 without its prediction columns (what training reads)
        self.predictions = predictions
        self.sources = sources or SparkSources(spark, catalog, **partitioning)
        #: single-source subqueries sent to their JDBC source whole (:mod:`c360.spark.pushdown`); None: Spark
        #: reads the tables and computes everything
        self.pushdown = Pushdown(self.sources, catalog, as_of) if pushdown else None
        self.project_dir = Path(catalog.project_dir)
        self.views = load_views(self.project_dir / "queries")
        self._frames: dict[str, object] = {}
        #: views are registered under names of their own per as-of date (``rfm__20261130``), so projects
        #: for two dates share one SparkSession without one's views replacing the other's
        self.suffix = (as_of.strftime("%Y%m%d") if as_of else "today") + ("" if predictions else "_unscored")

    def spark_name(self, view: str) -> str:
        """The temporary view a project view is registered as, for this as-of date."""
        return f"{view.lower()}__{self.suffix}"

    def _args(self, parameters) -> dict | None:
        return {AS_OF: self.as_of} if AS_OF in parameters else None

    def _prepare(self, translation, stack=()) -> None:
        for source, table in sorted(translation.tables):
            self.sources.register(source, table)
        for name in translation.views:
            self.view(name, stack=stack)

    def _pruned_read(self, source: str, table: str, node) -> str | None:
        """A read of only the time folders the SELECT reading ``node`` can use (:mod:`c360.spark.pruning`),
        registered; None for a table without a folder template, or a read the SELECT does not bound."""
        from c360.spark import pruning

        partitioning = self.sources.template(source, table)
        if partitioning is None:
            return None
        window = pruning.bounds(node, partitioning.column, self.as_of)
        if window is None:
            return None
        return self.sources.register(source, table, window=window)

    def view(self, name: str, *, stack=()) -> str:
        """Register the view ``name`` (and what it reads) as a temporary view; returns its Spark name."""
        self.frame(name, stack=stack)
        return self.spark_name(name)

    def frame(self, name: str, *, stack=()):
        """The DataFrame of a view, for every customer (registered, with what it reads, on first use)."""
        key = name.lower()
        if key in self._frames:
            return self._frames[key]
        if key in stack:
            raise ProgrammingError(f"views refer to each other in a loop: {' -> '.join((*stack, key))}")
        view = self.views.get(key)
        if view is None:
            raise ProgrammingError(f"Unknown view '{name}' (queries/ has: {', '.join(sorted(self.views))})")
        translation = translate_view(view, self.views, self.spark_name, tables=self._pruned_read,
                                     pushdown=self.pushdown)
        self._prepare(translation, (*stack, key))
        frame = self.spark.sql(translation.sql, args=self._args(translation.parameters))
        if key == SCORED_VIEW and self.predictions:
            from c360.model.view_sql import base_view, view_columns

            base = set(view_columns(base_view(view.sql)))
            extra = [name for name in view_columns(view.sql) if name not in base and name != "*"]
            frame = scoring.with_predictions(frame, self.project_dir / "models", view_names=extra)
        frame.createOrReplaceTempView(self.spark_name(key))
        self._frames[key] = frame
        return frame

    def query(self, sql: str):
        """The DataFrame of a user's query in c360's SQL (DuckDB's dialect)."""
        translation = translate_query(sql, self.views, self.spark_name, tables=self._pruned_read,
                                      pushdown=self.pushdown)
        self._prepare(translation)
        return self.spark.sql(translation.sql, args=self._args(translation.parameters))

    def translated(self, sql: str) -> str:
        """The Spark SQL a query becomes (nothing registered, nothing run)."""
        return translate_query(sql, self.views, self.spark_name).sql
