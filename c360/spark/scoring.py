"""``customer_360``'s prediction columns on Spark: the same scorer as the DuckDB UDF, on executors.

:func:`with_predictions` appends ``p_purchase_<horizon>d``, one ``p_<category>`` per category,
``predicted_category`` and ``model_version`` to the base view's DataFrame with ``mapInArrow``: each
Python worker loads ``models/`` once (:func:`c360.model.scorer.scorer`), builds the feature struct
from each Arrow batch's columns and calls :meth:`c360.model.scorer.Scorer.score`, the compiled
trees the DuckDB UDF runs. The predictions therefore equal the engine's, not approximately: the
same matrix, the same float32 comparisons, the same softmax.

The models folder must be readable at the same path by every executor (local mode: always; a
cluster: a shared mount, or ship it with ``--files`` and point ``models_dir`` at it).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from c360.model import card as cards


def prediction_names(card) -> list[str]:
    """The prediction columns customer_360 has for ``card``, in the view's order."""
    from c360.model.view_sql import column_name, purchase_column

    return [purchase_column(card), *(column_name(c) for c in card.categories), "predicted_category", "model_version"]


def with_predictions(frame, models_dir: Path, *, view_names: list[str] = ()):
    """``frame`` (customer_360's base) with the prediction columns. Without a model in ``models_dir`` the
    view's own prediction columns (``view_names``: its columns the base lacks) are NULL, as the engine's
    UDF answers NULL before ``c360 train``."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    models_dir = Path(models_dir).resolve()
    if not cards.exists(models_dir):
        for name in view_names:
            kind = "string" if name in ("predicted_category", "model_version") else "double"
            frame = frame.withColumn(name, F.lit(None).cast(kind))
        return frame
    card = cards.read(models_dir)
    names = prediction_names(card)
    fields = [StructField(n, DoubleType(), True) for n in names[:-2]]
    fields += [StructField(n, StringType(), True) for n in names[-2:]]
    schema = StructType(frame.schema.fields + fields)
    inputs = [f.name for f in card.inputs]
    missing = [n for n in inputs if n not in frame.columns]
    if missing:
        from c360.errors import ProgrammingError

        raise ProgrammingError("customer_360 lacks the model's feature column(s): " + ", ".join(missing))
    categories = list(card.categories)
    folder = str(models_dir)

    def score(batches):
        from c360.model.scorer import scorer

        loaded = scorer(Path(folder))
        names_array = pa.array(categories, pa.string())
        for batch in batches:
            columns = [_plain(batch.column(batch.schema.get_field_index(n))) for n in inputs]
            struct = pa.StructArray.from_arrays(columns, names=inputs)
            answer = loaded.score(struct)
            rows = len(batch)
            width = len(categories)
            flat = answer.field("probabilities").flatten().to_numpy(zero_copy_only=False).reshape(rows, width)
            extra = [answer.field("p_purchase_30d")]
            extra += [pa.array(flat[:, i]) for i in range(width)]
            positions = pc.subtract(answer.field("predicted_position").cast(pa.int32()), 1)
            extra.append(names_array.take(positions))
            extra.append(answer.field("model_version"))
            yield pa.RecordBatch.from_arrays(list(batch.columns) + extra, schema=_arrow_schema(batch.schema, names))

    return frame.mapInArrow(score, schema)


def _plain(array: pa.Array) -> pa.Array:
    """Spark's Arrow column in the types the scorer's checks know (large strings as strings)."""
    if pa.types.is_large_string(array.type):
        return array.cast(pa.string())
    return array


def _arrow_schema(base: pa.Schema, names: list[str]) -> pa.Schema:
    fields = list(base) + [pa.field(n, pa.float64()) for n in names[:-2]]
    return pa.schema(fields + [pa.field(n, pa.string()) for n in names[-2:]])
