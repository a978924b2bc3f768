""":func:`c360.types.duckdb_type`'s shortcut names are DuckDB's own."""

import pyarrow as pa
import pytest

from c360.types import _PLAIN, described_by_duckdb, duckdb_type


@pytest.mark.parametrize("arrow", [*_PLAIN, pa.decimal128(12, 2), pa.decimal128(38, 10), pa.decimal128(4, 0)],
                         ids=str)
def test_the_shortcut_names_each_type_as_duckdb_does(arrow):
    assert duckdb_type(arrow) == described_by_duckdb(arrow)


def test_other_types_are_asked_of_duckdb():
    nested = pa.struct([("a", pa.list_(pa.int64()))])
    assert duckdb_type(nested) == "STRUCT(a BIGINT[])"
