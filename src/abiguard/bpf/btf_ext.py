""".BTF.ext parsing: func_info, line_info and CO-RE relocation records, either byte order, strictly checked."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from ..errors import AbiguardError

BTF_MAGIC = 0xEB9F
_HDR_MIN = 24  # magic..line_info_len
_HDR_CORE = 32  # + core_relo_off, core_relo_len
# Minimum record sizes libbpf accepts; larger (4-aligned) records carry fields we skip.
_FUNC_INFO_SZ = 8
_LINE_INFO_SZ = 16
_CORE_RELO_SZ = 16


class ReloKind(IntEnum):
    """enum bpf_core_relo_kind."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12

    @property
    def is_field(self) -> bool:
        return self <= ReloKind.FIELD_RSHIFT_U64

    @property
    def is_type(self) -> bool:
        return self in _TYPE_KINDS

    @property
    def is_enumval(self) -> bool:
        return self in (ReloKind.ENUMVAL_EXISTS, ReloKind.ENUMVAL_VALUE)

    @property
    def label(self) -> str:
        """libbpf's short name for the kind (core_relo_kind_str)."""
        return _LABELS[self]


_TYPE_KINDS = frozenset(
    {ReloKind.TYPE_ID_LOCAL, ReloKind.TYPE_ID_TARGET, ReloKind.TYPE_EXISTS, ReloKind.TYPE_SIZE, ReloKind.TYPE_MATCHES}
)
_LABELS = {
    ReloKind.FIELD_BYTE_OFFSET: "byte_off",
    ReloKind.FIELD_BYTE_SIZE: "byte_sz",
    ReloKind.FIELD_EXISTS: "field_exists",
    ReloKind.FIELD_SIGNED: "signed",
    ReloKind.FIELD_LSHIFT_U64: "lshift_u64",
    ReloKind.FIELD_RSHIFT_U64: "rshift_u64",
    ReloKind.TYPE_ID_LOCAL: "local_type_id",
    ReloKind.TYPE_ID_TARGET: "target_type_id",
    ReloKind.TYPE_EXISTS: "type_exists",
    ReloKind.TYPE_SIZE: "type_size",
    ReloKind.ENUMVAL_EXISTS: "enumval_exists",
    ReloKind.ENUMVAL_VALUE: "enumval_value",
    ReloKind.TYPE_MATCHES: "type_matches",
}


@dataclass(frozen=True, slots=True)
class FuncInfo:
    insn_off: int  # byte offset in the program section
    type_id: int  # BTF FUNC


@dataclass(frozen=True, slots=True)
class LineInfo:
    insn_off: int
    file: str
    text: str  # the source line as the compiler recorded it
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class CoreRelo:
    insn_off: int
    type_id: int
    access: str  # access string, "0:1:2"
    kind: ReloKind
    index: int  # position within its section, as libbpf numbers relocations
    where: int  # byte offset of the record in the file, for error messages


@dataclass
class ExtSection:
    """The .BTF.ext records of one program section (e.g. `kprobe/do_sys_open`)."""

    name: str
    func_info: list[FuncInfo] = field(default_factory=list)
    line_info: list[LineInfo] = field(default_factory=list)
    core_relos: list[CoreRelo] = field(default_factory=list)


@dataclass
class BtfExt:
    big_endian: bool
    sections: dict[str, ExtSection]  # in file order of first appearance

    def relo_sections(self) -> list[ExtSection]:
        """Sections holding CO-RE relocations, in .BTF.ext order (libbpf's relocation order)."""
        return [s for s in self.sections.values() if s.core_relos]


def parse_btf_ext(
    data: bytes,
    where: str,
    string_at: Callable[[int], str],
    type_count: int,
    file_offset: int = 0,
) -> BtfExt:
    """Parse a .BTF.ext section; its string offsets refer to the .BTF string table (`string_at`).

    `file_offset` is where the section starts in the file, so errors name a file byte offset.
    """
    return _Parser(data, where, string_at, type_count, file_offset).parse()


class _Parser:
    def __init__(self, data: bytes, where: str, string_at: Callable[[int], str], type_count: int, base: int):
        self.data = data
        self.where = where
        self.string_at = string_at
        self.type_count = type_count
        self.base = base
        self.endian = "<"

    def fail(self, off: int, message: str) -> AbiguardError:
        return AbiguardError(self.where, f".BTF.ext at byte {self.base + off:#x}: {message}")

    def u32(self, off: int, what: str) -> int:
        if off + 4 > len(self.data):
            raise self.fail(off, f"truncated {what}")
        return struct.unpack_from(self.endian + "I", self.data, off)[0]

    def string(self, str_off: int, rec_off: int, what: str) -> str:
        try:
            return self.string_at(str_off)
        except (AbiguardError, IndexError, ValueError, UnicodeDecodeError):
            raise self.fail(rec_off, f"{what} string offset {str_off} is out of range") from None

    def parse(self) -> BtfExt:
        d = self.data
        if len(d) < 8:
            raise self.fail(0, f"truncated header ({len(d)} bytes)")
        if d[:2] == b"\x9f\xeb":
            self.endian = "<"
        elif d[:2] == b"\xeb\x9f":
            self.endian = ">"
        else:
            raise self.fail(0, f"bad magic {d[:2].hex()}")
        if d[2] != 1:
            raise self.fail(2, f"unsupported version {d[2]}")
        if d[3] != 0:
            raise self.fail(3, f"unsupported flags {d[3]:#x}")
        hdr_len = self.u32(4, "header")
        if hdr_len < _HDR_MIN:
            raise self.fail(4, f"header length {hdr_len} is shorter than {_HDR_MIN}")
        if hdr_len > len(d):
            raise self.fail(4, f"header length {hdr_len} runs past the section end ({len(d)} bytes)")
        fields = struct.unpack_from(self.endian + "4I", d, 8)
        subsections = [("func_info", fields[0], fields[1], 8), ("line_info", fields[2], fields[3], 16)]
        if hdr_len >= _HDR_CORE:
            core_off, core_len = struct.unpack_from(self.endian + "2I", d, 24)
            subsections.append(("core_relo", core_off, core_len, 24))
        if any(d[_HDR_CORE:hdr_len]):
            raise self.fail(_HDR_CORE, "unknown non-zero header fields")
        sections: dict[str, ExtSection] = {}
        for desc, off, length, hdr_field in subsections:
            if length:
                self.subsection(desc, hdr_len, off, length, hdr_field, sections)
        return BtfExt(self.endian == ">", sections)

    def subsection(
        self, desc: str, hdr_len: int, off: int, length: int, hdr_field: int, sections: dict[str, ExtSection]
    ) -> None:
        start = hdr_len + off
        if off % 4:
            raise self.fail(hdr_field, f"{desc} offset {off} is not 4-byte aligned")
        if start + length > len(self.data):
            raise self.fail(hdr_field, f"{desc} (offset {off}, length {length}) runs past the section end")
        end = start + length
        if length < 4:
            raise self.fail(start, f"{desc} record size missing")
        rec_size = self.u32(start, f"{desc} record size")
        min_size = {"func_info": _FUNC_INFO_SZ, "line_info": _LINE_INFO_SZ, "core_relo": _CORE_RELO_SZ}[desc]
        if rec_size < min_size or rec_size % 4:
            raise self.fail(start, f"{desc} has invalid record size {rec_size} (minimum {min_size}, multiple of 4)")
        pos = start + 4
        if pos == end:
            raise self.fail(start, f"{desc} has no records")
        while pos < end:
            if end - pos < 8:
                raise self.fail(pos, f"{desc} section header is truncated")
            name_off, num = struct.unpack_from(self.endian + "2I", self.data, pos)
            if num == 0:
                raise self.fail(pos + 4, f"{desc} section has zero records")
            if (end - pos - 8) < num * rec_size:
                raise self.fail(pos + 4, f"{desc} section claims {num} records of {rec_size} bytes, more than remain")
            name = self.string(name_off, pos, f"{desc} section name")
            if not name:
                raise self.fail(pos, f"{desc} section has an empty name")
            sec = sections.setdefault(name, ExtSection(name))
            pos += 8
            for i in range(num):
                self.record(desc, sec, pos, i)
                pos += rec_size

    def record(self, desc: str, sec: ExtSection, pos: int, index: int) -> None:
        a, b, c, e = struct.unpack_from(self.endian + "4I", self.data, pos) if desc != "func_info" else (
            *struct.unpack_from(self.endian + "2I", self.data, pos), 0, 0)
        if desc == "func_info":
            self.check_type(b, pos + 4)
            sec.func_info.append(FuncInfo(a, b))
        elif desc == "line_info":
            file = self.string(b, pos + 4, "line_info file name")
            text = self.string(c, pos + 8, "line_info line")
            sec.line_info.append(LineInfo(a, file, text, e >> 10, e & 0x3FF))
        else:
            if a % 8:
                raise self.fail(pos, f"CO-RE relocation #{index} instruction offset {a} is not a multiple of 8")
            self.check_type(b, pos + 4)
            access = self.string(c, pos + 8, "CO-RE relocation access")
            if e > max(ReloKind):
                raise self.fail(pos + 12, f"CO-RE relocation #{index} has unknown kind {e}")
            sec.core_relos.append(CoreRelo(a, b, access, ReloKind(e), len(sec.core_relos), self.base + pos))

    def check_type(self, type_id: int, pos: int) -> None:
        if type_id == 0 or type_id >= self.type_count:
            raise self.fail(pos, f"type id {type_id} is out of range (BTF has {self.type_count - 1} types)")
