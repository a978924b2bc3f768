"""PostgreSQL codecs for Arrow values, checked against PostgreSQL's documented wire formats."""

from __future__ import annotations

import datetime as dt
import struct
from decimal import Decimal

import pyarrow as pa
import pytest

from c360.errors import DataError
from c360.server import pg_types as types


@pytest.mark.parametrize(
    "arrow, oid",
    [(pa.int32(), 23), (pa.int64(), 20), (pa.string(), 25), (pa.decimal128(12, 2), 1700), (pa.date32(), 1082),
     (pa.timestamp("us"), 1114), (pa.timestamp("us", "UTC"), 1184), (pa.bool_(), 16), (pa.float64(), 701),
     (pa.list_(pa.int64()), 1016), (pa.list_(pa.string()), 1009), (pa.list_(pa.list_(pa.int64())), 114),
     (pa.struct([("a", pa.int64())]), 114), (pa.map_(pa.string(), pa.int64()), 114), (pa.binary(), 17)],
)
def test_arrow_types_map_to_postgres_oids(arrow, oid):
    assert types.pg_type(arrow).oid == oid


def test_decimal_type_modifier_carries_precision_and_scale():
    assert types.pg_type(pa.decimal128(12, 2)).modifier == ((12 << 16) | 2) + 4


@pytest.mark.parametrize("value", ["0", "1", "-1", "12.99", "0.0001", "10000", "123456789.000001", "-0.5", "1E+5"])
def test_binary_numeric_round_trips(value):
    encoded = types.encoder(pa.decimal128(38, 6), 1)(Decimal(value))
    assert types.decode_parameter(1700, 1, encoded) == Decimal(value)


def test_binary_numeric_matches_postgres_layout_for_12_99():
    # ndigits=2, weight=0, sign=+, dscale=2, digits 12 and 9900 (base 10000)
    assert types.encoder(pa.decimal128(12, 2), 1)(Decimal("12.99")) == struct.pack("!hhhhhh", 2, 0, 0, 2, 12, 9900)


def test_text_formats_follow_postgres_output():
    assert types.encoder(pa.bool_(), 0)(True) == b"t"
    assert types.encoder(pa.timestamp("us"), 0)(dt.datetime(2026, 1, 2, 3, 4, 5, 120000)) == b"2026-01-02 03:04:05.12"
    assert types.encoder(pa.float64(), 0)(float("inf")) == b"Infinity"
    assert types.encoder(pa.binary(), 0)(b"\x01\xff") == b"\\x01ff"


def test_binary_dates_count_days_from_2000():
    assert types.encoder(pa.date32(), 1)(dt.date(2000, 1, 2)) == struct.pack("!i", 1)
    assert types.decode_parameter(1082, 1, struct.pack("!i", -1)) == dt.date(1999, 12, 31)


def test_untyped_text_parameters_stay_strings():
    assert types.decode_parameter(0, 0, b"2024-01-01") == "2024-01-01"


def test_a_malformed_parameter_is_a_data_error_naming_the_type():
    with pytest.raises(DataError, match="not a valid date"):
        types.decode_parameter(1082, 0, b"yesterday")


def test_structs_are_json_text_in_both_formats():
    for fmt in (0, 1):
        assert types.encoder(pa.struct([("a", pa.int64())]), fmt)({"a": 1}) == b'{"a": 1}'
