"""The ELF parts of a BPF object the load checks read: program sections, their relocations, data sections."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..elf import (
    SHN_UNDEF,
    SHT_NOBITS,
    SHT_PROGBITS,
    SHT_REL,
    SHT_RELA,
    STB_LOCAL,
    STB_WEAK,
    STT_FUNC,
    STT_NOTYPE,
    STT_OBJECT,
    ElfObject,
)

_SHF_EXECINSTR = 0x4
# Sections libbpf turns into maps of global data (".rodata.str1.1" and ".data.custom" included).
_DATA_PREFIXES = (".rodata", ".data", ".bss")


@dataclass(frozen=True, slots=True)
class SymRef:
    """The symbol a relocation at one instruction points at."""

    name: str
    undefined: bool  # an extern (kfunc, ksym variable, kconfig value)
    weak: bool


@dataclass(frozen=True, slots=True)
class ElfSymbol:
    name: str
    section: str
    offset: int
    is_func: bool
    is_global: bool
    weak: bool


@dataclass
class ElfParts:
    """Executable sections (name -> bytes), relocations (section -> byte offset -> symbol), data sections."""

    programs: dict[str, bytes] = field(default_factory=dict)
    relocs: dict[str, dict[int, SymRef]] = field(default_factory=dict)
    data_sections: dict[str, int] = field(default_factory=dict)  # name -> size
    symbols: list[ElfSymbol] = field(default_factory=list)

    def entry_points(self, section: str) -> list[ElfSymbol]:
        """libbpf's programs in one section: its global functions, by offset."""
        return sorted(
            (s for s in self.symbols if s.section == section and s.is_func and s.is_global),
            key=lambda s: s.offset,
        )

    def weak_externs(self) -> set[str]:
        return {s.name for s in self.symbols if s.section == "" and s.weak}


def read_parts(elf: ElfObject) -> ElfParts:
    """Collect the parts from an object's section table; a malformed table is an ElfError."""
    parts = ElfParts()
    sections = elf.sections
    names = [s.name for s in sections]
    for sec in sections:
        if sec.type == SHT_PROGBITS and sec.flags & _SHF_EXECINSTR and sec.size:
            parts.programs[sec.name] = elf.data(sec)
        elif sec.type in (SHT_PROGBITS, SHT_NOBITS) and sec.name.startswith(_DATA_PREFIXES) and sec.size:
            parts.data_sections[sec.name] = sec.size
    syms = elf.symbols()
    if syms is None:
        return parts
    for sym in syms:
        at = sym.section_index
        in_sec = names[at] if at is not None and 0 < at < len(names) else ""
        if sym.name and sym.type in (STT_FUNC, STT_NOTYPE, STT_OBJECT):
            is_func, is_global, weak = sym.type == STT_FUNC, sym.bind != STB_LOCAL, sym.bind == STB_WEAK
            parts.symbols.append(ElfSymbol(sym.name, in_sec, sym.value, is_func, is_global, weak))
    for sec in sections:
        if sec.type not in (SHT_REL, SHT_RELA):
            continue
        target = names[sec.info] if 0 < sec.info < len(names) else ""
        if target not in parts.programs:
            continue
        table: dict[int, SymRef] = {}
        for offset, idx in elf.relocations(sec):
            if not 0 < idx < len(syms):
                continue
            sym = syms[idx]
            name, at = sym.name, sym.section_index
            if not name and at is not None and at < len(names):
                name = names[at]  # a section symbol: calls into .text and map-value references
            table[offset] = SymRef(name, sym.shndx == SHN_UNDEF, sym.bind == STB_WEAK)
        parts.relocs[target] = table
    return parts
