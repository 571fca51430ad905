"""Name look-ups in BTF without decoding records: search the string section, then the records' name offsets."""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from typing import Protocol

_WORD = struct.Struct("=I")  # name offsets are packed as native 32-bit words, as the scan stores them
_ENUMERATOR_WORDS = {6: 2, 19: 3}  # ENUM: (name, value); ENUM64: (name, lo32, hi32), after the 3-word head


class NamedRecords(Protocol):
    """What name look-ups read of a BTF type table and its base (table.BtfTypes provides it)."""

    base: NamedRecords | None
    words: Sequence[int]
    starts: Sequence[int]
    name_offs: Sequence[int]
    first_id: int
    own_strings: bytes
    str_base: int
    names: NameIndex

    def string_at(self, off: int) -> str: ...

    def ids_named(self, name: str) -> list[int]: ...

# After this many distinct look-ups a full name index is cheaper than searching each time (diff, users).
_LOOKUPS_BEFORE_INDEX = 16
# Each string hit costs one scan of all records' name offsets; past this many, index the offsets once.
_SCANS_BEFORE_INDEX = 8
_MAX_REMEMBERED = 4096


class NameIndex:
    """Answers "which ids are named X" for one NamedRecords; starts cheap, builds a full index when used a lot."""

    def __init__(self, btf: NamedRecords) -> None:
        self.btf = btf
        self._remembered: dict[str, list[int]] = {}
        self._by_name_off: dict[int, list[int]] | None = None
        self._packed_offs: bytes | None = None
        self._packed_words: bytes | None = None
        self.full: dict[str, list[int]] | None = None
        self._lookups = 0

    def ids_named(self, name: str) -> list[int]:
        """Ids (base included) whose record carries `name`, ascending."""
        if not name:
            return []
        remembered = self._remembered.get(name)
        if remembered is not None:
            return list(remembered)
        btf = self.btf
        own: list[int]
        if self.full is None:
            self._lookups += 1
            if self._lookups > _LOOKUPS_BEFORE_INDEX:
                self.full = self._build_full()
        if self.full is not None:
            own = self.full.get(name, [])
        else:
            own = []
            hits = self.string_hits(name.encode("utf-8", "surrogateescape") + b"\0")
            if len(hits) > _SCANS_BEFORE_INDEX:  # short names end many strings ("id" in "pid", "uid" ...)
                by_off = self._name_offsets()
                for off in hits:
                    own.extend(by_off.get(off, ()))
            else:
                for off in hits:
                    own.extend(self._ids_with_name_off(off))
        found = btf.base.ids_named(name) if btf.base is not None else []
        result = found + sorted(own) if own else found
        if self.full is None and len(self._remembered) < _MAX_REMEMBERED:  # resolve() asks twice
            self._remembered[name] = result
        return list(result)

    def remembered(self) -> dict[str, list[int]]:
        """The look-ups answered so far (name -> ids), to hand to `remember` on a later parse of the same bytes."""
        return dict(self._remembered)

    def remember(self, answers: dict[str, list[int]]) -> None:
        """Take over answers of an earlier parse of these same bytes (and base)."""
        room = _MAX_REMEMBERED - len(self._remembered)
        for name, ids in list(answers.items())[: max(room, 0)]:
            self._remembered.setdefault(name, list(ids))

    def string_hits(self, key: bytes) -> list[int]:
        """Every string offset (base included) whose string equals `key` minus its NUL.

        Offsets may point into the middle of a string, so every occurrence counts, not only string starts.
        """
        btf = self.btf
        hits = btf.base.names.string_hits(key) if btf.base is not None else []
        data = btf.own_strings
        pos = data.find(key)
        while pos >= 0:
            hits.append(btf.str_base + pos)
            pos = data.find(key, pos + 1)
        return hits

    def enums_naming(self, enumerator: str) -> list[int]:
        """Ids (base included) of the ENUM/ENUM64 records that have an enumerator called `enumerator`:
        a byte search of the type words for its string offsets, so no record is decoded or visited."""
        btf = self.btf
        found = btf.base.names.enums_naming(enumerator) if btf.base is not None else []
        if self._packed_words is None:
            words = btf.words
            self._packed_words = words.tobytes() if isinstance(words, array) else array("I", words).tobytes()
        packed, words, starts = self._packed_words, btf.words, btf.starts
        own: set[int] = set()
        for off in self.string_hits(enumerator.encode("utf-8", "surrogateescape") + b"\0"):
            key = _WORD.pack(off)
            pos = packed.find(key)
            while pos >= 0:
                if pos % 4 == 0:
                    word = pos >> 2
                    local = bisect_right(starts, word) - 1
                    w = starts[local]
                    info = words[w + 1]
                    stride = _ENUMERATOR_WORDS.get((info >> 24) & 0x1F)
                    if stride and word >= w + 3 and (word - w - 3) % stride == 0 and word < w + 3 + stride * (
                        info & 0xFFFF
                    ):
                        own.add(btf.first_id + local)
                    pos = packed.find(key, pos + 4)
                else:
                    pos = packed.find(key, pos + 1)
        return found + sorted(own)

    def _ids_with_name_off(self, off: int) -> list[int]:
        """Own ids whose record's name_off is `off`: a byte search over the packed offsets (memchr speed,
        where array.index compares one Python int per record)."""
        btf = self.btf
        if self._packed_offs is None:
            offs = btf.name_offs
            self._packed_offs = offs.tobytes() if isinstance(offs, array) else array("I", offs).tobytes()
        packed, words, starts = self._packed_offs, btf.words, btf.starts
        key = _WORD.pack(off)
        found: list[int] = []
        pos = packed.find(key)
        while pos >= 0:
            if pos % 4 == 0:  # a match across two offsets is no match
                local = pos >> 2
                if (words[starts[local] + 1] >> 24) & 0x7F < 20:  # layout-sized unknown kinds carry no name
                    found.append(btf.first_id + local)
                pos = packed.find(key, pos + 4)
            else:
                pos = packed.find(key, pos + 1)
        return found

    def _name_offsets(self) -> dict[int, list[int]]:
        if self._by_name_off is None:
            btf = self.btf
            index: dict[int, list[int]] = {}
            words, starts, first = btf.words, btf.starts, btf.first_id
            for local, off in enumerate(btf.name_offs):
                if off and (words[starts[local] + 1] >> 24) & 0x7F < 20:
                    index.setdefault(off, []).append(first + local)
            self._by_name_off = index
        return self._by_name_off

    def _build_full(self) -> dict[str, list[int]]:
        index: dict[str, list[int]] = {}
        string_at = self.btf.string_at
        for off, ids in self._name_offsets().items():
            try:
                name = string_at(off)
            except LookupError:
                continue  # a bad name offset is reported when that type is decoded
            if name in index:
                index[name] = sorted(index[name] + ids)
            else:
                index[name] = ids
        return index
