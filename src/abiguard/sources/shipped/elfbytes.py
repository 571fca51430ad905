"""Named sections of an ELF image held in memory (a decompressed vmlinux, a module from a package).

A few struct reads instead of pyelftools: a package holds thousands of modules, each read for one section.
"""

from __future__ import annotations

import struct

from ...errors import AbiguardError
from ..btf.elf import MAX_BTF_SIZE, ElfInfo, ElfSection

SHT_NOBITS = 8
SHF_COMPRESSED = 0x800


def read_elf_bytes(data: bytes, where: str, names: tuple[str, ...]) -> ElfInfo:
    """Header facts and the named sections of an in-memory ELF file; damage is an AbiguardError."""
    if len(data) < 52 or data[:4] != b"\x7fELF":
        raise AbiguardError(where, "not an ELF file")
    elf_class, order = data[4], data[5]
    if elf_class not in (1, 2) or order not in (1, 2):
        raise AbiguardError(where, f"broken ELF header (class {elf_class}, data {order})")
    e = "<" if order == 1 else ">"
    wide = elf_class == 2
    if wide and len(data) < 64:
        raise AbiguardError(where, "ELF header is truncated")
    machine = struct.unpack_from(e + "H", data, 18)[0]
    (shoff,) = struct.unpack_from(e + ("Q" if wide else "I"), data, 0x28 if wide else 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x3A if wide else 0x2E)
    # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size
    fmt = e + ("IIQQQQ" if wide else "IIIIII")
    need = struct.calcsize(fmt)
    if shnum == 0 or shentsize < need or shoff + shnum * shentsize > len(data) or shstrndx >= shnum:
        raise AbiguardError(where, f"ELF section header table ({shnum} x {shentsize} bytes) is damaged or truncated")
    headers = [struct.unpack_from(fmt, data, shoff + i * shentsize) for i in range(shnum)]
    _, _, _, _, str_off, str_size = headers[shstrndx]
    if str_off + str_size > len(data):
        raise AbiguardError(where, "ELF section name table runs past the end of the file")
    names_table = data[str_off : str_off + str_size]
    wanted = {n.encode(): n for n in names}
    sections: dict[str, ElfSection] = {}
    for name_off, sh_type, flags, _, off, size in headers:
        end = names_table.find(b"\0", name_off)
        name = wanted.get(names_table[name_off : end if end >= 0 else None])
        if name is None or name in sections:
            continue
        if sh_type == SHT_NOBITS:
            raise AbiguardError(where, f"ELF section {name} has no data (SHT_NOBITS)")
        if flags & SHF_COMPRESSED:
            raise AbiguardError(where, f"ELF section {name} is compressed; not supported")
        if size > MAX_BTF_SIZE:
            raise AbiguardError(where, f"ELF section {name} is {size} bytes, over {MAX_BTF_SIZE}")
        if off + size > len(data):
            raise AbiguardError(where, f"ELF section {name} runs past the end of the file (truncated?)")
        sections[name] = ElfSection(data[off : off + size], off)
    return ElfInfo(machine, 64 if wide else 32, order == 1, sections)
