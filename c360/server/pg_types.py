"""PostgreSQL types for Arrow columns: OIDs, and text/binary codecs for values and parameters.

:func:`pg_type` maps an Arrow type to the PostgreSQL type a client sees in
RowDescription. Lists of scalars are PostgreSQL arrays (``text[]`` is 1009);
structs, maps and lists of them are ``json`` (114), their values JSON text.
:func:`encoder` returns a function from a Python value to the bytes of one
field in text (0) or binary (1) format; :func:`decode_parameter` turns a Bind
parameter into the Python value the engine binds.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import struct
import uuid
from dataclasses import dataclass

import pyarrow as pa

from c360.errors import DataError
from c360.types import json_default


@dataclass(frozen=True)
class PgType:
    oid: int
    name: str
    size: int  # typlen: -1 for variable length
    modifier: int = -1


BOOL = PgType(16, "bool", 1)
BYTEA = PgType(17, "bytea", -1)
NAME = PgType(19, "name", 64)
INT8 = PgType(20, "int8", 8)
INT2 = PgType(21, "int2", 2)
INT4 = PgType(23, "int4", 4)
TEXT = PgType(25, "text", -1)
OID = PgType(26, "oid", 4)
JSON = PgType(114, "json", -1)
FLOAT4 = PgType(700, "float4", 4)
FLOAT8 = PgType(701, "float8", 8)
UNKNOWN = PgType(705, "unknown", -2)
BPCHAR = PgType(1042, "bpchar", -1)
VARCHAR = PgType(1043, "varchar", -1)
DATE = PgType(1082, "date", 4)
TIME = PgType(1083, "time", 8)
TIMESTAMP = PgType(1114, "timestamp", 8)
TIMESTAMPTZ = PgType(1184, "timestamptz", 8)
INTERVAL = PgType(1186, "interval", 16)
NUMERIC = PgType(1700, "numeric", -1)
UUID = PgType(2950, "uuid", 16)
JSONB = PgType(3802, "jsonb", -1)

BY_OID = {t.oid: t for t in globals().values() if isinstance(t, PgType)}

#: the array type of each base type, as PostgreSQL numbers them
ARRAY_OIDS = {
    16: 1000, 17: 1001, 19: 1003, 20: 1016, 21: 1005, 23: 1007, 25: 1009, 26: 1028, 114: 199, 700: 1021, 701: 1022,
    1042: 1014, 1043: 1015, 1082: 1182, 1083: 1183, 1114: 1115, 1184: 1185, 1186: 1187, 1700: 1231, 2950: 2951,
    3802: 3807,
}

#: SQL spelling of each type, as ``format_type`` and information_schema show it.
SQL_NAMES = {
    16: "boolean", 17: "bytea", 19: "name", 20: "bigint", 21: "smallint", 23: "integer", 25: "text",
    26: "oid", 114: "json", 700: "real", 701: "double precision", 1042: "character", 1043: "character varying",
    1082: "date", 1083: "time without time zone", 1114: "timestamp without time zone",
    1184: "timestamp with time zone", 1186: "interval", 1700: "numeric", 2950: "uuid", 3802: "jsonb",
}


#: sqlglot's type names as PostgreSQL type OIDs (for parameter types inferred from a query)
_SQL_TYPE_OIDS = {
    "BOOLEAN": 16, "TINYINT": 21, "SMALLINT": 21, "INT": 23, "BIGINT": 20, "TEXT": 25, "VARCHAR": 25, "CHAR": 25,
    "NCHAR": 25, "NVARCHAR": 25, "FLOAT": 700, "DOUBLE": 701, "DECIMAL": 1700, "DATE": 1082, "TIME": 1083,
    "TIMESTAMP": 1114, "TIMESTAMPTZ": 1184, "INTERVAL": 1186, "UUID": 2950, "JSON": 114, "JSONB": 3802,
    "VARBINARY": 17, "BINARY": 17, "BLOB": 17,
}


#: PostgreSQL type names as written in casts, as OIDs (reg* types are sent as oid)
_TYPE_NAME_OIDS = {
    **{t.name: t.oid for t in BY_OID.values()}, "integer": 23, "int": 23, "bigint": 20, "smallint": 21,
    "boolean": 16, "real": 700, "double": 701, "decimal": 1700, "character": 1042, "regclass": 26, "regtype": 26,
    "regproc": 26, "regprocedure": 26, "regnamespace": 26, "regrole": 26,
}


def oid_of_name(name: str, array: bool = False) -> int:
    """The OID of a type named as a cast names it (``int4``, ``text``, ``oid``; ``array`` for ``name[]``); 0 if
    unknown."""
    oid = _TYPE_NAME_OIDS.get(name.lower(), 0)
    return ARRAY_OIDS.get(oid, 0) if array else oid


def oid_of(kind) -> int:
    """The PostgreSQL type OID of a sqlglot ``DataType`` (0, unknown, for a type without one)."""
    name = kind.this.value
    if name == "ARRAY":
        base = oid_of(kind.expressions[0]) if kind.expressions else 0
        return ARRAY_OIDS.get(base, 0)
    return _SQL_TYPE_OIDS.get(name, 0)


def pg_type(arrow: pa.DataType) -> PgType:
    """The PostgreSQL type a column of Arrow type ``arrow`` is sent as."""
    if pa.types.is_dictionary(arrow):
        return pg_type(arrow.value_type)
    element = _array_element(arrow)
    if element is not None:
        base = pg_type(element)
        return PgType(ARRAY_OIDS[base.oid], f"_{base.name}", -1)
    if pa.types.is_boolean(arrow):
        return BOOL
    if pa.types.is_int8(arrow) or pa.types.is_int16(arrow) or pa.types.is_uint8(arrow):
        return INT2
    if pa.types.is_int32(arrow) or pa.types.is_uint16(arrow):
        return INT4
    if pa.types.is_int64(arrow) or pa.types.is_uint32(arrow):
        return INT8
    if pa.types.is_uint64(arrow):
        return NUMERIC
    if pa.types.is_float16(arrow) or pa.types.is_float32(arrow):
        return FLOAT4
    if pa.types.is_float64(arrow):
        return FLOAT8
    if pa.types.is_decimal(arrow):
        # typmod = ((precision << 16) | scale) + 4, as PostgreSQL stores it
        return PgType(NUMERIC.oid, "numeric", -1, ((arrow.precision << 16) | arrow.scale) + 4)
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow) or getattr(pa.types, "is_string_view", lambda _: False)(arrow):
        return TEXT
    if pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow) or pa.types.is_fixed_size_binary(arrow):
        return BYTEA
    if pa.types.is_date(arrow):
        return DATE
    if pa.types.is_time(arrow):
        return TIME
    if pa.types.is_timestamp(arrow):
        return TIMESTAMPTZ if arrow.tz else TIMESTAMP
    if pa.types.is_duration(arrow) or pa.types.is_interval(arrow):
        return INTERVAL
    if _nested(arrow):
        return JSON  # structs, maps and lists of them: their values are sent as JSON text
    return TEXT


def _nested(arrow: pa.DataType) -> bool:
    return pa.types.is_struct(arrow) or pa.types.is_map(arrow) or pa.types.is_list(arrow) or pa.types.is_large_list(arrow)


# --- encoding result values ----------------------------------------------------------------------

PG_EPOCH = dt.date(2000, 1, 1)
PG_EPOCH_DT = dt.datetime(2000, 1, 1)
PG_EPOCH_TZ = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


def _text_float(value: float) -> bytes:
    if math.isnan(value):
        return b"NaN"
    if math.isinf(value):
        return b"Infinity" if value > 0 else b"-Infinity"
    return repr(value).encode()


def _text_decimal(value: decimal.Decimal) -> bytes:
    if value.is_nan():
        return b"NaN"
    return format(value, "f").encode()


def _text_timestamp(value: dt.datetime) -> bytes:
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text.encode()


def _text_timestamptz(value: dt.datetime) -> bytes:
    return _text_timestamp(value.astimezone(dt.timezone.utc).replace(tzinfo=None)) + b"+00"


def _text_time(value: dt.time) -> bytes:
    return value.isoformat().encode()


def _text_interval(value) -> bytes:
    """PostgreSQL's ``postgres`` IntervalStyle: ``3 days 04:05:06.5``."""
    if isinstance(value, dt.timedelta):
        hours, rest = divmod(value.seconds, 3600)
        minutes, secs = divmod(rest, 60)
        clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
        if value.microseconds:
            clock += f".{value.microseconds:06d}".rstrip("0")
        return (f"{value.days} days {clock}" if value.days else clock).encode()
    months, days, nanos = value.months, value.days, value.nanoseconds
    return f"{months} mons {days} days {nanos / 1e9} secs".encode()


def _text_bytes(value: bytes) -> bytes:
    return b"\\x" + value.hex().encode()


def _text_json(value) -> bytes:
    if isinstance(value, list) and value and isinstance(value[0], tuple):  # map as key/value pairs
        value = dict(value)
    return json.dumps(value, default=json_default).encode()


def _text_bool(value: bool) -> bytes:
    return b"t" if value else b"f"


def _text_str(value) -> bytes:
    return str(value).encode()


def _utf8(value: str) -> bytes:
    return value.encode("utf-8")


def _binary_numeric(value: decimal.Decimal) -> bytes:
    if value.is_nan():
        return struct.pack("!hhhh", 0, 0, 0xC000 - 0x10000, 0)
    sign, digits, exponent = value.as_tuple()
    dscale = max(0, -exponent)
    # pad the decimal digits so the point falls on a base-10000 boundary
    integer_digits = len(digits) + exponent
    digit_text = "".join(map(str, digits))
    if exponent > 0:
        digit_text += "0" * exponent
    front = (4 - integer_digits % 4) % 4 if integer_digits > 0 else 0
    if integer_digits <= 0:
        digit_text = "0" * (-integer_digits) + digit_text
        integer_digits = 0
    digit_text = "0" * front + digit_text
    integer_digits += front
    digit_text += "0" * ((4 - len(digit_text) % 4) % 4)
    groups = [int(digit_text[i : i + 4]) for i in range(0, len(digit_text), 4)]
    weight = integer_digits // 4 - 1
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    header = struct.pack("!hhhh", len(groups), weight, 0x4000 if sign else 0, dscale)
    return header + struct.pack(f"!{len(groups)}h", *groups)


def _binary_interval(value) -> bytes:
    if isinstance(value, dt.timedelta):
        return struct.pack("!qii", value.seconds * 1_000_000 + value.microseconds, value.days, 0)
    return struct.pack("!qii", value.nanoseconds // 1000, value.days, value.months)


_TEXT = {
    BOOL.oid: _text_bool,
    INT2.oid: _text_str,
    INT4.oid: _text_str,
    INT8.oid: _text_str,
    FLOAT4.oid: _text_float,
    FLOAT8.oid: _text_float,
    NUMERIC.oid: lambda v: _text_decimal(v) if isinstance(v, decimal.Decimal) else str(v).encode(),
    BYTEA.oid: _text_bytes,
    DATE.oid: lambda v: v.isoformat().encode(),
    TIME.oid: _text_time,
    TIMESTAMP.oid: _text_timestamp,
    TIMESTAMPTZ.oid: _text_timestamptz,
    INTERVAL.oid: _text_interval,
}

_BINARY = {
    BOOL.oid: lambda v: b"\x01" if v else b"\x00",
    INT2.oid: struct.Struct("!h").pack,
    INT4.oid: struct.Struct("!i").pack,
    INT8.oid: struct.Struct("!q").pack,
    FLOAT4.oid: struct.Struct("!f").pack,
    FLOAT8.oid: struct.Struct("!d").pack,
    NUMERIC.oid: lambda v: _binary_numeric(v if isinstance(v, decimal.Decimal) else decimal.Decimal(v)),
    BYTEA.oid: bytes,
    DATE.oid: lambda v: struct.pack("!i", (v - PG_EPOCH).days),
    TIME.oid: lambda v: struct.pack("!q", ((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond),
    TIMESTAMP.oid: lambda v: struct.pack("!q", (v - PG_EPOCH_DT) // dt.timedelta(microseconds=1)),
    TIMESTAMPTZ.oid: lambda v: struct.pack("!q", (v - PG_EPOCH_TZ) // dt.timedelta(microseconds=1)),
    INTERVAL.oid: _binary_interval,
}


def _array_element(arrow: pa.DataType) -> pa.DataType | None:
    """The element type of a one-dimensional list of scalars PostgreSQL has an array type for."""
    if not (pa.types.is_list(arrow) or pa.types.is_large_list(arrow) or pa.types.is_fixed_size_list(arrow)):
        return None
    element = arrow.value_type
    if pa.types.is_nested(element) or pa.types.is_dictionary(element):
        return None
    return element if pg_type(element).oid in ARRAY_OIDS else None


def _array_text_element(value: bytes) -> bytes:
    if value == b"" or value.upper() == b"NULL" or any(c in value for c in b'{},"\\ \t\n'):
        return b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return value


def _array_encoder(element: pa.DataType, fmt: int, element_oid: int | None = None):
    encode_element = encoder(element, fmt, element_oid)
    if fmt == 0:
        def encode_text(values: list) -> bytes:
            parts = [b"NULL" if v is None else _array_text_element(encode_element(v)) for v in values]
            return b"{" + b",".join(parts) + b"}"

        return encode_text
    element_oid = element_oid or pg_type(element).oid

    def encode_binary(values: list) -> bytes:
        # one dimension, lower bound 1; then each element as length + bytes (-1 for NULL)
        has_null = any(v is None for v in values)
        out = [struct.pack("!iiIii", 1, int(has_null), element_oid, len(values), 1)]
        for value in values:
            if value is None:
                out.append(struct.pack("!i", -1))
            else:
                data = encode_element(value)
                out.append(struct.pack("!i", len(data)) + data)
        return b"".join(out)

    return encode_binary


def encoder(arrow: pa.DataType, fmt: int, oid: int | None = None):
    """A function turning one non-null Python value of a column into field bytes (``oid``: the type the column
    is sent as when the Arrow type does not say it; ``oid`` and ``oid[]`` need their own binary format)."""
    if oid == OID.oid and fmt == 1:
        return struct.Struct("!I").pack
    if oid == ARRAY_OIDS[OID.oid] and fmt == 1:
        return _array_encoder(arrow.value_type, fmt, OID.oid)
    element = _array_element(arrow)
    if element is not None:
        return _array_encoder(element, fmt)
    oid = pg_type(arrow).oid
    if oid == JSON.oid and _nested(arrow):
        return _text_json  # json's binary format is its text
    if oid == TEXT.oid:
        if pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
            return _utf8
        return _text_str
    table = _BINARY if fmt == 1 else _TEXT
    return table.get(oid, _text_str)


def python_column(array: pa.Array) -> list:
    """The column's values as Python objects, with nanosecond times narrowed to microseconds."""
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    kind = array.type
    if pa.types.is_timestamp(kind) and kind.unit == "ns":
        array = array.cast(pa.timestamp("us", kind.tz), safe=False)
    elif pa.types.is_time64(kind) and kind.unit == "ns":
        array = array.cast(pa.time64("us"), safe=False)
    elif pa.types.is_duration(kind) and kind.unit == "ns":
        array = array.cast(pa.duration("us"), safe=False)
    elif pa.types.is_date64(kind):
        array = array.cast(pa.date32())
    return array.to_pylist()


def encode_rows(batch: pa.RecordBatch, encoders: list) -> list[list[bytes | None]]:
    """Every row of ``batch`` as field bytes (``None`` for NULL), column encoders applied."""
    columns = []
    for array, encode in zip(batch.columns, encoders):
        values = python_column(array)
        columns.append([None if v is None else encode(v) for v in values])
    return [list(row) for row in zip(*columns)] if columns else [[] for _ in range(batch.num_rows)]


# --- decoding parameters -------------------------------------------------------------------------


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("t", "true", "y", "yes", "on", "1"):
        return True
    if lowered in ("f", "false", "n", "no", "off", "0"):
        return False
    raise ValueError(text)


def _parse_timestamp(text: str) -> dt.datetime:
    text = text.strip().replace(" ", "T", 1)
    if text.endswith(("+00", "-00")) or (len(text) > 3 and text[-3] in "+-" and text[-2:].isdigit()):
        text += ":00"
    return dt.datetime.fromisoformat(text)


_TEXT_PARAMS = {
    BOOL.oid: _parse_bool,
    INT2.oid: int,
    INT4.oid: int,
    INT8.oid: int,
    OID.oid: int,
    FLOAT4.oid: float,
    FLOAT8.oid: float,
    NUMERIC.oid: decimal.Decimal,
    DATE.oid: lambda t: dt.date.fromisoformat(t.strip()),
    TIME.oid: lambda t: dt.time.fromisoformat(t.strip()),
    TIMESTAMP.oid: _parse_timestamp,
    TIMESTAMPTZ.oid: _parse_timestamp,
    BYTEA.oid: lambda t: bytes.fromhex(t[2:]) if t.startswith("\\x") else t.encode(),
    UUID.oid: str,
}


def _binary_numeric_decode(data: bytes) -> decimal.Decimal:
    ndigits, weight, sign, dscale = struct.unpack_from("!hhHh", data)
    if sign == 0xC000:
        return decimal.Decimal("NaN")
    digits = struct.unpack_from(f"!{ndigits}h", data, 8)
    value = decimal.Decimal(0)
    for i, digit in enumerate(digits):
        value += decimal.Decimal(digit).scaleb(4 * (weight - i))
    if sign == 0x4000:
        value = -value
    return value.quantize(decimal.Decimal(1).scaleb(-dscale)) if dscale else value.to_integral_value()


_BINARY_PARAMS = {
    BOOL.oid: lambda b: b != b"\x00",
    INT2.oid: lambda b: struct.unpack("!h", b)[0],
    INT4.oid: lambda b: struct.unpack("!i", b)[0],
    INT8.oid: lambda b: struct.unpack("!q", b)[0],
    OID.oid: lambda b: struct.unpack("!I", b)[0],
    FLOAT4.oid: lambda b: struct.unpack("!f", b)[0],
    FLOAT8.oid: lambda b: struct.unpack("!d", b)[0],
    NUMERIC.oid: _binary_numeric_decode,
    BYTEA.oid: bytes,
    DATE.oid: lambda b: PG_EPOCH + dt.timedelta(days=struct.unpack("!i", b)[0]),
    TIME.oid: lambda b: (dt.datetime.min + dt.timedelta(microseconds=struct.unpack("!q", b)[0])).time(),
    TIMESTAMP.oid: lambda b: PG_EPOCH_DT + dt.timedelta(microseconds=struct.unpack("!q", b)[0]),
    TIMESTAMPTZ.oid: lambda b: PG_EPOCH_TZ + dt.timedelta(microseconds=struct.unpack("!q", b)[0]),
    UUID.oid: lambda b: str(uuid.UUID(bytes=b)),
    JSONB.oid: lambda b: b[1:].decode("utf-8"),
}


_ELEMENT_OF = {array: base for base, array in ARRAY_OIDS.items()}


def _binary_array(data: bytes) -> list:
    """A one-dimensional array in PostgreSQL's binary format: ndim, has-null, element OID, (size, lower bound),
    then each element as length and bytes."""
    ndim, _, element = struct.unpack_from("!iiI", data)
    if ndim == 0:
        return []
    if ndim != 1:
        raise ValueError("multi-dimensional array")
    size, _ = struct.unpack_from("!ii", data, 12)
    values, offset = [], 20
    for _ in range(size):
        (length,) = struct.unpack_from("!i", data, offset)
        offset += 4
        if length < 0:
            values.append(None)
            continue
        values.append(decode_parameter(element, 1, data[offset : offset + length]))
        offset += length
    return values


def _text_array(text: str, element: int) -> list:
    from c360.postgres import parse_array_literal

    return [None if v is None else decode_parameter(element, 0, v.encode("utf-8")) for v in parse_array_literal(text)]


def decode_parameter(oid: int, fmt: int, data: bytes | None):
    """The Python value of one Bind parameter; untyped (OID 0) and text-like ones stay strings; arrays are lists."""
    if data is None:
        return None
    try:
        if oid in _ELEMENT_OF:
            return _binary_array(data) if fmt == 1 else _text_array(data.decode("utf-8"), _ELEMENT_OF[oid])
        if fmt == 1:
            decode = _BINARY_PARAMS.get(oid)
            return decode(data) if decode else data.decode("utf-8")
        text = data.decode("utf-8")
        decode = _TEXT_PARAMS.get(oid)
        return decode(text) if decode else text
    except (ValueError, struct.error, UnicodeDecodeError, decimal.InvalidOperation, IndexError):
        name = BY_OID[oid].name if oid in BY_OID else f"type {oid}"
        raise DataError(f"Parameter value is not a valid {name} in {'binary' if fmt else 'text'} format") from None
