"""A small msgpack reader: enough to find two maps in dbt's ``partial_parse.msgpack``.

``msgpack`` is in dbt's virtualenv, not in Airflow's, so
:mod:`~datacoves_airflow_provider.dbt.partial_parse` reads the format with this: :meth:`MsgpackReader.skip`
moves past a value by reading only its lengths (so a large manifest costs little), and
:meth:`MsgpackReader.decode` builds a small one as Python data.
"""

from __future__ import annotations

import struct
from typing import Any

from datacoves_airflow_provider.exceptions import DatacovesError

__all__ = ["MsgpackReader", "UnreadableParseState"]


class UnreadableParseState(DatacovesError):
    """The file is not a partial_parse.msgpack this provider can read; the message says why."""


# What follows each first byte (https://github.com/msgpack/msgpack/blob/master/spec.md):
# (_SCALAR, 0) nothing; (_BYTES, n) n bytes; (_COUNT, n) n more values (a map counts its keys and
# values); (_SIZED_BYTES, w) a w-byte length, then that many bytes (_SIZED_EXT: one more, the ext
# type); (_SIZED_ARRAY, w) / (_SIZED_MAP, w) a w-byte count of values / of key-value pairs.
_SCALAR, _BYTES, _COUNT, _SIZED_BYTES, _SIZED_EXT, _SIZED_ARRAY, _SIZED_MAP, _INVALID = range(8)
_LAYOUT: list[tuple[int, int]] = [(_INVALID, 0)] * 256
for _b in (*range(0x00, 0x80), *range(0xE0, 0x100), 0xC0, 0xC2, 0xC3):  # ints, nil, bools
    _LAYOUT[_b] = (_SCALAR, 0)
for _b in range(0x80, 0x90):
    _LAYOUT[_b] = (_COUNT, 2 * (_b & 0x0F))
for _b in range(0x90, 0xA0):
    _LAYOUT[_b] = (_COUNT, _b & 0x0F)
for _b in range(0xA0, 0xC0):
    _LAYOUT[_b] = (_BYTES, _b & 0x1F)
for _first, _kind, _args in (
    (0xC4, _SIZED_BYTES, (1, 2, 4)),  # bin 8, 16, 32
    (0xC7, _SIZED_EXT, (1, 2, 4)),  # ext 8, 16, 32
    (0xCA, _BYTES, (4, 8)),  # float 32, 64
    (0xCC, _BYTES, (1, 2, 4, 8)),  # uint 8, 16, 32, 64
    (0xD0, _BYTES, (1, 2, 4, 8)),  # int 8, 16, 32, 64
    (0xD4, _BYTES, (2, 3, 5, 9, 17)),  # fixext 1, 2, 4, 8, 16 (type byte + data)
    (0xD9, _SIZED_BYTES, (1, 2, 4)),  # str 8, 16, 32
    (0xDC, _SIZED_ARRAY, (2, 4)),  # array 16, 32
    (0xDE, _SIZED_MAP, (2, 4)),  # map 16, 32
):
    for _offset, _arg in enumerate(_args):  # consecutive first bytes, one per width
        _LAYOUT[_first + _offset] = (_kind, _arg)
_WIDTH = {1: ">B", 2: ">H", 4: ">I", 8: ">Q"}
_SIGNED = {0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
_UNSIGNED = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q"}
#: Deepest nesting decoded (metadata and state_check are two or three levels deep).
_MAX_DEPTH = 32


class MsgpackReader:
    """A cursor over msgpack bytes: :meth:`skip` values or :meth:`decode` small ones."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _length(self, width: int) -> int:
        if self.pos + width > len(self.data):
            raise UnreadableParseState("it ends in the middle of a value")
        (value,) = struct.unpack_from(_WIDTH[width], self.data, self.pos)
        self.pos += width
        return int(value)

    def _advance(self, size: int) -> int:
        start = self.pos
        self.pos += size
        if self.pos > len(self.data):
            raise UnreadableParseState("it ends in the middle of a value")
        return start

    def skip(self, count: int = 1) -> None:
        """Move past ``count`` values (containers with everything in them) without building them."""
        data, layout = self.data, _LAYOUT
        end = len(data)
        while count:
            count -= 1
            if self.pos >= end:
                raise UnreadableParseState("it ends in the middle of a value")
            kind, arg = layout[data[self.pos]]
            self.pos += 1
            if kind == _SCALAR:
                continue
            if kind == _BYTES:
                self._advance(arg)
            elif kind == _COUNT:
                count += arg
            elif kind == _SIZED_BYTES:
                self._advance(self._length(arg))
            elif kind == _SIZED_EXT:
                self._advance(self._length(arg) + 1)
            elif kind == _SIZED_ARRAY:
                count += self._length(arg)
            elif kind == _SIZED_MAP:
                count += 2 * self._length(arg)
            else:
                raise UnreadableParseState(f"byte {self.pos - 1} is not msgpack")

    def map_size(self) -> int:
        """Read a map's header and return its number of entries."""
        if self.pos >= len(self.data):
            raise UnreadableParseState("it is empty")
        first = self.data[self.pos]
        self.pos += 1
        if 0x80 <= first <= 0x8F:
            return first & 0x0F
        if first in (0xDE, 0xDF):
            return self._length(2 if first == 0xDE else 4)
        raise UnreadableParseState("it does not hold a map")

    def decode(self, depth: int = 0) -> Any:
        """The next value as Python data (ext types, such as dbt's dates, become None)."""
        if depth > _MAX_DEPTH:
            raise UnreadableParseState("it is nested too deeply")
        if self.pos >= len(self.data):
            raise UnreadableParseState("it ends in the middle of a value")
        first = self.data[self.pos]
        if first <= 0x7F:
            self.pos += 1
            return first
        if first >= 0xE0:
            self.pos += 1
            return first - 0x100
        if 0x80 <= first <= 0x8F or first in (0xDE, 0xDF):
            size = self.map_size()
            return {self._key(depth): self.decode(depth + 1) for _ in range(size)}
        self.pos += 1
        if 0x90 <= first <= 0x9F or first in (0xDC, 0xDD):
            size = first & 0x0F if first <= 0x9F else self._length(2 if first == 0xDC else 4)
            return [self.decode(depth + 1) for _ in range(size)]
        if 0xA0 <= first <= 0xBF or first in (0xD9, 0xDA, 0xDB):
            size = first & 0x1F if first <= 0xBF else self._length({0xD9: 1, 0xDA: 2, 0xDB: 4}[first])
            start = self._advance(size)
            return self.data[start : self.pos].decode("utf-8", errors="replace")
        if first in (0xC0, 0xC2, 0xC3):
            return {0xC0: None, 0xC2: False, 0xC3: True}[first]
        if first in _UNSIGNED or first in _SIGNED:
            fmt = _UNSIGNED.get(first) or _SIGNED[first]
            start = self._advance(struct.calcsize(fmt))
            return struct.unpack_from(fmt, self.data, start)[0]
        if first in (0xCA, 0xCB):
            fmt = ">f" if first == 0xCA else ">d"
            start = self._advance(struct.calcsize(fmt))
            return struct.unpack_from(fmt, self.data, start)[0]
        self.pos -= 1
        self.skip()  # bin and ext: nothing this module needs
        return None

    def _key(self, depth: int) -> str:
        key = self.decode(depth + 1)
        return key if isinstance(key, str) else repr(key)
