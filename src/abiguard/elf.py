"""The ELF structure abiguard reads (section table, symbols, relocations), by struct reads over the bytes.

Every ELF input is read here: BPF objects, kernel ELF files and images, modules (a package holds thousands).
What they need is the section table, one symbol table and relocation tables, every bound checked here;
pyelftools alone would cost more to import than a fleet query spends checking one object.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SHT_PROGBITS, SHT_SYMTAB, SHT_RELA, SHT_NOBITS, SHT_REL, SHT_DYNSYM = 1, 2, 4, 8, 9, 11
STT_NOTYPE, STT_OBJECT, STT_FUNC = 0, 1, 2
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
SHN_UNDEF = 0
SHF_COMPRESSED = 0x800
# Section indexes with a meaning of their own (absolute, common): they name no section.
_SPECIAL_SHNDX = frozenset({0xFFF1, 0xFFF2})
_MAX_SECTIONS = 1 << 16


class ElfError(ValueError):
    """A malformed object; the caller names the file."""


@dataclass(frozen=True, slots=True)
class Section:
    index: int
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    info: int
    entsize: int


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    shndx: int  # SHN_UNDEF for an extern
    value: int
    type: int  # STT_*
    bind: int  # STB_*

    @property
    def section_index(self) -> int | None:
        """The index of the section holding the symbol; None for externs and absolute/common symbols."""
        return None if self.shndx == SHN_UNDEF or self.shndx in _SPECIAL_SHNDX else self.shndx


@dataclass(frozen=True)
class ElfObject:
    """An ELF file's section table over its bytes."""

    raw: bytes
    little_endian: bool
    wide: bool  # ELFCLASS64
    machine: int  # e_machine
    sections: tuple[Section, ...]

    def named(self, name: str) -> Section | None:
        """The first section called `name`, or None."""
        return next((s for s in self.sections if s.name == name), None)

    def data(self, sec: Section) -> bytes:
        """A section's bytes (none for SHT_NOBITS); a section past the end of the file is an ElfError."""
        if sec.type == SHT_NOBITS:
            return b""
        if sec.offset + sec.size > len(self.raw):
            where = f"offset {sec.offset:#x}, {sec.size} bytes"
            raise ElfError(f"section {sec.name} ({where}) runs past the end of the file")
        return self.raw[sec.offset : sec.offset + sec.size]

    def _table(self, sec: Section, entry: int) -> bytes:
        if sec.entsize and sec.entsize != entry:
            raise ElfError(f"section {sec.name} has {sec.entsize}-byte entries, not {entry}")
        data = self.data(sec)
        if len(data) % entry:
            raise ElfError(f"section {sec.name} is not a whole number of {entry}-byte entries")
        return data

    def symbols(self) -> list[Symbol] | None:
        """The first symbol table's symbols in index order (symbol 0 included); None without one."""
        sec = next((s for s in self.sections if s.type in (SHT_SYMTAB, SHT_DYNSYM)), None)
        if sec is None:
            return None
        if not 0 <= sec.link < len(self.sections):
            raise ElfError(f"symbol table {sec.name} links to section {sec.link}, which does not exist")
        names = self.data(self.sections[sec.link])
        e = "<" if self.little_endian else ">"
        if self.wide:  # st_name, st_info, st_other, st_shndx, st_value, st_size
            fmt, info_at, shndx_at, value_at = struct.Struct(e + "IBBHQQ"), 1, 3, 4
        else:  # st_name, st_value, st_size, st_info, st_other, st_shndx
            fmt, info_at, shndx_at, value_at = struct.Struct(e + "IIIBBH"), 3, 5, 1
        out = []
        for row in fmt.iter_unpack(self._table(sec, fmt.size)):
            info = row[info_at]
            out.append(Symbol(_string(names, row[0], sec.name), row[shndx_at], row[value_at], info & 0xF, info >> 4))
        return out

    def relocations(self, sec: Section) -> list[tuple[int, int]]:
        """(r_offset, symbol index) of each entry of an SHT_REL or SHT_RELA section."""
        e = "<" if self.little_endian else ">"
        word = "Q" if self.wide else "I"
        fmt = struct.Struct(e + word * (3 if sec.type == SHT_RELA else 2))
        shift = 32 if self.wide else 8
        return [(row[0], row[1] >> shift) for row in fmt.iter_unpack(self._table(sec, fmt.size))]


def _string(table: bytes, offset: int, where: str) -> str:
    if offset >= len(table) and offset:
        raise ElfError(f"a name in {where} lies outside its string table")
    end = table.find(b"\0", offset)
    return table[offset : end if end >= 0 else len(table)].decode("utf-8", "replace")


def parse_elf(raw: bytes) -> ElfObject:
    """The section table of an ELF file (either class, either byte order); damage is an ElfError."""
    if len(raw) < 52 or raw[:4] != b"\x7fELF":
        raise ElfError("not an ELF file")
    elf_class, order = raw[4], raw[5]
    if elf_class not in (1, 2) or order not in (1, 2):
        raise ElfError(f"bad ELF identification (class {elf_class}, data {order})")
    e = "<" if order == 1 else ">"
    wide = elf_class == 2
    if wide and len(raw) < 64:
        raise ElfError("ELF header is truncated")
    (machine,) = struct.unpack_from(e + "H", raw, 18)
    (shoff,) = struct.unpack_from(e + ("Q" if wide else "I"), raw, 0x28 if wide else 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", raw, 0x3A if wide else 0x2E)
    # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, sh_addralign, sh_entsize
    fmt = struct.Struct(e + ("IIQQQQIIQQ" if wide else "IIIIIIIIII"))
    if not shoff:
        return ElfObject(raw, order == 1, wide, machine, ())
    if shentsize < fmt.size or shoff + fmt.size > len(raw):
        raise ElfError(f"ELF section header table ({shentsize}-byte entries at {shoff:#x}) is damaged or truncated")
    first = fmt.unpack_from(raw, shoff)
    count = shnum or first[5]  # extended numbering: section 0's sh_size holds the count
    if shstrndx == 0xFFFF:
        shstrndx = first[6]
    if count > _MAX_SECTIONS or shoff + count * shentsize > len(raw):
        raise ElfError(f"ELF section header table ({count} x {shentsize} bytes) runs past the end of the file")
    rows = [fmt.unpack_from(raw, shoff + i * shentsize) for i in range(count)]
    if not 0 <= shstrndx < count:
        raise ElfError(f"section name table index {shstrndx} is out of range")
    _, _, _, _, str_off, str_size, *_ = rows[shstrndx]
    if str_off + str_size > len(raw):
        raise ElfError("section name table runs past the end of the file")
    names = raw[str_off : str_off + str_size]
    sections = tuple(
        Section(i, _string(names, r[0], "the section name table"), r[1], r[2], r[4], r[5], r[6], r[7], r[9])
        for i, r in enumerate(rows)
    )
    return ElfObject(raw, order == 1, wide, machine, sections)
