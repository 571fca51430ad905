"""ELF input for the BTF reader: named sections of a file or of bytes, and the target an ELF is for."""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass
from pathlib import Path

from ...elf import SHF_COMPRESSED, SHT_NOBITS, ElfError, parse_elf
from ...errors import AbiguardError
from ...model.target import TARGETS, Target

# Far above any real BTF (a whole kernel's is ~6 MB) and below what would exhaust memory when decoded.
MAX_BTF_SIZE = 256 << 20

EM_386, EM_MIPS, EM_PPC, EM_PPC64, EM_S390, EM_ARM = 3, 8, 20, 21, 22, 40
EM_SPARCV9, EM_X86_64, EM_AARCH64, EM_RISCV, EM_BPF, EM_LOONGARCH = 43, 62, 183, 243, 247, 258

# (e_machine, ELF class bits, little endian?) -> our arch name; None in a slot matches any value.
_MACHINES: dict[tuple[int, int | None, bool | None], str] = {
    (EM_X86_64, None, None): "x86_64",
    (EM_386, None, None): "i386",
    (EM_AARCH64, None, None): "aarch64",
    (EM_ARM, None, None): "arm",
    (EM_S390, None, None): "s390x",
    (EM_PPC64, None, True): "ppc64le",
    (EM_PPC64, None, False): "ppc64",
    (EM_PPC, None, None): "ppc",
    (EM_RISCV, 64, None): "riscv64",
    (EM_RISCV, 32, None): "riscv32",
    (EM_MIPS, 32, False): "mips",
    (EM_MIPS, 32, True): "mipsel",
    (EM_MIPS, 64, True): "mips64el",
    (EM_LOONGARCH, None, None): "loongarch64",
    (EM_SPARCV9, None, None): "sparc64",
    (EM_BPF, None, True): "bpfel",
    (EM_BPF, None, False): "bpfeb",
}


@dataclass(frozen=True, slots=True)
class ElfSection:
    """A section's bytes and where they start in the file (for error offsets)."""

    data: bytes
    file_offset: int


@dataclass(frozen=True, slots=True)
class ElfInfo:
    """What the BTF reader needs from an ELF file: its target facts and the sections it asked for."""

    machine: int
    elf_class: int
    little_endian: bool
    sections: dict[str, ElfSection]


def read_elf(path: Path, names: tuple[str, ...]) -> ElfInfo:
    """Header facts and the named sections present in the ELF file; a broken ELF is an AbiguardError."""
    try:
        with path.open("rb") as f:
            if os.fstat(f.fileno()).st_size < 52:
                raise AbiguardError(path, "not an ELF file (shorter than an ELF header)")
            # Mapped, not read: an ELF vmlinux with its debug info runs to hundreds of MB, of which we want one section.
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                return read_elf_bytes(mapped, str(path), names)  # type: ignore[arg-type]
    except OSError as e:
        raise AbiguardError(path, e.strerror or str(e)) from None


def read_elf_bytes(data: bytes, where: str, names: tuple[str, ...]) -> ElfInfo:
    """Header facts and the named sections of an ELF file held in memory; damage is an AbiguardError."""
    try:
        elf = parse_elf(data)
    except ElfError as e:
        raise AbiguardError(where, str(e)) from None
    sections: dict[str, ElfSection] = {}
    for name in names:
        sec = elf.named(name)
        if sec is None:
            continue
        if sec.type == SHT_NOBITS:
            raise AbiguardError(where, f"ELF section {name} has no data (SHT_NOBITS)")
        if sec.flags & SHF_COMPRESSED:
            raise AbiguardError(where, f"ELF section {name} is compressed; not supported")
        if sec.size > MAX_BTF_SIZE:
            raise AbiguardError(where, f"ELF section {name} is {sec.size} bytes, over {MAX_BTF_SIZE}")
        if sec.offset + sec.size > len(data):
            raise AbiguardError(where, f"ELF section {name} runs past the end of the file (truncated?)")
        sections[name] = ElfSection(bytes(data[sec.offset : sec.offset + sec.size]), sec.offset)
    return ElfInfo(elf.machine, 64 if elf.wide else 32, elf.little_endian, sections)


def elf_target(path: Path, info: ElfInfo) -> Target:
    """The Target an ELF file is built for, from e_machine, class and byte order."""
    for key in (
        (info.machine, info.elf_class, info.little_endian),
        (info.machine, None, info.little_endian),
        (info.machine, info.elf_class, None),
        (info.machine, None, None),
    ):
        name = _MACHINES.get(key)
        if name is not None:
            target = TARGETS[name]
            if target.big_endian == info.little_endian:
                raise AbiguardError(path, f"ELF byte order does not match {name}")
            return target
    order = "little" if info.little_endian else "big"
    raise AbiguardError(
        path, f"ELF machine {info.machine} ({info.elf_class}-bit, {order} endian) is not an architecture abiguard knows"
    )
