"""The ELF parts of a BPF object the load checks read: program sections, their relocations, data sections."""

from __future__ import annotations

from dataclasses import dataclass, field

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


def read_parts(elf: object, raw: bytes) -> ElfParts:
    """Collect the parts from a pyelftools ELFFile over `raw` (bounds are checked by the caller's reader)."""
    from elftools.elf.relocation import RelocationSection
    from elftools.elf.sections import SymbolTableSection

    parts = ElfParts()
    sections = list(elf.iter_sections())  # type: ignore[attr-defined]
    names = [s.name for s in sections]
    for sec in sections:
        flags, size = sec["sh_flags"], sec["sh_size"]
        if sec["sh_type"] == "SHT_PROGBITS" and flags & _SHF_EXECINSTR and size:
            off = sec["sh_offset"]
            parts.programs[sec.name] = raw[off : off + size]
        elif sec["sh_type"] in ("SHT_PROGBITS", "SHT_NOBITS") and sec.name.startswith(_DATA_PREFIXES) and size:
            parts.data_sections[sec.name] = size
    symtab = next((s for s in sections if isinstance(s, SymbolTableSection)), None)
    if symtab is None:
        return parts
    syms = list(symtab.iter_symbols())
    for sym in syms:
        shndx = sym["st_shndx"]
        in_sec = names[shndx] if isinstance(shndx, int) and 0 < shndx < len(names) else ""
        kind, bind = sym["st_info"]["type"], sym["st_info"]["bind"]
        if sym.name and kind in ("STT_FUNC", "STT_NOTYPE", "STT_OBJECT"):
            is_func, is_global, weak = kind == "STT_FUNC", bind != "STB_LOCAL", bind == "STB_WEAK"
            parts.symbols.append(ElfSymbol(sym.name, in_sec, sym["st_value"], is_func, is_global, weak))
    for sec in sections:
        if not isinstance(sec, RelocationSection):
            continue
        target = names[sec["sh_info"]] if 0 < sec["sh_info"] < len(names) else ""
        if target not in parts.programs:
            continue
        table: dict[int, SymRef] = {}
        for rel in sec.iter_relocations():
            idx = rel["r_info_sym"]
            if not 0 < idx < len(syms):
                continue
            sym = syms[idx]
            name, shndx = sym.name, sym["st_shndx"]
            if not name and isinstance(shndx, int) and shndx < len(names):
                name = names[shndx]  # a section symbol: calls into .text and map-value references
            table[rel["r_offset"]] = SymRef(
                name, sym["st_shndx"] == "SHN_UNDEF", sym["st_info"]["bind"] == "STB_WEAK"
            )
        parts.relocs[target] = table
    return parts
