"""Arrow columns as a driver delivers them, cast exactly to the Arrow schema a scan promised.

A transport (DuckDB's MySQL scanner, arrow-odbc, connectorx) hands back Arrow
columns typed by the driver's own rules; the planner expects the types of the
catalog (or of its pushed statement). :func:`cast_exactly` matches columns **by
position** (a pushed statement may return two columns called ``id``), renames
them to the schema's names and casts each one without losing anything:

* decimals, integers and timestamps are cast with overflow and truncation
  checks: a value that does not fit raises :class:`NotExact`, it is never rounded;
* text meant as a DATE or DATETIME is parsed by Arrow; MySQL's zero dates
  (``0000-00-00``) and other dates Arrow cannot represent (``2024-00-10``) become NULL;
* text meant as a TIME of day (``13:14:15.25``) is parsed; MySQL's TIME values
  outside 00:00..23:59:59 (``-838:59:59``, ``25:00:00``) become NULL;
* bytes meant as an integer (MySQL ``BIT(n)``) are read big-endian;
* bytes meant as text are checked as UTF-8;
* ``float64`` meant as ``float32`` is narrowed (a MySQL FLOAT was a float32 to begin with).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


class NotExact(ValueError):
    """A column cannot be given the promised type without changing a value."""


_TIME_OF_DAY = r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?$"


def cast_exactly(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch``'s columns, position by position, as ``schema``; NotExact if one cannot be."""
    if batch.num_columns != len(schema):
        raise NotExact(f"the statement returned {batch.num_columns} columns where {len(schema)} were expected")
    if batch.schema.equals(schema):
        return batch
    arrays = [cast_array(batch.column(i), field.type) for i, field in enumerate(schema)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def cast_array(array: pa.Array, target: pa.DataType) -> pa.Array:
    """One column as ``target``, by the rules in the module docstring."""
    source = array.type
    if source.equals(target):
        return array
    if pa.types.is_null(source):
        return pa.nulls(len(array), target)
    if pa.types.is_large_string(source) or pa.types.is_large_binary(source):
        array = array.cast(pa.string() if pa.types.is_large_string(source) else pa.binary())
        source = array.type
        if source.equals(target):
            return array
    if pa.types.is_string(source):
        if pa.types.is_date32(target) or pa.types.is_timestamp(target):
            return _dates_from_text(array, target)
        if pa.types.is_time64(target):
            return _times_from_text(array, target)
    if pa.types.is_binary(source) and pa.types.is_integer(target):
        return pa.array([None if v is None else int.from_bytes(v, "big") for v in array.to_pylist()], type=target)
    if pa.types.is_floating(source) and pa.types.is_float32(target):
        return array.cast(target, safe=False)
    try:
        return array.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as error:
        raise NotExact(f"{source} cannot be read as {target} exactly: {str(error).splitlines()[0]}") from None


def _dates_from_text(text: pa.Array, target: pa.DataType) -> pa.Array:
    text = pc.if_else(pc.starts_with(text, "0000-00-00"), pa.scalar(None, pa.string()), text)
    try:
        return text.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([_one_date(value, target) for value in text.to_pylist()], type=target)


def _one_date(value: str | None, target: pa.DataType):
    """One value Arrow's bulk cast refused (``2024-00-10``): its Python value, or None."""
    if value is None:
        return None
    try:
        return pa.array([value], type=pa.string()).cast(target)[0].as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _times_from_text(text: pa.Array, target: pa.DataType) -> pa.Array:
    valid = pc.match_substring_regex(text, _TIME_OF_DAY)
    kept = pc.if_else(valid, text, pa.scalar(None, pa.string()))
    stamped = pc.binary_join_element_wise("1970-01-01 ", kept, "")
    return stamped.cast(pa.timestamp("us")).cast(pa.time64("us")).cast(target)
