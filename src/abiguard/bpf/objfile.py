"""A compiled BPF object: its local BTF, its .BTF.ext records and its program sections."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..elf import SHT_PROGBITS, SHT_REL, ElfError, parse_elf
from ..errors import AbiguardError
from ..model import Kind, TypeGraph
from .btf_ext import BtfExt, ExtSection, LineInfo, parse_btf_ext
from .elfparts import ElfParts, read_parts
from .insn import Code

_MAX_OBJECT = 512 << 20


@dataclass
class BpfObject:
    path: Path
    btf: TypeGraph
    ext: BtfExt
    code: dict[str, Code]  # section name -> instructions
    big_endian: bool
    digest: str  # sha256 of the file: the object's identity in the results cache
    parts: ElfParts = field(default_factory=ElfParts)
    memo: dict[str, object] = field(default_factory=dict, repr=False, compare=False)  # per-object analyses

    def program_code(self, section: str) -> Code:
        """Instructions of any executable section (not only those with .BTF.ext records)."""
        return self.code.get(section) or Code(self.parts.programs.get(section, b""), self.big_endian)

    def line_in(self, section: str, insn_off: int) -> LineInfo | None:
        """The source line of an instruction in any section; None without line info."""
        sec = self.ext.sections.get(section)
        return None if sec is None else self.line_at(sec, insn_off)

    def func_in(self, section: str, insn_off: int) -> str:
        sec = self.ext.sections.get(section)
        return "" if sec is None else self.func_at(sec, insn_off)

    def func_at(self, sec: ExtSection, insn_off: int) -> str:
        """Name of the BPF function (from func_info) whose body holds this instruction."""
        best = ""
        for fi in sec.func_info:
            if fi.insn_off <= insn_off:
                best = self.btf[fi.type_id].name
        return best

    def line_at(self, sec: ExtSection, insn_off: int) -> LineInfo | None:
        """The line_info record covering this instruction (the last one at or before it)."""
        best = None
        for li in sec.line_info:
            if li.insn_off <= insn_off:
                best = li
            else:
                break
        return best


def read_object(path: Path) -> BpfObject:
    """Read a BPF ELF object; AbiguardError naming the file for anything malformed."""
    from ..sources.btf.reader import parse_btf

    try:
        size = path.stat().st_size
        if size > _MAX_OBJECT:
            raise AbiguardError(path, f"object is too large ({size} bytes)")
        raw = path.read_bytes()
    except OSError as e:
        raise AbiguardError(path, e.strerror or str(e)) from None
    if raw[:4] != b"\x7fELF":
        raise AbiguardError(path, "not an ELF object")
    try:
        elf = parse_elf(raw)
        big = not elf.little_endian
        sections = {s.name: s for s in elf.sections}
        btf_sec = sections.get(".BTF")
        ext_sec = sections.get(".BTF.ext")
        if btf_sec is None:
            raise AbiguardError(path, "no .BTF section (compile with clang -g)")
        if ext_sec is None:
            raise AbiguardError(path, "no .BTF.ext section (compile with clang -g -target bpf)")
        btf_data, ext_data = elf.data(btf_sec), elf.data(ext_sec)
        parsed = parse_btf(btf_data, f"{path}:.BTF", None, None)
        ext = parse_btf_ext(ext_data, str(path), parsed.string_at, len(parsed.graph), ext_sec.offset)
        code: dict[str, Code] = {}
        for name in ext.sections:
            sec = sections.get(name)
            if sec is None or sec.type != SHT_PROGBITS:
                raise AbiguardError(path, f".BTF.ext refers to section '{name}', which the object does not have")
            code[name] = Code(elf.data(sec), big)
        for sec in sections.values():
            if sec.type in (SHT_PROGBITS, SHT_REL):
                elf.data(sec)
        parts = read_parts(elf)
    except ElfError as e:
        raise AbiguardError(path, f"malformed ELF: {e}") from None
    for s in ext.sections.values():
        for fi in s.func_info:
            if parsed.graph[fi.type_id].kind != Kind.FUNC:
                raise AbiguardError(path, f"func_info in '{s.name}' names type [{fi.type_id}], not a FUNC")
    return BpfObject(path, parsed.graph, ext, code, big, hashlib.sha256(raw).hexdigest(), parts)
