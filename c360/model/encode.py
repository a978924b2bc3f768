"""Arrow batches into the feature matrix in one compiled pass, read through the Arrow C data interface.

The scorer turns 2,048 rows at a time into a matrix, inside a DuckDB UDF, where every Python-level
step costs microseconds (more than the work it does: the caches are cold after DuckDB's own work).
So a batch is exported once through the Arrow C data interface (a tree of ``ArrowArray`` structs:
lengths, offsets, buffer addresses) and one compiled function (numba) walks it and writes every
matrix column it can read:

* integers and floats (NULL as NaN), ``decimal128`` (as a double: exact below 2**53 with at most
  22 decimals, then rounded to float32 like every number), ``date32`` as its year;
* strings and lists of strings, one-hot over each feature's vocabulary: each string is looked up in
  a small hash table of the vocabulary (length, first and last byte) and confirmed by comparing its
  first and last eight bytes with the word's (byte by byte near the end of the buffer, past 16
  bytes, where words share a slot, and in tag lists).

A :class:`Layout` (built once per Arrow type) says which struct field feeds which matrix columns;
fields whose layout the compiled pass does not read (timestamps, large lists, string views,
dictionaries, ...) are listed in ``Layout.arrow`` and left to Arrow compute by
:func:`c360.model.matrix.matrix`. Imported only when something is scored or trained (numba takes
a moment to import).
"""

from __future__ import annotations

import ctypes
import functools
import threading

import numba
import numpy as np
import pyarrow as pa
from llvmlite import ir
from numba import literal_unroll, types
from numba.extending import intrinsic

from c360.model import features as kinds  # the feature kinds

#: Slots of a vocabulary's hash table (a power of two).
SLOTS = 256

# Plan row fields (one row per feature the compiled pass writes).
KIND, CHILD, COLUMN, WIDTH, FIRST_WORD, SCALE = range(6)
# Kinds: fill the columns (a feature nobody reads, or a NULL-typed field), or read a layout.
MISSING, ZEROS, F64, F32, I8, I16, I32, I64, U8, U16, U32, U64, DECIMAL, YEAR, STRING, LARGE_STRING, STRING_LIST = \
    range(17)
_NUMBER_KINDS = {pa.float64(): F64, pa.float32(): F32, pa.int8(): I8, pa.int16(): I16, pa.int32(): I32,
                 pa.int64(): I64, pa.uint8(): U8, pa.uint16(): U16, pa.uint32(): U32, pa.uint64(): U64}
#: Each number kind with a zero of its NumPy type (what the compiled pass reads its buffer as).
_NUMBERS = ((F64, np.float64(0)), (F32, np.float32(0)), (I8, np.int8(0)), (I16, np.int16(0)), (I32, np.int32(0)),
            (I64, np.int64(0)), (U8, np.uint8(0)), (U16, np.uint16(0)), (U32, np.uint32(0)), (U64, np.uint64(0)))
# Fields of an ArrowArray (ten 8-byte words): length, null_count, offset, n_buffers, n_children,
# buffers, children, dictionary, release, private_data.
_LENGTH, _OFFSET, _BUFFERS, _CHILDREN, _RELEASE, _WORDS = 0, 2, 5, 6, 8, 10

_POWERS_OF_TEN = np.array([10.0 ** k for k in range(39)])


class Layout:
    """How one Arrow struct type becomes matrix columns: ``plan`` for the compiled pass, the
    vocabularies it looks strings up in, and ``arrow``, the (feature, field, column) left to Arrow."""

    def __init__(self, struct_type: pa.StructType, features, unread: frozenset = frozenset()):
        plan, words, tables, self.arrow = [], [], [], []
        at = 0
        for feature in features:
            width = feature.width
            indicator = feature.kind in (kinds.CATEGORY, kinds.TAGS)
            fill = [ZEROS if indicator else MISSING, 0, at, width, 0, 0]
            child = struct_type.get_field_index(feature.name)
            if feature.name in unread or not width:
                plan.append(fill)
            elif child < 0:
                raise KeyError(feature.name)
            else:
                kind, scale = _kind(struct_type.field(child).type, feature.kind)
                if kind is None:
                    plan.append(fill)  # cleared here, written by Arrow after the compiled pass
                    self.arrow.append((feature, child, at))
                elif kind in (MISSING, ZEROS):
                    plan.append(fill)
                else:
                    plan.append([kind, child, at, width, len(words), scale])
                    if indicator:
                        tables.append(_table(feature.vocabulary))
                        words.extend(feature.vocabulary)
            at += width
        self.columns = at
        self.plan = np.array(plan, dtype=np.int64).reshape(-1, 6)
        encoded = [word.encode("utf-8") for word in words]
        offsets = np.cumsum([0] + [len(e) for e in encoded]).astype(np.int64)
        data = np.frombuffer(b"".join(encoded) + bytes(8), dtype=np.uint8)
        heads = np.array([int.from_bytes(e[:8], "little") for e in encoded] or [0], dtype=np.uint64)
        tails = np.array([int.from_bytes(e[-8:], "little") if len(e) >= 8 else 0 for e in encoded] or [0],
                         dtype=np.uint64)
        #: every vocabulary's words: offsets into their UTF-8 bytes, the bytes, each word's first and last 8 bytes
        self.vocabulary = (offsets, data, heads, tails)
        # one hash table per vocabulary, in plan order: slot -> word index in the vocabulary, -1 empty, -2 shared
        self.tables = np.array(tables, dtype=np.int32).reshape(-1, SLOTS)


def _kind(arrow_type: pa.DataType, kind: str) -> tuple[int | None, int]:
    """(plan kind, decimal scale) of a field of ``arrow_type`` feeding a feature of ``kind``; None: Arrow's."""
    if pa.types.is_null(arrow_type):
        return (MISSING if kind in (kinds.NUMBER, kinds.YEAR) else ZEROS), 0
    if kind == kinds.NUMBER:
        if isinstance(arrow_type, pa.Decimal128Type):
            return (DECIMAL, arrow_type.scale) if arrow_type.scale >= 0 else (None, 0)
        return _NUMBER_KINDS.get(arrow_type), 0
    if kind == kinds.YEAR:
        return (YEAR if arrow_type == pa.date32() else None), 0
    if kind == kinds.CATEGORY:
        return {pa.string(): STRING, pa.large_string(): LARGE_STRING}.get(arrow_type), 0
    if pa.types.is_list(arrow_type) and arrow_type.value_type == pa.string():
        return STRING_LIST, 0
    return None, 0


def _table(vocabulary: tuple[str, ...]) -> np.ndarray:
    table = np.full(SLOTS, -1, dtype=np.int32)
    for index, word in enumerate(word.encode("utf-8") for word in vocabulary):
        slot = _slot(len(word), word[0] if word else 0, word[-1] if word else 0)
        table[slot] = index if table[slot] == -1 else -2
    return table


def decode(struct: pa.StructArray, layout: Layout, columns: np.ndarray) -> None:
    """Write the columns ``layout.plan`` covers into ``columns`` (matrix columns x rows, float32)."""
    exported, address = _exported()
    struct._export_to_c(address)
    try:
        _decode(address, layout.plan, layout.vocabulary, layout.tables, _POWERS_OF_TEN, columns)
    finally:
        _release(int(exported[_RELEASE]))(address)


_THREAD = threading.local()


def _exported() -> tuple[np.ndarray, int]:
    """This thread's ArrowArray to export batches into, and its address (made once per thread)."""
    exported = getattr(_THREAD, "exported", None)
    if exported is None:
        array = np.zeros(_WORDS, dtype=np.int64)
        exported = _THREAD.exported = (array, array.ctypes.data)
    return exported


@functools.cache
def _release(function: int):
    """The exported array's release callback, callable from Python (one per callback address)."""
    return ctypes.CFUNCTYPE(None, ctypes.c_void_p)(function)


@intrinsic
def _load64(typingctx, address):
    """The eight bytes at ``address`` (any alignment) as an unsigned little-endian integer."""
    signature = types.uint64(address)

    def codegen(context, builder, signature, arguments):
        pointer = builder.inttoptr(arguments[0], ir.IntType(64).as_pointer())
        return builder.load(pointer, align=1)

    return signature, codegen


@intrinsic
def _pointer(typingctx, address, dtype):
    """``address`` (an integer) as a pointer to ``dtype`` (a NumPy type, or a value of one)."""
    target = dtype.instance_type if isinstance(dtype, types.NumberClass) else dtype
    signature = types.CPointer(target)(address, dtype)

    def codegen(context, builder, signature, arguments):
        return builder.inttoptr(arguments[0], context.get_value_type(signature.return_type))

    return signature, codegen


@numba.njit(cache=True, nogil=True)
def _words(address, count):  # pragma: no cover - compiled
    return numba.carray(_pointer(address, np.int64), count)


@numba.njit(cache=True, nogil=True)
def _bytes(address, count):  # pragma: no cover - compiled
    return numba.carray(_pointer(address, np.uint8), count)


@numba.njit(cache=True, nogil=True)
def _validity(array, offset, rows):  # pragma: no cover - compiled
    """The validity bitmap of an ArrowArray (empty when it has none), covering ``offset + rows``."""
    address = _words(_words(array, _WORDS)[_BUFFERS], 1)[0]
    if address == 0:
        return np.zeros(0, dtype=np.uint8)
    return _bytes(address, (offset + rows + 7) // 8)


@numba.njit(cache=True, nogil=True)
def _valid(bits, index):  # pragma: no cover - compiled
    return bits.size == 0 or (bits[index >> 3] >> (index & 7)) & 1 == 1


@numba.njit(cache=True, nogil=True)
def _copy(values, offset, bits, rows, out):  # pragma: no cover - compiled
    """Numbers as float32 through float64, as Arrow's cast to double then NumPy's to single would give
    them, NaN where the validity bitmap says NULL: selects, not branches (NULLs come at random),
    eight rows per bitmap byte when the rows start on a byte."""
    if bits.size == 0:
        for row in range(rows):
            out[row] = np.float64(values[offset + row])
        return
    whole = rows // 8 if offset & 7 == 0 else 0
    first = offset >> 3
    for byte in range(whole):
        flags = bits[first + byte]
        for bit in range(8):
            row = 8 * byte + bit
            out[row] = np.float64(values[offset + row]) if (flags >> bit) & 1 else np.nan
    for row in range(8 * whole, rows):
        index = offset + row
        out[row] = np.float64(values[index]) if (bits[index >> 3] >> (index & 7)) & 1 else np.nan


@numba.njit(cache=True, nogil=True)
def _nulls(bits, offset, rows, out):  # pragma: no cover - compiled
    """NaN into ``out[row]`` wherever bit ``offset + row`` of ``bits`` is clear. Selects, not branches
    (NULLs come at random): eight rows per bitmap byte when the rows start on a byte."""
    if bits.size == 0:
        return
    whole = rows // 8 if offset & 7 == 0 else 0
    first = offset >> 3
    for byte in range(whole):
        flags = bits[first + byte]
        for bit in range(8):
            row = 8 * byte + bit
            out[row] = out[row] if (flags >> bit) & 1 else np.nan
    for row in range(8 * whole, rows):
        index = offset + row
        out[row] = out[row] if (bits[index >> 3] >> (index & 7)) & 1 else np.nan


@numba.njit(cache=True, nogil=True)
def _decimals(values, offset, bits, rows, scale, powers, out):  # pragma: no cover - compiled
    """decimal128 (low word first): the integer as a double (exact below 2**53), over 10**scale."""
    for row in range(rows):
        low, high = values[2 * (offset + row)], values[2 * (offset + row) + 1]
        if high == (low >> 63):  # fits in 64 bits
            number = np.float64(low)
        else:
            number = np.float64(high) * 18446744073709551616.0 + np.float64(np.uint64(low))
        out[row] = number / powers[scale]
    _nulls(bits, offset, rows, out)


@numba.njit(cache=True, nogil=True)
def _year(days):  # pragma: no cover - compiled
    """The proleptic Gregorian year of a day count since 1970-01-01 (H. Hinnant's civil_from_days)."""
    z = days + 719468
    if z >= 0:  # year 0 or later: unsigned divisions by constants compile to multiplications
        u = np.uint64(z)
        era = u // np.uint64(146097)
        day_of_era = u - era * np.uint64(146097)
        year_of_era = (day_of_era - day_of_era // np.uint64(1460) + day_of_era // np.uint64(36524)
                       - day_of_era // np.uint64(146096)) // np.uint64(365)
        day_of_year = day_of_era - (np.uint64(365) * year_of_era + year_of_era // np.uint64(4)
                                    - year_of_era // np.uint64(100))
        month = (np.uint64(5) * day_of_year + np.uint64(2)) // np.uint64(153)  # 0 = March .. 11 = February
        return np.int64(year_of_era) + np.int64(era) * 400 + (1 if month >= 10 else 0)
    era = z // 146097  # floor division (the C original adjusts truncation for negative days)
    day_of_era = z - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month = (5 * day_of_year + 2) // 153
    return year_of_era + era * 400 + (1 if month >= 10 else 0)


@numba.njit(cache=True, nogil=True)
def _slot(length, first, last):  # pragma: no cover - compiled
    return (length * 31 + first * 7 + last) & (SLOTS - 1)


@numba.njit(cache=True, nogil=True, inline="always")
def _quick(base, start, length, words, heads, tails, word):  # pragma: no cover - compiled
    """Whether the string at ``start`` (of at most 16 bytes, with eight readable bytes from ``start``)
    is vocabulary word ``word``: its first and last eight bytes against the word's, no loops."""
    if words[word + 1] - words[word] != length:
        return False
    head = _load64(base + start)
    if length < 8:
        return (head & ((np.uint64(1) << np.uint64(8 * length)) - np.uint64(1))) == heads[word]
    return head == heads[word] and _load64(base + start + length - 8) == tails[word]


@numba.njit(cache=True, nogil=True)
def _same(data, start, length, words, word_data, word):  # pragma: no cover - compiled
    """Whether ``data[start:start+length]`` is vocabulary word ``word``, byte by byte."""
    begin = words[word]
    if words[word + 1] - begin != length:
        return False
    for b in range(length):
        if data[start + b] != word_data[begin + b]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _slow_code(data, start, length, words, word_data, first, count):  # pragma: no cover - compiled
    for word in range(count):
        if _same(data, start, length, words, word_data, first + word):
            return word
    return -1


@numba.njit(cache=True, nogil=True)
def _strings(array, offset, rows, wide, vocabulary, table, first, count, out, at):  # pragma: no cover
    """string (``wide``: large_string): row's indicator column for its value."""
    buffers = _words(_words(array, _WORDS)[_BUFFERS], 3)
    bits = _validity(array, offset, rows)
    if wide:
        positions = numba.carray(_pointer(buffers[1], np.int64), offset + rows + 1)
        _lookup(positions, buffers[2], bits, offset, rows, vocabulary, table, first, count, out, at)
    else:
        positions32 = numba.carray(_pointer(buffers[1], np.int32), offset + rows + 1)
        _lookup(positions32, buffers[2], bits, offset, rows, vocabulary, table, first, count, out, at)


@numba.njit(cache=True, nogil=True)
def _lookup(positions, address, bits, offset, rows, vocabulary, table, first, count, out,
            at):  # pragma: no cover - compiled
    """Strings ``offset .. offset+rows`` (their ``positions`` into the bytes at ``address``) looked up:
    ``out[at + word, row] = 1`` for each that is a vocabulary word."""
    words, word_data, heads, tails = vocabulary
    limit = positions[offset + rows]
    data = _bytes(address, limit) if limit > 0 else np.zeros(1, dtype=np.uint8)
    pending = np.empty(rows, dtype=np.int32)  # rows the quick comparison cannot decide
    waiting = 0
    for row in range(rows):  # first pass: the hash slot, and the quick comparison where it can tell
        index = offset + row
        if not _valid(bits, index):
            continue
        start, length = positions[index], positions[index + 1] - positions[index]
        head = data[start] if length else 0
        tail = data[start + length - 1] if length else 0
        slot = table[_slot(length, head, tail)]
        if slot >= 0 and start + 8 <= limit and length <= 16:
            if _quick(address, start, length, words, heads, tails, first + slot):
                out[at + slot, row] = 1.0
        elif slot != -1:
            pending[waiting] = row
            waiting += 1
    for p in range(waiting):  # second pass, byte by byte: shared slots, the buffer's end, long strings
        row = pending[p]
        index = offset + row
        start, length = positions[index], positions[index + 1] - positions[index]
        code = _slow_code(data, start, length, words, word_data, first, count)
        if code >= 0:
            out[at + code, row] = 1.0

@numba.njit(cache=True, nogil=True)
def _lists(array, offset, rows, vocabulary, table, first, count, out, at):  # pragma: no cover - compiled
    """list<string>: ``out[at + word, row] = 1`` for every vocabulary word among row's tags."""
    words, word_data = vocabulary[0], vocabulary[1]
    header = _words(array, _WORDS)
    bits = _validity(array, offset, rows)
    lists = numba.carray(_pointer(_words(header[_BUFFERS], 2)[1], np.int32), offset + rows + 1)
    values = _words(header[_CHILDREN], 1)[0]
    value_offset = _words(values, _WORDS)[_OFFSET]
    total = lists[offset + rows]
    buffers = _words(_words(values, _WORDS)[_BUFFERS], 3)
    value_bits = _validity(values, value_offset, total)
    positions = numba.carray(_pointer(buffers[1], np.int32), value_offset + total + 1)
    limit = positions[value_offset + total]
    data = _bytes(buffers[2], limit) if limit > 0 else np.zeros(1, dtype=np.uint8)
    for row in range(rows):
        if not _valid(bits, offset + row):
            continue
        for item in range(lists[offset + row], lists[offset + row + 1]):
            index = value_offset + item
            if _valid(value_bits, index):
                start, length = positions[index], positions[index + 1] - positions[index]
                code = _slow_code(data, start, length, words, word_data, first, count)
                if code >= 0:
                    out[at + code, row] = 1.0


@numba.njit(cache=True, nogil=True)
def _decode(address, plan, vocabulary, tables, powers, out):  # pragma: no cover - compiled
    """Walk the exported struct at ``address`` and write each plan row's columns of ``out``."""
    header = _words(address, _WORDS)
    rows, top = header[_LENGTH], header[_OFFSET]
    children = _words(header[_CHILDREN], max(header[4], 1))
    tables_used = 0
    for p in range(plan.shape[0]):
        kind, at, width = plan[p, KIND], plan[p, COLUMN], plan[p, WIDTH]
        if kind == MISSING:
            out[at, :rows] = np.nan
            continue
        if kind == ZEROS or kind >= STRING:
            out[at:at + width, :rows] = 0.0
            if kind == ZEROS:
                continue
        array = children[plan[p, CHILD]]
        child = _words(array, _WORDS)
        offset = top + child[_OFFSET]
        column = out[at, :rows]
        if kind >= STRING:
            table, first, count = tables[tables_used], plan[p, FIRST_WORD], width
            tables_used += 1
            if kind == STRING_LIST:
                _lists(array, offset, rows, vocabulary, table, first, count, out, at)
            else:
                _strings(array, offset, rows, kind == LARGE_STRING, vocabulary, table, first, count, out, at)
            continue
        bits = _validity(array, offset, rows)
        data = _words(child[_BUFFERS], 2)[1]
        length = offset + rows
        if kind <= U64:
            for number in literal_unroll(_NUMBERS):  # one compiled branch per width
                if kind == number[0]:
                    _copy(numba.carray(_pointer(data, number[1]), length), offset, bits, rows, column)
        elif kind == DECIMAL:
            _decimals(numba.carray(_pointer(data, np.int64), 2 * length), offset, bits, rows, plan[p, SCALE], powers,
                      column)
        elif kind == YEAR:
            days = numba.carray(_pointer(data, np.int32), length)
            for row in range(rows):
                column[row] = _year(np.int64(days[offset + row]))
            _nulls(bits, offset, rows, column)
