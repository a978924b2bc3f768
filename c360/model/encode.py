"""One-hot encoding of Arrow string and list-of-string columns, read straight from their buffers.

The scorer encodes five category columns and a tag list every 2,048 rows; Arrow's ``index_in``
costs ~50-70 µs a column at that size, half the UDF's Python time. These compiled loops look each
string up in a small hash table of the vocabulary (length, first and last byte), confirm it byte
by byte, and set the indicator column in place: ~10 µs a column. :func:`one_hot` returns False
for layouts it does not read (large strings, string views, dictionaries): the caller then uses
Arrow. Imported only when something is scored or trained (numba takes a moment to import).
"""

from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa

#: Slots of a vocabulary's hash table (a power of two).
SLOTS = 256
_NONE = np.zeros(1, dtype=np.uint8)


class Vocabulary:
    """A vocabulary as flat UTF-8 bytes and a hash table: slot -> word index, -1 empty, -2 shared."""

    def __init__(self, words: tuple[str, ...]):
        encoded = [word.encode("utf-8") for word in words]
        self.offsets = np.cumsum([0] + [len(e) for e in encoded]).astype(np.int64)
        self.data = np.frombuffer(b"".join(encoded), dtype=np.uint8) if any(encoded) else _NONE
        self.table = np.full(SLOTS, -1, dtype=np.int32)
        for index, word in enumerate(encoded):
            slot = _slot(len(word), word[0] if word else 0, word[-1] if word else 0)
            self.table[slot] = index if self.table[slot] == -1 else -2


def one_hot(column: pa.Array, vocabulary: Vocabulary, out: np.ndarray, at: int) -> bool:
    """Set ``out[row, at + i] = 1`` where row's value (or one of its tags) is word ``i``; False if
    ``column``'s layout is not one this reads (nothing is written then)."""
    if pa.types.is_string(column.type):
        offsets, data = _string_buffers(column)
        _strings(offsets, data, column.offset, _bits(column), len(column), vocabulary.offsets, vocabulary.data,
                 vocabulary.table, out, at)
        return True
    if pa.types.is_list(column.type) and pa.types.is_string(column.type.value_type):
        words = column.values
        offsets, data = _string_buffers(words)
        lists = np.frombuffer(column.buffers()[1], dtype=np.int32)
        _lists(lists, column.offset, _bits(column), len(column), offsets, data, words.offset, _bits(words),
               vocabulary.offsets, vocabulary.data, vocabulary.table, out, at)
        return True
    return False


def _string_buffers(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    buffers = column.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32)
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None and buffers[2].size else _NONE
    return offsets, data


def _bits(column: pa.Array) -> np.ndarray:
    """The validity bitmap as bytes (empty when nothing is NULL)."""
    validity = column.buffers()[0]
    if validity is None or not column.null_count:
        return np.zeros(0, dtype=np.uint8)
    return np.frombuffer(validity, dtype=np.uint8)


@numba.njit(cache=True, nogil=True)
def _slot(length, first, last):  # pragma: no cover - compiled
    return (length * 31 + first * 7 + last) & (SLOTS - 1)


@numba.njit(cache=True, nogil=True)
def _valid(bits, index):  # pragma: no cover - compiled
    return bits.size == 0 or (bits[index >> 3] >> (index & 7)) & 1 == 1


@numba.njit(cache=True, nogil=True)
def _same(data, start, length, words, word_data, word):  # pragma: no cover - compiled
    begin = words[word]
    if words[word + 1] - begin != length:
        return False
    for b in range(length):
        if data[start + b] != word_data[begin + b]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _code(offsets, data, index, words, word_data, table):  # pragma: no cover - compiled
    start = offsets[index]
    length = offsets[index + 1] - start
    first = data[start] if length else 0
    last = data[start + length - 1] if length else 0
    slot = table[_slot(length, first, last)]
    if slot == -1:
        return -1
    if slot >= 0:
        return slot if _same(data, start, length, words, word_data, slot) else -1
    for word in range(words.size - 1):  # several words share the slot
        if _same(data, start, length, words, word_data, word):
            return word
    return -1


@numba.njit(cache=True, nogil=True)
def _strings(offsets, data, offset, bits, rows, words, word_data, table, out, at):  # pragma: no cover - compiled
    for row in range(rows):
        if _valid(bits, offset + row):
            code = _code(offsets, data, offset + row, words, word_data, table)
            if code >= 0:
                out[row, at + code] = 1.0


@numba.njit(cache=True, nogil=True)
def _lists(lists, offset, bits, rows, offsets, data, words_offset, word_bits, words, word_data, table, out,
           at):  # pragma: no cover - compiled
    for row in range(rows):
        if not _valid(bits, offset + row):
            continue
        for item in range(lists[offset + row], lists[offset + row + 1]):
            if _valid(word_bits, words_offset + item):
                code = _code(offsets, data, words_offset + item, words, word_data, table)
                if code >= 0:
                    out[row, at + code] = 1.0
