"""A tiny BTF writer for tests: hand-built blobs (layout section, unknown kinds, split BTF, corruptions)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# Record geometry (info bytes, bytes per vlen element) of the kinds 0..19, as a 2026 encoder writes it.
KNOWN_LAYOUT: list[tuple[int, int, int]] = [
    (0, 0, 0),  # UNKN
    (4, 0, 0),  # INT
    (0, 0, 0),  # PTR
    (12, 0, 0),  # ARRAY
    (0, 12, 0),  # STRUCT
    (0, 12, 0),  # UNION
    (0, 8, 0),  # ENUM
    (0, 0, 0),  # FWD
    (0, 0, 0),  # TYPEDEF
    (0, 0, 0),  # VOLATILE
    (0, 0, 0),  # CONST
    (0, 0, 0),  # RESTRICT
    (0, 0, 0),  # FUNC
    (0, 8, 0),  # FUNC_PROTO
    (4, 0, 0),  # VAR
    (0, 12, 0),  # DATASEC
    (0, 0, 0),  # FLOAT
    (4, 0, 0),  # DECL_TAG
    (0, 0, 0),  # TYPE_TAG
    (0, 12, 0),  # ENUM64
]


@dataclass
class BtfWriter:
    """Appends type records and strings; `build()` returns the blob. Split: pass the base's counts."""

    endian: str = "little"
    first_id: int = 1
    str_base: int = 0  # base string section length (split BTF)
    records: list[bytes] = field(default_factory=list)
    strings: bytearray = field(default_factory=bytearray)
    _offsets: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Split BTF may start its strings with any string, but libbpf 1.1 (bpftool 7.1) wants a NUL first too.
        self.strings += b"\0"
        self._offsets[""] = 0

    @property
    def fmt(self) -> str:
        return "<" if self.endian == "little" else ">"

    def s(self, text: str | int) -> int:
        """String offset of `text`, adding it once; an int is taken as a ready offset (e.g. into the base)."""
        if isinstance(text, int):
            return text
        if text not in self._offsets:
            self._offsets[text] = self.str_base + len(self.strings)
            self.strings += text.encode() + b"\0"
        return self._offsets[text]

    def raw(self, kind: int, name: str | int, vlen: int, size_or_type: int, *extra: int, kflag: bool = False) -> int:
        """Append one record (extra = the trailing u32 words); returns its type id."""
        name_off = name if isinstance(name, int) else (self.s(name) if name else 0)
        info = (int(kflag) << 31) | (kind << 24) | vlen
        self.records.append(struct.pack(f"{self.fmt}{3 + len(extra)}I", name_off, info, size_or_type, *extra))
        return self.first_id + len(self.records) - 1

    # --- convenience for the known kinds ------------------------------------------------
    def int_(self, name: str, size: int, encoding: int = 0, bits: int | None = None, offset: int = 0) -> int:
        bits = 8 * size if bits is None else bits
        return self.raw(1, name, 0, size, encoding << 24 | offset << 16 | bits)

    def ptr(self, ref: int) -> int:
        return self.raw(2, "", 0, ref)

    def array(self, elem: int, index: int, nelems: int) -> int:
        return self.raw(3, "", 0, 0, elem, index, nelems)

    def struct(
        self, name: str | int, size: int, members: list[tuple[str | int, int, int, int]], union: bool = False
    ) -> int:
        """members: (name, type, bit_offset, bitfield_size); kind_flag is set when any bitfield is present."""
        kflag = any(m[3] for m in members)
        words: list[int] = []
        for m_name, m_type, bit_off, bit_size in members:
            words += [self.s(m_name) if m_name else 0, m_type, (bit_size << 24 | bit_off) if kflag else bit_off]
        return self.raw(5 if union else 4, name, len(members), size, *words, kflag=kflag)

    def enum(self, name: str, size: int, values: list[tuple[str, int]], signed: bool = False) -> int:
        words: list[int] = []
        for v_name, value in values:
            words += [self.s(v_name), value & 0xFFFFFFFF]
        return self.raw(6, name, len(values), size, *words, kflag=signed)

    def enum64(self, name: str, size: int, values: list[tuple[str, int]], signed: bool = False) -> int:
        words: list[int] = []
        for v_name, value in values:
            value &= (1 << 64) - 1
            words += [self.s(v_name), value & 0xFFFFFFFF, value >> 32]
        return self.raw(19, name, len(values), size, *words, kflag=signed)

    def fwd(self, name: str, union: bool = False) -> int:
        return self.raw(7, name, 0, 0, kflag=union)

    def typedef(self, name: str, ref: int) -> int:
        return self.raw(8, name, 0, ref)

    def modifier(self, kind: int, ref: int) -> int:
        return self.raw(kind, "", 0, ref)

    def func_proto(self, ret: int, params: list[tuple[str, int]]) -> int:
        words: list[int] = []
        for p_name, p_type in params:
            words += [self.s(p_name) if p_name else 0, p_type]
        return self.raw(13, "", len(params), ret, *words)

    def func(self, name: str, proto: int, linkage: int = 1) -> int:
        return self.raw(12, name, linkage, proto)

    def var(self, name: str, ref: int, linkage: int = 1) -> int:
        return self.raw(14, name, 0, ref, linkage)

    def datasec(self, name: str, size: int, entries: list[tuple[int, int, int]]) -> int:
        words = [w for entry in entries for w in entry]
        return self.raw(15, name, len(entries), size, *words)

    def float_(self, name: str, size: int) -> int:
        return self.raw(16, name, 0, size)

    def decl_tag(self, name: str, ref: int, component_idx: int = -1) -> int:
        return self.raw(17, name, 0, ref, component_idx & 0xFFFFFFFF)

    def type_tag(self, name: str, ref: int) -> int:
        return self.raw(18, name, 0, ref)

    # --- output -------------------------------------------------------------------------
    def build(self, layout: list[tuple[int, int, int]] | None = None, hdr_len: int | None = None) -> bytes:
        """The blob: header, types, [layout], strings (libbpf's order). A layout selects the 32-byte header."""
        types = b"".join(self.records)
        strings = bytes(self.strings)
        layout_bytes = b"".join(struct.pack(f"{self.fmt}BBH", *entry) for entry in layout or [])
        if hdr_len is None:
            hdr_len = 32 if layout is not None else 24
        fields = [0, len(types)]
        if layout is not None:
            fields += [len(types) + len(layout_bytes), len(strings), len(types), len(layout_bytes)]
        else:
            fields += [len(types), len(strings)]
        header = struct.pack(f"{self.fmt}HBBI{len(fields)}I", 0xEB9F, 1, 0, hdr_len, *fields)
        header = header.ljust(hdr_len, b"\0")
        return header + types + layout_bytes + strings
